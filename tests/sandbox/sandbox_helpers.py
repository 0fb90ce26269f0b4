"""Helpers of the sandbox tests: small limits, layer sets, live sandbox processes."""

from __future__ import annotations

import os
import select
from pathlib import Path

import pytest

from o1coder.config import SandboxSettings
from o1coder.sandbox import Layers, VerificationReport

LIMITS = SandboxSettings(timeout_seconds=1.0, cpu_seconds=2, memory_mb=256, max_output_bytes=4096)

FULL = Layers()
# the kernel's defences alone: namespaces, privilege drop, seccomp, rlimits (no audit hook)
KERNEL_ONLY = Layers(audit=False)
# the audit hook alone (what a non-Linux machine gets)
AUDIT_ONLY = Layers(namespaces=False, privileges=False, seccomp=False, rlimits=False)
NAMESPACES_ONLY = Layers(privileges=False, seccomp=False, rlimits=False, audit=False)
RLIMITS_ONLY = Layers(namespaces=False, privileges=False, seccomp=False, audit=False)


def require(isolation: str, *needles: str) -> None:
    """Skip a single-layer test where this machine cannot apply that layer."""
    for needle in needles:
        if needle not in isolation:
            pytest.skip(f"this machine lacks {needle!r}; active: {isolation}")


def statuses(report: VerificationReport) -> list[str]:
    return [o.status.value for o in report.outcomes]


def wait_for_exit(pid: int) -> None:
    """Block until process `pid` (not necessarily a child of this one) has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def live_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker` (see the `marked_python` fixture)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
