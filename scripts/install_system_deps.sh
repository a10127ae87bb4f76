#!/usr/bin/env bash
# Install the system binaries the project needs (tests start a real redis-server).
# Idempotent: a package is only installed when its command is missing, and
# apt-get update runs at most once, only if something must be installed.
# Usage (as root, or with sudo available): scripts/install_system_deps.sh
set -euo pipefail

# One "command:debian-package" pair per line. Add new system deps here.
DEPS=(
  "redis-server:redis-server"
  "chromium:chromium"
)

missing=()
for entry in "${DEPS[@]}"; do
  cmd="${entry%%:*}"
  pkg="${entry#*:}"
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "ok: $cmd ($(command -v "$cmd"))"
  elif dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    # Installed but not on PATH (e.g. /usr/sbin missing from PATH): don't reinstall.
    echo "ok: $pkg installed, but $cmd is not on PATH"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "all system dependencies present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
