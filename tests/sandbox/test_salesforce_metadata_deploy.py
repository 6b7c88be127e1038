"""The Salesforce emulator's Metadata API deploy (issue 14): REST `deployRequest` and SOAP
`deploy` / `checkDeployStatus`, loading an mdapi zip into the running org all-or-nothing.

Shapes from the Metadata API Developer Guide ("Deploy Metadata with Apex Testing Using REST",
"Check the Status of Your Deployment Using REST Resources", "DeployResult", "DeployMessage").
"""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-deploy-test"
SECRET = "deploy-secret"
SYSADMIN = "sysadmin@qbsync.example"
INTEGRATION = "integration@qbsync.example"
V = "66.0"
DEPLOY = f"/services/data/v{V}/metadata/deployRequest"
MD = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def _xml(root: str, body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} {MD}>{body}</{root}>'


def package_xml(**types: list[str]) -> str:
    body = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name>"
        "</types>"
        for name, members in types.items()
    )
    return _xml("Package", body + f"<version>{V}</version>")


def field(name: str, field_type: str = "Text", extra: str = "<length>80</length>") -> str:
    return f"<fields><fullName>{name}</fullName><label>{name[:-3]}</label><type>{field_type}</type>{extra}</fields>"


def custom_object(label: str | None, *fields: str) -> str:
    labels = f"<label>{label}</label><pluralLabel>{label}s</pluralLabel>" if label else ""
    name_field = "<nameField><label>Name</label><type>Text</type></nameField>"
    return _xml("CustomObject", labels + name_field + "".join(fields))


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


GOOD_FIELD = field("Deploy_Note__c")
NEW_OBJECT = custom_object("Deploy Probe", field("Probe_Code__c"))
READ_PROBE = _xml(
    "PermissionSet",
    "<label>Probe Readers</label>"
    "<objectPermissions><allowRead>true</allowRead><object>Deploy_Probe__c</object>"
    "</objectPermissions>"
    "<fieldPermissions><field>Deploy_Probe__c.Probe_Code__c</field><readable>true</readable>"
    "<editable>false</editable></fieldPermissions>",
)


