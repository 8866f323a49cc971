#!/usr/bin/env bash
# Runs the speaker-encoder bench, with Resemblyzer (PyTorch CPU) in a venv for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VOXREEL_BENCH_VENV:-${TMPDIR:-/tmp}/voxreel-resemblyzer-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q resemblyzer==0.1.4 torch soundfile "setuptools<81"
fi
cargo run --release -q -p voxreel-benches --bin ge2e-bench -- --python "$VENV/bin/python"
