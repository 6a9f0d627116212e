"""Configuration import, the checks that run before anything is written: format and version,
fields, duplicate refs and names, dangling references, settings, S3 settings and endpoints
(SSRF guard), and the passphrase (every sealed secret opened in memory)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from lifeboat.api.context import ApiContext
from lifeboat.api.domain.configio.schemas import FORMAT, VERSION, ConfigDocument
from lifeboat.api.security import ALLOW_PRIVATE_ENDPOINTS, allow_private_endpoints
from lifeboat.core.crypto import DecryptionError, PassphraseBox
from lifeboat.core.errors import ValidationError
from lifeboat.core.netguard import check_outbound_url
from lifeboat.storage.s3.settings import S3Settings

SETTING_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
INTERNAL = "internal."
_PLACEHOLDER = "checked-later"  # the S3 settings are validated before the keys are opened


def db_context(ref: str) -> str:
    """Where a database password sits in the document (bound into its seal)."""
    return f"databases.password:{ref}"


def s3_context(ref: str, field: str) -> str:
    """Where an S3 key sits in the document (bound into its seal)."""
    return f"s3Configs.{field}:{ref}"


def problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def parse_document(raw: dict[str, Any]) -> ConfigDocument:
    """The typed document, or ValidationError saying what is wrong (unknown format or version
    first, then the fields)."""
    if raw.get("format") != FORMAT:
        raise ValidationError(
            f"not a Lifeboat configuration document (format must be {FORMAT!r})",
            details=[problem("document.format", f"expected {FORMAT!r}")],
        )
    version = raw.get("version")
    if type(version) is not int or version != VERSION:
        raise ValidationError(
            f"unsupported configuration document version {version!r}: this Lifeboat reads "
            f"version {VERSION}",
            details=[problem("document.version", f"expected {VERSION}")],
        )
    try:
        return msgspec.convert(raw, ConfigDocument, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ValidationError(
            f"invalid configuration document: {exc}",
            details=[problem("document", str(exc))],
        ) from None


def _unique(kind: str, values: Sequence[str], what: str) -> list[dict[str, str]]:
    seen: set[str] = set()
    problems: list[dict[str, str]] = []
    for value in values:
        if value in seen:
            problems.append(problem(f"document.{kind}", f"{what} {value!r} appears twice"))
        seen.add(value)
    return problems


def check_references(doc: ConfigDocument) -> None:
    """Refuse duplicate refs or names and references to entities the document lacks."""
    problems = [
        *_unique("databases", [d.ref for d in doc.databases], "ref"),
        *_unique("databases", [d.name.strip() for d in doc.databases], "name"),
        *_unique("s3Configs", [s.ref for s in doc.s3_configs], "ref"),
        *_unique("s3Configs", [s.name.strip() for s in doc.s3_configs], "name"),
        *_unique("retentionPolicies", [p.ref for p in doc.retention_policies], "ref"),
        *_unique("retentionPolicies", [p.name.strip() for p in doc.retention_policies], "name"),
        *_unique("schedules", [s.ref for s in doc.schedules], "ref"),
    ]
    databases = {d.ref for d in doc.databases}
    s3_configs = {s.ref for s in doc.s3_configs}
    policies = {p.ref for p in doc.retention_policies}
    for i, s in enumerate(doc.schedules):
        where = f"document.schedules.{i}"
        if s.database not in databases:
            problems.append(problem(f"{where}.database", f"unknown database ref {s.database!r}"))
        if s.s3_config is not None and s.s3_config not in s3_configs:
            problems.append(
                problem(f"{where}.s3Config", f"unknown S3 configuration ref {s.s3_config!r}")
            )
        if s.retention_policy is not None and s.retention_policy not in policies:
            problems.append(
                problem(
                    f"{where}.retentionPolicy",
                    f"unknown retention policy ref {s.retention_policy!r}",
                )
            )
        if not s.store_locally and not s.s3_upload_enabled:
            problems.append(problem(f"{where}.storeLocally", "false needs s3UploadEnabled"))
    for key, value in doc.settings.items():
        if not SETTING_KEY.match(key) or key.startswith(INTERNAL):
            problems.append(problem(f"document.settings.{key}", "not an importable setting"))
        elif value is None:
            problems.append(problem(f"document.settings.{key}", "null is not a setting value"))
    if problems:
        raise ValidationError(
            f"the configuration document is inconsistent: {problems[0]['message']}",
            details=problems,
        )


async def _unlock(doc: ConfigDocument, passphrase: str | None) -> PassphraseBox:
    """The document's passphrase box, or ValidationError (no or a wrong passphrase)."""
    enc = doc.encryption
    if enc is None:
        raise ValidationError(
            "the document says it holds secrets but has no encryption parameters",
            details=[problem("document.encryption", "required when secrets are included")],
        )
    if not passphrase:
        raise ValidationError(
            "this document holds encrypted secrets: give the passphrase it was exported with",
            details=[problem("passphrase", "required")],
        )
    try:
        salt = PassphraseBox.salt_of(enc.salt)
        box = await asyncio.to_thread(PassphraseBox, passphrase, salt, n=enc.n, r=enc.r, p=enc.p)
    except ValueError as exc:
        field = "passphrase" if "passphrase" in str(exc) else "document.encryption"
        raise ValidationError(
            f"cannot derive the key: {exc}", details=[problem(field, str(exc))]
        ) from None
    if not box.matches(enc.check):
        raise ValidationError(
            "wrong passphrase: the document's secrets do not open with it",
            details=[problem("passphrase", "wrong passphrase")],
        )
    return box


