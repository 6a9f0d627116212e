"""Pure pieces of the auth feature: permissions, secret masking, outbound URL checks."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lifeboat.api.auth.audit import mask_secrets
from lifeboat.api.auth.permissions import ROLE_PERMISSIONS, AccessRule, allows, lesser_role
from lifeboat.core.errors import ValidationError
from lifeboat.core.netguard import check_outbound_url


def test_roles_nest_and_viewers_are_read_only() -> None:
    viewer, operator, admin = (ROLE_PERMISSIONS[r] for r in ("viewer", "operator", "admin"))
    assert viewer < operator < admin
    assert all(p.endswith(".view") or p == "account.self" for p in viewer)
    assert not allows("viewer", "backup.download")
    assert not allows("viewer", "restore.execute")
    assert allows("operator", "backup.download") and not allows("operator", "user.manage")
    assert not allows("operator", "s3.manage") and not allows("operator", "system.configure")
    assert allows("admin", "user.manage") and not allows("nobody", "backup.view")
    assert lesser_role("admin", "viewer") == "viewer"


def test_access_rule_default_deny() -> None:
    assert AccessRule.of({}) is None
    assert AccessRule.of({"permission": "no.such"}) is None
    assert AccessRule.of({"public": "yes"}) is None
    rule = AccessRule.of({"permission": "backup.view"})
    assert rule is not None and rule.permission == "backup.view" and not rule.public
    public = AccessRule.of({"public": True})
    assert public is not None and public.public


def test_mask_secrets() -> None:
    details = {
        "name": "db",
        "password": "hunter22",
        "changed": {"secretAccessKey": "abc", "accessKeyId": "AKIA", "region": "eu"},
        "items": [{"apiToken": "t"}, {"empty_password": ""}],
        "allow_private_endpoints": True,
    }
    assert mask_secrets(details) == {
        "name": "db",
        "password": "***",
        "changed": {"secretAccessKey": "***", "accessKeyId": "***", "region": "eu"},
        "items": [{"apiToken": "***"}, {"empty_password": ""}],
        "allow_private_endpoints": True,
    }


def resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, *_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
    ],
)
def test_outbound_refuses_private_addresses(address: str) -> None:
    with pytest.raises(ValidationError, match="allow_private_endpoints"):
        check_outbound_url("https://s3.example.com", False, resolve=resolver(address))
    assert check_outbound_url("https://s3.example.com", True, resolve=resolver(address)) == [
        address
    ]


def test_outbound_any_bad_address_refuses() -> None:
    with pytest.raises(ValidationError):
        check_outbound_url(
            "https://x.example", False, resolve=resolver("93.184.216.34", "10.0.0.1")
        )
    assert check_outbound_url(
        "http://x.example:9000", False, resolve=resolver("93.184.216.34")
    ) == ["93.184.216.34"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.example",
        "file:///etc/passwd",
        "gopher://x",
        "https://",
        "http://u:p@x.example",
        "http://x:99999",
    ],
)
def test_outbound_refuses_bad_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        check_outbound_url(url, True, resolve=resolver("93.184.216.34"))


def test_outbound_unresolvable() -> None:
    def fail(*_: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror("nope")

    with pytest.raises(ValidationError, match="cannot resolve"):
        check_outbound_url("https://nowhere.invalid", False, resolve=fail)
