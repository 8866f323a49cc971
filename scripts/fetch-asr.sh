#!/usr/bin/env bash
# The Python venv for scripts/kokoro-asr.py (the pocketsphinx intelligibility check of the
# Kokoro engine, core/tests/kokoro.rs): $VOXREEL_HOME/venvs/asr with PyPI pocketsphinx 5.1.1
# (its wheel bundles the en-us acoustic model, language model and dictionary) and numpy.
# From the package registry only (pip). Idempotent: a venv that already imports both, at
# that pocketsphinx version, is left alone. Run by `make setup`.
#
# Needs: python3 with venv and pip (scripts/setup.sh installs them).
set -euo pipefail

VOXREEL_HOME="${VOXREEL_HOME:-$HOME/.cache/voxreel}"
VENV="$VOXREEL_HOME/venvs/asr"
POCKETSPHINX=5.1.1

ready() {
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" - "$POCKETSPHINX" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
import numpy, pocketsphinx
sys.exit(0 if version("pocketsphinx") == sys.argv[1] else 1)
PY
}

if ready; then
  echo "asr: pocketsphinx $POCKETSPHINX ready in $VENV"
  exit 0
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
if ! "$VENV/bin/pip" install --quiet "pocketsphinx==$POCKETSPHINX" "numpy>=1.24" || ! ready; then
  rm -rf "$VENV"
  echo "asr: could not install pocketsphinx $POCKETSPHINX and numpy into $VENV" >&2
  exit 1
fi
echo "asr: pocketsphinx $POCKETSPHINX installed in $VENV"
