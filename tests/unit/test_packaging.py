"""The product wheel holds the product only; the sandbox and the preview are packages of their own."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from click.testing import CliRunner

from qbsync.cli import main
from tests.support.paths import REPO_ROOT


def test_the_wheel_holds_the_middleware_and_nothing_of_the_sandbox_or_preview(tmp_path):
    subprocess.run(  # noqa: S603 - our own interpreter building our own project
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("qbsync-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"qbsync", next(n for n in top_level if n.endswith(".dist-info"))}
    assert "qbsync/webhooks/signature.py" in names
    assert "qbsync/catalog/qbo_catalog.json" in names
    # The schema migrations run from the installed package (no alembic.ini).
    for migration in ("env.py", "script.py.mako", "versions/0001_baseline.py"):
        assert f"qbsync/store/migrations/{migration}" in names
    unwanted = ("sandbox", "emulator", "preview", "demo", "soak", "bench")
    assert [n for n in names if any(word in n for word in unwanted)] == []


def test_the_production_command_offers_no_sandbox():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "worker" in result.output
    assert "sandbox" not in result.output
    assert CliRunner().invoke(main, ["sandbox"]).exit_code == 2  # "No such command"