async def open_secrets(doc: ConfigDocument, passphrase: str | None) -> dict[str, str]:
    """Every sealed secret in clear, keyed by its document context (kept in memory only).

    Raises:
        ValidationError: no or a wrong passphrase, or a secret that does not open.
    """
    if doc.secrets == "omitted":
        return {}
    box = await _unlock(doc, passphrase)
    wanted: list[tuple[str, str]] = []
    for d in doc.databases:
        if d.password is not None:
            wanted.append((db_context(d.ref), d.password))
    for s in doc.s3_configs:
        if s.access_key_id is not None:
            wanted.append((s3_context(s.ref, "accessKeyId"), s.access_key_id))
        if s.secret_access_key is not None:
            wanted.append((s3_context(s.ref, "secretAccessKey"), s.secret_access_key))
    plain: dict[str, str] = {}
    for context, sealed in wanted:
        try:
            plain[context] = box.open(sealed, context=context)
        except DecryptionError:
            raise ValidationError(
                f"the secret {context} does not open: the document was altered",
                details=[problem(f"document.{context.split(':')[0]}", "does not open")],
            ) from None
    return plain


async def check_s3(ctx: ApiContext, doc: ConfigDocument) -> None:
    """Each S3 configuration as S3 settings, and its endpoint through the SSRF guard (the
    document's own ``allow_private_endpoints`` counts, since it is imported with it)."""
    allow_private = await allow_private_endpoints(ctx) or (
        doc.settings.get(ALLOW_PRIVATE_ENDPOINTS) is True
    )
    problems: list[dict[str, str]] = []
    for i, s in enumerate(doc.s3_configs):
        where = f"document.s3Configs.{i}"
        try:
            S3Settings(
                bucket=s.bucket,
                access_key_id=_PLACEHOLDER,
                secret_access_key=_PLACEHOLDER,
                region=s.region,
                endpoint_url=s.endpoint,
                path_prefix=s.path_prefix,
                addressing_style=s.addressing_style,
                part_size_bytes=s.part_size_bytes,
                concurrency=s.concurrency,
                storage_class=s.storage_class,
                sse=s.sse,
                sse_kms_key_id=s.sse_kms_key_id,
                checksum_mode=s.checksum_mode,
            )
            if s.endpoint is not None and s.endpoint != ctx.settings.s3.endpoint:
                await asyncio.to_thread(check_outbound_url, s.endpoint, allow_private)
        except ValidationError as exc:
            problems.append(problem(where, exc.message))
    if problems:
        raise ValidationError(
            f"S3 configuration refused: {problems[0]['message']}", details=problems
        )
