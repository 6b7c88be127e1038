"""The `intuit-signature` header: base64 HMAC-SHA256 of the raw body, keyed with the verifier token.

Intuit signs the exact bytes it sends (research/quickbooks.md §2), so the body is verified before
it is parsed or stored, and never re-serialised. Same algorithm for legacy and CloudEvents bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


class SignatureVerificationError(Exception):
    """The body does not carry a valid signature; the message says what is wrong."""


def _digest(body: bytes, token: str) -> bytes:
    return hmac.new(token.encode("utf-8"), body, hashlib.sha256).digest()


def sign(body: bytes, token: str) -> str:
    """The `intuit-signature` value Intuit would send for `body` (for tests and the emulator)."""
    return base64.b64encode(_digest(body, token)).decode("ascii")


def verify(body: bytes, header: str | None, token: str) -> None:
    """Raise `SignatureVerificationError` unless `header` signs `body` with `token`.

    The comparison runs in constant time on the decoded digests.
    """
    if not token:
        # An empty key would accept anyone's "signature" computed with the empty key.
        raise SignatureVerificationError("the webhook verifier token is not configured")
    if header is None or not header.strip():
        raise SignatureVerificationError("the intuit-signature header is missing")
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureVerificationError("the intuit-signature header is not base64") from None
    if not hmac.compare_digest(received, _digest(body, token)):
        raise SignatureVerificationError("the intuit-signature header does not match the body")
