"""The seccomp layer: a kernel syscall filter, installed before candidate code runs.

It refuses (EPERM) new processes and threads, exec, sockets, signals to other processes,
tracing other processes, changing signal handlers, namespaces and mounts, io_uring (which
could do the rest behind the filter's back) and a few host-administration calls. Filters are
inherited and cannot be removed, and PR_SET_NO_NEW_PRIVS is set first, so this holds for the
life of the process whatever the candidate code does. Linux on x86_64 and aarch64 only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
X32_SYSCALL_BIT = 0x40000000
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16

# name -> syscall number, per architecture (refused outright)
DENY = {
    "x86_64": {
        "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone3": 435,
        "socket": 41, "socketpair": 53,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "rt_sigaction": 13, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
        "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "personality": 135,
        "keyctl": 250, "add_key": 248, "request_key": 249,
        "kexec_load": 246, "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169,
        "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164, "clock_settime": 227,
        "adjtimex": 159, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    },
    "aarch64": {
        "clone": 220, "execve": 221, "execveat": 281, "clone3": 435,
        "socket": 198, "socketpair": 199,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "rt_sigaction": 134, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "personality": 92,
        "keyctl": 219, "add_key": 217, "request_key": 218,
        "kexec_load": 104, "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142,
        "swapon": 224, "swapoff": 225, "acct": 89, "settimeofday": 170, "clock_settime": 112,
        "adjtimex": 171, "sethostname": 161, "setdomainname": 162,
    },
}  # fmt: skip
# signals: allowed only when the first argument (pid / tgid) is this process
SELF_ONLY = {
    "x86_64": {"kill": 62, "tkill": 200, "tgkill": 234},
    "aarch64": {"kill": 129, "tkill": 130, "tgkill": 131},
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
DESCRIPTION = "seccomp (no fork/clone/exec, sockets, ptrace, signal handlers, signals to others, mounts)"


class SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]


def program(arch: str, pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program as (code, jt, jf, k) rows, jumps resolved."""
    rows: list[tuple[int, object, object, int]] = [
        (BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        (BPF_JEQ_K, 0, "kill", AUDIT_ARCH[arch]),
        (BPF_LD_W_ABS, 0, 0, OFFSET_NR),
    ]
    if arch == "x86_64":  # the x32 ABI numbers its calls differently: refuse it all
        rows.append((BPF_JGE_K, "deny", 0, X32_SYSCALL_BIT))
    rows += [(BPF_JEQ_K, "deny", 0, nr) for nr in sorted(DENY[arch].values())]
    rows += [(BPF_JEQ_K, "self", 0, nr) for nr in sorted(SELF_ONLY[arch].values())]
    labels = {"allow": len(rows)}
    rows.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    labels["self"] = len(rows)  # BPF jumps only forward: this block has its own "allow"
    rows += [
        (BPF_LD_W_ABS, 0, 0, OFFSET_ARG0),
        (BPF_JEQ_K, 0, "deny", pid),
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ]
    labels["deny"] = len(rows)
    rows.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM))
    labels["kill"] = len(rows)
    rows.append((BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS))

    def offset(at: int, target: object) -> int:
        if isinstance(target, int):
            return target
        jump = labels[target] - at - 1
        if not 0 <= jump <= 255:
            raise ValueError(f"seccomp program: jump to {target} out of range")
        return jump

    return [(code, offset(i, jt), offset(i, jf), k) for i, (code, jt, jf, k) in enumerate(rows)]


def install() -> str:
    """Install the filter on this process; returns a description, or why it is unavailable."""
    arch = os.uname().machine
    if not sys.platform.startswith("linux") or arch not in DENY:
        return f"seccomp unavailable ({sys.platform} {arch})"
    rows = program(arch, os.getpid())
    filters = (SockFilter * len(rows))(*(SockFilter(*row) for row in rows))
    prog = SockFprog(len(rows), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"seccomp unavailable (no_new_privs: {os.strerror(ctypes.get_errno())})"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        return f"seccomp unavailable ({os.strerror(ctypes.get_errno())})"
    return DESCRIPTION
