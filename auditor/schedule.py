"""`auditor schedule`: the monthly (or weekly) report, started by the system's scheduler.

cron (Linux, macOS) or a systemd user timer; on Windows, the `schtasks` command to run.

A scheduler starts its job with almost nothing: cron gives HOME, LOGNAME, SHELL=/bin/sh and
PATH=/usr/bin:/bin, no terminal, stdin closed. So the scheduled command names the absolute
path of this very `auditor` and of the config file, and before anything is written every
secret the config needs is read once the way the job will read it: a fresh process with
that bare environment, no terminal, stdin closed. Each secret that cannot be read is named,
with what to use instead; nothing is written then.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from auditor.config import Config
from auditor.errors import ConfigError, Problem

# the first line of the crontab entry: how `install` and `remove` find their own line
CRON_MARKER = "# auditor schedule:"
CRON_TIMES = {"monthly": "0 7 1 * *", "weekly": "0 7 * * 1"}  # 07:00 on the 1st / on Mondays
SYSTEMD_CALENDAR = {"monthly": "*-*-01 07:00:00", "weekly": "Mon *-*-* 07:00:00"}
UNIT = "auditor-report"
TASK_NAME = "auditor report"
SCHTASKS_WHEN = {"monthly": "/SC MONTHLY /D 1", "weekly": "/SC WEEKLY /D MON"}
CRON_PATH = "/usr/bin:/bin"  # cron's PATH (Debian, macOS)


@dataclass(frozen=True)
class Job:
    """The scheduled run: which auditor, which config, how often, in which language."""

    program: tuple[str, ...]  # the absolute path of auditor (or python -m auditor)
    config: str  # the absolute path of the config file
    every: str = "monthly"
    send: bool = True
    lang: str = "en"
    db: str | None = None  # only when the store is not where a bare environment finds it

    def args(self) -> list[str]:
        # findings are what the emailed report is for, not a failure of the job: the exit
        # code says only whether the run worked (0), was partial (3) or could not start (2)
        words = [*self.program, "scan", "--quiet", "--fail-on", "never"]
        if self.send:
            words.append("--send")
        words += ["--lang", self.lang, "--config", self.config]
        if self.db:
            words += ["--db", self.db]
        return words


def running_program() -> tuple[str, ...]:
    """The absolute path of the running `auditor`, as the scheduler must start it.

    sys.argv[0] is the path the shell found (with pipx, ~/.local/bin/auditor: a link that
    survives upgrades, so it is kept as is, not resolved); else `auditor` on PATH; else this
    Python with `-m auditor`.
    """
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if first is not None and first.name.lower().startswith("auditor") and first.is_file():
        return (os.path.abspath(first),)
    found = shutil.which("auditor")
    if found:
        return (os.path.abspath(found),)
    return (os.path.abspath(sys.executable), "-m", "auditor")


def bare_environment() -> dict[str, str]:
    """The environment cron gives a job (and, near enough, a systemd user service)."""
    home = str(Path.home())
    user = _user()
    env = {"HOME": home, "LOGNAME": user, "USER": user, "SHELL": "/bin/sh", "PATH": CRON_PATH}
    if os.name == "nt":  # a scheduled task gets the user's stored environment, not a bare one
        env = dict(os.environ)
    return env


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class Secret:
    """One secret the scheduled run reads, as auditor.config.resolve_secret takes it."""

    what: str
    env: str | None = None
    command: str | None = None
    keyring_user: str | None = None
    command_key: str = "password_command"


def secrets_needed(config: Config, send: bool) -> list[Secret]:
    """Every secret a scheduled `scan` of this config reads (IMAP accounts, SMTP for --send)."""
    needed = []
    for a in config.accounts:
        what = a.name
        if a.auth == "oauth2":
            needed.append(
                Secret(what, command=a.oauth2_token_command, command_key="oauth2_token_command")
            )
        else:
            keyring_user = f"{a.username}@{a.host}" if a.keyring else None
            needed.append(Secret(what, a.password_env, a.password_command, keyring_user))
    email = config.email
    if send and email.username:
        keyring_user = f"{email.username}@{email.smtp_host}" if email.keyring else None
        needed.append(
            Secret("report.email", email.password_env, email.password_command, keyring_user)
        )
    return needed


# Run in a new process: resolve_secret exactly as the scheduled scan will call it. Prints the
# error line's key and values when it fails, never the secret.
_PROBE = """
import json, sys
from auditor.config import resolve_secret
from auditor.errors import AuditorError
try:
    resolve_secret(**json.loads(sys.argv[1]))
except AuditorError as exc:
    print(json.dumps(exc.problem.to_json()))
    sys.exit(1)
