"""The deployment files (issue 20, item 3) agree with the settings the middleware reads.

tests/e2e/test_procfile.py runs the Procfile; these check what a platform reads without running it.
"""

from __future__ import annotations

import json
import re

from qbsync.config import ENVIRONMENT, REQUIRED
from tests.support.paths import REPO_ROOT

APP = json.loads((REPO_ROOT / "app.json").read_text())


def procfile() -> dict[str, str]:
    lines = (REPO_ROOT / "Procfile").read_text().splitlines()
    return dict(re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line).groups() for line in lines if line)


def test_the_procfile_releases_migrations_and_runs_web_and_worker():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert processes["release"].endswith("qbsync.cli migrate")
    # Every interface unless WEB_HOST narrows it (tests), on the port the platform gives.
    assert "serve --bind ${WEB_HOST:-0.0.0.0}:${PORT" in processes["web"]
    assert processes["worker"].endswith("qbsync.cli worker")


def test_app_json_names_only_settings_the_middleware_reads_with_a_description():
    known = set(ENVIRONMENT) | {"DATABASE_URL"}
    for name, spec in APP["env"].items():
        assert name in known, f"app.json sets {name}, which qbsync does not read"
        assert spec.get("description"), f"app.json: {name} has no description"


def test_app_json_requires_what_web_and_worker_cannot_start_without():
    required = {name for name, spec in APP["env"].items() if spec.get("required")}
    # The database comes from the add-on (DATABASE_URL); the worker logs in to Salesforce with
    # the client credentials flow on a dyno (no key file there).
    expected = set(REQUIRED["web"]) | set(REQUIRED["worker"]) | {"SALESFORCE_CLIENT_SECRET"}
    assert expected <= required
    assert {"plan": "heroku-postgresql"} in APP["addons"]


def test_requirements_txt_installs_exactly_the_production_lock():
    lines = [
        line
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines == ["-r requirements.lock"]
