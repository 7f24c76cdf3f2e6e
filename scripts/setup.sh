#!/usr/bin/env bash
# Set up tinytvm on a fresh Debian machine (idempotent, quick when nothing changed):
#   - the ARM toolchain and QEMU via apt-get, when missing and running as root;
#   - a virtualenv (default: <repo>/.venv, override with TINYTVM_VENV) with tinytvm and its test extras.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${TINYTVM_VENV:-$repo/.venv}
python=${PYTHON:-python3}

missing=()
command -v arm-none-eabi-gcc >/dev/null || missing+=(gcc-arm-none-eabi)
[ -d /usr/lib/arm-none-eabi/newlib ] || missing+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; install them with:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    echo "setup: (the Cortex-M build and QEMU runs need them; continuing with the Python setup)" >&2
  fi
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: tinytvm needs Python >= 3.11 (found $("$python" --version 2>&1)); set PYTHON=python3.11" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

# Reinstall only when the dependency list changed.
stamp="$venv/.tinytvm-installed"
want=$(sha256sum "$repo/pyproject.toml" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing tinytvm and its dependencies into $venv"
  # (Some machines' pip configuration names local indexes that do not exist; pip's warnings about
  # them are noise, everything else it prints is kept.)
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$repo[test]" 2>&1 \
    | { grep -v "^WARNING: Location '.*' is ignored" || true; }
  echo "$want" > "$stamp"
fi
