"""Client authentication: ``Authorization: Bearer <api_key>`` or an HMAC signature.

HMAC headers: ``X-Snapshots-Client``, ``X-Snapshots-Timestamp`` (unix seconds,
±:data:`SKEW` s) and ``X-Snapshots-Signature`` = hex HMAC-SHA256(secret,
``METHOD\\nPATH\\nTIMESTAMP\\nsha256hex(body)``). Every secret comparison is
constant time and every failure reads the same, so a caller cannot learn whether
the client name, the key or the signature was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from engine.service.config import Client
from engine.service.errors import AuthError

SKEW = 300
CLIENT_HEADER = "x-snapshots-client"
TIMESTAMP_HEADER = "x-snapshots-timestamp"
SIGNATURE_HEADER = "x-snapshots-signature"
_INVALID = "invalid credentials"
# Compared against when the client name is unknown, so that path costs the same.
_DUMMY_SECRET = "\x00" * 32


def string_to_sign(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The signature a client sends (also what tests and the README example use)."""
    return hmac.new(secret.encode(), string_to_sign(method, path, timestamp, body), hashlib.sha256).hexdigest()


class Authenticator:
    def __init__(self, clients: Mapping[str, Client], now: Callable[[], float] = time.time) -> None:
        self._clients = dict(clients)
        self._keyed = [c for c in clients.values() if c.api_key]
        self._now = now

    def authenticate(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The name of the calling client, or :class:`AuthError`."""
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError(_INVALID)
            return self._bearer(token.strip())
        if SIGNATURE_HEADER in headers or CLIENT_HEADER in headers:
            return self._hmac(method, path, headers, body)
        raise AuthError("no credentials: send 'Authorization: Bearer <api_key>' or the X-Snapshots-* HMAC headers")

    def _bearer(self, token: str) -> str:
        given = token.encode()
        found: str | None = None
        # No early exit: the time taken does not depend on which client matched.
        for client in self._keyed:
            if hmac.compare_digest(given, client.api_key.encode()):  # type: ignore[union-attr]
                found = client.name
        if found is None:
            raise AuthError(_INVALID)
        return found

    def _hmac(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        name = headers.get(CLIENT_HEADER, "")
        stamp = headers.get(TIMESTAMP_HEADER, "")
        given = headers.get(SIGNATURE_HEADER, "")
        # The clock is public knowledge: saying the timestamp is stale leaks nothing.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or abs(int(stamp) - self._now()) > SKEW:
            raise AuthError(f"X-Snapshots-Timestamp: missing or more than {SKEW} s from server time (unix seconds)")
        client = self._clients.get(name)
        secret = client.hmac_secret if client is not None and client.hmac_secret else None
        expected = sign(secret or _DUMMY_SECRET, method, path, stamp, body)
        good = hmac.compare_digest(expected.encode(), given.lower().encode("ascii", "replace"))
        if secret is None or not good:
            raise AuthError(_INVALID)
        return name
