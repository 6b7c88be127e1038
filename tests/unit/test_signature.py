"""intuit-signature: Intuit's official test vectors (research/quickbooks.md §2) and refusals."""

from __future__ import annotations

import base64

import pytest

from qbsync.webhooks.signature import SignatureVerificationError, sign, verify

# IntuitDeveloper/SampleApp-Webhooks-Java SecurityServiceTest.java
JAVA_SAMPLE_TOKEN = "12345"
JAVA_SAMPLE_BODY = b"abcd"
JAVA_SAMPLE_SIGNATURE = "gfTuE5fLxnstOq8ln4LNWZfn24cg8FVB6PBv455lfzg="

# intuit/QuickBooks-V3-Java-SDK WebhooksServiceTest.java
SDK_TOKEN = "b5771f19b12ddb4bcdb9f08bdc50bc63878a"
SDK_BODY = (
    b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
    b'[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}'
)
SDK_SIGNATURE = "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q="


@pytest.mark.parametrize(
    ("body", "token", "signature"),
    [
        (JAVA_SAMPLE_BODY, JAVA_SAMPLE_TOKEN, JAVA_SAMPLE_SIGNATURE),
        (SDK_BODY, SDK_TOKEN, SDK_SIGNATURE),
    ],
    ids=["sample-app", "java-sdk"],
)
def test_official_vectors(body: bytes, token: str, signature: str) -> None:
    assert sign(body, token) == signature
    verify(body, signature, token)  # raises when they disagree


def test_tampered_body_is_refused() -> None:
    tampered = SDK_BODY.replace(b'"id":"1"', b'"id":"2"')
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(tampered, SDK_SIGNATURE, SDK_TOKEN)


def test_reserialised_body_is_refused() -> None:
    # Same JSON, different bytes: the signature covers the raw body only.
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(SDK_BODY.replace(b",", b", "), SDK_SIGNATURE, SDK_TOKEN)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header_is_refused(header: str | None) -> None:
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header is missing$"
    ):
        verify(SDK_BODY, header, SDK_TOKEN)


def test_wrong_token_is_refused() -> None:
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(SDK_BODY, SDK_SIGNATURE, JAVA_SAMPLE_TOKEN)


@pytest.mark.parametrize(
    "header", ["not base64!", "JC2GUwciPmRBwEO7WvrRmKqu9tGOKL8FFallocTFi8Q", "ü"]
)
def test_non_base64_header_is_refused(header: str) -> None:
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header is not base64$"
    ):
        verify(SDK_BODY, header, SDK_TOKEN)


def test_signature_of_another_body_is_refused() -> None:
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(SDK_BODY, JAVA_SAMPLE_SIGNATURE, SDK_TOKEN)


def test_empty_token_accepts_nothing() -> None:
    # Even a "signature" made with the empty key must not pass.
    with pytest.raises(
        SignatureVerificationError, match="^the webhook verifier token is not configured$"
    ):
        verify(SDK_BODY, sign(SDK_BODY, ""), "")


@pytest.mark.parametrize("junk", ["*", " ", "\n", "."])
def test_a_header_with_characters_outside_base64_inside_it_is_refused(junk: str) -> None:
    # Decoding that skipped them would accept a header a proxy or an attacker has altered.
    header = SDK_SIGNATURE[:10] + junk + SDK_SIGNATURE[10:]
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header is not base64$"
    ):
        verify(SDK_BODY, header, SDK_TOKEN)


def test_surrounding_whitespace_in_header_is_tolerated() -> None:
    verify(SDK_BODY, f" {SDK_SIGNATURE}\t", SDK_TOKEN)


def test_signature_must_match_in_full() -> None:
    # A forger who matches only part of the digest must still be refused: the last byte differs.
    digest = bytearray(base64.b64decode(SDK_SIGNATURE))
    digest[-1] ^= 0x01
    forged = base64.b64encode(bytes(digest)).decode("ascii")
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(SDK_BODY, forged, SDK_TOKEN)


def test_whitespace_around_the_body_is_signed_too() -> None:
    # Intuit signs the exact bytes; a trailing newline added in transit is a different body.
    with pytest.raises(
        SignatureVerificationError, match="^the intuit-signature header does not match the body$"
    ):
        verify(SDK_BODY + b"\n", SDK_SIGNATURE, SDK_TOKEN)
    padded = b"  " + SDK_BODY + b"\r\n"
    assert sign(padded, SDK_TOKEN) != SDK_SIGNATURE
    verify(padded, sign(padded, SDK_TOKEN), SDK_TOKEN)
