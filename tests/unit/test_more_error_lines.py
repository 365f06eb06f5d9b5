"""Error lines of report sending, rule packs, compress presets and advise, in both languages.

Each case triggers a real error (no network: the checks run before any connection) and
checks that it is a catalog line: the English text is the one the CLI printed before the
catalog existed (README and scripts quote it), the French one is whole and different.
"""

from __future__ import annotations

import base64
import smtplib
import socket
from pathlib import Path

import pytest

from auditor.advise import UnknownNeedError, combined_minimums
from auditor.compress import runner
from auditor.compress.outcome import Outcome
from auditor.compress.presets import make_preset
from auditor.config import EmailSettings
from auditor.errors import AuditorError, ConfigError, Problem, SourceError, localized
from auditor.impact.needs import load_profiles
from auditor.report import send as send_module
from auditor.report.send import SendError, build_message, send_report
from auditor.rules.loader import load_rules
from tests.helpers import RULE

PASSWORD = "s3cret-été"
LOOPBACK_ONLY = (
    'security = "none" is only allowed to a loopback address (127.0.0.1, ::1, localhost): '
    'use security = "tls" (port 465) or "starttls" (port 587)'
)


def assert_bilingual(line: str, key_prefix: str) -> str:
    """`line` is a Problem of the catalog; its French text is whole. Returns the French."""
    assert isinstance(line, Problem), type(line)
    assert line.key.startswith(key_prefix), line.key
    assert line.localized("en") == str(line)
    french = line.localized("fr")
    assert french != str(line), line.key
    assert "{" not in french and "}" not in french and "\n" not in french
    assert not french.startswith(line.key) and line.key not in french
    assert localized(line, "fr") == french
    return french


def raised(call, kind: type[AuditorError] = AuditorError) -> AuditorError:
    with pytest.raises(kind) as caught:
        call()
    error = caught.value
    assert error.problem.key == error.key and error.localized("en") == str(error)
    return error


def email(**extra) -> EmailSettings:
    values = dict(
        to=["bureau@asso.test"],
        sender="auditor@asso.test",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        security="none",
    )
    values.update(extra)
    return EmailSettings(**values)


MESSAGE = build_message({"language": "en", "score": 80}, "text", None, email())


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("tried to connect")

    monkeypatch.setattr(send_module.smtplib, "SMTP", refuse)
    monkeypatch.setattr(send_module.smtplib, "SMTP_SSL", refuse)
    monkeypatch.setattr(send_module.socket, "getaddrinfo", refuse)


# --------------------------------------------------------------------------- sending


SEND_CASES = [
    (
        lambda: send_report(MESSAGE, email(security="ssl"), None),
        ConfigError,
        "report.email: unknown security 'ssl'",
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host=None), None),
        ConfigError,
        'report.email: smtp_host = "…" is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(to=[]), None),
        ConfigError,
        'report.email: to = ["…"] is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(username="u"), None),
        ConfigError,
        "report.email: username is set but no password was given",
    ),
    (
        lambda: build_message({"language": "fr"}, "text", None, email(sender=None)),
        ConfigError,
        'report.email: from = "…" is needed to send the report',
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host="192.0.2.1", smtp_port=None), PASSWORD),
        SendError,
        "SMTP 192.0.2.1:25: refusing to send without encryption to 192.0.2.1; " + LOOPBACK_ONLY,
    ),
    (
        lambda: send_report(MESSAGE, email(smtp_host="2001:db8::1"), PASSWORD),
        SendError,
        "SMTP [2001:db8::1]:2525: refusing to send without encryption to 2001:db8::1; "
        + LOOPBACK_ONLY,
    ),
]


@pytest.mark.parametrize("case", range(len(SEND_CASES)))
def test_send_errors_are_catalog_lines(case, no_network) -> None:
    call, kind, english = SEND_CASES[case]
    error = raised(call, kind)
    assert str(error) == english
    french = assert_bilingual(error.problem, "send.error.")
    assert PASSWORD not in str(error) and PASSWORD not in french


def test_send_error_is_a_source_error_with_exit_code_3(no_network) -> None:
    error = raised(lambda: send_report(MESSAGE, email(smtp_host="192.0.2.1"), None), SendError)
    assert isinstance(error, SourceError) and error.exit_code == 3
    french = error.localized("fr")
    assert french.startswith("SMTP 192.0.2.1:2525 : envoi sans chiffrement vers 192.0.2.1 refusé")


