#!/bin/sh
# Install Debian's Chromium for the Playwright browser tests (Playwright's own browser
# download is not needed: the tests launch /usr/bin/chromium).
set -e
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install chromium"; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null 2>&1 || { echo "apt-get not found: install Chromium yourself to run the browser tests"; exit 1; }
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
