#!/usr/bin/env bash
# Debian's Chromium for the report's browser test, which fails (never skips) without it: installed when missing,
# as root or through sudo. `make test` runs this first.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
as_root=$([ "$(id -u)" -eq 0 ] || echo sudo)
echo "installing Debian's chromium for the browser test (apt-get)" >&2
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
