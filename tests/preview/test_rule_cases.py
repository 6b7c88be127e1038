"""The case table of the QB Setup Apex rules, run against the preview's twin of the Apex.

force-app/tests/staticresources/QBSync_RuleCases.json holds the cases once; the Apex test class
QBRuleCases_Tests runs the same file in an org. Here each case starts from a fresh emulator org
holding the table's fixture, calls the method through the preview's /apex endpoint (the way the
components do), with the sync middleware's answers served by a stand-in over real HTTP, and checks
the message or result, the middleware requests, the configuration-change notification and the
records as stored.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request

from qbsync_preview.app import create_preview_app, serve_in_thread
from qbsync_sandbox.emulators.salesforce import Org as EmulatedOrg
from qbsync_sandbox.emulators.salesforce import (
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.package.test_contract import aura_methods
from tests.support.paths import FORCE_APP

from .conftest import ADMIN_USERNAME, CLIENT_ID, CLIENT_SECRET, SYSADMIN_USERNAME, PreviewStack

API_KEY = "rule-cases-api-key"
TABLE = json.loads(
    (FORCE_APP / "tests" / "staticresources" / "QBSync_RuleCases.json").read_text(encoding="utf-8")
)
CASES = TABLE["cases"]
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\.(\w+))?\}")
# The Apex runner: it cannot run here, so these tests check that it runs every group and every call.
APEX_RUNNER = (FORCE_APP / "tests" / "classes" / "QBRuleCases_Tests.cls").read_text(
    encoding="utf-8"
)


@dataclass
class StandInMiddleware:
    """The middleware's /api: answers queued per case (HttpCalloutMockFactory's contract)."""

    url: str = ""
    answers: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)
    # A QBSetupController call notifies through the queued QBConfigChangedNotifier in Apex: its
    # POST /api/config-changed is the notification, not a request of the call itself.
    notifications_only: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, answers: list[dict], *, notifications_only: bool) -> None:
        with self.lock:
            self.answers = list(answers)
            self.requests.clear()
            self.notifications.clear()
            self.notifications_only = notifications_only


@pytest.fixture(scope="module")
def middleware() -> Iterator[StandInMiddleware]:
    stand_in = StandInMiddleware()
    app = Flask(__name__)

    @app.route("/api/<path:rest>", methods=["GET", "POST", "DELETE"])
    def api(rest: str):
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return jsonify({"error": "invalid API key", "status": 401}), 401
        body = request.get_json(silent=True)
        with stand_in.lock:
            if stand_in.notifications_only and request.path == "/api/config-changed":
                stand_in.notifications.append(body["realmId"])
                return jsonify({"status": "accepted"}), 202
            stand_in.requests.append({"method": request.method, "path": f"/{rest}", "body": body})
            if not stand_in.answers:
                return jsonify({"error": f"no answer queued for {request.path}"}), 500
            answer = stand_in.answers.pop(0)
        raw = answer["body"] if isinstance(answer["body"], str) else json.dumps(answer["body"])
        return Response(raw, status=answer["status"], content_type="application/json")

    server, stand_in.url = serve_in_thread(app)
    yield stand_in
    server.shutdown()


@pytest.fixture(scope="module")
def rules_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewStack]:
    """An emulator org whose admin is the one QBRuleCases_Tests runs as: a Standard User with
    QuickBooks_Sync_Admin (QBTestFactory.createAdminUser), so both runners see the same fields."""
    org = EmulatedOrg(
        load_schema(FORCE_APP), admin_username=ADMIN_USERNAME, admin_profile="standard"
    )
    emulator = create_salesforce_app(
        org, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=ADMIN_USERNAME
    )
    server, salesforce_url, ca_path = run_in_thread(emulator, tmp_path_factory.mktemp("tls"))
    yield PreviewStack(salesforce_url, ca_path, preview_url="")
    server.shutdown()


@pytest.fixture(scope="module")
def preview_url(rules_org: PreviewStack, middleware: StandInMiddleware) -> Iterator[str]:
    app = create_preview_app(
        rules_org.salesforce_url,
        rules_org.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        middleware_url=middleware.url,
        middleware_api_key=API_KEY,
    )
    server, url = serve_in_thread(app)
    yield url
    server.shutdown()


class Org:
    """The emulator org the fixture goes into: admin API to seed and read, REST to change."""

    def __init__(self, stack: PreviewStack) -> None:
        self.stack = stack
        # Fixture steps are test data, loaded as the System Administrator, not as the admin.
        session = stack.admin("POST", "/session", params={"username": SYSADMIN_USERNAME}).json()
        self.rest = f"{stack.salesforce_url}/services/data/v66.0"
        self.headers = {"Authorization": f"Bearer {session['access_token']}"}
        self.refs: dict[str, tuple[str, str]] = {}  # ref → (sobject, 18-character id)

    def substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: self._placeholder(m[1], m[2]), value)
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value

    def _placeholder(self, ref: str, field_name: str | None) -> str:
        if ref == "runningUser":
            return self.running_user_name()
        sobject, record_id = self.refs[ref]
        return record_id if field_name is None else str(self.read(ref)[field_name])

    def running_user_name(self) -> str:
        """Who the preview runs as (UserInfo.getName()): it logs in with these client credentials;
        the token response's identity URL ends with the user's id."""
        token = requests.post(
            f"{self.stack.salesforce_url}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            verify=str(self.stack.ca_path),
            timeout=10,
        )
        assert token.status_code == 200, token.text
        user_id = token.json()["id"].rsplit("/", 1)[-1]
        return self.stack.admin("GET", f"/records/User/{user_id}").json()["Name"]

    def load(self, fixture: list[dict]) -> None:
        assert self.stack.admin("DELETE", "/records").status_code == 204
        for step in fixture:
            ref = step["ref"]
            if "insert" in step:
                [record_id] = self.stack.seed(step["insert"], self.substitute(step["values"]))
                self.refs[ref] = (step["insert"], record_id)
                continue
            sobject, record_id = self.refs[ref]
            response = requests.request(
                "PATCH" if "update" in step else "DELETE",
                f"{self.rest}/sobjects/{sobject}/{record_id}",
                json=self.substitute(step["update"]) if "update" in step else None,
                headers=self.headers,
                verify=str(self.stack.ca_path),
                timeout=10,
            )
            assert response.status_code == 204, response.text

    def read(self, ref: str) -> dict | None:
        sobject, record_id = self.refs[ref]
        response = self.stack.admin("GET", f"/records/{sobject}/{record_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()


def matches(expected: Any, actual: Any) -> bool:
    """The table's matching rule (QBRuleCases_Tests.matches is the same)."""
    if expected is None:
        return actual is None
    if expected == "*":
        return actual is not None
    if isinstance(expected, dict) and expected and set(expected) <= {"startsWith", "endsWith"}:
        return (
            isinstance(actual, str)
            and actual.startswith(expected.get("startsWith", ""))
            and actual.endswith(expected.get("endsWith", ""))
        )
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            matches(value, actual.get(key)) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return expected == actual


