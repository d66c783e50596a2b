#!/usr/bin/env bash
# Debian's chromium and its matching chromedriver for the end-to-end UI test, and the DejaVu
# font the PDF ingestion test writes Vietnamese with.
# (A browser download by a Python package does not work offline; Debian's packages do.)
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
   && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
