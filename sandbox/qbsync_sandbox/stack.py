"""The local sandbox as real processes: both emulators, gunicorn (web) and the sync worker.

`./scripts/demo` and the end-to-end tests drive the same `Stack`: every hop is real HTTP between
processes, the Salesforce emulator speaks HTTPS with its own CA (trusted through
`REQUESTS_CA_BUNDLE`), and the configuration is made of the same mapping records the package uses.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from simple_salesforce import Salesforce, format_soql

from qbsync.catalog import load_catalog
from qbsync.config import load_settings
from qbsync.salesforce.auth import login
from qbsync.salesforce.schema import external_id
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from qbsync_sandbox.force_app import force_app_dir

# `python -m qbsync_sandbox …` runs the emulators' command line (qbsync_sandbox/cli.py).
EMULATORS_MODULE = "qbsync_sandbox"
DEFAULT_REALM = "9341455130166501"
# The emulated org's users (emulators/salesforce/permissions.py): the middleware logs in as the
# integration user (permission set QuickBooks_Sync_Integration); the admin
# (QuickBooks_Sync_Admin) configures mappings and is who the QB Setup preview runs as.
SF_USERNAME = "integration@qbsync.sandbox"
SF_ADMIN_USERNAME = "admin@qbsync.sandbox"


class StackError(Exception):
    """A sandbox process did not start, or an expected outcome never arrived."""


def exit_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so a `with Stack(...)` stops what it started.

    The stack's processes run in sessions of their own (`start_new_session`, so a kill reaches a
    process group at a time): a terminal's Ctrl-C does not reach them, and SIGTERM's default
    action ends the command without running `Stack.__exit__`, which left both emulators, gunicorn
    and the workers running after `kill <bench>`. Called by the commands' `main`, not by the
    Stack, as only the main thread can set a handler."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], object], *, timeout: float, interval: float = 0.05, what: str):
    """Poll `check` until it returns something truthy; StackError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (requests.RequestException, OSError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _write_connected_app_keys(directory: Path) -> tuple[Path, Path]:
    """The integration user's private key and the connected app's certificate (JWT bearer)."""
    private_pem, certificate_pem = connected_app_keys()
    key_path, cert_path = directory / "integration.key", directory / "integration.crt"
    key_path.write_bytes(private_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate_pem)
    return key_path, cert_path


@dataclass
class Stack:
    """Starts and stops the sandbox; `workdir` holds the ledger, keys, TLS files and logs."""

    workdir: Path
    webhook_format: str = "cloudevents"
    realm_id: str = DEFAULT_REALM
    company_name: str = "Sandbox Company US"
    extra_env: dict[str, str] = field(default_factory=dict)
    # Injected network latency per API request (issue 19; the benchmark's defaults are QuickBooks
    # 120 ms and Salesforce 180 ms, the demo and the e2e suites run without), and Intuit's
    # per-realm limits, on everywhere the sandbox runs: the middleware must live within them.
    qbo_latency_ms: int = 0
    sf_latency_ms: int = 0
    qbo_rate_limits: bool = True
    # Worker processes ("worker", "worker-2", …): several share one PostgreSQL ledger (issue 19).
    workers: int = 1
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.qbo_port, self.sf_port, self.web_port = free_port(), free_port(), free_port()
        self.qbo_url = f"http://127.0.0.1:{self.qbo_port}"
        self.sf_url = f"https://127.0.0.1:{self.sf_port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        # The QB Setup preview stands in for the org's Lightning origin (`serve_preview`).
        self.preview_port = free_port()
        self.preview_url = f"http://127.0.0.1:{self.preview_port}"
        self.tls_dir = self.workdir / "tls"
        self.ca_path = self.tls_dir / "ca.pem"
        self.verifier_token = secrets.token_urlsafe(24)
        self.intuit_client_id = "sandbox-" + secrets.token_hex(8)
        self.intuit_client_secret = secrets.token_urlsafe(24)
        self.sf_client_id = "3MVG9sandbox" + secrets.token_hex(12)
        self.api_key = secrets.token_urlsafe(32)
        self.encryption_key = Fernet.generate_key().decode()
        self.key_path, self.cert_path = _write_connected_app_keys(self.workdir)

    # -- processes -----------------------------------------------------------------------

    @property
    def middleware_env(self) -> dict[str, str]:
        """The middleware's configuration, exactly as an operator would set it."""
        return {
            "QBSYNC_DATABASE_URL": f"sqlite:///{self.workdir / 'qbsync.db'}",
            "QBSYNC_ENCRYPTION_KEY": self.encryption_key,
            "QBSYNC_API_KEY": self.api_key,
            "INTUIT_CLIENT_ID": self.intuit_client_id,
            "INTUIT_CLIENT_SECRET": self.intuit_client_secret,
            "INTUIT_REDIRECT_URI": f"{self.web_url}/oauth/quickbooks/callback",
            "INTUIT_WEBHOOK_VERIFIER_TOKEN": self.verifier_token,
            "INTUIT_ENVIRONMENT": "sandbox",
            "INTUIT_API_BASE_URL": self.qbo_url,
            "INTUIT_AUTH_URL": f"{self.qbo_url}/connect/oauth2",
            "INTUIT_TOKEN_URL": f"{self.qbo_url}/oauth2/v1/tokens/bearer",
            "INTUIT_REVOKE_URL": f"{self.qbo_url}/v2/oauth2/tokens/revoke",
            "SALESFORCE_LOGIN_URL": self.sf_url,
            "SALESFORCE_CLIENT_ID": self.sf_client_id,
            "SALESFORCE_USERNAME": SF_USERNAME,
            "SALESFORCE_PRIVATE_KEY_FILE": str(self.key_path),
            "REQUESTS_CA_BUNDLE": str(self.ca_path),
            "QBSYNC_WORKER_POLL_SECONDS": "0.05",
            # Alerts to the admins within a second of their condition (tests wait for them).
            "QBSYNC_ALERT_INTERVAL_SECONDS": "1",
            "QBSYNC_SALESFORCE_ORIGINS": self.preview_url,
            **self.extra_env,
        }

    def _spawn(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        *,
        module: str = "qbsync.cli",
    ) -> None:
        log = open(self.workdir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        environment = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, *args],
            cwd=self.workdir,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name].log_file = log  # type: ignore[attr-defined]

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise StackError(f"{name} exited with {process.returncode}; see {self.log_path(name)}")
        return True

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def log_tails(self, chars: int = 4000) -> str:
        """The end of every process's log, for a failure report."""
        return "\n".join(
            f"--- {name} log ---\n{self.log_path(name).read_text(errors='replace')[-chars:]}"
            for name in self.processes
        )

    def start(self, timeout: float = 60) -> Stack:
        self.start_emulators(timeout)
        self._spawn(
            "web",
            ["serve", "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2"],
            self.middleware_env,
        )
        for name in self.worker_names:
            self._spawn(name, ["worker"], self.middleware_env)
        wait_until(
            lambda: self._alive("web") and requests.get(f"{self.web_url}/healthz", timeout=2).ok,
            timeout=timeout,
            what="the middleware's web process",
        )
        return self

    @property
    def worker_names(self) -> list[str]:
        return ["worker", *(f"worker-{n}" for n in range(2, self.workers + 1))]

    def start_emulators(self, timeout: float = 60) -> Stack:
        """Only the two emulators (the middleware started some other way: the Procfile test)."""
        self._spawn(
            "salesforce",
            [
                "salesforce",
                "serve",
                "--port",
                str(self.sf_port),
                "--force-app",
                str(force_app_dir()),
                "--tls-dir",
                str(self.tls_dir),
                "--client-id",
                self.sf_client_id,
                "--certificate",
                str(self.cert_path),
                "--username",
                SF_USERNAME,
                "--admin-username",
                SF_ADMIN_USERNAME,
                "--latency-ms",
                str(self.sf_latency_ms),
            ],
            module=EMULATORS_MODULE,
        )
        self._spawn(
            "quickbooks",
            [
                "qbo",
                "serve",
                "--port",
                str(self.qbo_port),
                "--verifier-token",
                self.verifier_token,
                "--client-id",
                self.intuit_client_id,
                "--client-secret",
                self.intuit_client_secret,
                "--webhook-url",
                f"{self.web_url}/webhooks/quickbooks",
                "--format",
                self.webhook_format,
                "--realm",
                self.realm_id,
                "--company-name",
                self.company_name,
                "--latency-ms",
                str(self.qbo_latency_ms),
                "--rate-limits" if self.qbo_rate_limits else "--no-rate-limits",
            ],
            module=EMULATORS_MODULE,
        )
        wait_until(
            lambda: self._alive("salesforce") and self.ca_path.exists(),
            timeout=timeout,
            what="the Salesforce emulator's CA",
        )
        wait_until(
            lambda: (
                self._alive("salesforce")
                and requests.get(f"{self.sf_url}/records", verify=str(self.ca_path), timeout=2).ok
            ),
            timeout=timeout,
            what="the Salesforce emulator",
        )
        wait_until(
            lambda: (
                self._alive("quickbooks") and requests.get(f"{self.qbo_url}/_admin", timeout=2).ok
            ),
            timeout=timeout,
            what="the QuickBooks emulator",
        )
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.log_file.close()  # type: ignore[attr-defined]

    def restart(self, name: str) -> None:
        """Kill one middleware process hard (SIGKILL) and start it again."""
        process = self.processes[name]
        process.kill()
        process.wait()
        process.log_file.close()  # type: ignore[attr-defined]
        if name == "web":
            self._spawn(
                "web",
                ["serve", "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2"],
                self.middleware_env,
            )
        else:
            self._spawn(name, ["worker"], self.middleware_env)

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()  # whatever started before the failure must not outlive it
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def running(self) -> Iterator[Stack]:
        """Started, stopped afterwards; when anything fails, the process logs are printed."""
        try:
            with self:
                yield self
        except BaseException:
            print(self.log_tails())
            raise

    # -- the admin's steps -----------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the middleware's /api as Salesforce's Named Credential does."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return requests.request(
            method, f"{self.web_url}{path}", headers=headers, timeout=10, **kwargs
        )

    def connect(self) -> str:
        """Connect the emulated company through the real OAuth flow; returns the result page."""
        response = self.api("POST", "/api/connections")
        response.raise_for_status()
        # The emulator's consent page approves at once and redirects to our callback.
        page = requests.get(response.json()["authorizationUrl"], timeout=10)
        if page.status_code != 200:
            raise StackError(f"connecting failed ({page.status_code}): {page.text[:500]}")
        return page.text

    def salesforce(self, username: str = SF_USERNAME) -> Salesforce:
        """simple-salesforce on the emulator, logged in (JWT bearer) as the integration user, or
        as `username` (SF_ADMIN_USERNAME for what an admin does in the QB Setup app)."""
        settings = load_settings(self.middleware_env | {"SALESFORCE_USERNAME": username})
        session = requests.Session()
        # This process's own REQUESTS_CA_BUNDLE (if any) would win over `verify`: ignore it.
        session.trust_env = False
        session.verify = str(self.ca_path)
        credentials = login(settings, session)
        return Salesforce(
            instance_url=credentials.instance_url,
            session_id=credentials.access_token,
            version=settings.salesforce_api_version,
            session=session,
        )

    def preview_app(self):
        """The QB Setup tab preview (issue: browser preview) wired to this sandbox: the Salesforce
        emulator for Apex contracts and object info, the middleware's /api for the connect flow."""
        from qbsync_preview.app import create_preview_app  # the preview builds on the sandbox

        return create_preview_app(
            self.sf_url,
            self.ca_path,
            client_id=self.sf_client_id,
            username=SF_ADMIN_USERNAME,
            private_key_file=self.key_path,
            middleware_url=self.web_url,
            middleware_api_key=self.api_key,
        )

    def serve_preview(self):
        """Serve `preview_app` on the preview origin the middleware allows; returns the server
        (stop it with `shutdown()`)."""
        from qbsync_preview.app import serve_in_thread

        server, _ = serve_in_thread(self.preview_app(), port=self.preview_port)
        return server

    def company_id(self, sf: Salesforce, *, realm: str | None = None) -> str:
        realm = realm or self.realm_id
        soql = format_soql("SELECT Id FROM QB_Company__c WHERE Realm_Id__c = {}", realm)
        records = sf.query(soql)["records"]
        if not records:
            raise StackError(f"no QB_Company__c for realm {realm}: connect first")
        return records[0]["Id"]

    def apply_recommended_mappings(
        self,
        *,
        enable: tuple[str, ...] = (),
        realm: str | None = None,
        only: tuple[str, ...] | None = None,
    ) -> dict:
        """Create the catalog's recommended mappings as the admin does in the QB Setup app (the
        integration user may only read the configuration); returns the object mapping ids.
        `only`: these QuickBooks objects' mappings and no others (a benchmark's many companies)."""
        sf = self.salesforce(SF_ADMIN_USERNAME)
        company = self.company_id(sf, realm=realm)
        created: dict[str, str] = {}
        for recommended in load_catalog().recommended:
            if only is not None and recommended.qb_object not in only:
                continue
            mapping = sf.QB_Object_Mapping__c.create(
                {
                    "Company__c": company,
                    "QB_Object__c": recommended.qb_object,
                    "Salesforce_Object__c": recommended.salesforce_object,
                    "External_Id_Field__c": recommended.external_id_field,
                    "Delete_Behavior__c": recommended.delete_behavior,
                    "Company_Object_Key__c": f"{company}:{recommended.qb_object}",
                }
            )
            self._create_field_mappings(sf, mapping["id"], recommended.fields)
            for lines in recommended.lines:
                # A line mapping (contract-10): same company and object as its parent, its key
                # the parent's plus the collection path.
                line_mapping = sf.QB_Object_Mapping__c.create(
                    {
                        "Company__c": company,
                        "QB_Object__c": recommended.qb_object,
                        "Parent_Mapping__c": mapping["id"],
                        "Collection_Path__c": lines.collection_path,
                        "Parent_Field__c": lines.parent_field,
                        "Salesforce_Object__c": lines.salesforce_object,
                        "External_Id_Field__c": lines.external_id_field,
                        "Company_Object_Key__c": (
                            f"{company}:{recommended.qb_object}:{lines.collection_path}"
                        ),
                    }
                )
                self._create_field_mappings(sf, line_mapping["id"], lines.fields)
            created[recommended.qb_object] = mapping["id"]
        for qb_object in enable:
            self.set_realtime(created[qb_object], True, realm=realm)
        return created

    @staticmethod
    def _create_field_mappings(sf: Salesforce, mapping_id: str, fields: Iterable) -> None:
        for pair in fields:
            sf.QB_Field_Mapping__c.create(
                {
                    "Object_Mapping__c": mapping_id,
                    "QB_Field__c": pair.qb_field,
                    "Salesforce_Field__c": pair.salesforce_field,
                }
            )

    def set_realtime(self, mapping_id: str, enabled: bool, *, realm: str | None = None) -> None:
        """Switch real time as the admin, then tell the middleware as the package does."""
        self.salesforce(SF_ADMIN_USERNAME).QB_Object_Mapping__c.update(
            mapping_id, {"Realtime_Enabled__c": enabled}
        )
        body = {"realmId": realm or self.realm_id}
        self.api("POST", "/api/config-changed", json=body).raise_for_status()

    def qbo(self, method: str, path: str, **kwargs) -> dict:
        """Call the QuickBooks emulator's admin API."""
        response = requests.request(method, f"{self.qbo_url}/_admin{path}", timeout=10, **kwargs)
        if response.status_code >= 400:
            raise StackError(
                f"QuickBooks emulator {method} {path}: {response.status_code} {response.text}"
            )
        return response.json()

    def create_entity(self, entity: str, record: dict, *, realm: str | None = None) -> dict:
        return self.qbo("POST", f"/companies/{realm or self.realm_id}/{entity}", json=record)

    def update_entity(
        self, entity: str, entity_id: str, changes: dict, *, realm: str | None = None
    ) -> dict:
        path = f"/companies/{realm or self.realm_id}/{entity}/{entity_id}"
        return self.qbo("POST", path, json=changes)

    def delete_entity(self, entity: str, entity_id: str, *, realm: str | None = None) -> dict:
        return self.qbo("DELETE", f"/companies/{realm or self.realm_id}/{entity}/{entity_id}")

    def void_entity(self, entity: str, entity_id: str, *, realm: str | None = None) -> dict:
        return self.qbo("POST", f"/companies/{realm or self.realm_id}/{entity}/{entity_id}/void")

    def merge_entities(
        self, entity: str, source_id: str, target_id: str, *, realm: str | None = None
    ) -> dict:
        return self.qbo(
            "POST",
            f"/companies/{realm or self.realm_id}/{entity}/merge",
            json={"from": source_id, "into": target_id},
        )

    def wait_for_record(
        self,
        sf: Salesforce,
        sobject: str,
        entity: str,
        entity_id: str,
        *,
        fields: str = "Id, Name",
        where: str = "",
        timeout: float = 15,
        realm: str | None = None,
    ) -> dict:
        """The Salesforce record synced from QuickBooks `entity` `entity_id`."""
        key = external_id(realm or self.realm_id, entity, entity_id)
        soql = format_soql(
            "SELECT {:literal}, QB_External_Id__c FROM {:literal} WHERE QB_External_Id__c = {}",
            fields,
            sobject,
            key,
        )
        if where:
            soql += f" AND {where}"

        def found():
            records = sf.query(soql)["records"]
            return records[0] if records else None

        return wait_until(found, timeout=timeout, what=f"{sobject} with QB_External_Id__c {key}")

    # -- reliability tooling: more companies, faults, kills, verify --------------------------

    def add_company(self, realm_id: str, name: str) -> str:
        """Create a second (third, …) QuickBooks company and connect it through OAuth."""
        self.qbo("POST", "/companies", json={"realmId": realm_id, "companyName": name})
        previous = self.qbo("GET", "/oauth")["consentRealmId"]
        self.qbo("PATCH", "/oauth", json={"consentRealmId": realm_id})
        try:
            return self.connect()
        finally:
            self.qbo("PATCH", "/oauth", json={"consentRealmId": previous})

    def qbo_fault(self, family: str, kind: str, **rule: object) -> dict:
        """Inject a QuickBooks emulator fault (see sandbox/quickbooks/injection.FaultRule)."""
        return self.qbo("POST", "/faults", json={"family": family, "kind": kind, **rule})

    def sf_admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the Salesforce emulator's admin API (`/_admin…`)."""
        session = requests.Session()
        session.trust_env = False  # our own REQUESTS_CA_BUNDLE would win over `verify`
        with session:
            response = session.request(
                method,
                f"{self.sf_url}/_admin{path}",
                verify=str(self.ca_path),
                timeout=10,
                **kwargs,
            )
        if response.status_code >= 400:
            raise StackError(f"Salesforce emulator {method} {path}: {response.status_code}")
        return response

    def sf_commit_times(self, record_ids: list[str]) -> dict[str, float | None]:
        """When the Salesforce emulator committed each record's last write (epoch seconds)."""
        response = self.sf_admin("POST", "/commit-times", json={"ids": record_ids})
        return response.json()["commitTimes"]

    def emulator_figures(self) -> dict[str, dict]:
        """Each emulator's injected latency, API requests and own handling time (wall and CPU,
        latency excluded), so a benchmark can tell the product's time from the emulators'."""
        quickbooks = requests.get(f"{self.qbo_url}/_admin/network", timeout=10)
        quickbooks.raise_for_status()
        return {
            "quickbooks": quickbooks.json(),
            "salesforce": self.sf_admin("GET", "/network").json(),
        }

    def sf_fault(self, kind: str, **spec: object) -> dict:
        """Inject a Salesforce emulator fault (see sandbox/salesforce/faults.py)."""
        return self.sf_admin("POST", "/faults", json={"kind": kind, **spec}).json()

    def clear_faults(self) -> None:
        self.qbo("DELETE", "/faults")
        self.sf_admin("DELETE", "/faults")

    def kill(self, name: str) -> None:
        """SIGKILL a middleware process and its whole process group (gunicorn's workers too)."""
        process = self.processes[name]
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        process.log_file.close()  # type: ignore[attr-defined]

    def respawn(self, name: str) -> None:
        """Start a killed middleware process ("web" or "worker") again."""
        if name == "web":
            self._spawn(
                "web",
                ["serve", "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2"],
                self.middleware_env,
            )
            wait_until(
                lambda: (
                    self._alive("web") and requests.get(f"{self.web_url}/healthz", timeout=2).ok
                ),
                timeout=30,
                what="the middleware's web process after a restart",
            )
        else:
            self._spawn(name, ["worker"], self.middleware_env)

    def child_pids(self, name: str) -> list[int]:
        """Direct children of a process (gunicorn's worker processes for "web")."""
        pid = self.processes[name].pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(child) for child in text.split()]

    def verify(self, *, realm: str | None = None, qb_object: str | None = None):
        """Run `qbsync verify` as an operator would; returns the CompletedProcess."""
        args = ["verify", "--realm", realm or self.realm_id]
        if qb_object:
            args += ["--object", qb_object]
        return self.run_cli(*args)

    def run_cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `qbsync` command with the middleware's configuration; output captured."""
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "qbsync.cli", *args],
            cwd=self.workdir,
            env={**os.environ, **self.middleware_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
