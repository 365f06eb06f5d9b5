"""auditor.impact.os_eol: the operating systems' end-of-support table and
`auditor update-data`, whose failures (OSDataError) are one line in both languages."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.errors import SourceError
from auditor.impact import os_eol
from auditor.impact.os_eol import (
    OSDataError,
    convert_api_cycles,
    embedded_table,
    save_table,
    update_data,
    validate_table,
)
from tests.helpers import assert_probe_lines

URL = "https://endoflife.date/api/debian.json"


def _raised(call: Callable[[], object]) -> OSDataError:
    with pytest.raises(OSDataError) as caught:
        call()
    return caught.value


def assert_bilingual_errors(calls: list[Callable[[], object]], english: list[str]) -> None:
    errors = [_raised(call) for call in calls]
    for error in errors:
        assert isinstance(error, SourceError) and error.exit_code == 3
        assert str(error) == str(error.problem)
        assert error.localized("fr") == error.problem.localized("fr")
    assert_probe_lines([error.problem for error in errors], english)


def test_invalid_tables() -> None:
    no_eol = {"fetched": "2026-01-01", "products": {"x": {"cycles": [{"cycle": "1"}]}}}
    assert_bilingual_errors(
        [
            lambda: validate_table({}),
            lambda: validate_table([], "/data/os_eol.json"),
            lambda: validate_table({"fetched": "2026-01-01", "products": {"x": {}}}, "t.json"),
            lambda: validate_table(no_eol, "t.json"),
        ],
        [
            "refreshed table: no valid 'fetched' date",
            "/data/os_eol.json: not a JSON object",
            "t.json: product 'x' has no cycles",
            "t.json: x 1 has no valid 'eol' (date, true or false)",
        ],
    )


def test_unexpected_api_answers() -> None:
    assert_bilingual_errors(
        [
            lambda: convert_api_cycles({}, URL),
            lambda: convert_api_cycles([{"cycle": ""}], URL),
            lambda: convert_api_cycles([], URL),
        ],
        [
            f"{URL}: unexpected answer (a list of release cycles was expected)",
            f"{URL}: unexpected answer (a release cycle without a name)",
            f"{URL}: no release cycle with an end-of-support date",
        ],
    )


def test_the_api_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(error: BaseException) -> Callable[[], object]:
        def fetch() -> object:
            def urlopen(*_args: object, **_kwargs: object) -> None:
                raise error

            monkeypatch.setattr(os_eol.urllib.request, "urlopen", urlopen)
            return os_eol._fetch_json(URL, 5)

        return fetch

    assert_bilingual_errors(
        [
            answer(urllib.error.HTTPError(URL, 404, "Not  Found", {}, None)),  # type: ignore[arg-type]
            answer(urllib.error.URLError("Name or service not known")),
            answer(TimeoutError()),
        ],
        [
            f"{URL}: HTTP error 404 Not Found",
            f"{URL}: cannot connect (Name or service not known)",
            f"{URL}: no answer within 5 s",
        ],
    )


def test_the_table_cannot_be_saved(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way", "utf-8")
    path = tmp_path / "file" / "os_eol.json"
    error = _raised(lambda: save_table(embedded_table(), path))
    assert str(error).startswith(f"{path}: cannot save the OS support table (")
    assert_probe_lines([error.problem], [str(error)])
    assert error.localized("fr").startswith(f"{path} : impossible d'enregistrer la table")


def test_update_data_says_what_it_refreshed_in_both_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os_eol, "refresh_table", lambda *_args: embedded_table())
    line = update_data(tmp_path / "os_eol.json", products=("windows", "debian"))
    path = tmp_path / "os_eol.json"
    assert_probe_lines([line], [f"OS support dates refreshed for windows, debian: {path}"])
    assert line.localized("fr") == (
        f"Dates de fin de maintenance des systèmes mises à jour pour windows, debian : {path}"
    )
