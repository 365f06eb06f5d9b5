"""The `auditor` command. Thin: parse options, call the library, print; no SQL (the store
answers through auditor.store.Store).

One module per command family: scan.py (scan, report), rules.py, queries.py (query,
history), machines.py (inventory, advise, update-data), compress.py, schedule.py, init.py,
clean.py; options.py holds the shared options and the help language, common.py what every
command shares (the group that turns errors into one line, exit codes, config, store path).
"""

from __future__ import annotations

import click

from auditor import __version__
from auditor.cli.common import AuditorGroup
from auditor.cli.options import group_lang_option, h


@click.group(
    cls=AuditorGroup,
    help=h("main"),
    epilog=h("main_examples"),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="auditor")
@group_lang_option
def main() -> None:
    pass


def _add_commands() -> None:
    from auditor.cli import clean, compress, init, machines, queries, rules, scan, schedule

    for command in (
        scan.scan,
        scan.report_command,
        rules.rules,
        queries.query,
        queries.history,
        init.init,
        machines.inventory,
        machines.update_data,
        machines.advise,
        schedule.schedule,
        compress.compress,
        clean.clean,
    ):
        main.add_command(command)


_add_commands()

__all__ = ["main"]
