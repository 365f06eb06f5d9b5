"""`auditor init`: a commented configuration file to start from."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.common import (
    language,
)
from auditor.cli.options import (
    config_option,
    debug_option,
    h,
    lang_option,
)
from auditor.config import default_config_path
from auditor.errors import (
    ConfigError,
)
from auditor.i18n import t


@click.command(help=h("init"), epilog=h("init_examples"))
@lang_option
@config_option
@debug_option
def init(lang: str | None, config_path: Path | None) -> None:
    from importlib import resources

    lang = language(lang)
    path = (config_path or default_config_path()).expanduser()
    if path.exists():
        raise ConfigError("cli.init.exists", path=str(path))
    template = (resources.files("auditor") / "config_template.toml").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite
        fh.write(template)
    path.chmod(0o600)
    click.echo(t(lang, "cli.init.written", path=str(path)))
