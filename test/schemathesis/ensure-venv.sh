#!/usr/bin/env bash
# Creates (once) a virtualenv outside the repository with schemathesis from PyPI, and prints the
# path of its `st` executable. Idempotent: a venv whose pinned version answers is reused as is.
set -euo pipefail
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
CACHE="${COMMONS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/commons}"
VENV="$CACHE/venv-schemathesis"
if [ -x "$VENV/bin/st" ] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$VERSION')" 2>/dev/null; then
  echo "$VENV/bin/st"
  exit 0
fi
mkdir -p "$CACHE"
rm -rf "$VENV"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
echo "$VENV/bin/st"
