"""What every command shares: the group that turns errors into one line, exit codes, the
command's language, its config, its store and its rules."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from auditor.cli.options import language_asked
from auditor.config import Config, load_config
from auditor.errors import AuditorError, ConfigError, internal_error
from auditor.i18n import click_messages, pick_language, t

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERNAL = 0, 1, 2, 3, 4


class AuditorGroup(click.Group):
    """Turns every AuditorError into one line on stderr and its exit code."""

    def main(self, args=None, *rest, **kwargs):
        # Click reports a bad option before --lang's callback runs: read --lang first
        words = list(sys.argv[1:] if args is None else args)
        click_messages.remember_language(language_asked(words))
        return super().main(args, *rest, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditorError as exc:
            if ctx.meta.get("auditor.debug"):
                traceback.print_exc()
            lang = pick_language(ctx.meta.get("auditor.lang"))
            click.echo(f"auditor: {exc.localized(lang)}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: one line that says what to do, never a traceback
            if ctx.meta.get("auditor.debug"):
                traceback.print_exc()
            lang = pick_language(ctx.meta.get("auditor.lang"))
            click.echo(f"auditor: {internal_error(exc).localized(lang)}", err=True)
            ctx.exit(EXIT_INTERNAL)


def language(requested: str | None) -> str:
    """The command's language (--lang, else the config's, else the locale), also for its
    error lines."""
    lang = pick_language(requested)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["auditor.lang"] = lang
    click_messages.remember_language(lang)
    return lang


def read_config(config_path: Path | None) -> Config:
    return load_config(config_path)


def loaded_rules(rules_dirs: tuple[Path, ...], config: Config, schema=None):
    """The built-in packs, --rules folders and the config's rules_dirs, checked (EXPLAIN)
    against `schema` when given."""
    from auditor.rules.loader import load_rules

    extra = [*rules_dirs, *[Path(d).expanduser() for d in config.rules_dirs]]
    return load_rules(extra, schema)


def store_path(db_path: Path | None, config: Config) -> Path:
    """--db, else the config's store, else $AUDITOR_DB or the user data folder."""
    from auditor.store import default_store_path

    if db_path:
        return db_path
    if config.store:
        return Path(config.store).expanduser()
    return default_store_path()


def check_email_settings(config: Config, lang: str) -> None:
    """--send needs [report.email] with a server and recipients: say so before scanning."""
    email = config.email
    if not email.smtp_host or not email.to or not email.sender:
        raise ConfigError("cli.send.not_configured", path=str(config.path or "auditor.toml"))
    from auditor.report.send import check_password_source

    check_password_source(email)  # keyring = true where no keyring works


def imap_accounts(config: Config, urls: tuple[str, ...], ca_file: str | None, lang: str) -> list:
    """The config's accounts and those given as --imap URLs (password asked on a terminal);
    two names for the same mailbox are refused."""
    from auditor.accounts import account_from_url, accounts_from_config

    accounts = accounts_from_config(config)
    interactive = sys.stdin.isatty()

    def ask(account: str) -> str:
        question = t(lang, "cli.prompt.password", account=account)
        return click.prompt(question, hide_input=True, err=True)

    prompt = ask if interactive else None
    accounts += [account_from_url(url, ca_file, prompt) for url in urls]
    if ca_file:
        for account in accounts:
            account.ca_file = account.ca_file or ca_file
    seen: dict[str, str] = {}
    for account in accounts:
        if account.locator in seen:
            raise ConfigError(
                "errors.accounts.same_mailbox",
                first=seen[account.locator],
                second=account.name,
                locator=account.locator,
            )
        seen[account.locator] = account.name
    return accounts


def write_report(path: Path, text: str, *, private_folder: bool = False) -> None:
    """Write atomically and readable by its owner only (0600): a report holds subjects,
    senders and file names, like the store. The temporary file is created by mkstemp in the
    target's folder, so no symlink planted by another user can redirect the write (a run is
    often root's, from cron). `private_folder`: a folder auditor creates for it is 0700."""
    from auditor.files import atomic_write_text, require_folder

    path = path.expanduser()
    if not private_folder:  # the user's --output: a missing folder is not made up
        require_folder(path.parent, at=str(path))
    try:
        if private_folder:  # auditor's own folder of kept reports
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(path, text)
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
        raise ConfigError("errors.report.unwritable", path=path, error=error) from None
