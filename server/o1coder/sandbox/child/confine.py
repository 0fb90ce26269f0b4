"""OS confinement of a sandbox child, applied by the harness before untrusted code runs.

- `isolate`: new network namespace (no interfaces but a down loopback) and mount namespace.
  There the child gets a file view of its own (`build_view`): a fresh root holding only the
  interpreter's standard library, the system's shared libraries, a few device files and its
  size-capped tmpfs workdir, all read-only but the workdir. No home directories, no /etc
  (but the loader cache), no /proc, no user files. Where a new root cannot be built, the
  fallback is the whole tree made read-only. Root gets the namespaces directly; other users
  through a new user namespace, where the kernel allows it.
- `drop_privileges`: as root, become uid/gid 65534 (so RLIMIT_NPROC, signal permissions and
  file permissions apply); file access stays uid 0 only where uid 65534 could not read the
  standard library (then lazy imports would fail) and is reported so. No capabilities.
- `limit`: rlimits on address space, CPU time, processes, file size, open files, core dumps.

Each step returns a short description of what it achieved (or why not), for the report.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
MNT_DETACH = 2
# syscall numbers of pivot_root (older calls differ per architecture)
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
# what the view holds besides the standard library: shared libraries, the loader's cache,
# time zone data, and harmless device files
VIEW_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/share/zoneinfo")
VIEW_FILES = ("/etc/ld.so.cache", "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
VIEW_NOTE = (
    "file view: the standard library, system libraries and the workdir only "
    "(no home directories, /etc, /proc or user files)"
)
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (new syscalls share one table)
PR_SET_KEEPCAPS = 8
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
CAP_SETGID, CAP_SETUID = 6, 7
LINUX_CAPABILITY_VERSION_3 = 0x20080522
NOBODY = 65534


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


class ConfineError(OSError):
    pass


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ConfineError(err, f"{what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def isolate(
    workdir: str, disk_mb: int, own_view: bool = True, workspace: dict | None = None
) -> tuple[list[str], bool, bool]:
    """Namespaces and mounts: (descriptions, file system read-only but workdir, own file view).

    `workspace` (see o1coder.sandbox.workspace): the user's project, shown read-only with its
    tests files hidden.
    """
    if not sys.platform.startswith("linux"):
        return ["namespaces unavailable (not Linux)"], False, False
    libc = _libc()
    root = os.geteuid() == 0
    user_flag = 0 if root else CLONE_NEWUSER
    uid, gid = os.getuid(), os.getgid()
    notes: list[str] = []
    try:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | user_flag), "unshare")
        mount_ns = True
    except ConfineError as full:
        try:
            _check(libc.unshare(CLONE_NEWNET | user_flag), "unshare(net)")
        except ConfineError as net:
            return [f"namespaces unavailable ({full.strerror}; {net.strerror})"], False, False
        mount_ns = False
        notes.append(f"mount namespace unavailable ({full.strerror})")
    if user_flag:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        notes.insert(0, "user namespace")
    notes.insert(0, "network namespace (no interfaces)")
    if not mount_ns:
        return notes, False, False
    try:
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    except ConfineError as exc:
        notes.append(f"read-only file system unavailable ({exc.strerror})")
        return notes, False, False
    if own_view:
        try:
            shown = build_view(libc, workdir, disk_mb, workspace)
            notes.append(f"{VIEW_NOTE}, read-only but the workdir (tmpfs {disk_mb} MiB){shown}")
            return notes, True, True
        except (ConfineError, OSError) as exc:
            why = exc.strerror if isinstance(exc, ConfineError) else str(exc)
            notes.append(f"own file view unavailable ({why})")
    try:
        hidden = _hide_tests(libc, "", workspace)
        _readonly_tree(libc, workdir, disk_mb)
    except ConfineError as exc:
        notes.append(f"read-only file system unavailable ({exc.strerror})")
        return notes, False, False
    notes.append(
        f"mount namespace: the whole tree read-only but the workdir (tmpfs {disk_mb} MiB); "
        f"files outside it are visible where permissions allow{hidden}"
    )
    return notes, True, False


def standard_library() -> str:
    return os.path.dirname(os.__file__)


def build_view(libc: ctypes.CDLL, workdir: str, disk_mb: int, workspace: dict | None = None) -> str:
    """Pivot into a new root holding only what the interpreter needs (read-only) and the workdir.

    The new root is a small tmpfs mounted over `workdir` (a fresh directory of ours); the
    workdir itself is mounted again, as its own tmpfs, at the same path inside the new root.
    Returns what it says of the workspace ("" without one).
    """
    arch = os.uname().machine
    if arch not in SYS_PIVOT_ROOT:
        raise ConfineError(0, f"pivot_root unknown on {arch}")
    new = workdir.rstrip("/")
    _check(libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0755"), "mount root")
    stdlib = standard_library()
    _bind(libc, stdlib, new + stdlib)
    site = os.path.join(stdlib, "site-packages")
    if os.path.isdir(site):  # the base interpreter's own packages: not part of the view
        _check(libc.mount(b"tmpfs", (new + site).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4k"), "hide")
    for path in VIEW_DIRS + VIEW_FILES:
        if os.path.exists(path) and not os.path.islink(path):
            _bind(libc, path, new + path)
    for link in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/usr/bin"):
        if os.path.islink(link):  # merged /usr: keep the links the loader's paths go through
            os.makedirs(os.path.dirname(new + link), exist_ok=True)
            os.symlink(os.readlink(link), new + link)
        elif link.startswith("/lib") and os.path.isdir(link):
            _bind(libc, link, new + link)
    shown = ""
    if workspace:
        root = workspace["root"]
        if new.startswith(root.rstrip("/") + "/") or root == "/":
            shown = f"; the workspace {root} is not shown (it holds the sandbox's workdir)"
        else:
            _bind(libc, root, new + root)
            shown = f"; the workspace {root} read-only" + _hide_tests(libc, new, workspace)
    os.makedirs(new + new, exist_ok=True)
    os.makedirs(new + "/.old")
    os.chdir(new)
    _check(0 if libc.syscall(SYS_PIVOT_ROOT[arch], b".", b".old") == 0 else -1, "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID)
    result = libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    _check(0 if result == 0 else -1, "mount_setattr / read-only")
    options = f"size={disk_mb}m,mode=0700".encode()
    _check(libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), "mount tmpfs")
    return shown


def _hide_tests(libc: ctypes.CDLL, new: str, workspace: dict | None) -> str:
    """Show the workspace's tests folders and files empty (under the new root `new`, or "" for /)."""
    hidden = (workspace or {}).get("hidden") or []
    for path in hidden:
        target = (new + path).encode()
        if os.path.isdir(new + path):
            _check(libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4k,mode=0555"), "hide tests")
        elif os.path.exists(new + path):
            _check(libc.mount(b"/dev/null", target, None, MS_BIND, None), "hide a tests file")
    return f", its {len(hidden)} tests files and folders hidden" if hidden else ""


def _readonly_tree(libc: ctypes.CDLL, workdir: str, disk_mb: int) -> None:
    """The fallback: the whole tree read-only (recursively), a tmpfs over the workdir."""
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
    result = libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    _check(0 if result == 0 else -1, "mount_setattr / read-only")
    options = f"size={disk_mb}m,mode=0700".encode()
    _check(libc.mount(b"tmpfs", workdir.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), "mount tmpfs")


def _bind(libc: ctypes.CDLL, source: str, target: str) -> None:
    real = os.path.realpath(source)
    if os.path.isdir(real):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w"):
            pass
    _check(libc.mount(real.encode(), target.encode(), None, MS_BIND | MS_REC, None), f"bind {source}")


def drop_privileges(readonly_tree: bool, workdir: str, own_view: bool = False) -> str:
    """No capabilities; as root also uid/gid 65534 (see the module doc for file access)."""
    if os.geteuid() != 0:
        if sys.platform.startswith("linux"):
            _capset(_libc(), 0)
            return "no capabilities, files read as this user" + ("" if own_view else " (the whole tree)")
        return "unprivileged user"
    # File access as uid 0 only where uid 65534 could not read the interpreter's own library
    # (then lazy imports would fail).
    stdlib = standard_library()
    files_as_root = not (_world_readable(stdlib) and _world_readable(os.path.join(stdlib, "lib-dynload")))
    if not files_as_root:
        os.chown(workdir, NOBODY, NOBODY)
    if not sys.platform.startswith("linux"):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return f"uid/gid {NOBODY}"
    libc = _libc()
    _check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(KEEPCAPS)")
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    if files_as_root:
        keep = (1 << CAP_SETUID) | (1 << CAP_SETGID)
        _capset(libc, keep)
        libc.setfsuid(0)
        libc.setfsgid(0)
    _capset(libc, 0)
    _check(libc.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(KEEPCAPS)")
    if os.getresuid() != (NOBODY, NOBODY, NOBODY) or os.getresgid() != (NOBODY, NOBODY, NOBODY):
        raise ConfineError(0, "privileges were not dropped")
    if not files_as_root:
        files = f"files read as uid {NOBODY}"
    elif own_view:
        files = "files read as uid 0 within the view (uid 65534 cannot read the stdlib)"
    elif readonly_tree:
        files = "files read as uid 0 on the whole read-only tree (uid 65534 cannot read the stdlib)"
    else:
        files = "files read as uid 0 (the tree is NOT read-only: uid 65534 cannot read the stdlib)"
    return f"uid/gid {NOBODY}, no capabilities, {files}"


def _world_readable(path: str) -> bool:
    """Whether any user can reach and list `path` (every directory on the way is o+x)."""
    path = os.path.realpath(path)
    try:
        if not os.stat(path).st_mode & 0o004:
            return False
        while True:
            if not os.stat(path).st_mode & 0o001:
                return False
            parent = os.path.dirname(path)
            if parent == path:
                return True
            path = parent
    except OSError:
        return False


def die_with_parent(parent_pid: int) -> str:
    """SIGKILL this process when the parent goes (set after the uid change, which clears it)."""
    if not sys.platform.startswith("linux"):
        return "no parent-death signal (not Linux)"
    libc = _libc()
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if os.getppid() != parent_pid:  # the parent went before the signal was armed
        os._exit(1)
    # not dumpable: no other process of the same user (the judge, another candidate) may read
    # this one's memory through /proc or ptrace
    _check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(DUMPABLE)")
    return "killed with its parent; not dumpable"


def _capset(libc: ctypes.CDLL, caps: int) -> None:
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)(_CapData(caps, caps, 0), _CapData(0, 0, 0))
    _check(libc.capset(ctypes.byref(header), data), "capset")


def limit(memory_mb: int, cpu_seconds: int, file_bytes: int, open_files: int = 64) -> str:
    """Lower the hard limits too, so candidate code cannot raise them again."""
    wanted = [
        ("AS", resource.RLIMIT_AS, memory_mb << 20, f"{memory_mb} MiB"),
        ("CPU", resource.RLIMIT_CPU, cpu_seconds, f"{cpu_seconds} s"),
        ("FSIZE", resource.RLIMIT_FSIZE, file_bytes, f"{file_bytes >> 20} MiB"),
        ("NOFILE", resource.RLIMIT_NOFILE, open_files, str(open_files)),
        ("CORE", resource.RLIMIT_CORE, 0, "0"),
    ]
    if hasattr(resource, "RLIMIT_NPROC"):
        nproc_note = "0" if os.getuid() != 0 else "0 (ignored for root)"
        wanted.append(("NPROC", resource.RLIMIT_NPROC, 0, nproc_note))
    done: list[str] = []
    for name, which, value, text in wanted:
        _soft, hard = resource.getrlimit(which)
        finite = hard != resource.RLIM_INFINITY
        value = min(value, hard) if finite else value
        # CPU: SIGXCPU at the soft limit, SIGKILL a second later
        ceiling = value + 1 if name == "CPU" else value
        try:
            resource.setrlimit(which, (value, min(ceiling, hard) if finite else ceiling))
        except (ValueError, OSError) as exc:
            done.append(f"{name} unavailable ({exc})")
            continue
        done.append(f"{name}={text}")
    return "rlimits " + " ".join(done)
