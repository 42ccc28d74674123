#!/bin/bash
# The HTML export in a real browser: wirelab writes a page for a recorded trace, headless
# Chromium opens it and clicks through it (export.mjs).
#
#   tests/interop/export/run.sh [CAPTURE]     (default: lessons/03_tcp/trace.pcapng)
#
# Needs: the wirelab binary ($WIRELAB_BIN, default target/debug/wirelab: `cargo build`
# first), `npm ci` in tests/interop/export, and Debian's chromium (/usr/bin/chromium, or
# $CHROMIUM). Screenshots go to tests/artifacts/export/ (ignored by git), or $ARTIFACTS.
# Prints `export-interop: N passed, N failed` and exits non-zero if anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${WIRELAB_BIN:-$root/target/debug/wirelab}
capture=${1:-$root/lessons/03_tcp/trace.pcapng}
artifacts=${ARTIFACTS:-$root/tests/artifacts/export}
mkdir -p "$artifacts"
if [ ! -x "$bin" ]; then
  echo "no wirelab binary at $bin (cargo build first, or set WIRELAB_BIN)"
  echo "export-interop: 0 passed, 1 failed"; exit 1
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null 2>&1) || {
    echo "npm ci failed in $here"; echo "export-interop: 0 passed, 1 failed"; exit 1; }
fi
page="$artifacts/trace.html"
if ! "$bin" dissect "$capture" --export "$page" --color never; then
  echo "wirelab could not write the page"
  echo "export-interop: 0 passed, 1 failed"; exit 1
fi
cd "$here"
ARTIFACTS="$artifacts" timeout 300 node export.mjs "$page"
