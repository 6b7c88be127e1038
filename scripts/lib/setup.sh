# Sourced by scripts/test and scripts/demo: installs what the project needs, from a fresh clone.
# Idempotent: a warm machine only re-checks.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating Python venv in .venv"
        python3 -m venv "$VENV"
    fi
    # The installs are editable: only a change of the projects' metadata (dependencies, entry
    # points) or of the lock needs pip again, so a warm venv whose stamp matches them is kept.
    local stamp
    stamp="$(cat "$ROOT/pyproject.toml" "$ROOT/preview/server/pyproject.toml" \
        "$ROOT/sandbox/pyproject.toml" "$ROOT/requirements-dev.lock" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$VENV/.qbsync-installed" 2>/dev/null)" = "$stamp" ]; then
        echo "==> the middleware, the preview server and the sandbox are installed (.venv)"
        return
    fi
    echo "==> installing the locked dependencies, then the middleware, the preview server and the sandbox"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    # Exactly the versions and files of the lock (hashes checked); the three projects then
    # install editable without dependencies (pip cannot check hashes of an editable install).
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --require-hashes -r "$ROOT/requirements-dev.lock"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -e "$ROOT" -e "$ROOT/preview/server" -e "$ROOT/sandbox"
    echo "$stamp" > "$VENV/.qbsync-installed"
}

setup_node() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is required (Node 20); install Node.js first" >&2
        exit 1
    fi
    echo "==> installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
}

setup_sf_cli() {
    # The Salesforce CLI conformance suite (tests/conformance/salesforce/test_sf_cli.py) needs the CLI and the
    # Node 22 it runs on (the machine has Node 20): both come from the npm registry into
    # tests/conformance/salesforce/sf-cli, installed again only when that folder's lock file changes.
    local dir="$ROOT/tests/conformance/salesforce/sf-cli"
    local stamp
    stamp="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$dir/node_modules/.qbsync-installed" 2>/dev/null)" = "$stamp" ]; then
        echo "==> the Salesforce CLI for the conformance suite is installed (tests/conformance/salesforce/sf-cli)"
        return
    fi
    echo "==> installing the Salesforce CLI and Node 22 for the conformance suite (npm ci: about 480 MB, a few minutes)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$stamp" > "$dir/node_modules/.qbsync-installed"
}

setup_chromium() {
    # The browser tests drive Debian's Chromium (playwright-core cannot download browsers here).
    if [ ! -x /usr/bin/chromium ]; then
        echo "==> installing Debian's chromium (browser tests)"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
    fi
}
