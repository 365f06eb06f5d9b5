"""Write the scheduling examples in examples/ with the code of `auditor schedule`.

    python scripts/make_examples.py          # rewrite examples/crontab, systemd/, windows/
    python scripts/make_examples.py --check  # exit 1 if they differ from the code's

The files are what `auditor schedule install` writes for a user "alice" who installed
auditor with pipx (scripts/install): the same functions make both, so an example cannot
drift from the command. tests/unit/test_schedule.py runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

CRONTAB_HEAD = """\
# FR : Rapport mensuel, le 1er de chaque mois à 7 h : analyse, envoi par e-mail, rien à l'écran
#      sauf les erreurs (cron les envoie à l'utilisateur). `auditor schedule install` écrit
#      cette ligne dans votre crontab, avec les chemins de votre machine.
# EN : Monthly report, on the 1st of each month at 7:00: scan, email it, print nothing but
#      errors (cron mails them to the user). `auditor schedule install` writes this line
#      into your crontab, with your machine's paths.
"""
SYSTEMD_HEAD = """\
# FR : Écrit par `auditor schedule install --systemd` dans ~/.config/systemd/user/.
#      Pour qu'il tourne quand personne n'est connecté : loginctl enable-linger UTILISATEUR
# EN : Written by `auditor schedule install --systemd` into ~/.config/systemd/user/.
#      For it to run while nobody is logged in: loginctl enable-linger USER
"""
WINDOWS_HEAD = """\
:: FR : Crée une tâche planifiée Windows : le 1er de chaque mois à 7 h, analyse et envoi du
::      rapport. À lancer une fois dans une invite de commandes (cmd), sans droits admin.
::      `auditor schedule install` affiche cette commande avec vos chemins.
:: EN : Creates a Windows scheduled task: on the 1st of each month at 7:00, scan and email
::      the report. Run once in a command prompt (cmd), no admin rights needed.
::      `auditor schedule install` prints this command with your paths.
"""


def examples() -> dict[str, str]:
    """{path under examples/: content}."""
    from auditor.schedule import Job, cron_entry, schtasks_create, systemd_units

    posix = Job(
        program=("/home/alice/.local/bin/auditor",),  # pipx's link (scripts/install)
        config="/home/alice/.config/auditor/auditor.toml",
        send=True,
        lang="fr",
    )
    windows = Job(
        program=("C:\\Users\\alice\\.local\\bin\\auditor.exe",),  # pipx on Windows
        config="C:\\Users\\alice\\AppData\\Local\\auditor\\auditor.toml",
        send=True,
        lang="fr",
    )
    files = {"crontab": CRONTAB_HEAD + cron_entry(posix)}
    for name, text in systemd_units(posix).items():
        files[f"systemd/{name}"] = SYSTEMD_HEAD + text
    files["windows/task-scheduler.cmd"] = WINDOWS_HEAD + schtasks_create(windows) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    drifted = []
    for name, text in examples().items():
        path = EXAMPLES / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                drifted.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(ROOT)}")
    for name in drifted:
        print(f"examples/{name} differs from the code: run python scripts/make_examples.py")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
