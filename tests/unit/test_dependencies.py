"""Dependencies (issue 15, item 8): floors at fixed releases, and hashed lock files that the test
setup and the production install use."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import REPO_ROOT

# Releases with a published advisory the floors must exclude (package, version, advisory).
VULNERABLE = [
    ("gunicorn", "22.0.0", "CVE-2024-6827"),
    ("requests", "2.31.0", "CVE-2024-35195"),
    ("requests", "2.32.3", "CVE-2024-47081"),
    ("cryptography", "42.0.0", "CVE-2024-26130"),
    ("cryptography", "42.0.3", "CVE-2024-26130"),
    ("cryptography", "44.0.0", "CVE-2024-12797"),
    ("flask", "3.1.0", "CVE-2025-47278"),
    ("pyjwt", "2.10.0", "CVE-2024-53861"),
]
LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("dev",)}


def declared(extras: tuple[str, ...] = ()) -> dict[str, Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    requirements = (Requirement(line) for line in lines)
    return {canonicalize_name(r.name): r for r in requirements}


def locked(name: str) -> dict[str, tuple[Version, list[str]]]:
    """Each pinned package of a lock file with its version and its hashes."""
    text = (REPO_ROOT / name).read_text()
    pins: dict[str, tuple[Version, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            pins[canonicalize_name(match[1])] = (Version(match[2]), hashes)
    return pins


@pytest.mark.parametrize(("package", "version", "advisory"), VULNERABLE)
def test_the_floors_exclude_releases_with_an_advisory(package, version, advisory):
    requirement = declared()[package]
    assert not requirement.specifier.contains(version), f"{requirement} admits {advisory}"


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_each_lock_pins_every_declared_dependency_with_hashes(lock, extras):
    pins = locked(lock)
    assert pins, f"{lock} pins nothing"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{lock}: {name}=={version} has no hash"
    for name, requirement in declared(extras).items():
        assert name in pins, f"{lock} does not pin {name}"
        assert requirement.specifier.contains(pins[name][0]), f"{lock}: {name} below {requirement}"
    for package, version, advisory in VULNERABLE:
        if package in pins:
            assert pins[package][0] != Version(version), f"{lock} pins {package} ({advisory})"


def test_the_test_setup_installs_the_dev_lock_with_hashes_then_the_projects_without_deps():
    setup = (REPO_ROOT / "scripts" / "lib" / "setup.sh").read_text()
    assert '--require-hashes -r "$ROOT/requirements-dev.lock"' in setup
    assert "--no-deps" in setup and "requirements-dev.lock" in setup.split("--no-deps")[0]


def test_the_production_install_uses_the_lock():
    operating = (REPO_ROOT / "docs" / "operating.md").read_text()
    assert "pip install --require-hashes -r requirements.lock" in operating
    assert "pip install --no-deps ." in operating
