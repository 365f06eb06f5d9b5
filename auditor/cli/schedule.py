"""`auditor schedule install|show|remove`: a monthly or weekly scan by cron or systemd."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from auditor.cli.common import (
    AuditorGroup,
    check_email_settings,
    language,
)
from auditor.cli.options import (
    config_option,
    db_option,
    debug_option,
    h,
    lang_option,
)
from auditor.config import Config, default_config_path, load_config
from auditor.errors import (
    ConfigError,
)
from auditor.i18n import t


@click.group(cls=AuditorGroup, help=h("schedule"), epilog=h("schedule_examples"))
def schedule() -> None:
    pass


def _schedule_where(f):
    f = click.option(
        "--crontab-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=h("crontab_file"),
    )(f)
    return click.option("--systemd", is_flag=True, help=h("systemd"))(f)


def _schedule_job(f):
    for option in reversed(
        [
            click.option(
                "--monthly", "every", flag_value="monthly", default=True, help=h("monthly")
            ),
            click.option("--weekly", "every", flag_value="weekly", help=h("weekly")),
            click.option("--send/--no-send", default=None, help=h("schedule_send")),
            _schedule_where,
            lang_option,
            db_option,
            config_option,
            debug_option,
        ]
    ):
        f = option(f)
    return f


def _scheduled_job(every, send, lang, db_path, config_path):
    """(job, config, language) for this config, which must exist."""
    from auditor import schedule as sched

    path = (config_path or default_config_path()).expanduser()
    config = load_config(path, required=True)
    lang = language(lang or config.language)
    if send:
        check_email_settings(config, lang)
    return sched.make_job(config, path, every, send, lang, db_path), config, lang


def _check_secrets(job, config: Config, lang: str) -> None:
    """Every secret the job needs is read as the scheduler will; each that cannot be read
    is named with what to use instead, then exit 2."""
    from auditor.schedule import check_secrets

    failed = check_secrets(config, job.send)
    for problem, hint in failed:
        line = t(lang, "schedule.unreadable", line=problem.localized(lang), hint=t(lang, hint))
        click.echo(f"auditor: {line}", err=True)
    if failed:
        raise ConfigError("schedule.not_written")


def _say(notes, lang: str) -> None:
    for note in notes:
        click.echo(t(lang, note.key, **note.values), err=note.err)


@schedule.command("install", help=h("schedule_install"), epilog=h("schedule_install_examples"))
@_schedule_job
def schedule_install(every, send, systemd, crontab_file, lang, db_path, config_path) -> None:
    from auditor import schedule as sched

    job, config, lang = _scheduled_job(every, send, lang, db_path, config_path)
    _check_secrets(job, config, lang)  # before anything is written
    if sys.platform == "win32":
        click.echo(t(lang, "schedule.windows_create"))
        click.echo(sched.schtasks_create(job))
    elif systemd:
        _say(sched.install_systemd(job), lang)
    else:
        _say([sched.install_cron(job, crontab_file)], lang)


@schedule.command("show", help=h("schedule_show"), epilog=h("schedule_show_examples"))
@_schedule_job
def schedule_show(every, send, systemd, crontab_file, lang, db_path, config_path) -> None:
    from auditor import schedule as sched

    job, config, lang = _scheduled_job(every, send, lang, db_path, config_path)
    if sys.platform == "win32":
        click.echo(sched.schtasks_create(job))
    elif systemd:
        for name, text in sched.systemd_units(job).items():
            click.echo(f"# {sched.systemd_folder() / name}\n{text}")
    else:
        click.echo(sched.cron_entry(job), nl=False)
        _say([sched.cron_state(job, crontab_file)], lang)
    _check_secrets(job, config, lang)


@schedule.command("remove", help=h("schedule_remove"), epilog=h("schedule_remove_examples"))
@_schedule_where
@lang_option
@debug_option
def schedule_remove(systemd: bool, crontab_file: Path | None, lang: str | None) -> None:
    from auditor import schedule as sched

    lang = language(lang)
    if sys.platform == "win32":
        click.echo(t(lang, "schedule.windows_delete"))
        click.echo(sched.schtasks_delete())
    elif systemd:
        _say(sched.remove_systemd(), lang)
    else:
        _say([sched.remove_cron(crontab_file)], lang)
