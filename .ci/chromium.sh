#!/usr/bin/env bash
# Install Debian's Chromium (if missing) for the web app's browser tests (tests/web/test_browser.py).
# Playwright cannot download its own browsers here: the tests drive /usr/bin/chromium.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null) || {
  echo "chromium: could not install Debian's chromium package" >&2; exit 1; }
/usr/bin/chromium --version
