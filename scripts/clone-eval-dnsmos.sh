#!/usr/bin/env bash
# DNSMOS of clone-eval's WAVs (scripts/clone-eval-dnsmos.py). Creates the evaluation venv
# $VOXREEL_HOME/venvs/dnsmos on first use (PyPI: speechmos, librosa, onnxruntime; about
# 300 MB, through the ordinary pip client). Dev-only: nothing in the library needs it.
#   scripts/clone-eval-dnsmos.sh DIR [--watermarked]
set -euo pipefail
dir=${1:?usage: clone-eval-dnsmos.sh DIR [--watermarked]}
shift
venv=${VOXREEL_HOME:-$HOME/.cache/voxreel}/venvs/dnsmos
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import speechmos, librosa, onnxruntime" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet speechmos==0.0.1.1 librosa onnxruntime
fi
exec "$venv/bin/python" "$(cd "$(dirname "$0")" && pwd)/clone-eval-dnsmos.py" "$dir" "$@"