"""


def unreadable_secret(secret: Secret, env: dict[str, str]) -> Problem | None:
    """Why `secret` cannot be read without a terminal in `env`, else None."""
    args = {
        "what": secret.what,
        "env": secret.env,
        "command": secret.command,
        "keyring_user": secret.keyring_user,
        "command_key": secret.command_key,
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, json.dumps(args)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
            start_new_session=True,  # no controlling terminal: a prompt cannot reach the user
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Problem("schedule.secret_timeout", what=secret.what)
    if proc.returncode == 0:
        return None
    try:  # the probe's last line is the error line as key + values
        problem = Problem.from_json(json.loads(proc.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):  # it died before (a broken install): its exit code
        problem = None
    if isinstance(problem, Problem):
        return problem
    return Problem("schedule.secret_failed", what=secret.what, code=proc.returncode)


def hint_key(secret: Secret) -> str:
    """What to use instead, for the way this secret is configured."""
    if secret.env:
        return "schedule.hint.env"
    if secret.command:
        return "schedule.hint.command"
    if secret.keyring_user:
        return "schedule.hint.keyring"
    return "schedule.hint.none"


def check_secrets(config: Config, send: bool) -> list[tuple[Problem, str]]:
    """(why, hint key) for each secret the scheduled run could not read; [] when all can."""
    env = bare_environment()
    failed = []
    for secret in secrets_needed(config, send):
        problem = unreadable_secret(secret, env)
        if problem is not None:
            failed.append((problem, hint_key(secret)))
    return failed


# --------------------------------------------------------------------------- cron


def cron_line(job: Job) -> str:
    """The crontab line (sh quoting; `%` is a newline to cron unless escaped, crontab(5))."""
    command = " ".join(shlex.quote(word) for word in job.args()).replace("%", "\\%")
    return f"{CRON_TIMES[job.every]} {command}"


def cron_entry(job: Job) -> str:
    """The two lines `install` adds to the crontab: a marker comment, then the job."""
    marker = f"{CRON_MARKER} {job.every} report (remove with: auditor schedule remove)"
    return f"{marker}\n{cron_line(job)}\n"


def without_entry(crontab: str) -> str:
    """The crontab without auditor's entry (its marker line and the line after it)."""
    lines = crontab.splitlines(keepends=True)
    kept, skip = [], False
    for line in lines:
        if skip:
            skip = False
            continue
        if line.startswith(CRON_MARKER):
            skip = True
            continue
        kept.append(line)
    return "".join(kept)


def installed_cron_line(crontab: str) -> str | None:
    lines = crontab.splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.startswith(CRON_MARKER):
            return lines[index + 1]
    return None


def read_crontab(file: Path | None = None) -> str:
    """The user's crontab (`crontab -l`), or `file` for tests and for a crontab kept by hand."""
    if file is not None:
        try:
            return file.read_text(encoding="utf-8") if file.exists() else ""
        except OSError as exc:
            raise ConfigError("schedule.crontab_failed", error=exc.strerror or exc) from None
    proc = _crontab(["-l"], None)
    if proc.returncode == 0:
        return proc.stdout
    # "no crontab for USER": an empty crontab. Any other failure must stop us: writing our
    # line alone would replace the user's crontab with it.
    if "no crontab" in proc.stderr.lower():
        return ""
    raise ConfigError("schedule.crontab_failed", error=_first_line(proc.stderr, proc.returncode))


def write_crontab(text: str, file: Path | None = None) -> None:
    if file is not None:
        from auditor.files import atomic_write_text

        try:
            atomic_write_text(file, text, mode=0o600)
        except OSError as exc:
            raise ConfigError("schedule.crontab_failed", error=exc.strerror or exc) from None
        return
    proc = _crontab(["-"], text)
    if proc.returncode != 0:
        raise ConfigError(
            "schedule.crontab_failed", error=_first_line(proc.stderr, proc.returncode)
        )


def _crontab(args: list[str], text: str | None) -> subprocess.CompletedProcess:
    program = shutil.which("crontab")
    if program is None:
        raise ConfigError("schedule.no_crontab")
    return subprocess.run(
        [program, *args],
        input=text,
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},  # "no crontab for …" in English
        timeout=60,
        check=False,
    )


def _first_line(text: str, code: int) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else f"exit code {code}"


# --------------------------------------------------------------------------- systemd