def test_unknown_host_in_clear_text(monkeypatch) -> None:
    def unknown(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(send_module.socket, "getaddrinfo", unknown)
    error = raised(lambda: send_report(MESSAGE, email(smtp_host="mail.nowhere.test"), None))
    assert str(error) == "SMTP mail.nowhere.test:2525: unknown host mail.nowhere.test"
    assert error.localized("fr") == (
        "SMTP mail.nowhere.test:2525 : serveur inconnu : mail.nowhere.test"
    )


def _failure(exc: BaseException, password: str | None = PASSWORD) -> SendError:
    """The SendError send_report raises when `exc` interrupts the SMTP exchange."""
    name, values = send_module._cause(exc, 30, "mail.asso.test")
    return send_module._failure("mail.asso.test:587", name, values, password)


ENCODED = base64.b64encode(PASSWORD.encode()).decode()

CAUSES = [
    (
        smtplib.SMTPAuthenticationError(535, f"5.7.8 bad credentials {PASSWORD}".encode()),
        "login refused: check the user name and password (535 5.7.8 bad credentials ***)",
        "identifiant refusé : vérifiez le nom d'utilisateur et le mot de passe "
        "(535 5.7.8 bad credentials ***)",
    ),
    (
        smtplib.SMTPRecipientsRefused({"nobody@asso.test": (550, b"5.1.1 no such user")}),
        "every recipient was refused: nobody@asso.test (550 5.1.1 no such user)",
        "tous les destinataires ont été refusés : nobody@asso.test (550 5.1.1 no such user)",
    ),
    (
        smtplib.SMTPSenderRefused(553, b"not yours", "auditor@asso.test"),
        "sender auditor@asso.test refused (553 not yours)",
        "expéditeur auditor@asso.test refusé (553 not yours)",
    ),
    (
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out"),
        "no answer within 30 s",
        "pas de réponse en 30 s",
    ),
    (
        smtplib.SMTPServerDisconnected(f"AUTH PLAIN {ENCODED} rejected"),
        "the server closed the connection (AUTH PLAIN *** rejected)",
        "le serveur a coupé la connexion (AUTH PLAIN *** rejected)",
    ),
    (
        send_module._Unsupported("no_starttls"),
        "STARTTLS extension not supported by server",
        "le serveur ne propose pas STARTTLS",
    ),
    (
        send_module._Unsupported("no_auth_plain"),
        "the server does not offer AUTH PLAIN, needed for a non-ASCII user name or password",
        "le serveur ne propose pas AUTH PLAIN, nécessaire pour un nom d'utilisateur ou un mot "
        "de passe avec des accents ou d'autres caractères non ASCII",
    ),
    (
        ConnectionRefusedError(111, "Connection refused"),
        "connection refused (is the server running, are host and port right?)",
        "connexion refusée (le serveur est-il en marche, le nom du serveur et le port "
        "sont-ils justes ?)",
    ),
    (
        OSError(101, "Network is unreachable"),
        "Network is unreachable",
        "erreur réseau (Network is unreachable)",
    ),
]


@pytest.mark.parametrize("case", range(len(CAUSES)))
def test_smtp_causes_keep_the_server_reply_untranslated(case) -> None:
    exc, english, french = CAUSES[case]
    error = _failure(exc)
    assert str(error) == f"SMTP mail.asso.test:587: {english}"
    assert error.localized("fr") == f"SMTP mail.asso.test:587 : {french}"
    assert_bilingual(error.problem, "send.error.")
    for line in (str(error), error.localized("fr"), repr(error.values)):
        assert PASSWORD not in line and ENCODED not in line


# --------------------------------------------------------------------------- rule packs


def broken_packs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a_sql.toml").write_text(
        RULE.format(id="X001", sql="SELECT nope FROM messages WHERE run_id = :run_id")
    )
    (folder / "b_syntax.toml").write_text("[[rule]\nid=")
    (folder / "c_french.toml").write_text(
        RULE.format(id="X003", sql="SELECT 1").replace('why.fr = "w"\n', "")
    )
    (folder / "d_dup.toml").write_text(RULE.format(id="MAIL001", sql="SELECT 1"))
    (folder / "e_severity.toml").write_text(
        RULE.format(id="X005", sql="SELECT 1").replace('"low"', '"urgent"')
    )
    (folder / "f_missing.toml").write_text('[[rule]]\nid = "X006"\n')
    (folder / "g_table.toml").write_text('[rule]\nid = "X007"\n')
    (folder / "h_item.toml").write_text('rule = ["X008"]\n')
    return folder


