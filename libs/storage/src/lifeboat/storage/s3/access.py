"""The access test of an S3 configuration: can these credentials reach the bucket and write and
delete under the path prefix?"""

from __future__ import annotations

import secrets as _secrets
from typing import TYPE_CHECKING, Any

from lifeboat.core.errors import S3Error
from lifeboat.storage.s3.errors import answer_field
from lifeboat.storage.s3.results import AccessCheck, AccessReport, CheckName

if TYPE_CHECKING:
    from lifeboat.storage.s3.store import S3Store


async def probe_access(store: S3Store) -> AccessReport:
    """Check HeadBucket, then put and delete a small probe object under the path prefix.

    Never raises for S3 answers: each step's failure is reported with its S3 error code.
    """
    bucket = store.settings.bucket
    checks: list[AccessCheck] = []

    async def step(name: CheckName, op: str, key: str | None, request: Any) -> bool:
        try:
            await store.call(op, key, request, retry=False)
        except S3Error as exc:
            code = str(answer_field(exc.details, "code") or "Error")
            checks.append(
                AccessCheck(name=name, status="failed", error_code=code, message=exc.message)
            )
            return False
        checks.append(AccessCheck(name=name, status="ok"))
        return True

    prefix = store.settings.path_prefix.strip("/")
    probe = f"{prefix + '/' if prefix else ''}.lifeboat-probe-{_secrets.token_hex(6)}"

    async def head_bucket(client: Any) -> None:
        await client.head_bucket(Bucket=bucket)

    async def put(client: Any) -> None:
        await client.put_object(
            Bucket=bucket,
            Key=probe,
            Body=b"lifeboat access probe\n",
            **store.object_params(with_storage_class=False),
        )

    async def delete(client: Any) -> None:
        await client.delete_object(Bucket=bucket, Key=probe)

    await step("head_bucket", "HeadBucket", None, head_bucket)
    if await step("put_object", "PutObject", probe, put):
        await step("delete_object", "DeleteObject", probe, delete)
    else:
        checks.append(
            AccessCheck(
                name="delete_object",
                status="skipped",
                message="not tried: the probe object could not be written",
            )
        )
    return AccessReport(ok=all(c.status == "ok" for c in checks), checks=checks)
