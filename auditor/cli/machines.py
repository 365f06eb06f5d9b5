"""Machines: `auditor inventory`, `auditor advise` and `auditor update-data`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from auditor.cli.common import (
    EXIT_PARTIAL,
    language,
    write_report,
)
from auditor.cli.options import (
    debug_option,
    h,
    lang_option,
    output_option,
)
from auditor.errors import (
    localized,
    under,
)
from auditor.i18n import t


@click.command(help=h("inventory"), epilog=h("inventory_examples"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auditor", "glpi"]),
    default="auditor",
    show_default=True,
    help=h("inventory_format"),
)
@output_option
@click.option("--overwrite", is_flag=True, help=h("overwrite"))
@lang_option
@debug_option
def inventory(fmt: str, output: Path | None, overwrite: bool, lang: str | None) -> None:
    from datetime import UTC, datetime

    from auditor.collect.host.machine import collect_machine
    from auditor.inventory.auditor_format import auditor_inventory, write_inventory
    from auditor.inventory.glpi import glpi_inventory

    lang = language(lang)
    machine = collect_machine()
    build = glpi_inventory if fmt == "glpi" else auditor_inventory
    doc = build(
        machine.host,
        hardware=machine.hardware,
        antivirus=machine.antivirus,
        batteries=machine.batteries,
        generated_at=datetime.now(UTC),
    )
    if output is None:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    write_inventory(doc, output, overwrite=overwrite)
    click.echo(t(lang, "cli.inventory.written", path=str(output), host=machine.host.hostname))
    for line in machine.host.errors:
        click.echo(f"auditor: {localized(under(line, machine.host.hostname), lang)}", err=True)


@click.command("update-data", help=h("update_data"), epilog=h("update_data_examples"))
@click.option("--url", default=None, metavar="URL", help=h("update_url"))
@lang_option
@debug_option
def update_data(url: str | None, lang: str | None) -> None:
    from auditor.impact.os_eol import API_BASE
    from auditor.impact.os_eol import update_data as refresh

    lang = language(lang)
    line = refresh(base_url=url or API_BASE)  # OSDataError is a SourceError: one line, exit 3
    click.echo(localized(line, lang))


NEEDS = ("office", "video-calls", "photo", "video-editing")


@click.command(help=h("advise"), epilog=h("advise_examples"))
@click.option(
    "--needs",
    multiple=True,
    type=click.Choice(NEEDS),
    help=h("needs"),
)
@click.option(
    "--inventory",
    "inventory_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=h("advise_inventory"),
)
@click.option("--offer", "offer_texts", multiple=True, metavar="TEXT", help=h("advise_offer"))
@click.option(
    "--offers",
    "offers_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help=h("advise_offers"),
)
@click.option("--no-host", is_flag=True, help=h("no_host"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
    help=h("format"),
)
@output_option
@lang_option
@debug_option
def advise(
    needs: tuple[str, ...],
    inventory_dir: Path | None,
    offer_texts: tuple[str, ...],
    offers_csv: Path | None,
    no_host: bool,
    fmt: str,
    output: Path | None,
    lang: str | None,
) -> None:
    from datetime import UTC, datetime

    from auditor.advise import DEFAULT_NEEDS, advice_to_dict, render_advice_text
    from auditor.advise import advise as advise_machine
    from auditor.collect.host.machine import collect_machine
    from auditor.derive import derive

    lang = language(lang)
    wanted = list(needs) or list(DEFAULT_NEEDS)
    errors: list[str] = []
    if inventory_dir is not None:
        from auditor.inventory.read import read_inventory_folder

        today = datetime.now(UTC).date()
        from auditor.collect.host.identity import newest_per_machine

        found, errors = read_inventory_folder(inventory_dir)
        machines = newest_per_machine([derive(m, today) for m in found])
    elif no_host:
        machines = []
    else:
        machines = [derive(collect_machine(), datetime.now(UTC).date())]
    advices = [advise_machine(m, wanted, lang) for m in machines]
    if offer_texts or offers_csv is not None or fmt in ("markdown", "html"):
        owned = list(zip(machines, advices, strict=True))
        text = _compare_offers(offer_texts, offers_csv, owned, wanted, fmt, lang)
    elif fmt == "json":
        text = json.dumps(
            {"needs": wanted, "machines": [advice_to_dict(a) for a in advices]},
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    else:
        text = render_advice_text(advices, lang)
    if output:
        write_report(output, text + "\n")
        click.echo(t(lang, "cli.scan.written", path=str(output)))
    else:
        click.echo(text)
    for line in errors:
        click.echo(f"auditor: {localized(line, lang)}", err=True)
    if errors:
        sys.exit(EXIT_PARTIAL)


def _compare_offers(offer_texts, offers_csv, owned, wanted, fmt: str, lang: str) -> str:
    """`advise --offer/--offers`: the offers side by side with the machines owned
    (auditor/compare.py). A CSV that cannot be read is a ConfigError: one line, exit 2."""
    from datetime import UTC, datetime

    from auditor import compare
    from auditor.offers import parse_offer_text, read_offers_csv

    offers = [parse_offer_text(text) for text in offer_texts]
    if offers_csv is not None:
        offers += read_offers_csv(offers_csv)
    comparison = compare.compare(offers, owned, wanted, lang, datetime.now(UTC).date())
    if fmt == "json":
        return json.dumps(compare.to_json(comparison, lang), ensure_ascii=False, indent=2)
    render = {"markdown": compare.render_markdown, "html": compare.render_html}
    return render.get(fmt, compare.render_text)(comparison, lang)
