"""OAuth 2.0 token endpoint (JWT bearer and client credentials) and session tracking.

Responses and errors as Salesforce sends them: 200 `{"access_token", "instance_url", "id",
"token_type": "Bearer", "issued_at", "signature"}`; 400 `{"error", "error_description"}` with the
descriptions Salesforce uses ("invalid assertion", "audience is invalid", "expired authorization
code", "user hasn't approved this consumer", "invalid client credentials").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography import x509

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STANDARD_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A token request refused; `error` and `description` are Salesforce's."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Session:
    username: str
    expires_at: float


class Authority:
    """Checks token requests against the configured connected app and tracks sessions."""

    def __init__(
        self,
        *,
        org_id: str,
        client_id: str,
        username: str,
        user_ids: Callable[[str], str | None] | None = None,
        certificate_pem: bytes | str | None = None,
        client_secret: str | None = None,
        session_seconds: float = 7200.0,
    ) -> None:
        if certificate_pem is None and client_secret is None:
            raise ValueError("configure a certificate (JWT bearer) or a client secret, or both")
        self.org_id = org_id
        self.client_id = client_id
        # The client-credentials flow runs as `username`; the JWT bearer flow as any user
        # `user_ids` knows (username -> user id), as for a connected app whose users are
        # pre-authorized by their permission sets. Without `user_ids`: `username` only.
        self.username = username
        self._user_ids = user_ids
        self.client_secret = client_secret
        self.session_seconds = session_seconds
        self._public_key = None
        if certificate_pem is not None:
            pem = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
            self._public_key = x509.load_pem_x509_certificate(pem).public_key()
        self._signing_key = secrets.token_bytes(32)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def token(self, form: dict, authorization: str | None, base_url: str, user_id: str) -> dict:
        """Answer a token request (raises OAuthError); `user_id` is the id of `username`."""
        grant_type = form.get("grant_type")
        if grant_type == JWT_GRANT:
            username = self._check_assertion(form.get("assertion") or "", base_url)
            if username != self.username and self._user_ids is not None:
                user_id = self._user_ids(username) or user_id
            return self._issue(base_url, user_id, scope="api", username=username)
        if grant_type == "client_credentials":
            self._check_client(form, authorization)
            return self._issue(base_url, user_id, scope=None)
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _check_assertion(self, assertion: str, base_url: str) -> str:
        """The username the assertion logs in (raises OAuthError)."""
        if self._public_key is None:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=["RS256"],
                options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired authorization code") from None
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        accepted = {base_url.rstrip("/"), *STANDARD_AUDIENCES}
        if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        if claims["iss"] != self.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        subject = claims["sub"]
        known = subject == self.username or (
            self._user_ids is not None and isinstance(subject, str) and self._user_ids(subject)
        )
        if not known:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return subject

    def _check_client(self, form: dict, authorization: str | None) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                raise OAuthError("invalid_client", "invalid client credentials") from None
            client_id, _, client_secret = decoded.partition(":")
        if self.client_secret is None:
            raise OAuthError("invalid_grant", "no client credentials user enabled")
        if client_id != self.client_id or not hmac.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        ):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _issue(
        self, base_url: str, user_id: str, scope: str | None, username: str | None = None
    ) -> dict:
        access_token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        with self._lock:
            self._sessions[access_token] = Session(
                username or self.username, time.time() + self.session_seconds
            )
        issued_at = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{self.org_id}/{user_id}"
        signature = base64.b64encode(
            hmac.new(self._signing_key, (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body = {
            "access_token": access_token,
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
        }
        if scope:
            body["scope"] = scope
        return body

    def session_user(self, authorization: str | None) -> str | None:
        """The username of the live session an `Authorization: Bearer …` header carries."""
        if not authorization or not authorization.lower().startswith(("bearer ", "oauth ")):
            return None
        token = authorization.split(" ", 1)[1].strip()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires_at <= time.time():
                del self._sessions[token]
                return None
            return session.username

    def expire_all(self) -> int:
        """End every session (clients see INVALID_SESSION_ID and must log in again)."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def issue_for_tests(self, base_url: str, user_id: str, username: str | None = None) -> dict:
        """A session without a login (admin API), for tools that only need to call REST."""
        return self._issue(base_url, user_id, scope="api", username=username)
