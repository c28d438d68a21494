#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (test/e2e/console.test.ts) when it
# is missing. Needs root or sudo; a no-op when /usr/bin/chromium (or $CHROMIUM_PATH) exists.
set -euo pipefail
# The unit tier (COMMONS_STACK=skip) has no browser test.
if [ "${COMMONS_STACK:-}" = "skip" ]; then
  exit 0
fi
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$bin" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "ensure-chromium: $bin is missing and neither root nor sudo is available" >&2
  exit 1
fi
echo "ensure-chromium: installing chromium (apt-get)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
"$bin" --version >&2
