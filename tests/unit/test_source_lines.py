"""Error lines of the mail sources and of inventory files exist in English and French.

Each line is a `Problem` (catalog key + values): its English text is the line auditor always
printed, its French one is whole (every placeholder filled) and really French, and what the
line is about (account, folder, file) comes first in both, untranslated.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient.exceptions import IMAPClientError

import auditor.collect.mail.imap as imap
import auditor.collect.mail.localbox as localbox
from auditor import __version__
from auditor.collect.host.records import HardwareFacts, HostFacts
from auditor.collect.mail.imap import AccountScanner, ImapAccount, connect
from auditor.collect.mail.localbox import collect_maildir, collect_mbox
from auditor.errors import AuditorError, Problem
from auditor.inventory import auditor_format as inventory
from auditor.inventory.auditor_format import (
    InventoryExistsError,
    auditor_inventory,
    read_inventory,
    read_inventory_dir,
    write_inventory,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "mail"
GLPI_EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "glpi" / "computer_1.example.json"


def assert_bilingual(line: str, english: str, about: str | None = None) -> Problem:
    """`line` is a Problem whose English is `english` and whose French is whole."""
    assert isinstance(line, Problem), f"a plain string, not a Problem: {line!r}"
    assert line.key.startswith("source."), line.key
    assert str(line) == english and line.localized("en") == english
    french = line.localized("fr")
    assert french != english, f"{line.key}: the French line is the English one"
    assert "{" not in french and "}" not in french and "\n" not in french, french
    if about is not None:
        assert line.at and line.at[0] == about
        assert english.startswith(f"{about}: ") and french.startswith(f"{about} : ")
    return line


def raised(call) -> Problem:
    with pytest.raises(AuditorError) as caught:
        call()
    assert str(caught.value) == str(caught.value.problem)
    return caught.value.problem


# --------------------------------------------------------------------------------------------
# mbox and Maildir
# --------------------------------------------------------------------------------------------


def test_missing_or_wrong_mail_stores(tmp_path):
    missing = tmp_path / "nowhere"
    assert_bilingual(raised(lambda: collect_mbox(missing)), f"mbox not found: {missing}")
    assert_bilingual(raised(lambda: collect_maildir(missing)), f"maildir not found: {missing}")
    notes = DATA / "mbox" / "notes.txt"
    assert_bilingual(
        raised(lambda: collect_mbox(notes)),
        f"not an mbox file (no 'From ' line at the start): {notes}",
    )
    assert_bilingual(
        raised(lambda: collect_maildir(tmp_path)),
        f"not a Maildir (no cur/ and new/ folders): {tmp_path}",
    )


def test_an_mbox_file_that_cannot_be_read_is_a_line_about_its_folder(tmp_path):
    gone = tmp_path / "Inbox"
    folder = localbox._read_mbox_file(gone, "Inbox")
    (line,) = folder.errors
    assert_bilingual(line, f"Inbox: cannot read {gone}: No such file or directory", "Inbox")
    assert line.localized("fr") == f"Inbox : impossible de lire {gone} : No such file or directory"
    assert folder.skipped == 0  # no message was lost: the file itself was not there


def test_an_empty_mbox_message_is_a_line_about_its_folder():
    (folder,) = collect_mbox(DATA / "mbox" / "Truncated.mbox")
    (line,) = folder.errors
    assert_bilingual(line, "Truncated: message 1 is empty", "Truncated")
    assert line.localized("fr") == "Truncated : le message 1 est vide"


def test_a_maildir_message_that_cannot_be_read(tmp_path):
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "cur" / "1700000000.M1.host:2,S").mkdir()  # a folder where a file should be
    (folder,) = collect_maildir(tmp_path)
    (line,) = folder.errors
    assert_bilingual(
        line, "INBOX: message 1 (1700000000.M1.host:2,S) could not be read: Is a directory", "INBOX"
    )
    assert folder.skipped == 1


def test_stored_folder_lines_come_back_in_french():
    (folder,) = collect_mbox(DATA / "mbox" / "Truncated.mbox")
    stored = json.loads(json.dumps([line.to_json() for line in folder.errors]))
    (back,) = [Problem.from_json(item) for item in stored]
    assert back == folder.errors[0]
    assert back.localized("fr") == "Truncated : le message 1 est vide"


# --------------------------------------------------------------------------------------------
# IMAP
# --------------------------------------------------------------------------------------------


def account(**changes) -> ImapAccount:
    fields = {"name": "asso", "host": "127.0.0.1", "username": "u", "secret": lambda: "s3cret"}
    return ImapAccount(**{**fields, **changes})


def test_a_password_is_never_sent_unencrypted_to_a_remote_host():
    line = raised(lambda: connect(account(host="mail.example.org", security="none")))
    assert_bilingual(
        line,
        "asso: refusing to send a password unencrypted to mail.example.org; "
        'use security = "tls" (port 993) or "starttls" (port 143)',
        "asso",
    )
    assert "s3cret" not in json.dumps(line.to_json())


def test_a_closed_port_is_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = raised(lambda: connect(account(port=port, security="none")))
    assert_bilingual(line, f"asso: connection refused by 127.0.0.1:{port}", "asso")
    assert line.localized("fr") == f"asso : connexion refusée par 127.0.0.1:{port}"
    assert "s3cret" not in json.dumps(line.to_json())


class _NoQuota:
    def capabilities(self):
        return (b"IMAP4REV1", b"QUOTA")

    def get_quota_root(self, _folder):
        raise IMAPClientError("GETQUOTAROOT failed: NO no such quota")


def test_a_quota_that_cannot_be_read_is_a_line_not_a_failure():
    scanner = AccountScanner(account(), sink=None)  # type: ignore[arg-type]
    scanner._quota(_NoQuota())
    (line,) = scanner.stats.errors
    assert_bilingual(
        line, "asso: quota not readable (GETQUOTAROOT failed: NO no such quota)", "asso"
    )


def test_a_connection_lost_for_good_names_the_retries(monkeypatch):
    def drop(_account):
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(imap, "connect", drop)
    scanner = AccountScanner(account(), sink=None, retries=0)  # type: ignore[arg-type]
    line = raised(scanner.run)
    assert_bilingual(
        line,
        "asso: connection lost and not recovered after 0 retries "
        "([Errno 104] Connection reset by peer)",
        "asso",
    )


# --------------------------------------------------------------------------------------------
# Inventory files
# --------------------------------------------------------------------------------------------


def host(errors: list[str]) -> HostFacts:
    return HostFacts(
        hostname="PC-ACCUEIL",
        os_name="Linux",
        os_version="Debian GNU/Linux 12 (bookworm)",
        os_release="6.1.0-18-amd64",
        cpu_model=None,
        cpu_cores_physical=None,
        cpu_cores_logical=None,
        ram_bytes=0,
        boot_time=None,
        battery_present=False,
        battery_percent=None,
        errors=errors,
    )


def document(errors: list[str], hardware_errors: list[str] = ()) -> dict:
    return auditor_inventory(
        host(errors),
        hardware=HardwareFacts(errors=list(hardware_errors)),
        generated_at=datetime(2026, 11, 27, 16, 0, tzinfo=UTC),
    )


def good() -> dict:
    return json.loads(json.dumps(document([])))


def changed(change) -> str:
    doc = good()
    change(doc)
    return json.dumps(doc)


THEIRS = "auditor reads back only its own format, written by `auditor inventory`"
BAD_FILES = {
    "empty": (
        "",
        "empty file, not an auditor inventory (write it again with `auditor inventory`)",
    ),
    "latin-1": (
        "caf\xe9".encode("latin-1"),
        "not JSON (not even UTF-8 text), so not an auditor inventory",
    ),
    "cut short": (
        '{"format": "auditor-inventory",\n"version": 1,',
        "the JSON stops short at line 2: the file is truncated (an interrupted copy?); "
        "write it again with `auditor inventory`",
    ),
    "not JSON": (
        "Inventaire du PC\n",
        "not valid JSON (Expecting value at line 1, column 1)",
    ),
    "NaN": ('{"x": NaN}', "not valid JSON (NaN is not a JSON value)"),
    "nested too deeply": (
        "[" * 100_000 + "]" * 100_000,
        "not an auditor inventory (the JSON is nested too deeply)",
    ),
    "GLPI": (
        GLPI_EXAMPLE.read_text(encoding="utf-8"),
        f"a GLPI inventory, not an auditor one; {THEIRS}",
    ),
    "other JSON object": (
        '{"name": "pc"}',
        f'not an auditor inventory (no "format": "auditor-inventory"); {THEIRS}',
    ),
    "a list": ("[]", f"not an auditor inventory (the JSON is a list); {THEIRS}"),
    "a number": ("42", f"not an auditor inventory (the JSON is the number 42); {THEIRS}"),
    "a text": ('"pc"', f'not an auditor inventory (the JSON is the text "pc"); {THEIRS}'),
    "null": ("null", f"not an auditor inventory (the JSON is null); {THEIRS}"),
    "newer": (
        changed(lambda d: d.update(version=7)),
        f"written by a newer auditor (inventory version 7; auditor {__version__} "
        "reads versions up to 2): update auditor to read it",
    ),
    "version 0": (
        changed(lambda d: d.update(version=0)),
        "inventory version 0 does not exist (the first was 1)",
    ),
    "missing key": (
        changed(lambda d: d["host"].pop("hostname")),
        "required key host.hostname is missing",
    ),
    "text for a number": (
        changed(lambda d: d["host"].update(ram_bytes="8 GB")),
        'host.ram_bytes should be a whole number, not the text "8 GB"',
    ),
    "true for a count": (
        changed(lambda d: d["host"].update(cpu_cores_logical=True)),
        "host.cpu_cores_logical should be a whole number or null, not true",
    ),
    "a float for an integer": (
        changed(lambda d: d["host"].update(ram_bytes=1.5)),
        "host.ram_bytes should be a whole number, not the number 1.5",
    ),
    "null for text": (
        changed(lambda d: d["host"].update(hostname=None)),
        "host.hostname should be text, not null",
    ),
    "an object for a list": (
        changed(lambda d: d.update(antivirus={"product": "Avast"})),
        "antivirus should be a list, not an object",
    ),
    "a list for an object": (
        changed(lambda d: d.update(host=[])),
        "host should be an object, not a list",
    ),
    "an error line that is a number": (
        changed(lambda d: d["host"]["errors"].append(42)),
        "host.errors[0] should be text, not the number 42",
    ),
    "an error line object without key": (
        changed(lambda d: d["hardware"]["errors"].append({"text": "x"})),
        'hardware.errors[0] should be text, or an object with a text "key", an object '
        '"values" and a list of texts "at"',
    ),
    "a date that is not one": (
        changed(lambda d: d.update(generated_at="last Tuesday")),
        'generated_at should be an ISO 8601 date-time, not the text "last Tuesday"',
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_each_bad_inventory_file_is_a_bilingual_line_after_its_path(case, tmp_path):
    content, expected = BAD_FILES[case]
    path = tmp_path / "pc-accueil.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    line = raised(lambda: read_inventory(path))
    assert_bilingual(line, f"{path}: {expected}", str(path))


def test_a_missing_or_too_large_inventory_file(tmp_path, monkeypatch):
    missing = tmp_path / "missing.json"
    line = raised(lambda: read_inventory(missing))
    assert_bilingual(line, f"{missing}: cannot be read (No such file or directory)", str(missing))
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 600_000 + "0]", encoding="utf-8")
    monkeypatch.setattr(inventory, "_MAX_FILE_BYTES", 1024 * 1024)
    line = raised(lambda: read_inventory(big))
    assert_bilingual(line, f"{big}: too large to be an auditor inventory (over 1 MB)", str(big))
    assert (
        line.localized("fr")
        == f"{big} : trop gros pour être un inventaire d'auditor (plus de 1 Mo)"
    )


def test_inventory_folder_lines(tmp_path):
    missing = tmp_path / "clé-usb"
    assert_bilingual(
        raised(lambda: read_inventory_dir(missing)),
        f"{missing}: inventory folder not found",
        str(missing),
    )
    a_file = tmp_path / "inventory.json"
    a_file.write_text("{}", encoding="utf-8")
    assert_bilingual(
        raised(lambda: read_inventory_dir(a_file)),
        f"{a_file}: not a folder (give the folder of inventory files)",
        str(a_file),
    )


def test_bad_files_of_a_folder_are_problems(tmp_path):
    (tmp_path / "a.json").write_text("[]", encoding="utf-8")
    (tmp_path / "b.json").write_text("", encoding="utf-8")
    inventories, errors = read_inventory_dir(tmp_path)
    assert inventories == []
    assert [line.key for line in errors] == [
        "source.inventory.json_is",
        "source.inventory.empty",
    ]
    assert errors[0].values["found"] == "list"
    for line, name in zip(errors, ("a.json", "b.json"), strict=True):
        assert_bilingual(line, str(line), str(tmp_path / name))


def test_writing_over_an_inventory_or_into_a_file(tmp_path):
    path = tmp_path / "pc.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(InventoryExistsError) as caught:
        write_inventory(document([]), path)
    assert_bilingual(
        caught.value.problem,
        f"{path}: already exists, not overwritten: choose another name, or add --overwrite to "
        "replace it",
        str(path),
    )
    target = path / "pc.json"
    line = raised(lambda: write_inventory(document([]), target))
    assert_bilingual(
        line, f"{target}: cannot write the inventory ({path} is a file, not a folder)", str(target)
    )


def test_probe_lines_go_through_an_inventory_file_and_come_back_in_french(tmp_path):
    disk = Problem("source.mail.message_unreadable", at=("disk D:",), number=3, error="EIO")
    smart = Problem("source.maildir.not_found", path="/dev/sdb")
    old = "memory: not readable (OSError)"  # a plain line, as older probes wrote them
    path = tmp_path / "pc.json"
    write_inventory(document([disk, old], [smart]), path)

    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["host"]["errors"] == [
        {
            "key": "source.mail.message_unreadable",
            "values": {"number": 3, "error": "EIO"},
            "at": ["disk D:"],
            "text": "disk D:: message 3 could not be read: EIO",
        },
        old,
    ]
    assert written["hardware"]["errors"] == [
        {
            "key": "source.maildir.not_found",
            "values": {"path": "/dev/sdb"},
            "text": "maildir not found: /dev/sdb",
        }
    ]

    machine = read_inventory(path)
    back_disk, back_old = machine.host.errors
    assert isinstance(back_disk, Problem) and back_disk == disk
    assert (
        back_disk.localized("fr")
        == disk.localized("fr")
        == ("disk D: : le message 3 n'a pas pu être lu : EIO")
    )
    assert back_old == old and not isinstance(back_old, Problem)
    (back_smart,) = machine.hardware.errors
    assert isinstance(back_smart, Problem)
    assert back_smart.localized("fr") == "Maildir introuvable : /dev/sdb"


def test_a_line_from_a_newer_auditor_shows_its_english_text(tmp_path):
    path = tmp_path / "pc.json"
    doc = good()
    doc["host"]["errors"] = [
        {"key": "errors.host.probe_from_the_future", "values": {}, "text": "gpu: not readable"},
        {"key": "source.mbox.not_found", "values": {"other": 1}, "text": "mbox not found: x"},
        {"key": "errors.host.no_text", "at": ["disk"]},
        {"key": "source.mbox.not_found", "values": {"path": "/m"}},  # no text: not needed
    ]
    path.write_text(json.dumps(doc), encoding="utf-8")
    future, unfit, bare, known = read_inventory(path).host.errors
    assert future == "gpu: not readable" and not isinstance(future, Problem)
    assert unfit == "mbox not found: x" and not isinstance(unfit, Problem)
    assert bare == "disk: errors.host.no_text"
    assert isinstance(known, Problem) and known.localized("fr") == "mbox introuvable : /m"
