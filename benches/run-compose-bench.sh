#!/usr/bin/env bash
# Composition bench: voxreel vs libx264 alone on the same frames vs MoviePy.
#   bash benches/run-compose-bench.sh [SECONDS]     (default 60)
# Needs the release build (cargo) and, for the MoviePy figure, Python 3 with venv
# (MoviePy 2.2.1 is installed into /var/tmp/voxreel-bench-venv from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
S="${1:-60}"
T="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p voxreel-benches --bin compose-bench
"$T/release/compose-bench" "$S" --x264
if command -v python3 >/dev/null; then
  V=/var/tmp/voxreel-bench-venv
  [ -x "$V/bin/python" ] || python3 -m venv "$V"
  "$V/bin/pip" install -q moviepy==2.2.1
  "$V/bin/python" benches/compose_moviepy.py "${TMPDIR:-/tmp}/voxreel-compose-bench" "$S"
else
  echo "python3 not found: MoviePy comparison skipped" >&2
fi
