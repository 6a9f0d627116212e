"""PartBody: the file view over an upload part that the HTTP stack reads in chunks."""

from __future__ import annotations

import io
import os

import pytest

from lifeboat.storage.part_body import PartBody


def test_reads_in_chunks_and_seeks_back_like_a_file() -> None:
    data = bytearray(os.urandom(300_000))
    body = PartBody(data)
    assert len(body) == len(data)
    chunks: list[bytes] = []
    while chunk := body.read(65_536):
        chunks.append(chunk)
    assert b"".join(chunks) == data
    assert body.tell() == len(data)
    assert body.read(10) == b""
    # botocore hashes the body, then seeks back to where it started before sending it.
    assert body.seek(1000) == 1000
    assert body.read(5) == bytes(data[1000:1005])
    assert body.seek(-5, io.SEEK_END) == len(data) - 5
    assert body.read() == bytes(data[-5:])
    assert body.seek(-10, io.SEEK_CUR) == len(data) - 10
    with body.getbuffer() as view:
        assert view.nbytes == len(data)


def test_readinto_and_bounds() -> None:
    body = PartBody(b"abcdef")
    target = bytearray(4)
    assert body.readinto(target) == 4
    assert target == b"abcd"
    assert body.read() == b"ef"
    with pytest.raises(ValueError):
        body.seek(-1)
    with pytest.raises(ValueError):
        body.seek(0, 7)


def test_is_read_only_and_closes_its_view() -> None:
    body = PartBody(bytearray(b"xyz"))
    assert body.readable() and body.seekable() and not body.writable()
    with pytest.raises(io.UnsupportedOperation):
        body.write(b"no")
    assert body.getvalue() == b"xyz"
    body.close()
    assert body.closed
    body.close()  # twice is harmless
