"""The Salesforce CLI (`sf`, from npm, on the Node 22 it needs) against the Salesforce emulator.

Runs the commands docs/operating.md tells operators to run before starting the middleware:
`sf org login jwt` and `sf data query` (table and JSON output: the table asks
`query?columns=true`), plus what an operator uses to see the org is reachable and writable:
`sf data create|update|get|delete record`, `sf org display` and `sf limits api display`, and
`sf org assign permset`, run by the System Administrator for the integration user, whose grant then
really applies, and `sf project deploy start --source-dir force-app` (the Metadata API's deploy,
which the CLI sends over SOAP by default). The one docs' command that cannot run against the
emulator is `sf org login web`: it opens a browser (docs/development.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.conformance.salesforce.clients import SF_CLI_BIN, sf_cli_env
from tests.support.paths import FORCE_APP, REPO_ROOT

ALIAS = "qbsync-integration"
MAPPINGS = "SELECT Id, QB_Object__c, Realtime_Enabled__c FROM QB_Object_Mapping__c"


class SfCli:
    def __init__(self, emulator, tmp_path) -> None:
        home = tmp_path / "sf-home"
        home.mkdir()
        self.cwd = tmp_path
        self.env = sf_cli_env(emulator.ca_path, home)
        self.results: list[tuple[str, bool]] = []

    def run(self, *args: str, json_output: bool = True):
        completed = self.call(*args, json_output=json_output)
        assert completed.returncode == 0, (
            f"sf {' '.join(args)}:\n{completed.stdout}\n{completed.stderr}"
        )
        return json.loads(completed.stdout)["result"] if json_output else completed.stdout

    def refused(self, *args: str) -> dict:
        """The JSON body of a command expected to fail (exit status 1)."""
        completed = self.call(*args, json_output=True)
        self.results[-1] = (self.results[-1][0], completed.returncode == 1)
        assert completed.returncode == 1, (
            f"sf {' '.join(args)} should fail:\n{completed.stdout}\n{completed.stderr}"
        )
        return json.loads(completed.stdout)

    def login(self, emulator, username: str, alias: str) -> dict:
        return self.run(
            "org", "login", "jwt", "--client-id", emulator.client_id,
            "--jwt-key-file", str(emulator.key_file), "--username", username,
            "--instance-url", emulator.base_url, "--alias", alias,
        )  # fmt: skip

    def call(self, *args: str, json_output: bool) -> subprocess.CompletedProcess:
        argv = [str(SF_CLI_BIN / "sf"), *args] + (["--json"] if json_output else [])
        completed = subprocess.run(  # noqa: S603 - the CLI we installed, argv without a shell
            argv,
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.results.append((" ".join(args[:3]), completed.returncode == 0))
        return completed


@pytest.fixture
def sf_cli(salesforce_emulator, tmp_path):
    if not (SF_CLI_BIN / "sf").is_file():
        pytest.fail(
            "the Salesforce CLI is not installed: ./scripts/test installs it "
            "(npm ci --prefix tests/conformance/salesforce/sf-cli)"
        )
    return SfCli(salesforce_emulator, tmp_path)


def _seed_mappings(org) -> None:
    company = org.create("QB_Company__c", {"Name": "Acme", "Realm_Id__c": "9130350000000001"})
    for qb_object, enabled in (("Customer", False), ("Item", False)):
        org.create(
            "QB_Object_Mapping__c",
            {
                "Company__c": company,
                "QB_Object__c": qb_object,
                "Salesforce_Object__c": "Account" if qb_object == "Customer" else "Product2",
                "External_Id_Field__c": "QB_External_Id__c",
                "Company_Object_Key__c": f"{company}:{qb_object}",
                "Realtime_Enabled__c": enabled,
            },
        )


def test_the_commands_operating_md_names(salesforce_emulator, sf_cli, capsys):
    emulator = salesforce_emulator
    login = sf_cli.run(
        "org",
        "login",
        "jwt",
        "--client-id",
        emulator.client_id,
        "--jwt-key-file",
        str(emulator.key_file),
        "--username",
        emulator.username,
        "--instance-url",
        emulator.base_url,
        "--alias",
        ALIAS,
    )
    assert login["username"] == emulator.username
    assert login["orgId"] == emulator.org.org_id
    # read from the Organization record after the login (@salesforce/core determineOrg)
    assert (login["instanceName"], login["isSandbox"]) == ("EMU1", False)

    _seed_mappings(emulator.org)
    queried = sf_cli.run("data", "query", "--target-org", ALIAS, "--query", MAPPINGS)
    assert sorted((r["QB_Object__c"], r["Realtime_Enabled__c"]) for r in queried["records"]) == [
        ("Customer", False),
        ("Item", False),
    ]
    table = sf_cli.run(
        "data", "query", "--target-org", ALIAS, "--query", MAPPINGS, json_output=False
    )
    assert "QB_OBJECT__C" in table and "Customer" in table and "Item" in table
    assert "Total number of records retrieved: 2." in table

    joined = sf_cli.run(
        "data",
        "query",
        "--target-org",
        ALIAS,
        "--query",
        "SELECT QB_Object__c, Company__r.Name, (SELECT Id FROM Field_Mappings__r) "
        "FROM QB_Object_Mapping__c ORDER BY QB_Object__c",
        json_output=False,
    )
    assert "COMPANY__R.NAME" in joined and "Acme" in joined

    # a record round trip, as an operator checks the integration user can write
    created = sf_cli.run(
        "data", "create", "record", "--target-org", ALIAS, "--sobject", "Account",
        "--values", "Name='CLI Co' BillingCity=Oslo",
    )  # fmt: skip
    record_id = created["id"]
    sf_cli.run(
        "data", "update", "record", "--target-org", ALIAS, "--sobject", "Account",
        "--where", "Name='CLI Co'", "--values", "Phone=123",
    )  # fmt: skip
    got = sf_cli.run(
        "data", "get", "record", "--target-org", ALIAS, "--sobject", "Account",
        "--record-id", record_id,
    )  # fmt: skip
    assert (got["Name"], got["Phone"], got["BillingAddress"]["city"]) == ("CLI Co", "123", "Oslo")
    sf_cli.run(
        "data", "delete", "record", "--target-org", ALIAS, "--sobject", "Account",
        "--record-id", record_id,
    )  # fmt: skip
    assert emulator.org.locate(record_id) is None and emulator.org.is_deleted(record_id)

    display = sf_cli.run("org", "display", "--target-org", ALIAS)
    assert (display["connectedStatus"], display["username"]) == ("Connected", emulator.username)
    limits = {
        item["name"]: item for item in sf_cli.run("limits", "api", "display", "--target-org", ALIAS)
    }
    assert limits["DailyApiRequests"]["max"] == emulator.org.api_limit

    with capsys.disabled():
        passed = sum(ok for _, ok in sf_cli.results)
        print(f"\nsf CLI conformance: {passed} passed, {len(sf_cli.results) - passed} failed")


def test_org_assign_permset_grants_the_permission_set(salesforce_emulator, sf_cli, capsys):
    """docs/operating.md's `sf org assign permset --name QuickBooks_Sync_Integration
    --on-behalf-of <user>`, run by the System Administrator: the CLI reads the user's Id and the
    permission set's, inserts a PermissionSetAssignment, and the user's access follows it."""
    emulator = salesforce_emulator
    sf_cli.login(emulator, emulator.sysadmin, "qbsync-admin")
    sf_cli.login(emulator, emulator.username, ALIAS)
    _seed_mappings(emulator.org)
    integration_id = emulator.org.user(emulator.username).id

    # The administrator takes the set away (a PermissionSetAssignment can be deleted)...
    assignments = sf_cli.run(
        "data", "query", "--target-org", "qbsync-admin", "--query",
        "SELECT Id, PermissionSet.Name FROM PermissionSetAssignment "  # noqa: S608 - an Id
        f"WHERE AssigneeId = '{integration_id}'",
    )["records"]  # fmt: skip
    (assignment,) = assignments
    assert assignment["PermissionSet"]["Name"] == "QuickBooks_Sync_Integration"
    sf_cli.run(
        "data", "delete", "record", "--target-org", "qbsync-admin",
        "--sobject", "PermissionSetAssignment", "--record-id", assignment["Id"],
    )  # fmt: skip
    # ...and the integration user can no longer see the mappings it syncs by.
    refused = sf_cli.refused("data", "query", "--target-org", ALIAS, "--query", MAPPINGS)
    assert "sObject type 'QB_Object_Mapping__c' is not supported" in refused["message"]

    assigned = sf_cli.run(
        "org", "assign", "permset", "--name", "QuickBooks_Sync_Integration",
        "--on-behalf-of", emulator.username, "--target-org", "qbsync-admin",
    )  # fmt: skip
    assert assigned == {
        "successes": [{"name": emulator.username, "value": "QuickBooks_Sync_Integration"}],
        "failures": [],
    }
    queried = sf_cli.run("data", "query", "--target-org", ALIAS, "--query", MAPPINGS)
    assert queried["totalSize"] == 2
    assert emulator.org.user(emulator.username).access.names == [
        "Minimum Access - API Only Integrations",
        "QuickBooks_Sync_Integration",
    ]

    # Without --on-behalf-of the set goes to the user the command runs as (operating.md: "yourself").
    mine = sf_cli.run(
        "org", "assign", "permset", "--name", "QuickBooks_Sync_Admin", "--target-org", "qbsync-admin"
    )  # fmt: skip
    assert mine["successes"] == [{"name": emulator.sysadmin, "value": "QuickBooks_Sync_Admin"}]
    assert "QuickBooks_Sync_Admin" in emulator.org.user(emulator.sysadmin).access.names

    # A second assignment of the same set is refused; a set the org lacks is named.
    again = sf_cli.refused(
        "org", "assign", "permset", "--name", "QuickBooks_Sync_Integration",
        "--name", "No_Such_Set", "--on-behalf-of", emulator.username,
        "--target-org", "qbsync-admin",
    )["result"]  # fmt: skip
    assert again["successes"] == []
    duplicate, missing = again["failures"]
    assert duplicate["message"].startswith("Duplicate PermissionSetAssignment.")
    assert missing["message"] == (
        'Permission set "No_Such_Set" not found in target org. Do you need to push source?'
    )
    # The integration user itself may not assign permission sets. It reads PermissionSet (View
    # Setup, which QuickBooks_Sync_Integration grants for the alerts' recipients) and is refused at
    # the PermissionSetAssignment insert ("Assign Permission Sets" is not granted).
    own = sf_cli.refused(
        "org", "assign", "permset", "--name", "QuickBooks_Sync_Admin",
        "--on-behalf-of", emulator.username, "--target-org", ALIAS,
    )["result"]  # fmt: skip
    assert own["successes"] == []
    assert own["failures"][0]["message"] == "insufficient access rights on object id"

    with capsys.disabled():
        passed = sum(ok for _, ok in sf_cli.results)
        print(f"\nsf CLI conformance (assign permset): {passed} passed, "
              f"{len(sf_cli.results) - passed} failed")  # fmt: skip


NEW_FIELD = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>CLI_Deployed_Note__c</fullName>
    <label>CLI Deployed Note</label>
    <length>80</length>
    <type>Text</type>
</CustomField>
"""
NOTE_GRANT = """    <fieldPermissions>
        <editable>false</editable>
        <field>QB_Company__c.CLI_Deployed_Note__c</field>
        <readable>true</readable>
    </fieldPermissions>
"""
BROKEN_OBJECT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Broken Probe</label>
    <pluralLabel>Broken Probes</pluralLabel>
    <nameField><label>Name</label><type>Text</type></nameField>
    <deploymentStatus>Deployed</deploymentStatus>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""
BROKEN_FIELD = NEW_FIELD.replace("CLI_Deployed_Note__c", "Weight__c").replace(
    "<type>Text</type>", "<type>Weight</type>"
)


def _schema_of(org) -> dict:
    """Every field and validation rule of the org's schema, as plain values."""
    found = {}
    for obj in org.schema.objects:
        found[(obj.name, "(object)")] = {"label": obj.label, "prefix": obj.key_prefix}
        found |= {(obj.name, name): asdict(f) for name, f in obj.fields.items()}
        found |= {(obj.name, f"rule {r.name}"): asdict(r) for r in obj.validation_rules}
    return found


def _project(tmp_path):
    """A copy of the repository's Salesforce project (force-app, sfdx-project.json, .forceignore)
    with one new field on QB_Company__c that the integration permission set grants read on."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("sfdx-project.json", ".forceignore"):
        shutil.copy(REPO_ROOT / name, project / name)
    shutil.copytree(FORCE_APP, project / "force-app", ignore=shutil.ignore_patterns("__tests__"))
    default = project / "force-app" / "main" / "default"
    fields = default / "objects" / "QB_Company__c" / "fields"
    (fields / "CLI_Deployed_Note__c.field-meta.xml").write_text(NEW_FIELD)
    grants = default / "permissionsets" / "QuickBooks_Sync_Integration.permissionset-meta.xml"
    text = grants.read_text()
    grants.write_text(
        text.replace("    <fieldPermissions>", NOTE_GRANT + "    <fieldPermissions>", 1)
    )
    return project


def test_project_deploy_start_loads_the_package_into_the_org(salesforce_emulator, sf_cli, capsys):
    """docs/operating.md's `sf project deploy start --source-dir force-app`, run by the System
    Administrator: a field new in the source is then in the org, the integration permission set's
    new grant applies to the integration user, and a broken object fails the deploy."""
    emulator = salesforce_emulator
    sf_cli.cwd = _project(sf_cli.cwd)
    sf_cli.login(emulator, emulator.sysadmin, "qbsync-admin")
    sf_cli.login(emulator, emulator.username, ALIAS)
    assert emulator.org.schema.object("QB_Company__c").field("CLI_Deployed_Note__c") is None
    at_start = _schema_of(emulator.org)

    deployed = sf_cli.run(
        "project", "deploy", "start", "--source-dir", "force-app", "--target-org", "qbsync-admin"
    )  # fmt: skip
    assert (deployed["status"], deployed["success"], deployed["numberComponentErrors"]) == (
        "Succeeded", True, 0,
    )  # fmt: skip
    # The deploy (mdapi format) and the start-up (source format) read force-app alike: besides
    # the new field, the org's schema is what it was.
    after = _schema_of(emulator.org)
    assert after.pop(("QB_Company__c", "cli_deployed_note__c"))["type"] == "Text"
    assert after == at_start
    files = {(f["type"], f["fullName"]): f["state"] for f in deployed["files"]}
    assert files[("CustomField", "QB_Company__c.CLI_Deployed_Note__c")] == "Created"
    assert files[("PermissionSet", "QuickBooks_Sync_Integration")] == "Changed"
    assert files[("ApexClass", "QBCatalog")] == "Created"  # recorded, not run

    company = emulator.org.create(
        "QB_Company__c", {"Name": "Acme", "Realm_Id__c": "9130350000000001"}
    )
    sf_cli.run(
        "data", "update", "record", "--target-org", "qbsync-admin", "--sobject", "QB_Company__c",
        "--record-id", company, "--values", "CLI_Deployed_Note__c='deployed by sf'",
    )  # fmt: skip
    # The integration user reads the new field through the grant the deploy added.
    queried = sf_cli.run(
        "data", "query", "--target-org", ALIAS, "--query",
        "SELECT Name, CLI_Deployed_Note__c FROM QB_Company__c",
    )  # fmt: skip
    assert [(r["Name"], r["CLI_Deployed_Note__c"]) for r in queried["records"]] == [
        ("Acme", "deployed by sf")
    ]

    # A broken object: an unknown field type fails the deploy, and the CLI says why.
    broken = sf_cli.cwd / "broken" / "objects" / "Broken_Probe__c"
    (broken / "fields").mkdir(parents=True)
    (broken / "Broken_Probe__c.object-meta.xml").write_text(BROKEN_OBJECT)
    (broken / "fields" / "Weight__c.field-meta.xml").write_text(BROKEN_FIELD)
    project = json.loads((sf_cli.cwd / "sfdx-project.json").read_text())
    project["packageDirectories"].append({"path": "broken"})
    (sf_cli.cwd / "sfdx-project.json").write_text(json.dumps(project))
    # This one goes over REST (deployRequest), as the CLI sends it with org-metadata-rest-deploy
    # true (@salesforce/plugin-deploy-retrieve lib/utils/deploy.js); its debug log says which.
    sf_cli.env |= {"SF_ORG_METADATA_REST_DEPLOY": "true", "SF_LOG_LEVEL": "debug"}
    refused = sf_cli.refused(
        "project", "deploy", "start", "--source-dir", "broken", "--target-org", "qbsync-admin"
    )  # fmt: skip
    logs = "".join(p.read_text() for p in Path(sf_cli.env["HOME"]).glob(".sf/sf-*.log"))
    assert "using REST v66.0" in logs and "using SOAP" not in logs
    failures = {f["fullName"]: f for f in refused["result"]["files"] if f["state"] == "Failed"}
    assert failures["Broken_Probe__c.Weight__c"]["error"] == (
        "Error parsing file: 'Weight' is not a valid value for the enum 'FieldType'"
    )
    assert refused["result"]["status"] == "Failed"
    assert emulator.org.schema.object("Broken_Probe__c") is None  # nothing of it was deployed

    with capsys.disabled():
        passed = sum(ok for _, ok in sf_cli.results)
        print(f"\nsf CLI conformance (project deploy start): {passed} passed, "
              f"{len(sf_cli.results) - passed} failed")  # fmt: skip
