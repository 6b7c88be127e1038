"""Lightning web components' targetConfigs hold only what each target documents.

The Metadata API schema does not cover `*.js-meta.xml` (research §5(e)), and a deploy may accept
an element a target ignores, so an undocumented element reads as configuration that does nothing.
"""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

from .conftest import DEFAULT, MD_NS

MD = f"{{{MD_NS}}}"
# Child elements each target's targetConfig documents (LWC Developer Guide, "XML Configuration File
# Elements" and the page of each target).
TARGET_CONFIG_ELEMENTS = {
    # https://developer.salesforce.com/docs/platform/lwc/guide/targets-lightning-record-action.html
    # "lightning__RecordAction doesn't support component properties": actionType and form factors.
    "lightning__RecordAction": {"actionType", "supportedFormFactors"},
    # https://developer.salesforce.com/docs/platform/lwc/guide/targets-lightning-tab.html
    "lightning__Tab": {"supportedFormFactors"},
}


def target_config_problems(bundle_meta: pathlib.Path) -> list[str]:
    root = etree.parse(str(bundle_meta)).getroot()
    problems = []
    for config in root.iter(MD + "targetConfig"):
        targets = config.get("targets", "").split(",")
        for child in config:
            if not isinstance(child.tag, str):
                continue  # a comment
            element = etree.QName(child).localname
            for target in targets:
                allowed = TARGET_CONFIG_ELEMENTS.get(target.strip())
                if allowed is None:
                    problems.append(f"{bundle_meta.name}: target {target} is not in the table")
                elif element not in allowed:
                    problems.append(f"{bundle_meta.name}: {target} does not document <{element}>")
    return problems


BUNDLES = sorted((DEFAULT / "lwc").glob("*/*.js-meta.xml"))


@pytest.mark.parametrize("bundle_meta", BUNDLES, ids=lambda p: p.parent.name)
def test_target_configs_hold_only_documented_elements(bundle_meta: pathlib.Path) -> None:
    assert target_config_problems(bundle_meta) == []


def test_objects_inside_a_record_action_config_is_reported(tmp_path: pathlib.Path) -> None:
    meta = tmp_path / "qbSyncLogRetry.js-meta.xml"
    source = (DEFAULT / "lwc/qbSyncLogRetry/qbSyncLogRetry.js-meta.xml").read_text()
    meta.write_text(
        source.replace(
            "<actionType>ScreenAction</actionType>",
            "<actionType>ScreenAction</actionType>\n"
            "            <objects><object>QB_Sync_Log__c</object></objects>",
        )
    )
    assert target_config_problems(meta) == [
        "qbSyncLogRetry.js-meta.xml: lightning__RecordAction does not document <objects>"
    ]
