"""Joining untrusted relative paths under a root, refusing anything that escapes it."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lifeboat.core.errors import ValidationError


def contained(root: Path, relative: str) -> Path:
    """`root / relative`, or ValidationError if `relative` is absolute or leaves `root`."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or "\x00" in relative or not rel.parts:
        raise ValidationError("path escapes the storage root", details={"path": relative})
    root_resolved = root.resolve()
    candidate = (root_resolved / Path(*rel.parts)).resolve()
    if not candidate.is_relative_to(root_resolved):
        raise ValidationError("path escapes the storage root", details={"path": relative})
    return candidate