class Emulator:
    def __init__(self) -> None:
        self.org = Org(load_schema(FORCE_APP), username=INTEGRATION)
        self.app = create_salesforce_app(
            self.org, client_id=CLIENT_ID, client_secret=SECRET, username=SYSADMIN
        )
        self.client = self.app.test_client()
        self.token = self._token()

    def _token(self) -> str:
        response = self.client.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["access_token"]

    def headers(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    def post_deploy(self, zip_bytes: bytes, options: dict | None = None, part: str = "json"):
        data = {
            part: (
                io.BytesIO(json.dumps({"deployOptions": options or {}}).encode()),
                "",
                "application/json",
            ),
            "file": (io.BytesIO(zip_bytes), "deploy.zip", "application/zip"),
        }
        return self.client.post(
            DEPLOY, data=data, headers=self.headers(), content_type="multipart/form-data"
        )

    def deploy(self, files: dict, options: dict | None = None) -> dict:
        """Create a deploy, wait for its outcome, and return its DeployResult with details."""
        created = self.post_deploy(zip_of(files), options)
        assert created.status_code == 201, created.get_data(as_text=True)
        deploy_id = created.get_json()["id"]
        self.app.extensions["salesforce"].deployments.wait(deploy_id)
        polled = self.client.get(
            f"{DEPLOY}/{deploy_id}?includeDetails=true", headers=self.headers()
        )
        assert polled.status_code == 200
        return polled.get_json()["deployResult"]

    def query(self, soql: str, token: str | None = None):
        return self.client.get(
            f"/services/data/v{V}/query", query_string={"q": soql}, headers=self.headers(token)
        )


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


def _problems(result: dict) -> dict[str, str]:
    return {f["fullName"]: f["problem"] for f in result["details"]["componentFailures"]}


def test_rest_deploy_creates_then_succeeds_and_loads_objects_fields_and_grants(emulator):
    files = {
        "package.xml": package_xml(
            CustomObject=["Deploy_Probe__c"],
            CustomField=["QB_Company__c.Deploy_Note__c", "Deploy_Probe__c.Probe_Code__c"],
            PermissionSet=["Probe_Readers"],
            ApexClass=["ProbeController"],
        ),
        "objects/QB_Company__c.object": _xml("CustomObject", GOOD_FIELD),
        "objects/Deploy_Probe__c.object": NEW_OBJECT,
        "permissionsets/Probe_Readers.permissionset": READ_PROBE,
        "classes/ProbeController.cls": "public with sharing class ProbeController {}",
        "classes/ProbeController.cls-meta.xml": _xml(
            "ApexClass", "<apiVersion>66.0</apiVersion><status>Active</status>"
        ),
    }
    # A new custom object takes the key prefix after the org's custom objects (a00, a01, …).
    custom_objects = sum(o.custom for o in emulator.org.schema.objects)
    created = emulator.post_deploy(zip_of(files), {"rollbackOnError": True, "singlePackage": True})
    assert created.status_code == 201
    body = created.get_json()
    assert body["deployResult"]["status"] == "Pending" and body["deployResult"]["done"] is False
    assert body["id"].startswith("0Af") and len(body["id"]) == 18
    assert body["url"].endswith(f"{DEPLOY}/{body['id']}")
    assert body["deployOptions"] == {"rollbackOnError": True, "singlePackage": True}

    emulator.app.extensions["salesforce"].deployments.wait(body["id"])
    brief = emulator.client.get(f"{DEPLOY}/{body['id']}", headers=emulator.headers()).get_json()
    assert brief["deployResult"]["details"] is None  # details only with includeDetails=true
    result = emulator.client.get(
        f"{DEPLOY}/{body['id']}?includeDetails=true", headers=emulator.headers()
    ).get_json()["deployResult"]
    assert (result["status"], result["done"], result["success"]) == ("Succeeded", True, True)
    assert result["numberComponentsDeployed"] == result["numberComponentsTotal"] == 5
    assert result["numberComponentErrors"] == 0
    successes = {
        (s["componentType"], s["fullName"]): s for s in result["details"]["componentSuccesses"]
    }
    assert set(successes) == {
        ("CustomObject", "Deploy_Probe__c"),
        ("CustomField", "Deploy_Probe__c.Probe_Code__c"),
        ("CustomField", "QB_Company__c.Deploy_Note__c"),
        ("PermissionSet", "Probe_Readers"),
        ("ApexClass", "ProbeController"),
    }
    probe = successes[("CustomObject", "Deploy_Probe__c")]
    assert (probe["created"], probe["changed"], probe["fileName"]) == (
        True,
        False,
        "objects/Deploy_Probe__c.object",
    )

    # The new field is in the org: the administrator writes and reads it.
    emulator.org.create(
        "QB_Company__c", {"Name": "Acme", "Realm_Id__c": "9130350000000001", "Deploy_Note__c": "hi"}
    )
    queried = emulator.query("SELECT Deploy_Note__c FROM QB_Company__c WHERE Name = 'Acme'")
    assert queried.get_json()["records"][0]["Deploy_Note__c"] == "hi"
    # The new object exists, with the key prefix after the package's custom objects.
    described = emulator.client.get(
        f"/services/data/v{V}/sobjects/Deploy_Probe__c/describe", headers=emulator.headers()
    ).get_json()
    assert described["label"] == "Deploy Probe"
    assert described["keyPrefix"] == f"a{custom_objects:02X}"
    # The deployed permission set's grants apply once it is assigned.
    emulator.org.create("Deploy_Probe__c", {"Name": "P-1", "Probe_Code__c": "X"})
    integration = emulator.org.user(INTEGRATION)
    assert not integration.access.object(emulator.org.object("Deploy_Probe__c")).read
    _, (permission_set,) = emulator.org.query(
        "SELECT Id FROM PermissionSet WHERE Name = 'Probe_Readers'"
    )
    emulator.org.create(
        "PermissionSetAssignment",
        {"AssigneeId": integration.id, "PermissionSetId": permission_set["Id"]},
    )
    assert emulator.org.user(INTEGRATION).access.object(emulator.org.object("Deploy_Probe__c")).read

    # Deploying the same files again changes nothing: neither created nor changed.
    again = emulator.deploy(files)
    assert again["status"] == "Succeeded"
    assert not any(s["created"] or s["changed"] for s in again["details"]["componentSuccesses"])


def test_failed_deploy_reports_each_failure_and_changes_nothing(emulator):
    schema_before = {o.name: sorted(o.fields) for o in emulator.org.schema.objects}
    sets_before = dict(emulator.org.schema.permission_sets)
    files = {
        "package.xml": package_xml(
            CustomObject=["Deploy_Probe__c", "Broken_Probe__c"],
            CustomField=[
                "QB_Company__c.Deploy_Note__c",
                "QB_Company__c.Bad_Type__c",
                "No_Such_Object__c.Orphan__c",
                "QB_Sync_Log__c.A_Field_Name_Much_Longer_Than_Forty_Characters__c",
            ],
            CustomTab=["Broken_Tab"],
            PermissionSet=["Grants_Missing"],
            ApexClass=["Missing_Class"],
        ),
        "objects/QB_Company__c.object": _xml(
            "CustomObject", GOOD_FIELD + field("Bad_Type__c", "Bogus", "")
        ),
        "objects/Deploy_Probe__c.object": NEW_OBJECT,
        "objects/Broken_Probe__c.object": custom_object(None, field("Code__c")),
        "objects/No_Such_Object__c.object": _xml("CustomObject", field("Orphan__c")),
        "objects/QB_Sync_Log__c.object": _xml(
            "CustomObject", field("A_Field_Name_Much_Longer_Than_Forty_Characters__c")
        ),
        "tabs/Broken_Tab.tab": "<CustomTab><unclosed></CustomTab>",
        "permissionsets/Grants_Missing.permissionset": _xml(
            "PermissionSet",
            "<label>Grants Missing</label><fieldPermissions><field>QB_Company__c.Nope__c</field>"
            "<readable>true</readable><editable>false</editable></fieldPermissions>",
        ),
    }
    result = emulator.deploy(files)
    assert (result["status"], result["done"], result["success"]) == ("Failed", True, False)
    assert result["rollbackOnError"] is True and result["numberComponentsDeployed"] == 0
    problems = _problems(result)
    assert problems["QB_Company__c.Bad_Type__c"] == (
        "Error parsing file: 'Bogus' is not a valid value for the enum 'FieldType'"
    )
    assert problems["Broken_Probe__c"] == "Must specify a non-empty label for the CustomObject"
    assert problems["No_Such_Object__c.Orphan__c"] == (
        "In field: fullName - no CustomObject named No_Such_Object__c found"
    )
    assert (
        "longer than 40 characters"
        in problems["QB_Sync_Log__c.A_Field_Name_Much_Longer_Than_Forty_Characters__c"]
    )
    assert problems["Broken_Tab"] == (
        "Error parsing file: not well-formed XML (mismatched tag: line 1, column 23)"
    )
    tab = next(f for f in result["details"]["componentFailures"] if f["fullName"] == "Broken_Tab")
    assert (tab["componentType"], tab["problemType"], tab["lineNumber"]) == (
        "CustomTab",
        "Error",
        1,
    )
    assert problems["Grants_Missing"] == (
        "In field: field - no CustomField named QB_Company__c.Nope__c found"
    )
    assert problems["Missing_Class"] == (
        "An object 'Missing_Class' of type ApexClass was named in package.xml, "
        "but was not found in zipped directory"
    )
    # The good components were checked (and would have deployed) but nothing was: all or nothing.
    assert ("Deploy_Probe__c") in {s["fullName"] for s in result["details"]["componentSuccesses"]}
    assert {o.name: sorted(o.fields) for o in emulator.org.schema.objects} == schema_before
    assert emulator.org.schema.permission_sets == sets_before
    assert emulator.org.schema.object("Deploy_Probe__c") is None
    refused = emulator.query("SELECT Deploy_Note__c FROM QB_Company__c")
    assert refused.status_code == 400 and refused.get_json()[0]["errorCode"] == "INVALID_FIELD"


def test_rollback_on_error_false_deploys_what_passed(emulator):
    files = {
        "package.xml": package_xml(
            CustomObject=["Deploy_Probe__c"],
            CustomField=["Deploy_Probe__c.Probe_Code__c", "QB_Company__c.Bad_Type__c"],
        ),
        "objects/Deploy_Probe__c.object": NEW_OBJECT,
        "objects/QB_Company__c.object": _xml("CustomObject", field("Bad_Type__c", "Bogus", "")),
    }
    result = emulator.deploy(files, {"rollbackOnError": False})
    assert (result["status"], result["success"]) == ("SucceededPartial", True)
    assert (result["numberComponentsDeployed"], result["numberComponentErrors"]) == (2, 1)
    assert emulator.org.schema.object("Deploy_Probe__c").field("Probe_Code__c") is not None
    assert emulator.org.schema.object("QB_Company__c").field("Bad_Type__c") is None


def test_check_only_validates_without_deploying(emulator):
    files = {
        "package.xml": package_xml(CustomField=["QB_Company__c.Deploy_Note__c"]),
        "objects/QB_Company__c.object": _xml("CustomObject", GOOD_FIELD),
    }
    result = emulator.deploy(files, {"checkOnly": True, "testLevel": "RunLocalTests"})
    assert (result["status"], result["checkOnly"], result["numberComponentsDeployed"]) == (
        "Succeeded",
        True,
        0,
    )
    # Tests are enabled by the test level, but the emulator runs no Apex.
    assert (result["runTestsEnabled"], result["numberTestsTotal"]) == (True, 0)
    assert emulator.org.schema.object("QB_Company__c").field("Deploy_Note__c") is None


def test_a_changed_field_replaces_the_old_definition(emulator):
    files = {
        "package.xml": package_xml(CustomField=["QB_Company__c.Realm_Id__c"]),
        "objects/QB_Company__c.object": _xml(
            "CustomObject",
            field("Realm_Id__c", "Text", "<length>5</length><externalId>true</externalId>"),
        ),
    }
    result = emulator.deploy(files)
    assert result["status"] == "Succeeded"
    (success,) = result["details"]["componentSuccesses"]
    assert (success["created"], success["changed"]) == (False, True)
    assert emulator.org.schema.object("QB_Company__c").field("Realm_Id__c").length == 5


def test_types_kept_in_folders_and_types_not_in_the_table_are_recorded(emulator):
    report = _xml("Report", "<name>Failures</name><format>Tabular</format>")
    files = {
        "package.xml": package_xml(
            Report=["QB_Reports/", "QB_Reports/Failures"], WaveLens=["Probe_Lens"]
        ),
        "reports/QB_Reports-meta.xml": _xml("ReportFolder", "<name>QB Reports</name>"),
        "reports/QB_Reports/Failures.report": report,
        "waveLenses/Probe_Lens.wlens": "{}",
        "waveLenses/Probe_Lens.wlens-meta.xml": _xml("WaveLens", "<label>Probe</label>"),
    }
    result = emulator.deploy(files)
    assert result["status"] == "Succeeded"
    assert sorted(
        (s["componentType"], s["fullName"], s["fileName"])
        for s in result["details"]["componentSuccesses"]
    ) == [
        ("Report", "QB_Reports/", "reports/QB_Reports"),
        ("Report", "QB_Reports/Failures", "reports/QB_Reports/Failures.report"),
        ("WaveLens", "Probe_Lens", "waveLenses/Probe_Lens.wlens"),
    ]


def test_no_package_xml_fails_the_deploy(emulator):
    result = emulator.deploy({"objects/QB_Company__c.object": _xml("CustomObject", GOOD_FIELD)})
    assert result["status"] == "Failed"
    assert _problems(result) == {"package.xml": "No package.xml found"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("not-multipart", "multipart/form-data"),
        ("no-file", "no zip file"),
        ("bad-json", "not JSON"),
        ("not-a-zip", "not a valid zip file"),
        ("too-many-files", "at most 10000 files"),
    ],
)
def test_an_unusable_deploy_request_is_400_with_a_clear_body(emulator, kind, expected):
    if kind == "not-multipart":
        response = emulator.client.post(
            DEPLOY, json={"deployOptions": {}}, headers=emulator.headers()
        )
    elif kind == "no-file":
        response = emulator.client.post(
            DEPLOY,
            data={"json": json.dumps({"deployOptions": {}})},
            headers=emulator.headers(),
            content_type="multipart/form-data",
        )
    elif kind == "bad-json":
        response = emulator.client.post(
            DEPLOY,
            data={
                "json": "{not json",
                "file": (io.BytesIO(zip_of({"package.xml": package_xml()})), "d.zip"),
            },
            headers=emulator.headers(),
            content_type="multipart/form-data",
        )
    elif kind == "too-many-files":
        response = emulator.post_deploy(zip_of({f"classes/C{i}.cls": "" for i in range(10_001)}))
    else:
        response = emulator.post_deploy(b"PK-but-not-really")
    assert response.status_code == 400
    (error,) = response.get_json()
    assert error["errorCode"] == "INVALID_MULTIPART_REQUEST" and expected in error["message"]


