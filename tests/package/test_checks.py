"""The Node checks of the package (scripts/package-checks) fail on the mistakes they exist for.

`npm run check` runs them on force-app; here each runs on a small broken tree, because a check
that exits 0 on bad input (the Apex parser does, by itself) would pass every build.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

from tests.support.paths import REPO_ROOT as ROOT

from .conftest import DEFAULT, FORCE_APP

CHECKS = ROOT / "scripts" / "package-checks"


def run_check(script: str, target: pathlib.Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is required for the package checks (scripts/test installs it)"
    return subprocess.run(
        [node, str(CHECKS / script), str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def write_class(folder: pathlib.Path, name: str, body: str) -> None:
    classes = folder / "main" / "default" / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    (classes / f"{name}.cls").write_text(body)
    shutil.copy(
        DEFAULT / "classes" / "QBSetupController.cls-meta.xml", classes / f"{name}.cls-meta.xml"
    )


def test_apex_syntax_check_fails_on_a_syntax_error(tmp_path: pathlib.Path) -> None:
    write_class(tmp_path, "Good", "public with sharing class Good { }\n")
    write_class(tmp_path, "Broken", "public class Broken {\n    void x() { Integer i = 1 }\n}\n")
    result = run_check("apex-syntax.mjs", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Broken.cls:2:" in result.stderr
    assert "1 syntax error(s) in 2 file(s)" in result.stderr


def test_apex_syntax_check_passes_valid_code(tmp_path: pathlib.Path) -> None:
    write_class(tmp_path, "Good", "public with sharing class Good {\n    Integer x = 1;\n}\n")
    result = run_check("apex-syntax.mjs", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 file(s) parsed without errors" in result.stdout


def test_code_analyzer_fails_on_crud_and_soql_injection(tmp_path: pathlib.Path) -> None:
    write_class(
        tmp_path,
        "Unsafe",
        "public with sharing class Unsafe {\n"
        "    public static List<Account> find(String name) {\n"
        "        return Database.query('SELECT Id FROM Account WHERE Name = \\'' + name + '\\'');\n"
        "    }\n"
        "    public static void create(String name) {\n"
        "        insert new Account(Name = name);\n"
        "    }\n"
        "}\n",
    )
    result = run_check("code-analyzer.mjs", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[ApexSOQLInjection" in result.stderr
    assert "[ApexCRUDViolation" in result.stderr


def test_code_analyzer_accepts_user_mode(tmp_path: pathlib.Path) -> None:
    write_class(
        tmp_path,
        "Safe",
        "public with sharing class Safe {\n"
        "    public static List<Account> all() {\n"
        "        return [SELECT Id FROM Account WITH USER_MODE];\n"
        "    }\n"
        "    public static void create(List<Account> rows) {\n"
        "        Database.insert(rows, false, AccessLevel.USER_MODE);\n"
        "    }\n"
        "}\n",
    )
    result = run_check("code-analyzer.mjs", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def apex_project(folder: pathlib.Path) -> pathlib.Path:
    """A project folder apex-ls reads: sfdx-project.json with force-app as its package."""
    shutil.copy(ROOT / "sfdx-project.json", folder / "sfdx-project.json")
    return folder / "force-app"


def test_apex_semantic_check_fails_on_unresolved_types_fields_and_methods(
    tmp_path: pathlib.Path,
) -> None:
    write_class(
        apex_project(tmp_path),
        "Unresolved",
        "public with sharing class Unresolved {\n"
        "    public static void run() {\n"
        "        Acount a = new Account(Nmae = 'x');\n"
        "        String s = UserInfo.getFoo();\n"
        "    }\n"
        "}\n",
    )
    result = run_check("apex-semantic.mjs", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No type declaration found for 'Acount'" in result.stderr
    assert "Unknown field 'Nmae' on SObject 'Schema.Account'" in result.stderr
    assert "No matching method found for 'getFoo' on 'System.UserInfo'" in result.stderr
    assert "3 issue(s) at warning level" in result.stderr


def test_apex_semantic_check_resolves_the_package_objects(tmp_path: pathlib.Path) -> None:
    # The package's own objects and fields resolve only when their metadata is in the project.
    force_app = apex_project(tmp_path)
    shutil.copytree(DEFAULT / "objects", force_app / "main" / "default" / "objects")
    write_class(
        force_app,
        "UsesPackage",
        "public with sharing class UsesPackage {\n"
        "    public static String status(QB_Company__c company) {\n"
        "        return company.Status__c;\n"
        "    }\n"
        "}\n",
    )
    result = run_check("apex-semantic.mjs", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "apex-ls on 1 Apex file(s)" in result.stdout
    assert "0 issue(s) at warning level" in result.stdout


def write_field(folder: pathlib.Path, object_name: str, field_name: str) -> pathlib.Path:
    fields = folder / "main" / "default" / "objects" / object_name / "fields"
    fields.mkdir(parents=True, exist_ok=True)
    path = fields / f"{field_name}.field-meta.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <fullName>{field_name}</fullName>\n"
        "    <label>Value</label>\n"
        "    <length>255</length>\n"
        "    <type>Text</type>\n"
        "</CustomField>\n"
    )
    return path


def test_code_analyzer_fails_on_a_security_finding_of_low_severity(tmp_path: pathlib.Path) -> None:
    # ProtectSensitiveData is severity 3: it fails because it is tagged Security (AppExchange review).
    write_field(tmp_path, "Vault__c", "Api_Secret__c")
    result = run_check("code-analyzer.mjs", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Api_Secret__c.field-meta.xml:1 [ProtectSensitiveData, severity 3" in result.stderr
    assert "1 failing" in result.stderr


def test_code_analyzer_suppressions_cover_only_the_named_files(tmp_path: pathlib.Path) -> None:
    # code-analyzer.yml suppresses the finding on QB_Company__c.Refresh_Token_Expires_At__c (a
    # date); the same rule on another file of the same object still fails.
    write_field(tmp_path, "QB_Company__c", "Refresh_Token_Expires_At__c")
    write_field(tmp_path, "QB_Company__c", "Refresh_Token__c")
    result = run_check("code-analyzer.mjs", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Refresh_Token__c.field-meta.xml:1 [ProtectSensitiveData" in result.stderr
    assert "Refresh_Token_Expires_At__c" not in result.stderr


def copy_of_force_app(tmp_path: pathlib.Path) -> pathlib.Path:
    copy = tmp_path / "force-app"
    shutil.copytree(FORCE_APP, copy, ignore=shutil.ignore_patterns("node_modules", "__tests__"))
    return copy


def set_element(path: pathlib.Path, element: str, value: str) -> None:
    text = path.read_text()
    start = text.index(f"<{element}")
    end = text.index(f"</{element}>", start)
    path.write_text(text[:start] + f"<{element}>{value}" + text[end:])


def test_limits_check_passes_force_app(tmp_path: pathlib.Path) -> None:
    result = run_check("documented-limits.mjs", FORCE_APP)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "limits checked, none exceeded" in result.stdout


def test_limits_check_fails_on_a_256_character_permission_set_description(
    tmp_path: pathlib.Path,
) -> None:
    copy = copy_of_force_app(tmp_path)
    permission_set = (
        copy / "main/default/permissionsets/QuickBooks_Sync_Admin.permissionset-meta.xml"
    )
    set_element(permission_set, "description", "d" * 255)
    assert run_check("documented-limits.mjs", copy).returncode == 0
    set_element(permission_set, "description", "d" * 256)
    result = run_check("documented-limits.mjs", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "QuickBooks_Sync_Admin.permissionset-meta.xml: PermissionSet description is 256 "
        "characters; the limit is 255 (https://developer.salesforce.com/" in result.stderr
    )
    assert "documented-limits: 1 of " in result.stderr


def test_limits_check_names_each_kind_of_limit(tmp_path: pathlib.Path) -> None:
    copy = copy_of_force_app(tmp_path)
    objects = copy / "main/default/objects"
    set_element(objects / "QB_Company__c/QB_Company__c.object-meta.xml", "pluralLabel", "p" * 41)
    set_element(
        objects / "QB_Company__c/fields/Last_Error__c.field-meta.xml", "inlineHelpText", "h" * 511
    )
    rule = next((objects / "QB_Object_Mapping__c/validationRules").iterdir())
    set_element(rule, "errorMessage", "e" * 256)
    set_element(objects / "QB_Sync_Log__c/fields/Event_Key__c.field-meta.xml", "length", "256")
    # Formula fields (QB_Transaction__c.Type__c) have no length; a stored Text field must.
    operation = objects / "QB_Sync_Log__c/fields/Operation__c.field-meta.xml"
    operation.write_text(operation.read_text().replace("<length>20</length>", ""))
    status = objects / "QB_Sync_Log__c/fields/Status__c.field-meta.xml"
    status.write_text(
        status.read_text().replace(
            "<fullName>Failed</fullName>", f"<fullName>{'v' * 256}</fullName>"
        )
    )
    bad_name = objects / "QB_Company__c/fields/Bad__Name__c.field-meta.xml"
    shutil.copy(objects / "QB_Company__c/fields/Last_Error__c.field-meta.xml", bad_name)
    result = run_check("documented-limits.mjs", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    for expected in (
        "CustomObject pluralLabel is 41 characters; the limit is 40",
        "CustomField inlineHelpText is 511 characters; the limit is 510",
        "ValidationRule errorMessage is 256 characters; the limit is 255",
        "Text field Event_Key__c has length 256; it must be 1 to 255",
        "Text field Operation__c has length undefined; it must be 1 to 255",
        f"picklist value fullName '{'v' * 256}' of Status__c is 256 characters; the limit is 255",
        "CustomField name 'Bad__Name__c' must not contain two consecutive underscores",
    ):
        assert expected in result.stderr


def test_convert_check_fails_on_malformed_metadata(tmp_path: pathlib.Path) -> None:
    copy = tmp_path / "force-app"
    shutil.copytree(FORCE_APP, copy, ignore=shutil.ignore_patterns("lwc", "test"))
    broken = copy / "main/default/objects/QB_Company__c/fields/Broken__c.field-meta.xml"
    broken.write_text("<CustomField")
    result = run_check("convert-source.mjs", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Broken__c.field-meta.xml" in result.stderr


def test_convert_check_fails_on_an_unknown_metadata_type(tmp_path: pathlib.Path) -> None:
    copy = tmp_path / "force-app"
    shutil.copytree(FORCE_APP, copy, ignore=shutil.ignore_patterns("lwc", "test"))
    stray = copy / "main/default/widgets/Foo.widget-meta.xml"
    stray.parent.mkdir()
    stray.write_text("<Widget/>")
    result = run_check("convert-source.mjs", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TypeInferenceError" in result.stderr


def lwc_tree(tmp_path: pathlib.Path) -> pathlib.Path:
    """A project with the package's LWC bundles only (no Jest tests): what ESLint and RetireJS read."""
    tree = tmp_path / "force-app"
    shutil.copytree(
        DEFAULT / "lwc",
        tree / "main" / "default" / "lwc",
        ignore=shutil.ignore_patterns("__tests__"),
    )
    return tree


