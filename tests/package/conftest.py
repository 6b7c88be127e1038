"""Shared helpers for the Salesforce package tests: the force-app tree and the Metadata API schema."""

from __future__ import annotations

import pathlib
from importlib import resources

import pytest
from lxml import etree

from tests.support.paths import FORCE_APP

DEFAULT = FORCE_APP / "main" / "default"
MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSD_NS = "http://www.w3.org/2001/XMLSchema"


def metadata_files() -> list[pathlib.Path]:
    """Every metadata XML in force-app except LWC bundles' `*.js-meta.xml`.

    `*.js-meta.xml` is source format only (LightningComponentBundle differs in the WSDL),
    so the research notes (§5(e)) exclude it.
    """
    return sorted(
        p
        for p in FORCE_APP.rglob("*-meta.xml")
        if not p.name.endswith(".js-meta.xml") and "node_modules" not in p.parts
    )


def build_metadata_schema(wsdl_bytes: bytes) -> etree.XMLSchema:
    """The Metadata API XSD from `metadata.wsdl`, with a global element per complex type.

    The WSDL declares types, not the root elements our files use (`<CustomField>`), so each
    complexType gets `<xsd:element name="X" type="tns:X"/>`. Re-serialising the schema element
    keeps the `tns` prefix (declared on the WSDL root) in scope (research §5(e)).
    """
    wsdl = etree.fromstring(wsdl_bytes)
    schema_el = wsdl.find(f".//{{{XSD_NS}}}schema[@targetNamespace='{MD_NS}']")
    if schema_el is None:
        raise LookupError("metadata.wsdl has no schema for the Metadata API namespace")
    schema_el = etree.fromstring(etree.tostring(schema_el))
    declared = {el.get("name") for el in schema_el.findall(f"{{{XSD_NS}}}element")}
    for complex_type in schema_el.findall(f"{{{XSD_NS}}}complexType"):
        name = complex_type.get("name")
        if name not in declared:
            element = etree.SubElement(schema_el, f"{{{XSD_NS}}}element", nsmap={"tns": MD_NS})
            element.set("name", name)
            element.set("type", f"tns:{name}")
    return etree.XMLSchema(schema_el)


@pytest.fixture(scope="session")
def metadata_schema() -> etree.XMLSchema:
    """Metadata API schema shipped inside the installed simple-salesforce package."""
    wsdl = resources.files("simple_salesforce").joinpath("metadata.wsdl").read_bytes()
    return build_metadata_schema(wsdl)
