#!/usr/bin/env bash
# Set up everything hone's development and tests need on a fresh Debian machine: Debian's
# chromium (the dashboard and report tests drive it through Playwright; Playwright's own
# browser download is never used) and the project with its dev extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/setup.sh: chromium is missing; install it (sudo apt-get install chromium) for the browser tests" >&2
  fi
fi
python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
