"""Where the tests find the repository's parts."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FORCE_APP = REPO_ROOT / "force-app"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SCRIPTS = REPO_ROOT / "scripts"
