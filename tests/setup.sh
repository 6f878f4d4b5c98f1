#!/bin/sh
# Installs what the test suite needs: a virtual environment with the package and its dev extras in .venv,
# a headless browser (Debian's chromium) for the model card's browser tests, and poppler-utils (pdftotext)
# for the test that reads the printed card back.
set -eu
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "tests/setup.sh: no chromium and no apt-get; the browser tests will be skipped" >&2
  fi
fi
if ! command -v pdftotext >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
  else
    echo "tests/setup.sh: no pdftotext and no apt-get; the PDF test will be skipped" >&2
  fi
fi