def systemd_word(word: str) -> str:
    """One argument of ExecStart= (systemd.service(5): `%` and `$` are expanded by systemd,
    quotes group words)."""
    word = word.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_units(job: Job) -> dict[str, str]:
    """{file name: text} of the user service and its timer."""
    command = " ".join(systemd_word(word) for word in job.args())
    service = f"""# auditor's {job.every} report, started by {UNIT}.timer.
[Unit]
Description=auditor: {job.every} mail and machine report
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={command}
# Exit code 3 (a source could not be read) or 2 leaves the unit failed, on purpose:
# `systemctl --user status auditor-report` then shows the error lines.
"""
    timer = f"""# {job.every} at 7:00; Persistent=true: a run missed while off is made up.
[Unit]
Description=auditor: {job.every} report

[Timer]
OnCalendar={SYSTEMD_CALENDAR[job.every]}
Persistent=true
RandomizedDelaySec=15min

[Install]
WantedBy=timers.target
"""
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def systemd_folder() -> Path:
    """~/.config/systemd/user (systemd.unit(5): $XDG_CONFIG_HOME/systemd/user)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def write_units(job: Job, folder: Path) -> list[Path]:
    from auditor.files import atomic_write_text

    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in systemd_units(job).items():
            atomic_write_text(folder / name, text, mode=0o644)
            written.append(folder / name)
    except OSError as exc:
        raise ConfigError(
            "schedule.unwritable", path=folder, error=exc.strerror or type(exc).__name__
        ) from None
    return written


def remove_units(folder: Path) -> list[Path]:
    removed = []
    for name in (f"{UNIT}.timer", f"{UNIT}.service"):
        path = folder / name
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def systemctl(*args: str) -> bool:
    """`systemctl --user ARGS`; False when it cannot run (no systemd, no user session)."""
    program = shutil.which("systemctl")
    if program is None:
        return False
    try:
        proc = subprocess.run(
            [program, "--user", *args], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def lingering(user: str) -> bool:
    """True when the user's services run while the user is logged out (loginctl(1))."""
    program = shutil.which("loginctl")
    if program is None:
        return False
    try:
        proc = subprocess.run(
            [program, "show-user", user, "--property=Linger"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.stdout.strip() == "Linger=yes"


# --------------------------------------------------------------------------- Windows


def _windows_word(word: str) -> str:
    """One word of schtasks' /TR value: quoted as \\"…\\" when it has a space."""
    return f'\\"{word}\\"' if (" " in word or not word) else word


def schtasks_create(job: Job) -> str:
    """The `schtasks` command that creates the task (run once in cmd, no admin rights)."""
    run = " ".join(_windows_word(word) for word in job.args())
    return f'schtasks /Create {SCHTASKS_WHEN[job.every]} /ST 07:00 /TN "{TASK_NAME}" /TR "{run}" /F'


def schtasks_delete() -> str:
    return f'schtasks /Delete /TN "{TASK_NAME}" /F'


# --------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Note:
    """A line for the user (catalog key + values); `err`: on stderr."""

    key: str
    values: dict[str, object]
    err: bool = False


def make_job(
    config: Config,
    config_path: Path,
    every: str,
    send: bool | None,
    lang: str,
    db_path: Path | None,
) -> Job:
    """The job for this config. --send by default when [report.email] is set up."""
    if send is None:
        send = bool(config.email.smtp_host and config.email.to and config.email.sender)
    return Job(
        program=running_program(),
        config=os.path.abspath(config_path.expanduser()),
        every=every,
        send=send,
        lang=lang,
        db=_store_for_job(db_path),
    )


def _store_for_job(db_path: Path | None) -> str | None:
    """--db for the job when the store is not where the job would look by itself: given on
    the command line, or found through a variable of this shell (AUDITOR_DB, XDG_DATA_HOME)
    that the scheduler will not have. The config's `store` the job reads itself."""
    if db_path is not None:
        return os.path.abspath(db_path.expanduser())
    if os.environ.get("AUDITOR_DB") or os.environ.get("XDG_DATA_HOME"):
        from auditor.store import default_store_path

        return os.path.abspath(default_store_path())
    return None


def install_cron(job: Job, file: Path | None = None) -> Note:
    current = read_crontab(file)
    wanted = without_entry(current)
    if wanted and not wanted.endswith("\n"):
        wanted += "\n"
    wanted += cron_entry(job)
    if wanted == current:
        return Note("schedule.cron_unchanged", {"line": cron_line(job)})
    write_crontab(wanted, file)
    return Note("schedule.cron_installed", {"line": cron_line(job)})


def remove_cron(file: Path | None = None) -> Note:
    current = read_crontab(file)
    line = installed_cron_line(current)
    if line is None:
        return Note("schedule.cron_none", {})
    write_crontab(without_entry(current), file)
    return Note("schedule.cron_removed", {"line": line})


def cron_state(job: Job, file: Path | None = None) -> Note:
    line = installed_cron_line(read_crontab(file))
    if line is None:
        return Note("schedule.state_absent", {}, err=True)
    if line == cron_line(job):
        return Note("schedule.state_installed", {}, err=True)
    return Note("schedule.state_other", {"line": line}, err=True)


def install_systemd(job: Job, folder: Path | None = None) -> list[Note]:
    folder = folder or systemd_folder()
    notes = [Note("schedule.written", {"path": p}) for p in write_units(job, folder)]
    if systemctl("daemon-reload") and systemctl("enable", "--now", f"{UNIT}.timer"):
        notes.append(Note("schedule.enabled", {"unit": f"{UNIT}.timer"}))
    else:  # no user session bus here (ssh without lingering, a container): say what to run
        notes.append(Note("schedule.enable_yourself", {"unit": f"{UNIT}.timer"}))
    user = _user()
    if not lingering(user):
        notes.append(Note("schedule.linger", {"user": user}))
    return notes


def remove_systemd(folder: Path | None = None) -> list[Note]:
    folder = folder or systemd_folder()
    systemctl("disable", "--now", f"{UNIT}.timer")  # best effort: the files go either way
    removed = remove_units(folder)
    if removed:
        systemctl("daemon-reload")
    if not removed:
        return [Note("schedule.units_none", {"folder": folder})]
    return [Note("schedule.removed", {"path": p}) for p in removed]
