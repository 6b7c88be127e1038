"""The documentation holds together.

Every relative link and image in README.md and docs/*.md points at a file of the repository, and
every `#anchor` at a heading of its target (GitHub's slug rules). Every environment variable
`middleware/qbsync/config.py` reads is documented in docs/operating.md and `.env.example`, and
neither documents a variable nothing reads. Standard library only: Markdown is read with a few
regular expressions that cover the constructs these pages use (ATX headings, inline links and
images, reference definitions, HTML `img`/`a`), with code blocks and code spans left out.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support.paths import REPO_ROOT as ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CONFIG = ROOT / "middleware" / "qbsync" / "config.py"
OPERATING = ROOT / "docs" / "operating.md"
ENV_EXAMPLE = ROOT / ".env.example"
# Documented beside qbsync's settings, but read by a library (requests), not by config.py.
READ_ELSEWHERE = {"REQUESTS_CA_BUNDLE"}

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# The `](destination)` that ends every inline link and image, nested ones included.
INLINE_TARGET = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_TARGET = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']*)[\"']", re.I)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with code spans removed."""
    lines = []
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        opening = FENCE.match(line)
        if fence:
            # A fence closes with the same character, at least as long, and nothing after it.
            if opening and opening.group(1).startswith(fence) and not line.strip(" `~"):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        lines.append((number, CODE_SPAN.sub("", line)))
    return lines


def heading_text(markdown: str) -> str:
    """The text GitHub renders for a heading's Markdown (what its slug is made from)."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)", r"\1", markdown)  # links, images
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    return re.sub(r"(?<![\w])_(.+?)_(?![\w])", r"\1", text)  # _emphasis_; snake_case stays


def github_slug(text: str) -> str:
    """GitHub's heading id: lowercase, punctuation and symbols dropped, spaces to hyphens.

    Kept: letters, numbers, combining marks, connector punctuation (`_`), hyphens, spaces.
    """
    kept = "".join(
        char
        for char in heading_text(text).strip().lower()
        if char in " -"
        or unicodedata.category(char)[0] in "LNM"
        or unicodedata.category(char) == "Pc"
    )
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The fragment ids of a Markdown page: one per heading (repeats get -1, -2, …) and HTML ids."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        heading = ATX_HEADING.match(line)
        if heading:
            slug = github_slug(heading.group(2) or "")
            if slug in seen:
                seen[slug] += 1
                slug = f"{slug}-{seen[slug]}"
            seen.setdefault(slug, 0)
            found.add(slug)
        found.update(HTML_ANCHOR.findall(line))
    return found


def link_targets(page: Path) -> list[tuple[int, str]]:
    """(line number, destination) of every link and image outside code."""
    targets = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        found = INLINE_TARGET.findall(line) + HTML_TARGET.findall(line)
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            found.append(definition.group(1))
        targets.extend((number, target.strip("<>")) for target in found)
    return targets


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """One message per relative link of `page` that does not resolve inside `root`."""
    problems = []
    for number, target in link_targets(page):
        if URL_SCHEME.match(target) or target.startswith("//"):
            continue  # another site: not this test's business
        where = f"{page.relative_to(root)}:{number}: {target!r}"
        path, _, fragment = target.partition("#")
        if not target:
            problems.append(f"{where}: empty link")
            continue
        if not path:
            resolved = page
        elif path.startswith("/"):
            resolved = root / unquote(path).lstrip("/")  # GitHub: from the repository root
        else:
            resolved = page.parent / unquote(path)
        resolved = resolved.resolve()
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{where}: no heading #{fragment} in {resolved.relative_to(root)}")
    return problems


def variables_read(config: Path) -> set[str]:
    """Environment variable names in config.py's code: every string constant shaped like one."""
    tree = ast.parse(config.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ENV_NAME.fullmatch(node.value)
    }


def documented_in_operating(operating: Path) -> set[str]:
    """Variables named in a table row of the operating page (its Configuration table)."""
    return {
        name
        for line in operating.read_text(encoding="utf-8").splitlines()
        if line.startswith("|")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line)
        if ENV_NAME.fullmatch(name)
    }


def documented_in_env_example(env_example: Path) -> set[str]:
    """Variables assigned in `.env.example`, commented out or not."""
    return set(
        re.findall(r"^#?[ \t]*([A-Z][A-Z0-9_]*)=", env_example.read_text(encoding="utf-8"), re.M)
    )


