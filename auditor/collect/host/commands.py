"""Running the OS's own tools (PowerShell, system_profiler, smartctl, powercfg) for probes."""

from __future__ import annotations

import ntpath
import os
import subprocess
from collections.abc import Callable, Mapping

# (argv, timeout in seconds) -> (exit code, stdout, stderr). Raises FileNotFoundError when the
# program does not exist and subprocess.TimeoutExpired when it runs too long. Tests pass a
# fake one that returns recorded outputs.
Runner = Callable[[list[str], float], tuple[int, str, str]]


def run_command(argv: list[str], timeout: float) -> tuple[int, str, str]:
    """The default Runner: no shell, no console window, nothing on stdin, output decoded as
    UTF-8 (a BOM is dropped). subprocess.run kills the program when the timeout expires."""
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows only
    )
    return (
        done.returncode,
        done.stdout.decode("utf-8-sig", errors="replace"),
        done.stderr.decode("utf-8-sig", errors="replace"),
    )


def exception_detail(exc: BaseException) -> str:
    """An exception on one line, for a probe's line: "PermissionError: [Errno 13] ...".

    It is the system's or the library's own text, left untranslated (a value of the line)."""
    detail = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def output_detail(out: str, err: str) -> str:
    """What a program said (stderr, else stdout) on one line of at most 200 characters; ""
    when it said nothing, and the caller's line then gives its exit code instead."""
    return " ".join((err or out).split())[:200]


def windows_tool(relative: str, environ: Mapping[str, str] = os.environ) -> str:
    """A Windows system program by absolute path (a PATH or current-directory lookup could run
    another program of the same name): `windows_tool("powercfg.exe")`."""
    root = environ.get("SystemRoot") or environ.get("SYSTEMROOT") or r"C:\Windows"
    return ntpath.join(root, "System32", relative)


def powershell_exe(environ: Mapping[str, str] = os.environ) -> str:
    """Windows PowerShell 5.1, present on every supported Windows."""
    return windows_tool(ntpath.join("WindowsPowerShell", "v1.0", "powershell.exe"), environ)
