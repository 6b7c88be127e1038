"""The Procfile, run as a Heroku-style platform runs it (issue 20, item 3), by honcho.

Against the two emulators and the local PostgreSQL (`QBSYNC_TEST_POSTGRES_URL`, as `.ci/run` sets it;
skipped without it), in a schema of its own, reached through `DATABASE_URL` as Heroku Postgres hands
it out: `release` (the schema migrations) runs and exits 0, then `web` and `worker` start on the
platform's `PORT`; a company connects through OAuth, a Customer created in QuickBooks arrives in
Salesforce, and SIGTERM stops both processes cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from qbsync.store.database import make_engine
from qbsync_sandbox.stack import Stack, wait_until
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("QBSYNC_TEST_POSTGRES_URL")
HONCHO = Path(sys.executable).with_name("honcho")


@pytest.fixture
def database_url():
    """`DATABASE_URL` of a fresh PostgreSQL schema, spelt `postgres://` as Heroku spells it."""
    if not POSTGRES_URL:
        pytest.skip("QBSYNC_TEST_POSTGRES_URL is not set")
    schema = f"qbsync_procfile_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).set(drivername="postgres")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def honcho(stack: Stack, env_file: Path, *processes: str, **popen) -> subprocess.Popen:
    environ = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(  # in the app's root, as a platform runs it (PYTHONPATH=middleware)
        [str(HONCHO), "start", "--no-colour", "-d", str(REPO_ROOT)]
        + ["-f", str(REPO_ROOT / "Procfile"), "-e", str(env_file), "-p", str(stack.web_port)]
        + list(processes),
        env=environ,
        cwd=REPO_ROOT,
        **popen,
    )


def test_the_procfile_releases_serves_syncs_and_stops(tmp_path, database_url):
    stack = Stack(tmp_path / "sandbox")
    settings = {k: v for k, v in stack.middleware_env.items() if k != "QBSYNC_DATABASE_URL"}
    env_file = tmp_path / "platform.env"
    env_file.write_text(
        "".join(
            f"{k}={v}\n"
            for k, v in {**settings, "DATABASE_URL": database_url, "WEB_HOST": "127.0.0.1"}.items()
        )
    )
    log = tmp_path / "honcho.log"
    stack.start_emulators()
    running = None
    try:
        release = subprocess.run(
            [str(HONCHO), "start", "--no-colour", "-d", str(REPO_ROOT)]
            + ["-f", str(REPO_ROOT / "Procfile"), "-e", str(env_file), "release"],
            env={
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            },
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert release.returncode == 0, release.stdout + release.stderr
        assert "schema at revision" in release.stdout

        with log.open("wb") as out:
            running = honcho(
                stack,
                env_file,
                "web",
                "worker",
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: (
                running.poll() is None
                and requests.get(f"{stack.web_url}/readyz", timeout=2).status_code == 200
            ),
            timeout=60,
            what=f"the Procfile's web process on PORT {stack.web_port}",
        )
        stack.connect()
        stack.apply_recommended_mappings(enable=("Customer",))
        customer = stack.create_entity(
            "Customer", {"DisplayName": f"Procfile {uuid.uuid4().hex[:6]}"}
        )
        account = stack.wait_for_record(stack.salesforce(), "Account", "Customer", customer["Id"])
        assert account["Name"].startswith("Procfile ")

        # As a platform stops a dyno; honcho, like foreman, kills what is left after 5 s.
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=60)
        output = log.read_text(errors="replace")
        assert "Shutting down: Master" in output, output[-4000:]  # gunicorn stopped in time
        assert "web.1 stopped (rc=0)" in output, output[-4000:]
        assert "worker.1 stopped (rc=0)" in output, output[-4000:]
        assert "SIGKILL" not in output, output[-4000:]
    except BaseException:
        print(log.read_text(errors="replace")[-6000:] if log.exists() else "(no honcho log)")
        print(stack.log_tails())
        raise
    finally:
        if running is not None and running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
            running.wait()
        stack.stop()
