"""The streaming S3 upload: :class:`S3Sink` and its part sizing (:func:`part_size_for`).

The pipeline's compressed stream is cut into parts held in memory and uploaded concurrently;
:meth:`S3Sink.write` waits while the in-flight budget is used up, so at most
``concurrency * part_size`` bytes are in flight plus the part being filled (no temporary file).
A stream shorter than one part becomes a single PutObject. For a stream of unknown length the
part size grows with :func:`part_size_for`, so the 10,000 parts S3 allows reach its 5 TiB object
limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError  # pyright: ignore[reportMissingTypeStubs]

from lifeboat.core.errors import S3Error
from lifeboat.storage.part_body import PartBody
from lifeboat.storage.s3.errors import answer_field, error_code
from lifeboat.storage.s3.settings import MAX_PART_SIZE, MAX_PARTS, PARTS_PER_STEP, encode_meta

if TYPE_CHECKING:
    from lifeboat.storage.s3.store import S3Store


def part_size_for(part_number: int, base: int) -> int:
    """Size of part `part_number` (1-based) of a stream of unknown length.

    ``base`` for parts 1-1,000, doubled every 1,000 parts after that, at most 5 GiB; the last
    1,000 parts (9,001-10,000) use the 5 GiB maximum so that even a 5 MiB base reaches S3's
    5 TiB object limit within its 10,000 parts.
    """
    if part_number < 1:
        raise ValueError("part numbers start at 1")
    if part_number > MAX_PARTS - PARTS_PER_STEP:
        return MAX_PART_SIZE
    step = (part_number - 1) // PARTS_PER_STEP
    return min(base << step, MAX_PART_SIZE)


# --------------------------------------------------------------------------- sink


SinkState = Literal["open", "committed", "failed", "aborted"]


class S3Sink:
    """A streaming upload of one object; implements :class:`lifeboat.storage.sink.Sink`.

    With ``replace=False`` the commit refuses (:class:`S3Error`, upload aborted by
    :meth:`abort`) when the key already holds an object, as every artifact store does.
    Not safe for concurrent :meth:`write` calls (the pipeline writes sequentially).
    """

    def __init__(
        self,
        store: S3Store,
        key: str,
        metadata: Mapping[str, str],
        *,
        guard: Callable[[], Awaitable[None]] | None = None,
        replace: bool = True,
    ) -> None:
        self.store = store
        self.key = key
        self._guard = guard
        self._replace = replace
        self.warnings: list[str] = []
        """Things that went wrong without failing the upload (e.g. sha256 tagging refused)."""
        self._meta = encode_meta(metadata)
        s = store.settings
        self._base = s.part_size_bytes
        self._budget = s.concurrency * s.part_size_bytes
        self._buffer = bytearray()
        self._target = part_size_for(1, self._base)
        self._parts_cut = 0
        self._upload_id: str | None = None
        self._etags: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight = 0
        self._inflight_bytes = 0
        self._cond = asyncio.Condition()
        self._error: S3Error | None = None
        self._written = 0
        self._uploaded = 0
        self._object_written = False
        self._state: SinkState = "open"

    # -- progress --------------------------------------------------------------------------

    @property
    def state(self) -> SinkState:
        """``open``, ``committed``, ``failed`` or ``aborted``."""
        return self._state

    @property
    def upload_id(self) -> str | None:
        """The multipart upload id, once one was created."""
        return self._upload_id

    @property
    def uploaded_bytes(self) -> int:
        """Bytes S3 has acknowledged so far (parts completed)."""
        return self._uploaded

    @property
    def held_bytes(self) -> int:
        """Bytes held in memory now: parts in flight plus the part being filled."""
        return self._inflight_bytes + len(self._buffer)

    # -- Sink protocol ---------------------------------------------------------------------

    async def write(self, chunk: bytes) -> None:
        """Buffer `chunk`; start a part upload each time a part is full (waits when busy).

        Raises:
            S3Error: an earlier part failed for good, or the sink is closed.
        """
        self._check_open()
        view = memoryview(chunk)
        try:
            while view:
                if len(self._buffer) >= self._target:
                    await self._start_part()
                room = self._target - len(self._buffer)
                piece = view[:room]
                self._buffer += piece
                view = view[len(piece) :]
                self._written += len(piece)
        finally:
            view.release()

    async def commit(self, *, size: int, sha256: str) -> None:
        """Finish the upload, then confirm with HeadObject that the object holds `size` bytes.

        Raises:
            S3Error: a part or the completion failed, or the size does not match. The sink is
                then ``failed``; :meth:`abort` removes whatever was uploaded.
        """
        if self._state != "open":
            raise S3Error(f"upload to {self.store.location(self.key)} is {self._state}")
        try:
            if self._error is not None:
                raise self._error
            if self._written != size:
                raise S3Error(
                    f"upload to {self.store.location(self.key)}: {self._written} bytes written,"
                    f" {size} expected"
                )
            if self._upload_id is None:
                await self._refuse_existing()
                if self._guard is not None:
                    await self._guard()
                await self._put_single(sha256)
            else:
                if self._buffer:
                    await self._start_part()
                await self._drain()
                await self._refuse_existing()
                if self._guard is not None:
                    # Right before the object becomes visible: a fenced attempt stops here.
                    await self._guard()
                await self._complete()
                await self._tag_sha256(sha256)
            await self._verify(size)
        except BaseException:
            self._state = "failed"
            raise
        self._state = "committed"

    async def abort(self) -> None:
        """Stop part uploads, abort the multipart upload (no orphan parts), delete a finished
        object. Never raises; a failure is recorded in :attr:`warnings`."""
        if self._state == "aborted":
            return
        self._state = "aborted"
        self._buffer = bytearray()
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        try:
            if self._object_written:
                await self.store.call(
                    "DeleteObject",
                    self.key,
                    lambda client: client.delete_object(
                        Bucket=self.store.settings.bucket, Key=self.key
                    ),
                )
            elif self._upload_id is not None:
                await self._abort_upload(self._upload_id)
        except S3Error as exc:
            self.warnings.append(exc.message)

    @property
    def name(self) -> str:
        """The object key (the artifact's name in an artifact store)."""
        return self.key

    # -- internals -------------------------------------------------------------------------

    async def _refuse_existing(self) -> None:
        # S3 replaces objects silently; a no-replace sink checks first. Not atomic with the
        # publication, but a writer racing us to the same key would be another attempt of
        # the same job, and attempts write under their own names (see lifeboat.wire.lease).
        if not self._replace and await self.store.head(self.key) is not None:
            raise S3Error(
                f"cannot store the backup: {self.store.location(self.key)} already exists",
                details={"code": "AlreadyExists", "key": self.key},
            )

    def _check_open(self) -> None:
        if self._state != "open":
            raise S3Error(f"upload to {self.store.location(self.key)} is {self._state}")
        if self._error is not None:
            raise self._error

    def _create_params(self) -> dict[str, Any]:
        return {
            "Bucket": self.store.settings.bucket,
            "Key": self.key,
            "ContentType": "application/octet-stream",
            **self.store.object_params(),
        }

    async def _start_part(self) -> None:
        data, self._buffer = self._buffer, bytearray()
        self._parts_cut += 1
        number = self._parts_cut
        if number > MAX_PARTS:
            raise S3Error(f"upload to {self.store.location(self.key)} exceeds {MAX_PARTS} parts")
        self._target = part_size_for(number + 1, self._base)
        await self._reserve(len(data))
        try:
            if self._upload_id is None:
                await self._create()
        except BaseException:
            await self._release(len(data))
            raise
        task = asyncio.create_task(self._upload_part(number, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reserve(self, size: int) -> None:
        async with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._inflight == 0 or (
                    self._inflight < self.store.settings.concurrency
                    and self._inflight_bytes + size <= self._budget
                ):
                    break
                await self._cond.wait()
            self._inflight += 1
            self._inflight_bytes += size

    async def _release(self, size: int) -> None:
        async with self._cond:
            self._inflight -= 1
            self._inflight_bytes -= size
            self._cond.notify_all()

    async def _create(self) -> None:
        await self.abort_leftovers()
        params = {**self._create_params(), "Metadata": self._meta}

        async def create(client: Any) -> Any:
            return await client.create_multipart_upload(**params)

        response: Any = await self.store.call("CreateMultipartUpload", self.key, create)
        upload_id = response.get("UploadId")
        if not upload_id:
            raise S3Error(f"S3 gave no upload id for {self.store.location(self.key)}")
        self._upload_id = str(upload_id)

    async def abort_leftovers(self) -> None:
        """Abort unfinished multipart uploads of this key (never raises; see warnings)."""
        # A key names one backup, so an unfinished upload of the same key is an earlier
        # attempt whose abort could not reach S3 (an outage): its parts cost storage forever
        # unless aborted, and retrying the copy is the first chance to do it.
        try:
            uploads = await self.store.list_multipart_uploads(self.key)
        except S3Error as exc:
            self.warnings.append(f"earlier unfinished uploads not checked: {exc.message}")
            return
        for key, upload_id in uploads:
            if key != self.key:
                continue
            try:
                await self._abort_upload(upload_id)
            except S3Error as exc:
                self.warnings.append(f"earlier unfinished upload not aborted: {exc.message}")
            else:
                self.warnings.append(
                    f"aborted an earlier unfinished upload of this key ({upload_id})"
                )

    async def _upload_part(self, number: int, data: bytearray) -> None:
        size = len(data)
        upload_id = self._upload_id
        assert upload_id is not None
        try:

            async def upload(client: Any) -> Any:
                return await client.upload_part(
                    Bucket=self.store.settings.bucket,
                    Key=self.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=PartBody(data),
                    ContentLength=size,
                )

            response: Any = await self.store.call("UploadPart", self.key, upload)
            etag = response.get("ETag")
            if not etag:
                raise S3Error(
                    f"S3 gave no ETag for part {number} of {self.store.location(self.key)}"
                )
            self._etags[number] = str(etag)
            self._uploaded += size
        except S3Error as exc:
            if self._error is None:
                exc.message = f"{exc.message} (part {number})"
                exc.args = (exc.message,)
                self._error = exc
        finally:
            await self._release(size)

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._error is not None:
            raise self._error

    async def _complete(self) -> None:
        upload_id = self._upload_id
        assert upload_id is not None
        numbers = sorted(self._etags)
        if numbers != list(range(1, self._parts_cut + 1)):
            raise S3Error(f"upload to {self.store.location(self.key)} is missing parts")
        parts = [{"PartNumber": n, "ETag": self._etags[n]} for n in numbers]
        bucket = self.store.settings.bucket
        attempts = 0

        async def complete(client: Any) -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return await client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except ClientError as exc:
                # A retry after a lost answer: the first attempt may have completed it.
                if error_code(exc) == "NoSuchUpload" and attempts > 1:
                    head = await client.head_object(Bucket=bucket, Key=self.key)
                    return {"ETag": head.get("ETag"), "_recovered": True}
                raise

        response: Any = await self.store.call("CompleteMultipartUpload", self.key, complete)
        # botocore turns most "200 OK with an <Error> body" answers into errors; anything
        # else without an ETag or Location is not a completed object either.
        if not (answer_field(response, "ETag") or answer_field(response, "Location")):
            raise S3Error(
                f"S3 CompleteMultipartUpload of {self.store.location(self.key)} answered without"
                " an ETag: the upload did not complete"
            )
        self._object_written = True

    async def _put_single(self, sha256: str) -> None:
        data, self._buffer = self._buffer, bytearray()
        params = {
            **self._create_params(),
            "ContentLength": len(data),
            "Metadata": {**self._meta, "sha256": sha256},
        }

        async def put(client: Any) -> Any:
            return await client.put_object(Body=PartBody(data), **params)

        response: Any = await self.store.call("PutObject", self.key, put)
        self._object_written = True
        if not response.get("ETag"):
            raise S3Error(
                f"S3 PutObject of {self.store.location(self.key)} answered without an ETag"
            )
        self._uploaded = len(data)

    async def _tag_sha256(self, sha256: str) -> None:
        # A multipart upload's metadata is fixed before the checksum is known; an object tag
        # can be added afterwards without copying data. Best effort: some S3-compatible
        # services have no tagging, and the manifest sidecar carries the sha256 anyway.
        async def tag(client: Any) -> None:
            await client.put_object_tagging(
                Bucket=self.store.settings.bucket,
                Key=self.key,
                Tagging={"TagSet": [{"Key": "sha256", "Value": sha256}]},
            )

        try:
            await self.store.call("PutObjectTagging", self.key, tag)
        except S3Error as exc:
            self.warnings.append(f"sha256 tag not stored: {exc.message}")

    async def _verify(self, size: int) -> None:
        info = await self.store.head(self.key)
        if info is None:
            raise S3Error(f"{self.store.location(self.key)} is missing after the upload")
        if info.size != size:
            raise S3Error(
                f"{self.store.location(self.key)} holds {info.size} bytes after the upload,"
                f" {size} expected"
            )

    async def _abort_upload(self, upload_id: str) -> None:
        bucket = self.store.settings.bucket

        async def abort(client: Any) -> None:
            try:
                await client.abort_multipart_upload(Bucket=bucket, Key=self.key, UploadId=upload_id)
            except ClientError as exc:
                if error_code(exc) != "NoSuchUpload":
                    raise

        async def leftover(client: Any) -> bool:
            try:
                response = await client.list_parts(Bucket=bucket, Key=self.key, UploadId=upload_id)
            except ClientError as exc:
                if error_code(exc) == "NoSuchUpload":
                    return False
                raise
            return bool(response.get("Parts"))

        # S3 may still land a part that was in flight when we aborted: abort until none is left.
        for _ in range(3):
            await self.store.call("AbortMultipartUpload", self.key, abort)
            if not await self.store.call("ListParts", self.key, leftover):
                return
