"""The identity URL returned with every token (`/id/<org>/<user>`) and OpenID `userinfo`.

Shapes: "Identity URLs" and "Identity URL Response" (Salesforce Help, xcloud.remoteaccess_using_openid;
Mobile SDK guide, oauth_using_identity_urls) and the OpenID Connect UserInfo endpoint
(xcloud.remoteaccess_using_userinfo_endpoint). Clients read them after a login: the Salesforce CLI
asks `userinfo` then `sobjects/User/<user_id>` for the username (@salesforce/core AuthInfo.retrieveUserInfo),
jsforce's `identity()` asks the identity URL.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from qbsync_sandbox.emulators.salesforce.rest import LATEST_VERSION
from qbsync_sandbox.emulators.salesforce.values import to_json

identity = Blueprint("salesforce_identity", __name__)


def _state():
    return current_app.extensions["salesforce"]


def _refusal(status: int, code: str) -> Response:
    # The identity service answers errors as a bare code in text (Identity URLs, "Error codes");
    # UNCONFIRMED which status goes with Bad_Id (the page lists the codes, not one status each).
    return Response(code, status, mimetype="text/plain")


def _session_user():
    """The org user of the request's session (None without a live session)."""
    header = request.headers.get("Authorization")
    token = request.values.get("oauth_token") or request.values.get("access_token")
    if header is None and token:
        header = f"Bearer {token}"
    username = _state().authority.session_user(header)
    if username is None:
        return None
    org = _state().org
    return org.user(username) or org.integration_user


def _urls(base: str, org_id: str, user_id: str) -> dict:
    """Endpoint templates; `{version}` stays literal unless the caller asks a version."""
    asked = request.args.get("version")
    v = (LATEST_VERSION if asked == "latest" else asked) if asked else "{version}"
    return {
        "enterprise": f"{base}/services/Soap/c/{v}/{org_id[:15]}",
        "metadata": f"{base}/services/Soap/m/{v}/{org_id[:15]}",
        "partner": f"{base}/services/Soap/u/{v}/{org_id[:15]}",
        "rest": f"{base}/services/data/v{v}/",
        "sobjects": f"{base}/services/data/v{v}/sobjects/",
        "search": f"{base}/services/data/v{v}/search/",
        "query": f"{base}/services/data/v{v}/query/",
        "recent": f"{base}/services/data/v{v}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{v}/{org_id[:15]}",
        "tooling_rest": f"{base}/services/data/v{v}/tooling/",
        "profile": f"{base}/{user_id}",
        "custom_domain": base,
    }


def _user(user_id: str) -> dict:
    found = _state().org.locate(user_id)
    assert found is not None  # users are never deleted (Org.reset keeps them)
    return found[1]


@identity.route("/id/<org_id>/<user_id>", methods=["GET", "POST"])
def identity_url(org_id: str, user_id: str):
    session_user = _session_user()
    if session_user is None:
        return _refusal(403, "Bad_OAuth_Token")
    org = _state().org
    if org_id[:15] != org.org_id[:15] or user_id[:15] != session_user.id[:15]:
        return _refusal(404, "Bad_Id")
    base = request.host_url.rstrip("/")
    user = _user(session_user.id)
    return jsonify(
        {
            "id": f"{base}/id/{org.org_id}/{user['Id']}",
            "asserted_user": True,
            "user_id": user["Id"],
            "organization_id": org.org_id,
            "username": user["Username"],
            "nick_name": user["Username"].split("@")[0],
            "display_name": f"{user.get('FirstName') or ''} {user['LastName']}".strip(),
            "email": user["Email"],
            "email_verified": True,
            "first_name": user.get("FirstName"),
            "last_name": user["LastName"],
            "timezone": "GMT",
            "photos": {"picture": None, "thumbnail": None},
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": _urls(base, org.org_id, user["Id"]),
            "active": bool(user.get("IsActive")),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "last_modified_date": to_json(user["LastModifiedDate"]),
            "is_app_installed": True,
        }
    )


@identity.route("/services/oauth2/userinfo", methods=["GET", "POST"])
def userinfo():
    session_user = _session_user()
    if session_user is None:
        return _refusal(403, "Bad_OAuth_Token")
    org = _state().org
    base = request.host_url.rstrip("/")
    user = _user(session_user.id)
    return jsonify(
        {
            "sub": f"{base}/id/{org.org_id}/{user['Id']}",
            "user_id": user["Id"],
            "organization_id": org.org_id,
            "preferred_username": user["Username"],
            "nickname": user["Username"].split("@")[0],
            "name": f"{user.get('FirstName') or ''} {user['LastName']}".strip(),
            "email": user["Email"],
            "email_verified": True,
            "given_name": user.get("FirstName"),
            "family_name": user["LastName"],
            "zoneinfo": "GMT",
            "photos": {"picture": None, "thumbnail": None},
            "profile": f"{base}/{user['Id']}",
            "picture": None,
            "address": {},
            "urls": _urls(base, org.org_id, user["Id"]),
            "active": bool(user.get("IsActive")),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "updated_at": to_json(user["LastModifiedDate"]),
            "is_app_installed": True,
        }
    )
