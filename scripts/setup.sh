#!/usr/bin/env bash
# Creates .venv with Python 3.10 (rasa 3.6 refuses 3.11+) and installs the pinned
# dependencies. Idempotent: does nothing when requirements.lock hasn't changed.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python310() {
  local candidates=()
  command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=($(ls -d "$(pyenv root)"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r))
  fi
  candidates+=($(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10 2>/dev/null || true))
  for py in "${candidates[@]}"; do
    if "$py" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

stamp=.venv/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt requirements.lock ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  PY=$(find_python310) || { echo "Python 3.10 is required (rasa 3.6 refuses 3.11+); install it with pyenv: pyenv install 3.10" >&2; exit 1; }
  echo "Creating .venv with $PY"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip<25" wheel
echo "Installing pinned dependencies (first time: about 2 minutes)"
.venv/bin/python -m pip install --quiet -r requirements.lock
touch "$stamp"
