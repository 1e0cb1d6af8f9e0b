#!/usr/bin/env bash
# Builds the web UI into BUILD_DIR/ui (default build/ui), where `vigil serve` finds it next
# to the binary. Installs the locked npm packages first when they are missing or stale.
set -euo pipefail
out=${1:-build}
mkdir -p "$out"
out=$(cd "$out" && pwd)/ui
cd "$(dirname "$0")"
if ! command -v npm > /dev/null; then
  echo "ui: npm is not installed (scripts/install-deps installs nodejs and npm)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx vite build --outDir "$out" --emptyOutDir --logLevel warn
echo "ui: built into $out"