def test_the_apex_runner_has_a_test_method_for_every_group_and_a_call_for_every_method():
    groups = {case["group"] for case in CASES}
    assert set(re.findall(r"runGroup\('([\w-]+)'\)", APEX_RUNNER)) == groups
    declared = re.search(r"GROUPS = new Set<String>\{(.*?)\};", APEX_RUNNER, re.S)
    assert set(re.findall(r"'([\w-]+)'", declared[1])) == groups
    assert {case["call"] for case in CASES} <= set(re.findall(r"when '(\w+\.\w+)'", APEX_RUNNER))


def test_every_case_has_a_unique_name_and_says_whether_it_notifies():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        # Only QBSetupController saves notify through the queued QBConfigChangedNotifier.
        assert ("notifies" in case) == case["call"].startswith("QBSetupController."), case["name"]


def test_the_twin_answers_every_aura_enabled_method(preview_url: str, middleware, company_id):
    middleware.reset([], notifications_only=True)
    missing = [
        name
        for name in sorted(aura_methods(FORCE_APP))
        if requests.post(
            f"{preview_url}/apex/{name.replace('.', '/')}", json={}, timeout=30
        ).status_code
        == 404
    ]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_rule_case(case: dict, rules_org: PreviewStack, preview_url: str, middleware):
    org = Org(rules_org)
    org.load(TABLE["fixture"])
    middleware.reset(
        org.substitute(case.get("middleware", [])),
        notifications_only="notifies" in case,
    )
    klass, method = case["call"].split(".")
    response = requests.post(
        f"{preview_url}/apex/{klass}/{method}", json=org.substitute(case["params"]), timeout=30
    )
    expect = org.substitute(case["expect"])
    body = response.json()
    if "result" in expect:
        assert response.status_code == 200, body
        assert matches(expect["result"], body), json.dumps(body)
    else:
        assert response.status_code == 400, body
        message = body["message"]
        if "error" in expect:
            assert message == expect["error"]
        else:
            assert message.startswith(expect["errorStartsWith"]), message
            listed = message.removeprefix(expect["errorStartsWith"]).split(", ")
            assert set(expect["errorIncludes"]) <= set(listed), message
    if "requests" in case:
        expected_requests = org.substitute(case["requests"])
        assert matches(expected_requests, middleware.requests), middleware.requests
    assert middleware.answers == [], "answers queued for callouts the call did not make"
    if "notifies" in case:
        assert bool(middleware.notifications) is case["notifies"], middleware.notifications
    for ref, fields in org.substitute(case.get("stored", {})).items():
        stored = org.read(ref)
        assert matches(fields, stored), f"{ref}: {json.dumps(stored)}"
