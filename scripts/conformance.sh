#!/usr/bin/env bash
# Run the official MCP conformance suite (server mode, every scenario) against a running server.
#
#   scripts/conformance.sh URL [--expected-failures FILE]
#
# URL is the server's Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp. With
# --expected-failures, FILE is a YAML baseline (`server: [scenario, ...]`): listed scenarios
# may fail (or warn), but one that passes makes the baseline stale and fails the run.
#
# Exits with the suite's status: 0 when every scenario passed (or failed as the baseline expects).
#
# The suite is an npm package pinned to 0.1.13 (later versions need Node 22). It is installed
# once into .cache/conformance/ at the repository root, then npx runs that copy without
# reaching the registry again.
set -euo pipefail

readonly PACKAGE="@modelcontextprotocol/conformance"
readonly VERSION="0.1.13"

usage() {
    echo "usage: $0 URL [--expected-failures FILE]" >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
url="$1"
shift
extra_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --expected-failures)
            [[ $# -ge 2 ]] || usage
            [[ -f "$2" ]] || { echo "$0: no such file: $2" >&2; exit 2; }
            # Absolute: npx runs from the cache directory below.
            extra_args+=(--expected-failures "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")")
            shift 2
            ;;
        *) usage ;;
    esac
done

for tool in node npm npx; do
    command -v "$tool" >/dev/null || { echo "$0: '$tool' not found; the suite needs Node.js 20+ and npm" >&2; exit 127; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
    echo "$0: Node.js 20+ is required, found $(node --version)" >&2
    exit 127
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache/conformance"
mkdir -p "$cache_dir"

installed_version() {
    local manifest="$cache_dir/node_modules/$PACKAGE/package.json"
    [[ -f "$manifest" ]] && node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null
}

# Install once; the lock keeps two concurrent runs from installing over each other.
(
    flock 9
    if [[ "$(installed_version || true)" != "$VERSION" ]]; then
        echo "Installing $PACKAGE@$VERSION into $cache_dir" >&2
        npm install --prefix "$cache_dir" --no-audit --no-fund --loglevel=error "$PACKAGE@$VERSION" >&2
    fi
) 9>"$cache_dir/.install.lock"

# From the cache directory npx finds the pinned copy in ./node_modules and does not download it again.
cd "$cache_dir"
exec npx --yes "$PACKAGE@$VERSION" server --url "$url" --suite all "${extra_args[@]}"
