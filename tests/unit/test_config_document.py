"""The configuration document's pure parts: the passphrase box, format and version checks, and
the reference checks an import runs before it touches the database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lifeboat.api.domain.configio.checks import check_references, parse_document
from lifeboat.core.crypto import DecryptionError, PassphraseBox
from lifeboat.core.errors import ValidationError

pytestmark = [pytest.mark.unit]

PASSPHRASE = "correct horse battery staple"


def document() -> dict[str, Any]:
    return {
        "format": "lifeboat.config",
        "version": 1,
        "exportedAt": "2026-01-01T00:00:00Z",
        "lifeboatVersion": "0.1.0",
        "secrets": "omitted",
        "databases": [
            {
                "ref": "db1",
                "name": "orders",
                "type": "postgresql",
                "host": "db.internal",
                "port": 5432,
                "databaseName": "orders",
                "username": "app",
                "hasPassword": True,
            }
        ],
        "retentionPolicies": [{"ref": "rp1", "name": "gfs"}],
        "schedules": [
            {
                "ref": "s1",
                "database": "db1",
                "scheduleType": "daily",
                "cronExpression": "0 2 * * *",
                "timezone": "UTC",
                "retentionPolicy": "rp1",
            }
        ],
        "settings": {"allow_private_endpoints": False},
    }


def test_passphrase_box_round_trip_and_binding() -> None:
    box = PassphraseBox.new(PASSPHRASE)
    sealed = box.seal("s3cr3t", context="databases.password:db1")
    assert "s3cr3t" not in sealed
    same = PassphraseBox(PASSPHRASE, PassphraseBox.salt_of(box.salt_text))
    assert same.open(sealed, context="databases.password:db1") == "s3cr3t"
    with pytest.raises(DecryptionError):
        same.open(sealed, context="databases.password:db2")  # moved to another entity
    assert same.matches(box.check_token())
    wrong = PassphraseBox("not the passphrase!", PassphraseBox.salt_of(box.salt_text))
    assert not wrong.matches(box.check_token())
    with pytest.raises(DecryptionError):
        wrong.open(sealed, context="databases.password:db1")


def test_passphrase_box_refuses_short_passphrases_and_odd_parameters() -> None:
    with pytest.raises(ValueError, match="passphrase"):
        PassphraseBox.new("short")
    with pytest.raises(ValueError, match="scrypt"):
        PassphraseBox(PASSPHRASE, b"0" * 16, n=1000)


def test_a_valid_document_parses() -> None:
    doc = parse_document(document())
    check_references(doc)
    assert doc.schedules[0].retention_policy == "rp1"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format": "something.else"}, "format"),
        ({"version": 2}, "version 2"),
        ({"version": "1"}, "version '1'"),
        ({"version": True}, "version True"),
        ({"databases": [{"ref": "x"}]}, "invalid configuration document"),
        ({"unknownField": 1}, "invalid configuration document"),
    ],
)
def test_bad_documents_are_refused(change: dict[str, Any], words: str) -> None:
    raw = {**document(), **change}
    with pytest.raises(ValidationError) as caught:
        parse_document(raw)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("schedules", 0, "database"), "nope", "unknown database ref 'nope'"),
        (("schedules", 0, "retentionPolicy"), "nope", "unknown retention policy ref"),
        (("schedules", 0, "s3Config"), "nope", "unknown S3 configuration ref"),
        (("schedules", 0, "storeLocally"), False, "needs s3UploadEnabled"),
        (("settings", "internal.key_check"), "x", "not an importable setting"),
    ],
)
def test_inconsistent_documents_are_refused(
    path: tuple[str | int, ...], value: object, words: str
) -> None:
    raw = copy.deepcopy(document())
    target: Any = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as caught:
        check_references(parse_document(raw))
    assert words in caught.value.message


def test_duplicate_names_are_refused() -> None:
    raw = document()
    raw["databases"].append({**raw["databases"][0], "ref": "db2"})
    with pytest.raises(ValidationError, match="'orders' appears twice"):
        check_references(parse_document(raw))