def test_jsforce_part_name_is_read_and_unknown_ids_are_404(emulator):
    files = {"package.xml": package_xml(), "classes/A.cls": "class A {}"}
    created = emulator.post_deploy(zip_of(files), {"checkOnly": True}, part="entity_content")
    assert created.status_code == 201 and created.get_json()["deployOptions"] == {"checkOnly": True}
    missing = emulator.client.get(f"{DEPLOY}/0AfHs000000ZZZZZZZ", headers=emulator.headers())
    assert missing.status_code == 404 and missing.get_json()[0]["errorCode"] == "NOT_FOUND"


def test_a_user_without_modify_all_data_may_not_deploy(emulator):
    integration_app = create_salesforce_app(
        emulator.org, client_id=CLIENT_ID, client_secret=SECRET, username=INTEGRATION
    )
    client = integration_app.test_client()
    token = client.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
    ).get_json()["access_token"]
    response = client.post(
        DEPLOY,
        data={"file": (io.BytesIO(zip_of({"package.xml": package_xml()})), "d.zip")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert (
        response.status_code == 403 and response.get_json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    )


def _soap(emulator, operation: str, session: str | None = None) -> tuple[int, str]:
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader>'
        f"<sessionId>{session or emulator.token}</sessionId></SessionHeader></soapenv:Header>"
        f'<soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata">{operation}</soapenv:Body>'
        "</soapenv:Envelope>"
    )
    response = emulator.client.post(
        f"/services/Soap/m/{V}",
        data=envelope,
        content_type="text/xml",
        headers={"SOAPAction": '""'},
    )
    return response.status_code, response.get_data(as_text=True)


def test_soap_deploy_and_check_deploy_status(emulator):
    files = {
        "package.xml": package_xml(CustomField=["QB_Company__c.Deploy_Note__c"]),
        "objects/QB_Company__c.object": _xml("CustomObject", GOOD_FIELD),
    }
    zipped = base64.b64encode(zip_of(files)).decode()
    status, body = _soap(
        emulator,
        f"<deploy><ZipFile>{zipped}</ZipFile><DeployOptions><rollbackOnError>true</rollbackOnError>"
        "<singlePackage>true</singlePackage></DeployOptions></deploy>",
    )
    assert status == 200 and "<deployResponse><result><done>false</done><id>0Af" in body
    deploy_id = body.split("<id>")[1].split("</id>")[0]
    emulator.app.extensions["salesforce"].deployments.wait(deploy_id)
    status, body = _soap(
        emulator,
        f"<checkDeployStatus><asyncProcessId>{deploy_id}</asyncProcessId>"
        "<includeDetails>true</includeDetails></checkDeployStatus>",
    )
    assert status == 200 and "<checkDeployStatusResponse><result>" in body
    assert "<status>Succeeded</status>" in body and "<success>true</success>" in body
    assert (
        "<componentSuccesses><changed>false</changed><componentType>CustomField</componentType>"
        "<created>true</created>" in body
    )
    assert emulator.org.schema.object("QB_Company__c").field("Deploy_Note__c") is not None

    status, fault = _soap(emulator, "<checkDeployStatus/>", session="00Dbogus!nope")
    assert status == 500 and "sf:INVALID_SESSION_ID</faultcode>" in fault


def test_reports_and_dashboards_deploy_with_their_folders(emulator):
    # Folder types, as source-deploy-retrieve writes them: the folder is "<Folder>/".
    files = {
        "package.xml": package_xml(
            Report=["Ops/", "Ops/Volume"], Dashboard=["Boards/", "Boards/Health"]
        ),
        "reports/Ops-meta.xml": _xml("ReportFolder", "<name>Ops</name>"),
        "reports/Ops/Volume.report": _xml("Report", "<format>Tabular</format><name>V</name>"),
        "dashboards/Boards-meta.xml": _xml("DashboardFolder", "<name>Boards</name>"),
        "dashboards/Boards/Health.dashboard": _xml("Dashboard", "<title>H</title>"),
    }
    result = emulator.deploy(files)
    assert (result["status"], result["numberComponentsDeployed"]) == ("Succeeded", 4), result
