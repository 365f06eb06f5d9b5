"""Rebuilding a message with light attachments (issue 17, auditor/clean/slim.py): the photos
and PDFs of benchmarks/corpus replaced by what `auditor compress --for email` makes of them,
every other byte kept, and the result read the same way by Python's email package and by a
real Dovecot's BODYSTRUCTURE."""

from __future__ import annotations

import email
import hashlib
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from auditor.clean.slim import CannotSlim, compressed, detached, structure
from auditor.measure import compress_bytes

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "corpus"
PHOTO = CORPUS / "photos" / "mate-Wood.jpg"
PDF = CORPUS / "pdfs" / "image-gallery-gallery-example.pdf"


def association_message() -> bytes:
    """A reply with a French text in Latin-1, an HTML alternative, a photo and a PDF."""
    msg = EmailMessage()
    msg["From"] = "Trésorière <tresor@asso.example>"
    msg["To"] = "bureau@asso.example"
    msg["Subject"] = "Re: photos de la kermesse et compte rendu"
    msg["Date"] = "Sat, 14 Mar 2026 10:00:00 +0100"
    msg["Message-ID"] = "<kermesse-2026@asso.example>"
    msg["References"] = "<a1@asso.example> <a2@asso.example>"
    msg["Content-Language"] = "fr"
    msg.set_content("Bonjour à tous,\nvoici les photos et le compte rendu.\n", charset="iso-8859-1")
    msg.add_alternative("<p>Bonjour à tous,</p>", subtype="html", charset="utf-8")
    msg.make_mixed()
    msg.add_attachment(PHOTO.read_bytes(), "image", "jpeg", filename="kermesse été.jpg")
    msg.add_attachment(PDF.read_bytes(), "application", "pdf", filename="compte-rendu.pdf")
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def light() -> dict[str, bytes]:
    """Section -> light bytes, from the same compressor and guard as compress --for email."""
    out = {}
    for section, path in (("2", PHOTO), ("3", PDF)):
        status, _size, data, _suffix = compress_bytes(path.read_bytes(), path.name)
        assert status == "smaller" and data is not None
        out[section] = data
    return out


def leaves(node):
    if node.children:
        for child in node.children:
            yield from leaves(child)
    else:
        yield node


def summary(raw: bytes) -> list[tuple]:
    msg = email.message_from_bytes(raw, policy=default)
    return [
        (p.get_content_type(), p.get_filename(), p.get_content_charset(), p.get_boundary())
        for p in msg.walk()
    ]


def test_compressed_message_keeps_every_byte_but_the_light_parts(light):
    raw = association_message()
    slim = compressed(raw, light)
    assert len(slim) < len(raw) * 0.5
    first, rest = slim.split(b"\r\n", 1)
    assert first.startswith(b"X-Auditor-Slimmed: compressed parts 2,3; original-sha256=")
    assert hashlib.sha256(raw).hexdigest().encode() in first
    head_end = raw.index(b"\r\n\r\n")
    assert rest[: head_end + 4] == raw[: head_end + 4]  # every header and the boundary, as is
    before = {n.section: n for n in leaves(structure(raw))}
    after = {n.section: n for n in leaves(structure(rest))}
    assert before.keys() == after.keys() == {"1.1", "1.2", "2", "3"}
    for section in ("1.1", "1.2"):  # the text parts: header, charset and body unchanged
        b, a = before[section], after[section]
        assert rest[a.start : a.end] == raw[b.start : b.end]
    for section, data in light.items():  # the light parts: same header, the light body
        b, a = before[section], after[section]
        assert rest[a.start : a.body] == raw[b.start : b.body]
        assert rest[a.body : a.end].count(b"\r\n") == -(-len(data) * 4 // 3 // 76)
    parsed = email.message_from_bytes(slim, policy=default)
    assert summary(slim) == summary(raw)
    files = [p for p in parsed.walk() if p.get_filename()]
    assert [p.get_content() for p in files] == [light["2"], light["3"]]
    assert parsed["Message-ID"] == "<kermesse-2026@asso.example>"


def bodystructure_leaves(bs, prefix=""):
    """(section, fields) of each leaf of an imapclient BODYSTRUCTURE."""
    if isinstance(bs[0], list | tuple):
        parts = bs[0]
        for i, part in enumerate(parts, 1):
            yield from bodystructure_leaves(part, f"{prefix}{i}" if not prefix else f"{prefix}.{i}")
    else:
        yield prefix or "1", tuple(bs)


def test_dovecot_reads_the_same_structure_and_sizes_go_down(imap_account, light):
    raw = association_message()
    slim = compressed(raw, light)
    client = imap_account.client()
    client.append("INBOX", raw)
    client.append("INBOX", slim)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search("ALL"))
    got = client.fetch(uids, ["BODYSTRUCTURE", "RFC822.SIZE", "BODY.PEEK[1.1]", "BODY.PEEK[1.2]"])
    client.logout()
    original, rebuilt = got[uids[0]], got[uids[1]]
    assert rebuilt[b"RFC822.SIZE"] < original[b"RFC822.SIZE"] * 0.5
    for key in (b"BODY[1.1]", b"BODY[1.2]"):
        assert rebuilt[key] == original[key]
    a = dict(bodystructure_leaves(original[b"BODYSTRUCTURE"]))
    b = dict(bodystructure_leaves(rebuilt[b"BODYSTRUCTURE"]))
    assert a.keys() == b.keys() == {"1.1", "1.2", "2", "3"}
    for section in a:
        if section in light:  # same type, parameters, encoding, disposition; smaller octets
            assert a[section][:6] == b[section][:6] and a[section][7:] == b[section][7:]
            assert b[section][6] < a[section][6]
        else:
            assert a[section] == b[section]


def sealed_message(kind: str) -> bytes:
    if kind == "smime":
        return (
            b"From: a@asso.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n"
        )
    return (
        b"From: a@asso.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pgp-signature"; '
        b'micalg=pgp-sha256; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n"
        b"--b1\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--b1--\r\n"
    )


@pytest.mark.parametrize("kind", ["pgp", "smime"])
def test_signed_or_encrypted_messages_are_never_rewritten(kind):
    raw = sealed_message(kind)
    with pytest.raises(CannotSlim) as why:
        compressed(raw, {"1": b"\xff\xd8light"})
    assert why.value.reason == "sealed"
    with pytest.raises(CannotSlim):
        detached(raw, {"1": ("note", None)})


def test_detached_attachment_leaves_a_note_and_every_other_part():
    raw = association_message()
    note = "La pièce jointe compte-rendu.pdf (798 ko) a été enregistrée dans /srv/partage."
    slim = detached(raw, {"3": (note, "file:///srv/partage/compte-rendu.pdf")})
    parsed = email.message_from_bytes(slim, policy=default)
    parts = [p for p in parsed.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "text/html",
        "image/jpeg",
        "text/plain",
    ]
    assert parts[-1].get_content().strip() == note
    assert parts[-1]["X-Mozilla-External-Attachment-URL"] == "file:///srv/partage/compte-rendu.pdf"
    assert parts[2].get_content() == PHOTO.read_bytes()
    assert len(slim) < len(raw) - PDF.stat().st_size
