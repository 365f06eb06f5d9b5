"""A hostile or mistaken config is one line naming the file, exit 2: never a hang, a traceback
or a silently wrong number."""

from __future__ import annotations

import math
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.accounts import account_from_url, accounts_from_config
from auditor.config import load_config, resolve_secret
from auditor.errors import ConfigError
from auditor.impact import FIGURES, override_figures
from auditor.rules.loader import load_rules

ACCOUNT = '[[accounts]]\nhost = "imap.asso.test"\nusername = "accueil"\n'


def write(tmp_path: Path, text: str, name: str = "auditor.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _limit_memory() -> None:
    # a regression that reads /dev/zero fails the test instead of eating the machine's RAM
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def auditor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`auditor ARGS` as a cron job runs it, with a timeout: a hang fails, never blocks."""
    environ = dict(
        os.environ,
        AUDITOR_DB=str(tmp_path / "store.sqlite3"),
        XDG_DATA_HOME=str(tmp_path / "data"),  # where a report kept for --send would go
        **env,
    )
    environ.pop("AUDITOR_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=environ,
        preexec_fn=_limit_memory,
    )


def one_line(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


# --------------------------------------------------------------------------- reading the file


def test_a_fifo_given_as_config_is_refused_at_once(tmp_path):
    fifo = tmp_path / "auditor.toml"
    os.mkfifo(fifo)
    proc = auditor(tmp_path, "history", "--config", str(fifo))  # no writer: a read would block
    one_line(proc, str(fifo), "not a regular file")


def test_dev_zero_given_as_config_is_refused_without_reading_it(tmp_path):
    proc = auditor(tmp_path, "history", "--config", "/dev/zero", "--lang", "fr")
    one_line(proc, "/dev/zero", "pas un fichier ordinaire")


def test_a_config_larger_than_one_megabyte_is_refused(tmp_path):
    big = write(tmp_path, "# " + "x" * 1_100_000 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(big)
    assert caught.value.key == "errors.config.too_large" and str(big) in str(caught.value)


def test_a_config_saved_by_notepad_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "auditor.toml"
    path.write_bytes('\ufeff[report]\nassociation = "Les Amis de l\'Été"\n'.encode())
    assert load_config(path).association == "Les Amis de l'Été"


def test_a_config_nested_five_thousand_deep_is_one_line(tmp_path):
    deep = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line(auditor(tmp_path, "history", "--config", str(deep)), str(deep), "nested too deeply")


# --------------------------------------------------------------------------- ports


@pytest.mark.parametrize("port", [0, -1, 70000])
def test_an_account_port_out_of_range_names_the_line(tmp_path, port):
    path = write(tmp_path, f'{ACCOUNT}password_env = "PW"\nport = {port}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}:5: accounts.port: must be a port number from 1 to 65535, not {port}"
    )


@pytest.mark.parametrize("port", [0, -1, 70000])
def test_an_smtp_port_out_of_range_names_the_line(tmp_path, port):
    path = write(tmp_path, f'[report.email]\nsmtp_host = "smtp.asso.test"\nsmtp_port = {port}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "errors.config.port"
    assert str(caught.value).startswith(f"{path}:3: report.email.smtp_port:")


def test_port_beyond_range_in_a_scan_is_one_line_and_exit_2(tmp_path):
    path = write(tmp_path, f'{ACCOUNT}password_env = "PW"\nport = 99999\n')
    proc = auditor(tmp_path, "scan", "--no-host", "--config", str(path), PW="x")
    one_line(proc, f"{path}:5", "1 to 65535")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("imaps://alice@[::1", "errors.accounts.bad_url"),
        ("imaps://alice@imap.asso.test:0", "errors.accounts.bad_port"),
        ("imaps://alice@imap.asso.test:-1", "errors.accounts.bad_port"),
        ("imaps://alice@imap.asso.test:70000", "errors.accounts.bad_port"),
    ],
)
def test_imap_urls_with_a_bad_host_or_port_are_refused(url, key):
    with pytest.raises(ConfigError) as caught:
        account_from_url(url, None, None)
    assert caught.value.key == key and url in str(caught.value)


def test_an_unclosed_ipv6_imap_url_is_one_line_and_exit_2(tmp_path):
    proc = auditor(tmp_path, "scan", "--no-host", "--imap", "imaps://alice:pw@[::1")
    line = one_line(proc, "imaps://alice:***@[::1")
    assert ":pw@" not in line


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
def test_a_rule_parameter_that_is_not_a_finite_number_is_refused(tmp_path, value):
    path = write(tmp_path, f"[rules.MAIL001]\nmin_bytes = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "errors.config.not_finite"
    assert str(caught.value).startswith(f"{path}:2: rules.MAIL001.min_bytes: must be a finite")


def test_an_impact_figure_of_nan_is_refused_by_the_config(tmp_path):
    path = write(tmp_path, "[impact]\nstorage_gb_year_high = nan\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (
        str(caught.value)
        == f"{path}:2: impact.storage_gb_year_high: must be a finite number, not nan"
    )


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_impact_overrides_refuse_non_finite_values_and_change_nothing(value):
    before = dict(FIGURES)
    with pytest.raises(ConfigError) as caught:
        override_figures({"storage_gb_year_high": value})
    assert caught.value.key == "errors.impact.not_a_number"
    assert FIGURES == before


def test_a_scan_with_a_nan_threshold_stops_before_scanning(tmp_path):
    path = write(tmp_path, "[rules.MAIL001]\nmin_bytes = nan\n")
    proc = auditor(tmp_path, "scan", "--demo", "--no-host", "--config", str(path))
    one_line(proc, f"{path}:2", "rules.MAIL001.min_bytes", "nan")
    assert not (tmp_path / "store.sqlite3").exists()


def test_a_rule_pack_whose_default_is_nan_is_reported_and_skipped(tmp_path):
    (tmp_path / "pack.toml").write_text(
        """
[[rule]]
id = "LOCAL001"
category = "mail"
severity = "low"
effort = "minutes"
gesture = "light-emails"
title = { en = "t", fr = "t" }
why = { en = "w", fr = "w" }
how = { en = "h", fr = "h" }
params.limit = { default = nan, en = "l", fr = "l" }
sql = "SELECT 1 WHERE 2 > :limit"
""",
        encoding="utf-8",
    )
    loaded = load_rules([tmp_path])
    assert "LOCAL001" not in loaded.by_id()
    assert any(e.key == "pack.rule.param_not_finite" for e in loaded.errors)


# --------------------------------------------------------------------------- secrets


def test_keyring_without_a_backend_is_one_line_before_the_scan(tmp_path):
    path = write(tmp_path, f"{ACCOUNT}keyring = true\n")
    proc = auditor(
        tmp_path,
        "scan",
        "--no-host",
        "--config",
        str(path),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    line = one_line(proc, "no usable system keyring")
    assert line.startswith("auditor: accueil@imap.asso.test: keyring = true")
    with sqlite3.connect(tmp_path / "store.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # no run started


def test_an_accounts_error_is_whole_french_with_lang_fr(tmp_path):
    path = write(tmp_path, f"{ACCOUNT}keyring = true\n")
    proc = auditor(
        tmp_path,
        "scan",
        "--no-host",
        "--lang",
        "fr",
        "--config",
        str(path),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    line = one_line(proc, "accueil@imap.asso.test : ")
    assert "account" not in line  # it used to say "account accueil… :" in a French line


def test_the_password_question_names_the_account_in_the_users_language(monkeypatch):
    from auditor.accounts import PASSWORD_ENV, account_from_url

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    from auditor.i18n import t

    asked: list[str] = []
    account = account_from_url("imaps://alice@imap.asso.test", None, asked.append)
    account.secret()
    assert asked == ["alice@imap.asso.test"]
    assert t("fr", "cli.prompt.password", account=asked[0]) == (
        "Mot de passe de alice@imap.asso.test"
    )


def test_keyring_without_a_backend_at_login_is_a_config_error(monkeypatch):
    keyring = pytest.importorskip("keyring")
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(ConfigError) as caught:
            resolve_secret("account accueil", keyring_user="accueil@imap.asso.test")
    finally:
        keyring.set_keyring(previous)
    assert caught.value.key == "errors.config.keyring_unavailable"


@pytest.mark.parametrize("command", ["false", "/nonexistent/token-helper"])
def test_a_failing_oauth2_token_command_is_named_as_such(tmp_path, command):
    path = write(tmp_path, f'{ACCOUNT}auth = "oauth2"\noauth2_token_command = "{command}"\n')
    (account,) = accounts_from_config(load_config(path))
    with pytest.raises(ConfigError) as caught:
        account.secret()
    assert "oauth2_token_command" in str(caught.value)
    assert "password_command" not in str(caught.value)


def test_send_with_the_smtp_password_in_a_missing_keyring_stops_before_the_scan(tmp_path):
    path = write(
        tmp_path,
        '[report.email]\nto = ["bureau@asso.test"]\nfrom = "auditor@asso.test"\n'
        'smtp_host = "127.0.0.1"\nusername = "auditor"\nkeyring = true\n',
    )
    proc = auditor(
        tmp_path,
        "scan",
        "--demo",
        "--no-host",
        "--send",
        "--config",
        str(path),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    one_line(proc, "report.email", "no usable system keyring")
    assert not (tmp_path / "store.sqlite3").exists()