def test_rule_pack_errors_are_problems(tmp_path) -> None:
    folder = broken_packs(tmp_path / "packs")
    loaded = load_rules([folder, tmp_path / "absent"])
    by_file = {}
    for line in loaded.errors:
        assert_bilingual(line, "pack.")
        by_file[Path(line.at[0]).name] = line
    assert set(by_file) == {
        "a_sql.toml",
        "b_syntax.toml",
        "c_french.toml",
        "d_dup.toml",
        "e_severity.toml",
        "f_missing.toml",
        "g_table.toml",
        "h_item.toml",
        "absent",
    }
    assert (
        by_file["a_sql.toml"]
        == f"{folder / 'a_sql.toml'}: rule X001: invalid SQL (no such column: nope)"
    )
    assert by_file["a_sql.toml"].localized("fr") == (
        f"{folder / 'a_sql.toml'} : règle X001 : requête SQL invalide (no such column: nope)"
    )
    assert by_file["b_syntax.toml"].startswith(
        f"{folder / 'b_syntax.toml'}: cannot read this rule pack ("
    )
    assert by_file["c_french.toml"].endswith(": rule X003: why needs both en and fr texts")
    assert by_file["d_dup.toml"].key == "pack.rule.duplicate"
    assert by_file["d_dup.toml"].endswith(
        f"rule MAIL001: id already used in {by_file['d_dup.toml'].values['other']}; ignored"
    )
    assert by_file["e_severity.toml"].endswith(
        ": rule X005: severity must be one of info, low, medium, high, critical, not 'urgent'"
    )
    assert by_file["f_missing.toml"].endswith(
        ": rule X006: missing category, severity, effort, gesture, title, why, how, sql"
    )
    assert by_file["g_table.toml"].key == "pack.not_tables"
    assert by_file["h_item.toml"].endswith(": rule #1: must be a [[rule]] table")
    assert by_file["absent"] == f"{tmp_path / 'absent'}: rules folder not found"
    assert (
        by_file["absent"].localized("fr")
        == f"{tmp_path / 'absent'} : dossier de règles introuvable"
    )
    assert "MAIL001" in {r.id for r in loaded.rules}  # the built-in packs still load


def test_rule_pack_errors_survive_the_store(tmp_path) -> None:
    loaded = load_rules([tmp_path / "absent"])
    (line,) = loaded.errors
    back = Problem.from_json(line.to_json())
    assert back == line and back.localized("fr") == line.localized("fr")


# --------------------------------------------------------------------------- compress

PRESET_CASES = [
    (lambda: make_preset("mail"), "--for mail: expected one of email, screen, print"),
    (lambda: make_preset("email", quality=0), "--quality 0: expected 1 to 100"),
    (lambda: make_preset("email", max_px=8), "--max-px 8: expected at least 16"),
    (lambda: make_preset("email", dpi=20), "--dpi 20: expected at least 36"),
    (lambda: make_preset("email", image_format="avif"), "--format avif: expected webp"),
]


@pytest.mark.parametrize("case", range(len(PRESET_CASES)))
def test_preset_errors_are_catalog_lines(case) -> None:
    call, english = PRESET_CASES[case]
    error = raised(call, ConfigError)
    assert str(error) == english
    assert_bilingual(error.problem, "compress.error.")


def test_unknown_preset_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown preset field"):
        make_preset("email", colour=True)


def test_a_copy_that_reads_back_wrong_is_a_catalog_line(tmp_path, monkeypatch) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"original")
    result = runner.FileResult(
        source, "photo", Outcome("smaller", 8, data=b"light", suffix=".jpg"), tmp_path / "out.jpg"
    )
    monkeypatch.setattr(runner.Path, "read_bytes", lambda self: b"garbled")
    runner.write_result(result)
    assert not result.written and result.error.key == "compress.write.mismatch"
    assert not (tmp_path / "out.jpg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]  # no temporary file left
    english = result.error.localized("en")
    french = result.error.localized("fr")
    assert english.startswith(f"{tmp_path / 'out.jpg'}: the written copy differs")
    assert french != english and "{" not in french


# --------------------------------------------------------------------------- advise


def test_unknown_need_is_a_catalog_line() -> None:
    error = raised(lambda: combined_minimums(["gaming"], load_profiles()), UnknownNeedError)
    assert isinstance(error, ConfigError) and isinstance(error, ValueError)
    assert str(error) == (
        "unknown needs profile: gaming; known: office, video-calls, photo, video-editing"
    )
    assert error.localized("fr") == (
        "profil de besoins inconnu : gaming ; profils connus : office, video-calls, photo, "
        "video-editing"
    )
    assert_bilingual(error.problem, "advise.error.")


def test_no_need_is_a_catalog_line() -> None:
    error = raised(lambda: combined_minimums([], load_profiles()), UnknownNeedError)
    assert str(error) == (
        "unknown needs profile: (none given); known: office, video-calls, photo, video-editing"
    )
    assert_bilingual(error.problem, "advise.error.")
