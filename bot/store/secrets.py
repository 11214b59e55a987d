"""Slack bot tokens sealed at rest with ``IMGBOT_SECRET_KEY`` (Fernet, from ``cryptography``).

A sealed value is stored as ``fernet:<token>``. With no key, tokens are stored as Slack gave
them, as before. The setting may list several comma-separated keys: the first seals, every one
opens, so a key is rotated by putting the new one first and running ``imgbot db seal-tokens``.
A plain value left from before a key was set is still read, and sealed the next time it is saved
(or by ``imgbot db seal-tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported only where a key is used: most instances never load it
    from cryptography.fernet import Fernet, MultiFernet

PREFIX = "fernet:"


class SealedTokenError(Exception):
    """A stored token that this instance cannot open (no key, or not the key it was sealed with)."""


def check_keys(keys: Sequence[str]) -> None:
    """ValueError, naming only the position, for a key that is not a Fernet key."""
    from cryptography.fernet import Fernet

    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            which = "the key" if len(keys) == 1 else f"key {n}"
            raise ValueError(
                f"{which} is not a Fernet key (32 bytes, url-safe base64); make one with `imgbot db new-key`"
            ) from None


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class TokenCipher:
    """Seals and opens stored secrets; with no keys it passes them through unchanged."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._first: Fernet | None = None
        self._fernet: MultiFernet | None = None
        if keys:
            from cryptography.fernet import Fernet, MultiFernet

            check_keys(keys)
            fernets = [Fernet(k.encode()) for k in keys]
            self._first, self._fernet = fernets[0], MultiFernet(fernets)

    @property
    def sealing(self) -> bool:
        return self._fernet is not None

    def seal(self, value: str) -> str:
        if self._fernet is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value
        if self._fernet is None:
            raise SealedTokenError("the Slack tokens in the database are sealed: set IMGBOT_SECRET_KEY")
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SealedTokenError(
                "a Slack token in the database was sealed with another key: put that key in IMGBOT_SECRET_KEY"
            ) from None

    def is_sealed(self, value: str) -> bool:
        return value.startswith(PREFIX)

    def reseal(self, value: str) -> str:
        """The value sealed with the first key: unchanged if it already is, else opened with any key
        and sealed again (SealedTokenError if no key opens it)."""
        if self._fernet is None or self._first is None:
            return value
        if not value.startswith(PREFIX):
            return self.seal(value)
        from cryptography.fernet import InvalidToken

        body = value[len(PREFIX) :].encode()
        try:
            self._first.decrypt(body)
            return value
        except InvalidToken:
            pass
        try:
            return PREFIX + self._fernet.rotate(body).decode()
        except InvalidToken:
            raise SealedTokenError(
                "a Slack token in the database was sealed with another key: put that key in IMGBOT_SECRET_KEY"
            ) from None
