"""The Composite resource (`POST /services/data/vXX.X/composite`) for query subrequests.

REST API guide, "Send Multiple Requests Using Composite": up to 25 subrequests, of which up to 5
query operations (Query, QueryAll, and the next batch of a query result), run as the session's
user; each answer is `{"body", "httpHeaders", "httpStatusCode", "referenceId"}` and the whole
series counts as one call toward the API limits. A statement too long for a GET's URI (16,384
bytes with the headers, Help article 000386264) fits in a subrequest, up to SOQL's 100,000
characters: this is why the middleware's matching queries come this way.

Modelled: GET subrequests to `query/?q=`, `queryAll/?q=` and `query/<locator>` of any version
up to the composite's own. Not modelled (refused with 400, saying so, instead of answering what
an org would not): other resources as subrequests and `@{reference}` expressions.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, jsonify

from qbsync_sandbox.emulators.salesforce import rest
from qbsync_sandbox.emulators.salesforce.errors import ApiError

composite = Blueprint("salesforce_composite", __name__, url_prefix="/services/data")

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
_REFERENCE_ID = re.compile(r"[A-Za-z0-9_]+")  # "alphanumeric characters and underscores"
_QUERY_PATH = re.compile(
    r"/services/data/v(?P<version>\d+\.\d)/(?P<kind>query|queryAll)/?(?P<cursor>[^/]+)?"
)


@composite.post("/v<version>/composite")
def run_composite(version: str):
    rest.check_version(version)
    body = rest._body()
    requests = body.get("compositeRequest")
    if not isinstance(requests, list) or not requests:
        raise ApiError(400, "INVALID_INPUT", "compositeRequest is required")  # UNCONFIRMED text
    if len(requests) > MAX_SUBREQUESTS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",  # UNCONFIRMED code and text; the limit is the guide's
            f"Maximum number of subrequests ({MAX_SUBREQUESTS}) exceeded",
        )
    planned = [_subrequest(item, version) for item in requests]
    if len(planned) > MAX_QUERIES:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",  # UNCONFIRMED code and text; the limit is the guide's
            f"Maximum number of query operations ({MAX_QUERIES}) exceeded",
        )
    answers = []
    for reference_id, sub_version, kind, query, cursor in planned:
        try:
            if cursor:
                page = rest.more_page(sub_version, cursor)
            else:
                page = rest.query_page(sub_version, query, kind == "queryAll")
            answers.append(_answer(reference_id, 200, page))
        except ApiError as error:
            answers.append(_answer(reference_id, error.status, error.body()))
    return jsonify({"compositeResponse": answers})


def _answer(reference_id: str, status: int, body) -> dict:
    return {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": reference_id}


def _subrequest(item, version: str) -> tuple[str, str, str, str, str | None]:
    if not isinstance(item, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "a subrequest must be a JSON object")
    reference_id, method, url = item.get("referenceId"), item.get("method"), item.get("url")
    if not isinstance(reference_id, str) or not _REFERENCE_ID.fullmatch(reference_id):
        raise ApiError(400, "INVALID_INPUT", "referenceId must be alphanumeric")  # UNCONFIRMED
    if not isinstance(url, str) or not isinstance(method, str):
        raise ApiError(400, "INVALID_INPUT", "method and url are required")  # UNCONFIRMED
    parts = urlsplit(url)
    path = _QUERY_PATH.fullmatch(parts.path)
    if method.upper() != "GET" or path is None or "@{" in url:
        raise ApiError(
            400,
            "INVALID_INPUT",
            "Emulator: only GET query, queryAll and query-more subrequests are modelled",
        )
    sub_version = path["version"]
    if float(sub_version) > float(version):
        raise ApiError(400, "INVALID_INPUT", "a subrequest's version is later than the request's")
    query = (parse_qs(parts.query).get("q") or [""])[0]
    return reference_id, sub_version, path["kind"], query, path["cursor"]
