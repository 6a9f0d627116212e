"""AES-256-GCM for secrets at rest and for credentials sealed into job messages.

At rest (API only): a master key is stretched once from ``ENCRYPTION_KEY`` with PBKDF2-SHA256;
every value gets its own random salt, from which HKDF derives the AES key, and a random nonce.
The associated data binds a ciphertext to its place (table, column, row id), so a ciphertext
copied into another row does not decrypt. Tokens carry the key version for rotation::

    lb1.<key version>.<base64url(salt16 | nonce12 | ciphertext+tag)>

In transit (API → executor): credentials travel in the job message sealed with a separate key
shared by the API and executors (``EXECUTOR_SEAL_KEY``), bound to the execution id, so nothing
on NATS or in JetStream storage is plaintext and a sealed blob cannot be replayed for another job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lifeboat.core.errors import ConfigurationError

_PREFIX = "lb1"
_PBKDF2_ROUNDS = 310_000
_MIN_KEY_CHARS = 32


class DecryptionError(ConfigurationError):
    """A token does not decrypt under the configured key (wrong key or tampered data)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(master: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master)


def check_key_material(key: str, *, name: str) -> None:
    """Refuse keys too short to be safe."""
    if len(key) < _MIN_KEY_CHARS:
        raise ConfigurationError(f"{name} must be at least {_MIN_KEY_CHARS} characters long")


class SecretBox:
    """Encrypts and decrypts secrets stored at rest."""

    def __init__(self, key: str, *, version: int = 1) -> None:
        check_key_material(key, name="ENCRYPTION_KEY")
        self.version = version
        self._master = hashlib.pbkdf2_hmac(
            "sha256", key.encode(), b"lifeboat/at-rest/v1", _PBKDF2_ROUNDS
        )

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt `plaintext`, bound to `context` (e.g. ``database_configs.password:<id>``)."""
        salt, nonce = os.urandom(16), os.urandom(12)
        aes = AESGCM(_hkdf(self._master, salt, b"lifeboat secret"))
        sealed = aes.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_PREFIX}.{self.version}.{_b64e(salt + nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with the same key and context."""
        try:
            prefix, _version, body = token.split(".", 2)
            if prefix != _PREFIX:
                raise ValueError(prefix)
            raw = _b64d(body)
            salt, nonce, sealed = raw[:16], raw[16:28], raw[28:]
            aes = AESGCM(_hkdf(self._master, salt, b"lifeboat secret"))
            return aes.decrypt(nonce, sealed, context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError(
                "a stored secret does not decrypt with this ENCRYPTION_KEY"
            ) from exc

    @staticmethod
    def key_version(token: str) -> int:
        """The key version a token was written with."""
        return int(token.split(".", 2)[1])


class Sealer:
    """Seals credentials into job messages for executors (key shared by API and executors)."""

    def __init__(self, key: str) -> None:
        check_key_material(key, name="EXECUTOR_SEAL_KEY")
        self._key = _hkdf(key.encode(), b"lifeboat/seal/v1", b"lifeboat job credentials")
        self._mac_key = _hkdf(key.encode(), b"lifeboat/seal/v1", b"lifeboat job mac")

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        """Seal `plaintext` so that it opens only for the same `bound_to` (an execution id)."""
        nonce = os.urandom(12)
        return _b64e(
            nonce + AESGCM(self._key).encrypt(nonce, plaintext.encode(), bound_to.encode())
        )

    def mac(self, data: bytes) -> str:
        """An HMAC-SHA256 of `data` under a key derived from the seal key (job authenticity:
        only the API and executors can make one)."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def check_mac(self, data: bytes, mac: str) -> bool:
        """Whether `mac` is :meth:`mac` of `data` (constant-time)."""
        return hmac.compare_digest(self.mac(data), mac)

    def open(self, sealed: str, *, bound_to: str) -> str:
        """Open a sealed value; raises :class:`DecryptionError` if key or binding differ."""
        try:
            raw = _b64d(sealed)
            return AESGCM(self._key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError(
                "sealed credentials do not open with this EXECUTOR_SEAL_KEY"
            ) from exc


def generate_key() -> str:
    """A new random key suitable for ENCRYPTION_KEY or EXECUTOR_SEAL_KEY."""
    return _b64e(os.urandom(32))


MIN_PASSPHRASE_CHARS = 12
"""Shortest passphrase a configuration export accepts."""


class PassphraseBox:
    """Encrypts the secrets of a configuration export under a user's passphrase.

    The key is derived with scrypt (N=2^15, r=8, p=1: about 32 MiB and a tenth of a second)
    from the passphrase and a random salt kept in the document; every secret gets its own
    nonce and is bound to its place in the document (``databases.password:<ref>``), so a sealed
    value moved elsewhere does not open. A known text sealed under ``check`` tells a wrong
    passphrase apart from a tampered secret.
    """

    KDF = "scrypt"
    CIPHER = "AES-256-GCM"
    _CHECK_TEXT = "lifeboat configuration export"
    _CHECK_CONTEXT = "check"

    def __init__(
        self, passphrase: str, salt: bytes, *, n: int = 2**15, r: int = 8, p: int = 1
    ) -> None:
        if len(passphrase) < MIN_PASSPHRASE_CHARS:
            raise ValueError(f"a passphrase has at least {MIN_PASSPHRASE_CHARS} characters")
        if not (2**14 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4):
            raise ValueError("scrypt parameters out of range")
        self.salt, self.n, self.r, self.p = salt, n, r, p
        key = hashlib.scrypt(
            passphrase.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
        )
        self._aes = AESGCM(key)

    @classmethod
    def new(cls, passphrase: str) -> PassphraseBox:
        """A box with a fresh random salt (for an export)."""
        return cls(passphrase, os.urandom(16))

    @property
    def salt_text(self) -> str:
        """The salt as stored in the document."""
        return _b64e(self.salt)

    @staticmethod
    def salt_of(text: str) -> bytes:
        """The salt of a document (ValueError when malformed)."""
        raw = _b64d(text)
        if len(raw) < 16:
            raise ValueError("salt too short")
        return raw

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt `plaintext` bound to `context`."""
        nonce = os.urandom(12)
        return _b64e(nonce + self._aes.encrypt(nonce, plaintext.encode(), context.encode()))

    def open(self, sealed: str, *, context: str) -> str:
        """Decrypt a value made by :meth:`seal`; :class:`DecryptionError` otherwise."""
        try:
            raw = _b64d(sealed)
            return self._aes.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("a sealed value does not open with this passphrase") from exc

    def check_token(self) -> str:
        """The known text sealed, stored in the document to recognise the passphrase."""
        return self.seal(self._CHECK_TEXT, context=self._CHECK_CONTEXT)

    def matches(self, check: str) -> bool:
        """Whether `check` (from :meth:`check_token`) opens with this passphrase."""
        try:
            return self.open(check, context=self._CHECK_CONTEXT) == self._CHECK_TEXT
        except DecryptionError:
            return False