def undocumented(config: Path, operating: Path, env_example: Path) -> dict[str, list[str]]:
    """Variables config.py reads that a page leaves out, and documented ones nothing reads."""
    read = variables_read(config)
    gaps = {}
    for label, documented in (
        (operating.name, documented_in_operating(operating)),
        (env_example.name, documented_in_env_example(env_example)),
    ):
        gaps[f"missing from {label}"] = sorted(read - documented)
        gaps[f"in {label} but not read"] = sorted(documented - read - READ_ELSEWHERE)
    return {problem: names for problem, names in gaps.items() if names}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    problems = broken_links(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_pages_are_all_found():
    names = {str(page.relative_to(ROOT)) for page in PAGES}
    assert {"README.md", "docs/operating.md", "docs/development.md"} <= names


def test_every_setting_config_reads_is_documented():
    read = variables_read(CONFIG)
    # The scan itself must see config.py's settings, or the check below would pass on nothing.
    assert {"QBSYNC_DATABASE_URL", "INTUIT_WEBHOOK_VERIFIER_TOKEN", "SALESFORCE_LOGIN_URL"} <= read
    gaps = undocumented(CONFIG, OPERATING, ENV_EXAMPLE)
    assert not gaps, "\n".join(f"{problem}: {', '.join(names)}" for problem, names in gaps.items())


def test_broken_links_images_and_anchors_are_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "shot.png").write_bytes(b"\x89PNG")
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Step 1: Connect → QuickBooks\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n"
        "Good: [guide](docs/guide.md), [step](docs/guide.md#step-1-connect--quickbooks),\n"
        "![shot](docs/shot.png), [title](#title), [site](https://example.org/missing.md),\n"
        '<img src="docs/shot.png" alt="shot">, [folder](docs/).\n'
        "Bad: [gone](docs/gone.md) ![lost](docs/lost.png)\n"
        "[wrong step](docs/guide.md#step-2) [here](#nowhere) [escape](../outside.md)\n"
        "[![badge](docs/badge.svg)](docs/guide.md) [empty]()\n"
        '<img src="docs/missing.png">\n'
        "[ref]: docs/ref.md\n"
        "Code is not checked: `[x](docs/code.md)`\n"
        "```\n[y](docs/fenced.md)\n```\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md:5: 'docs/gone.md': no such file",
        "README.md:5: 'docs/lost.png': no such file",
        "README.md:6: 'docs/guide.md#step-2': no heading #step-2 in docs/guide.md",
        "README.md:6: '#nowhere': no heading #nowhere in README.md",
        "README.md:6: '../outside.md' points outside the repository",
        "README.md:7: 'docs/badge.svg': no such file",
        "README.md:7: '': empty link",
        "README.md:8: 'docs/missing.png': no such file",
        "README.md:9: 'docs/ref.md': no such file",
    ]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Connect QuickBooks Online to Salesforce", "connect-quickbooks-online-to-salesforce"),
        ("1. Connect a QuickBooks company", "1-connect-a-quickbooks-company"),
        ("2. Configuration → Object Mapping", "2-configuration--object-mapping"),
        ("`middleware/qbsync/`: the product", "middlewareqbsync-the-product"),
        ("What's new? (2026)", "whats-new-2026"),
        ("QB_Setup and _emphasis_", "qb_setup-and-emphasis"),
        ("[Operating](docs/operating.md) **guide**", "operating-guide"),
        ("Ünïcode Straße", "ünïcode-straße"),
    ],
)
def test_github_slugs(heading, slug):
    assert github_slug(heading) == slug


def test_repeated_headings_get_numbered_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Setup\n## Setup\n```\n# not a heading\n```\n## Setup\n")
    assert anchors(page) == {"setup", "setup-1", "setup-2"}


def test_an_undocumented_or_stale_variable_is_reported(tmp_path):
    config = tmp_path / "config.py"
    config.write_text(
        'ENVIRONMENT = {"QBSYNC_DOCUMENTED": 1, "QBSYNC_NEW_SETTING": 2}\n'
        'def load(environ):\n    return environ.get("QBSYNC_FROM_ENVIRON")\n'
    )
    operating = tmp_path / "operating.md"
    operating.write_text(
        "Prose naming `QBSYNC_NEW_SETTING` is not a table row.\n\n"
        "| variable | default |\n|---|---|\n"
        "| `QBSYNC_DOCUMENTED` | 1 |\n| `QBSYNC_FROM_ENVIRON` | — |\n| `QBSYNC_REMOVED` | 3 |\n"
        "| `REQUESTS_CA_BUNDLE` | system |\n"
    )
    env_example = tmp_path / ".env.example"
    env_example.write_text(
        "# QBSYNC_NEW_SETTING is described here but not assigned\n"
        "QBSYNC_DOCUMENTED=1\n# QBSYNC_FROM_ENVIRON=\n"
    )
    assert undocumented(config, operating, env_example) == {
        "missing from operating.md": ["QBSYNC_NEW_SETTING"],
        "in operating.md but not read": ["QBSYNC_REMOVED"],
        "missing from .env.example": ["QBSYNC_NEW_SETTING"],
    }
