"""The web client generated from the API's OpenAPI schema is up to date.

``web/src/lib/api/openapi.json`` must be what the API serves now, and ``schema.d.ts`` must be the
untouched output of ``openapi-typescript`` for that file: its first line names the sha256 of the
openapi.json it was made from and of the generated text below it. Either failure says to run
``just gen-api``.
"""

from __future__ import annotations

import difflib
import hashlib
import re

from scripts.openapi import SCHEMA_JSON, openapi_schema, render

SCHEMA_TS = SCHEMA_JSON.parent / "schema.d.ts"
_HEADER = re.compile(r"^// openapi\.json sha256 ([0-9a-f]{64}) body sha256 ([0-9a-f]{64})$")
_FIX = "the generated web client is stale: run `just gen-api` and commit the result"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_openapi_json_matches_the_api() -> None:
    fresh = render(openapi_schema())
    committed = SCHEMA_JSON.read_text(encoding="utf-8") if SCHEMA_JSON.is_file() else ""
    if committed != fresh:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    fresh.splitlines(keepends=True),
                    "openapi.json (committed)",
                    "openapi.json (the API now)",
                )
            )[:60]
        )
        raise AssertionError(f"{_FIX}\n{diff}")


def test_schema_types_were_generated_from_openapi_json() -> None:
    assert SCHEMA_TS.is_file(), f"{SCHEMA_TS} is missing: {_FIX}"
    header, _, rest = SCHEMA_TS.read_text(encoding="utf-8").partition("\n")
    match = _HEADER.match(header)
    assert match, f"{SCHEMA_TS.name} has no generation header: {_FIX}"
    _comment, _, body = rest.partition("\n")
    assert match.group(2) == _sha256(body), f"{SCHEMA_TS.name} was edited by hand: {_FIX}"
    source = _sha256(SCHEMA_JSON.read_text(encoding="utf-8"))
    assert match.group(1) == source, f"{SCHEMA_TS.name} is older than openapi.json: {_FIX}"
