"""Every metadata XML in force-app validates against the Metadata API schema (metadata.wsdl)."""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

from .conftest import FORCE_APP, metadata_files

FILES = metadata_files()


def test_force_app_has_metadata() -> None:
    # Guards against the parametrised test silently collecting nothing.
    assert len(FILES) > 40, f"expected the package's metadata under {FORCE_APP}, found {len(FILES)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FORCE_APP)))
def test_metadata_file_matches_schema(path: pathlib.Path, metadata_schema: etree.XMLSchema) -> None:
    document = etree.parse(str(path))
    if metadata_schema.validate(document):
        return
    errors = "\n".join(f"line {e.line}: {e.message}" for e in metadata_schema.error_log)
    pytest.fail(f"{path.relative_to(FORCE_APP)} does not match the Metadata API schema:\n{errors}")


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (
            "<CustomField xmlns='{ns}'><fullName>A__c</fullName><type>Textt</type></CustomField>",
            "Textt",
        ),
        (
            "<CustomField xmlns='{ns}'><fullName>A__c</fullName><externalID>true</externalID></CustomField>",
            "externalID",
        ),
        (
            "<CustomField xmlns='{ns}'><fullName>A__c</fullName><length>long</length></CustomField>",
            "long",
        ),
        (
            "<CustomField xmlns='{ns}'><type>Text</type><fullName>A__c</fullName></CustomField>",
            "fullName",
        ),
        (
            "<StaticResource xmlns='{ns}'><cacheControl>Shared</cacheControl>"
            "<contentType>application/json</contentType></StaticResource>",
            "Shared",
        ),
    ],
    ids=["bad-enum", "misspelled-element", "non-integer", "out-of-order", "static-resource-cache"],
)
def test_schema_rejects_broken_metadata(xml: str, expected: str, metadata_schema) -> None:
    # The check is only worth something if it fails on the mistakes it is meant to catch.
    document = etree.fromstring(xml.format(ns="http://soap.sforce.com/2006/04/metadata"))
    assert not metadata_schema.validate(document)
    assert expected in str(metadata_schema.error_log)
