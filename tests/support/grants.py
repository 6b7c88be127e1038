"""Copies of force-app with one permission-set grant taken away, to see the enforcement fail."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET  # noqa: S405 - our own repository's metadata
from pathlib import Path

from tests.support.paths import FORCE_APP

_NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
MD = "{" + _NAMESPACE + "}"


def force_app_without_grant(
    destination: Path, permission_set: str, granted: str, *, keep_read: bool = False
) -> Path:
    """A copy of force-app (metadata, no LWC) at `destination` whose `permission_set` no longer
    grants `granted`: a field ("Account.Phone") or an object ("Account"). With `keep_read` the
    entry stays but grants read only (editable / create, edit, delete false)."""
    shutil.copytree(FORCE_APP, destination, ignore=shutil.ignore_patterns("lwc", "node_modules"))
    path = next(destination.glob(f"**/permissionsets/{permission_set}.permissionset-meta.xml"))
    ET.register_namespace("", _NAMESPACE)
    tree = ET.parse(path)  # noqa: S314 - a copy of our own metadata
    root = tree.getroot()
    kind, key = ("fieldPermissions", "field") if "." in granted else ("objectPermissions", "object")
    [entry] = [e for e in root.iterfind(MD + kind) if e.findtext(MD + key) == granted]
    if keep_read:
        for flag in ("editable", "allowCreate", "allowEdit", "allowDelete"):
            element = entry.find(MD + flag)
            if element is not None:
                element.text = "false"
    else:
        root.remove(entry)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return destination


def force_app_without_user_permission(destination: Path, permission_set: str, name: str) -> Path:
    """A copy of force-app (metadata, no LWC) at `destination` whose `permission_set` no longer
    enables the user permission `name` ("ViewSetup")."""
    shutil.copytree(FORCE_APP, destination, ignore=shutil.ignore_patterns("lwc", "node_modules"))
    path = next(destination.glob(f"**/permissionsets/{permission_set}.permissionset-meta.xml"))
    ET.register_namespace("", _NAMESPACE)
    tree = ET.parse(path)  # noqa: S314 - a copy of our own metadata
    root = tree.getroot()
    [entry] = [e for e in root.iterfind(MD + "userPermissions") if e.findtext(MD + "name") == name]
    root.remove(entry)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return destination
