"""The audit-hook layer: refuse, from inside the interpreter, what candidate code may not do.

A hook added with `sys.addaudithook` cannot be removed, and it sees every audited operation:
starting processes, sockets, writing or deleting files outside the working directory,
foreign-function calls (ctypes), and the introspection that could reach the harness's
frames (where the result-channel key lives). It is the portable layer; on Linux the kernel
layers (`confine`, `seccomp`) hold even against code that gets past it.

The hook and its helpers use only names bound in closures when it is installed, so candidate
code that later patches builtins or modules cannot change what it allows.

Known gaps of this layer alone (the kernel layers cover them on Linux): `os.open(...,
dir_fd=)` is judged relative to the working directory (its audit event carries no dir_fd),
calls without audit events (`os.mkfifo`, `os.mknod`) are not seen, and a path-like object
whose `__fspath__` answers differently each time can mislead the check.
"""

from __future__ import annotations

import os
import sys

PROCESS_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.startfile",
        "pty.spawn",
        "subprocess.Popen",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "resource.setrlimit",
        "resource.prlimit",
    }
)
NETWORK_EVENTS = frozenset(
    {
        "urllib.Request",
        "http.client.connect",
        "ftplib.connect",
        "smtplib.connect",
        "poplib.connect",
        "imaplib.open",
        "nntplib.connect",
        "telnetlib.Telnet.open",
        "webbrowser.open",
    }
)
INTROSPECTION_EVENTS = frozenset(
    {
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.settrace",
        "sys.setprofile",
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
    }
)
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
BLOCKED_MODULES = frozenset(
    {
        "_posixsubprocess",
        "_testcapi",
        "_testinternalcapi",
        "_ctypes_test",
        "_xxsubinterpreters",
        "_testmultiphase",
    }
)
# event -> (positions of path arguments, positions of their dir_fd arguments, may the path be an fd)
PATH_EVENTS = {
    "os.remove": ((0,), (1,), False),
    "os.rmdir": ((0,), (1,), False),
    "os.mkdir": ((0,), (2,), False),
    "os.chmod": ((0,), (2,), False),
    "os.chown": ((0,), (3,), False),
    "os.utime": ((0,), (3,), False),
    "os.truncate": ((0,), (), True),
    "os.rename": ((0, 1), (2, 3), False),
    "os.setxattr": ((0,), (), False),
    "os.removexattr": ((0,), (), False),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC | getattr(os, "O_TMPFILE", 0)
DESCRIPTION = "audit hook (processes, sockets, writes outside the workdir, ctypes, frame introspection)"


class SandboxViolation(PermissionError):
    """Candidate code tried something the sandbox does not allow."""


def install(workdir: str, kernel_refuses_processes: bool = False, kernel_confines_files: bool = False) -> list[bool]:
    """Add the hook; returns the harness's permit: while `permit[0]` is true, frames may be read.

    With `kernel_confines_files` (the child's own read-only file view is in place), a path
    relative to a directory fd that cannot be resolved (the view has no /proc) is left to
    the kernel, which refuses writes outside the workdir anyway.

    `_posixsubprocess` starts processes without an audit event, so importing it is refused,
    which also refuses `import subprocess` (and asyncio) - unless the kernel (seccomp)
    already refuses new processes, in which case importing those modules is harmless.
    """
    permit = [False]
    modules = BLOCKED_MODULES - {"_posixsubprocess"} if kernel_refuses_processes else BLOCKED_MODULES
    sys.addaudithook(
        _make_hook(os.path.realpath(workdir), permit, _modules=modules, _unresolved_ok=kernel_confines_files)
    )
    return permit


def _make_hook(
    workdir: str,
    permit: list[bool],
    *,
    _str=str,
    _bytes=bytes,
    _int=int,
    _isinstance=isinstance,
    _len=len,
    _enumerate=enumerate,
    _getcwd=os.getcwd,
    _fspath=os.fspath,
    _readlink=os.readlink,
    _os_error=OSError,
    _type_error=TypeError,
    _violation=SandboxViolation,
    _value_error=ValueError,
    _process=PROCESS_EVENTS,
    _network=NETWORK_EVENTS,
    _introspection=INTROSPECTION_EVENTS,
    _frames=FRAME_ATTRIBUTES,
    _modules=BLOCKED_MODULES,
    _paths=PATH_EVENTS,
    _write_flags=WRITE_FLAGS,
    _unresolved_ok=False,
):
    inside_prefix = workdir.rstrip("/") + "/"

    def normalize(path, dir_fd=None):
        """Absolute, lexically normalized path text, or None for an fd or something odd."""
        if not _isinstance(path, (_str, _bytes, _int)):
            try:
                path = _fspath(path)
            except _type_error:
                return None
        if _isinstance(path, _bytes):
            path = path.decode("utf-8", "surrogateescape")
        if not _isinstance(path, _str):
            return None
        if not path.startswith("/"):
            if dir_fd is None or dir_fd == -1:
                base = _getcwd()
            else:
                try:
                    base = _readlink(f"/proc/self/fd/{dir_fd}")
                except _os_error:
                    return workdir if _unresolved_ok else None
            path = base + "/" + path
        parts = []
        for part in path.split("/"):
            if part == "" or part == ".":
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def writable(path, dir_fd=None):
        target = normalize(path, dir_fd)
        return target is not None and (
            target == "/dev/null" or target + "/" == inside_prefix or target.startswith(inside_prefix)
        )

    def refuse(what):
        raise _violation(f"o1coder sandbox: {what} is not allowed")

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if _isinstance(path, _int):
                return
            wants_write = (_isinstance(flags, _int) and flags & _write_flags) or (
                _isinstance(mode, _str) and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)
            )
            if wants_write and not writable(path):
                refuse(f"writing {path!r} (outside the working directory)")
            target = normalize(path)
            if (
                target is not None
                and target.startswith("/proc/")
                and (target.endswith("/mem") or target.endswith("/pagemap"))
            ):
                refuse(f"opening {path!r}")
        elif event in _paths:
            positions, dir_fds, fd_ok = _paths[event]
            for n, i in _enumerate(positions):
                if fd_ok and _isinstance(args[i], _int):
                    continue
                j = dir_fds[n] if dir_fds else -1
                dir_fd = args[j] if 0 <= j < _len(args) else None
                if not writable(args[i], dir_fd):
                    refuse(f"{event} on {args[i]!r} (outside the working directory)")
        elif event == "os.link" or event == "os.symlink":
            refuse(f"{event} (links could reach outside the working directory)")
        elif event == "sqlite3.connect":
            database = args[0]
            if database not in (":memory:", "", b":memory:", b"") and not writable(database):
                refuse(f"opening database {database!r} (outside the working directory)")
        elif event in _process:
            refuse(f"{event} (no new processes or signals)")
        elif event.startswith("socket.") or event in _network:
            refuse(f"{event} (no network)")
        elif event == "sys._getframe":
            if not permit[0]:
                # ValueError is what code that walks frames (typing, enum, logging) already expects
                raise _value_error("o1coder sandbox: frame inspection is not allowed")
        elif event == "object.__getattr__":
            if not permit[0] and args[1] in _frames:
                refuse(f"reading .{args[1]}")
        elif event in _introspection:
            refuse(event)
        elif event.startswith("ctypes."):
            refuse(f"{event} (no foreign function calls)")
        elif event == "import" and args[0] in _modules:
            refuse(f"importing {args[0]}")

    return hook
