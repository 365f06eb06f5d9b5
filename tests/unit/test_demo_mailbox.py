"""The shipped demo mailbox: reproducible, small, and full of things worth reporting."""

from __future__ import annotations

import email
import gzip
import importlib.util
import io
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.collect.mail.localbox import collect_mbox
from auditor.demo import DEMO_DATE, DEMO_FOLDERS, demo_archives, demo_mailbox_dir

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "make_demo_mailbox.py"
REF = datetime(2026, 11, 1, tzinfo=UTC)
MB = 1_000_000


def iso(days_before_ref: int) -> str:
    return (REF - timedelta(days=days_before_ref)).isoformat()


def load_script():
    spec = importlib.util.spec_from_file_location("make_demo_mailbox", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    return demo_mailbox_dir(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def folders(demo_dir):
    return {f.name: f for f in collect_mbox(demo_dir)}


def attachments(folders, names=None):
    for folder in folders.values():
        if names and folder.name not in names:
            continue
        for message in folder.messages:
            for att in message.attachments:
                yield folder.name, message, att


# --- shipping ------------------------------------------------------------------------------


def test_demo_mailbox_is_byte_identical_when_regenerated(tmp_path):
    written = load_script().write(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.mbox.gz" for n in DEMO_FOLDERS)
    shipped = demo_archives()
    for name in DEMO_FOLDERS:
        fresh = (tmp_path / f"{name}.mbox.gz").read_bytes()
        assert gzip.decompress(fresh) == gzip.decompress(shipped[name]), (
            f"{name}: the generator no longer produces the shipped mail; rerun "
            "scripts/make_demo_mailbox.py and commit auditor/demo/"
        )
        assert fresh == shipped[name], f"{name}: same mail, different gzip stream"


def test_demo_date_is_the_generators_reference_date():
    assert datetime.fromisoformat(DEMO_DATE) == load_script().REF
    assert datetime.fromisoformat(DEMO_DATE).date() == REF.date()


def test_no_demo_message_arrives_after_the_demo_date(folders):
    latest = max(m.internal_date for f in folders.values() for m in f.messages)
    assert latest <= DEMO_DATE


def test_demo_files_stay_under_one_and_a_half_megabytes():
    sizes = {name: len(data) for name, data in demo_archives().items()}
    assert sum(sizes.values()) < 1_500_000, sizes


def test_demo_files_live_inside_the_package_so_they_ship_in_the_wheel():
    package = ROOT / "auditor" / "demo"
    for name in DEMO_FOLDERS:
        assert (package / f"{name}.mbox.gz").is_file()


def test_demo_mailbox_dir_unpacks_once_then_reuses_the_cache(tmp_path, monkeypatch):
    first = demo_mailbox_dir(tmp_path)
    assert sorted(p.name for p in first.iterdir()) == sorted(DEMO_FOLDERS)
    assert first.parent == tmp_path and first.name.startswith("demo-")
    assert (first / "Inbox").read_bytes().startswith(b"From ")

    def no_second_unpack(data):
        raise AssertionError("unpacked again")

    monkeypatch.setattr(gzip, "decompress", no_second_unpack)
    assert demo_mailbox_dir(tmp_path) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".demo-")]  # no staging left


def test_demo_mailbox_dir_repairs_an_incomplete_cache(tmp_path):
    first = demo_mailbox_dir(tmp_path)
    (first / "Trash").unlink()
    again = demo_mailbox_dir(tmp_path)
    assert again == first
    assert (again / "Trash").read_bytes().startswith(b"From ")


# --- content -------------------------------------------------------------------------------


def test_demo_folders_are_read_by_collect_mbox(folders):
    assert {name: f.special_use for name, f in folders.items()} == {
        "Archives": "Archive",
        "Inbox": None,
        "Sent": "Sent",
        "Trash": "Trash",
    }
    total = sum(len(f.messages) for f in folders.values())
    assert 100 <= total <= 200
    assert all(f.skipped == 0 and f.errors == [] for f in folders.values())


def test_demo_has_heavy_attachments_including_in_sent(folders):
    heavy = [(folder, att) for folder, _, att in attachments(folders) if att.size_bytes >= 5 * MB]
    assert len(heavy) >= 4
    assert {att.content_type for _, att in heavy} >= {"image/tiff", "application/pdf", "image/jpeg"}
    assert any(folder == "Sent" for folder, _ in heavy)


def test_demo_has_compressible_images_and_pdfs_over_one_megabyte(folders):
    mid = Counter(
        att.content_type
        for _, _, att in attachments(folders)
        if MB < att.size_bytes < 5 * MB
        and (att.content_type.startswith("image/") or att.content_type == "application/pdf")
    )
    assert mid["application/pdf"] >= 2
    assert sum(n for kind, n in mid.items() if kind.startswith("image/")) >= 4


def test_demo_has_an_unread_newsletter_with_one_click_unsubscribe(folders):
    since = iso(183)
    by_list: dict[str, list] = {}
    for message in folders["Inbox"].messages:
        if message.list_unsubscribe and message.internal_date >= since:
            by_list.setdefault(message.from_addr, []).append(message)
    assert len(by_list) >= 3
    unread = {sender: sum(not m.seen for m in msgs) / len(msgs) for sender, msgs in by_list.items()}
    ignored = [sender for sender, share in unread.items() if share >= 0.9]
    assert ignored == ["offres@bureau-discount.example.com"]
    assert all(m.one_click_unsubscribe for m in by_list[ignored[0]])
    assert sum(any(m.one_click_unsubscribe for m in msgs) for msgs in by_list.values()) == 1


def test_demo_has_read_mail_older_than_three_years(folders):
    cutoff = iso(3 * 365 + 1)
    old = [m for f in folders.values() for m in f.messages if m.seen and m.internal_date < cutoff]
    assert len(old) >= 10
    assert any(m in folders["Inbox"].messages for m in old)


def test_demo_inbox_has_duplicate_message_ids(folders):
    counts = Counter(m.message_id for m in folders["Inbox"].messages)
    assert sum(1 for n in counts.values() if n > 1) == 3


def test_demo_trash_holds_mail_older_than_thirty_days(folders):
    cutoff = iso(30)
    trash = folders["Trash"].messages
    assert sum(m.internal_date < cutoff for m in trash) >= 10
    assert sum(m.internal_date >= cutoff for m in trash) >= 3


def test_demo_has_non_ascii_filenames_a_forward_and_a_broken_message(folders):
    names = {att.filename for _, _, att in attachments(folders) if att.filename}
    assert "Facture_été.pdf" in names
    assert "Procès-verbal de l'assemblée générale extraordinaire 2026 signé.tiff" in names
    assert "Capture d'écran 2026-08-31 à 20.41.07.png" in names  # RFC 2047 style
    kinds = Counter(att.content_type for _, _, att in attachments(folders))
    assert kinds["message/rfc822"] >= 1
    assert sum(m.malformed for f in folders.values() for m in f.messages) == 1
    auto = {m.auto_submitted for m in folders["Inbox"].messages} - {None}
    assert auto == {"auto-replied", "auto-generated"}


def test_demo_skips_the_message_thunderbird_deleted(demo_dir, folders):
    raw = (demo_dir / "Inbox").read_bytes()
    assert raw.count(b"\nX-Mozilla-Status: 0009\n") == 1
    records = raw.count(b"\nFrom - ") + 1  # the first record starts the file
    assert len(folders["Inbox"].messages) == records - 1
    assert "Dernière chance : -50 % sur le papier" not in {
        m.subject for m in folders["Inbox"].messages
    }


def test_demo_attachments_are_real_files(demo_dir):
    from PIL import Image
    from pypdf import PdfReader

    checked = Counter()
    for name in ("Inbox", "Sent"):
        for part in _mbox_parts(demo_dir / name):
            data = part.get_payload(decode=True)
            kind = part.get_content_type()
            if kind.startswith("image/"):
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()
                checked[kind] += 1
            elif kind == "application/pdf":
                assert len(PdfReader(io.BytesIO(data)).pages) >= 1
                checked[kind] += 1
    assert set(checked) >= {"image/tiff", "image/jpeg", "image/png", "image/bmp", "application/pdf"}


def _mbox_parts(path: Path):
    import mailbox

    for message in mailbox.mbox(path, create=False):
        parsed = email.message_from_bytes(message.as_bytes())
        for part in parsed.walk():
            if part.get_content_disposition() in ("attachment", "inline") and not (
                part.is_multipart() or part.get_content_maintype() == "message"
            ):
                yield part
