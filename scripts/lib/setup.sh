# Sourced by scripts/test and scripts/demo: installs what the project needs, from a fresh clone.
# Idempotent: a warm machine only re-checks.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"

setup_python() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating Python venv in .venv"
        python3 -m venv "$VENV"
    fi
    echo "==> installing the middleware, the preview server and the sandbox (pip install -e)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e "$ROOT[dev]" -e "$ROOT/preview/server" -e "$ROOT/sandbox"
}

setup_node() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is required (Node 20); install Node.js first" >&2
        exit 1
    fi
    echo "==> installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
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
