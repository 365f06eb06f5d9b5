"""`auditor rules list` and `auditor rules explain`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from auditor.cli.common import (
    EXIT_USAGE,
    AuditorGroup,
    language,
    loaded_rules,
    read_config,
)
from auditor.cli.options import (
    config_option,
    debug_option,
    h,
    lang_option,
    rules_dir_option,
)
from auditor.errors import (
    ConfigError,
    localized,
)
from auditor.i18n import t


@click.group(cls=AuditorGroup, help=h("rules"), epilog=h("rules_examples"))
def rules() -> None:
    pass


@rules.command("list", help=h("rules_list"), epilog=h("rules_list_examples"))
@rules_dir_option
@lang_option
@config_option
@debug_option
def rules_list(rules_dirs: tuple[Path, ...], lang: str | None, config_path: Path | None) -> None:
    config = read_config(config_path)
    lang = language(lang or config.language)
    loaded = loaded_rules(rules_dirs, config)
    table = Table(title=t(lang, "cli.rules.title", count=len(loaded.rules)))
    for key in ("id", "severity", "category", "effort", "title"):
        table.add_column(t(lang, f"cli.rules.col_{key}"))
    for rule in sorted(loaded.rules, key=lambda r: r.id):
        disabled = rule.id in config.disabled_rules
        title = rule.title[lang] + (f" ({t(lang, 'cli.rules.disabled')})" if disabled else "")
        table.add_row(
            rule.id,
            t(lang, f"report.severity.{rule.severity}"),
            t(lang, f"report.category.{rule.category}"),
            t(lang, f"report.effort.{rule.effort}"),
            title,
        )
    Console().print(table)
    for line in loaded.errors:
        click.echo(f"auditor: {localized(line, lang)}", err=True)
    if loaded.errors:
        sys.exit(EXIT_USAGE)


@rules.command("explain", help=h("rules_explain"), epilog=h("rules_explain_examples"))
@click.argument("rule_id")
@rules_dir_option
@lang_option
@config_option
@debug_option
def rules_explain(
    rule_id: str, rules_dirs: tuple[Path, ...], lang: str | None, config_path: Path | None
) -> None:
    from auditor.rules.engine import bound_params

    config = read_config(config_path)
    lang = language(lang or config.language)
    loaded = loaded_rules(rules_dirs, config)
    by_id = {r.id.upper(): r for r in loaded.rules} | {r.slug: r for r in loaded.rules}
    rule = by_id.get(rule_id.upper()) or by_id.get(rule_id)
    if rule is None:
        known = ", ".join(sorted(r.id for r in loaded.rules))
        raise ConfigError("cli.rules.unknown", rule_id=rule_id, known=known)
    current = bound_params(rule, config.rule_params, config.path)
    out = [
        f"{rule.id} ({rule.slug}): {rule.title[lang]}",
        "",
        f"{t(lang, 'cli.rules.col_severity')}: {t(lang, f'report.severity.{rule.severity}')}"
        f"   {t(lang, 'cli.rules.col_category')}: {t(lang, f'report.category.{rule.category}')}"
        f"   {t(lang, 'cli.rules.col_effort')}: {t(lang, f'report.effort.{rule.effort}')}"
        f"   {t(lang, 'cli.rules.gesture')}: {t(lang, f'cli.gesture.{rule.gesture}')}",
        "",
        f"## {t(lang, 'cli.rules.why')}",
        rule.why[lang],
        "",
        f"## {t(lang, 'cli.rules.how')}",
        rule.how[lang],
        "",
        f"## {t(lang, 'cli.rules.params')}",
    ]
    if not rule.params:
        out.append(t(lang, "cli.rules.no_params"))
    for p in rule.params:
        line = f"- {p.name} = {p.default!r}: {p.doc[lang]}"
        if current[p.name] != p.default:
            line += f" ({t(lang, 'cli.rules.configured', value=repr(current[p.name]))})"
        out.append(line)
    out += ["", f"## {t(lang, 'cli.rules.query')}", rule.sql, "", f"({rule.pack})"]
    click.echo("\n".join(out))