def test_code_analyzer_fails_on_findings_of_the_eslint_and_retirejs_engines(
    tmp_path: pathlib.Path,
) -> None:
    tree = lwc_tree(tmp_path)
    clean = run_check("code-analyzer.mjs", tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "eslint " in clean.stdout and "retire-js " in clean.stdout

    # An LWC that writes innerHTML (XSS under Lightning Web Security), and a jQuery whose version
    # RetireJS's bundled vulnerability list knows (no download: the check runs offline).
    panel = tree / "main/default/lwc/errorPanel/errorPanel.js"
    panel.write_text(
        panel.read_text().replace(
            "    get hasLines() {",
            "    renderedCallback() {\n"
            "        this.template.querySelector('div').innerHTML = this.title;\n"
            "    }\n\n"
            "    get hasLines() {",
        )
    )
    resources = tree / "main/default/staticresources"
    resources.mkdir()
    (resources / "jquery-1.8.1.js").write_text("/*! jQuery v1.8.1 jquery.com */\n")
    result = run_check("code-analyzer.mjs", tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "errorPanel.js:" in result.stderr
    assert "[@lwc/lwc/no-inner-html, severity 2, " in result.stderr
    assert "jquery-1.8.1.js:" in result.stderr
    assert "[LibraryWithKnown" in result.stderr


def test_limits_check_covers_reports_report_types_and_dashboards(tmp_path: pathlib.Path) -> None:
    copy = copy_of_force_app(tmp_path)
    default = copy / "main/default"
    set_element(
        default / "reports/QB_Sync_Reports/QB_Sync_Latency.report-meta.xml", "name", "n" * 41
    )
    set_element(
        default / "reportTypes/QB_Sync_Logs_with_Company.reportType-meta.xml",
        "description",
        "d" * 1001,
    )
    set_element(
        default / "dashboards/QB_Sync_Dashboards/QB_Sync_Health.dashboard-meta.xml",
        "title",
        "t" * 81,
    )
    set_element(default / "reports/QB_Sync_Reports.reportFolder-meta.xml", "name", "f" * 41)
    result = run_check("documented-limits.mjs", copy)
    assert result.returncode == 1, result.stdout + result.stderr
    for expected in (
        "Report name is 41 characters; the limit is 40",
        "ReportType description is 1001 characters; the limit is 1000",
        "Dashboard title is 81 characters; the limit is 80",
        "ReportFolder name is 41 characters; the limit is 40",
    ):
        assert expected in result.stderr
