"""Artifact verification: size and sha256 of a stored artifact against its record."""

from __future__ import annotations

import asyncio
import hashlib
import os

from lifeboat.core.errors import (
    IntegrityError,
)
from lifeboat.engines.streams import CHUNK_SIZE


def _hash_fd(fd: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
    os.lseek(fd, 0, os.SEEK_SET)
    return size, digest.hexdigest()


async def verify_artifact(fd: int, *, expected_sha256: str, expected_size: int) -> None:
    """Check an open artifact against its manifest values (file position reset to 0).

    Raises:
        IntegrityError: size or sha256 differ.
    """
    size, sha256 = await asyncio.to_thread(_hash_fd, fd)
    if size != expected_size:
        raise IntegrityError(
            f"artifact size mismatch: expected {expected_size} bytes, found {size}",
            details={"expected_size": expected_size, "size": size},
        )
    if sha256 != expected_sha256.lower():
        raise IntegrityError(
            "artifact checksum mismatch: the file is not the backup that was recorded",
            details={"expected_sha256": expected_sha256, "sha256": sha256},
        )
