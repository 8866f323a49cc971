#!/usr/bin/env bash
# Fetches the pinyin tables of the Mandarin front end of the Kokoro-82M engine (idempotent):
#   zh_pinyin_chars.tsv    — character → its first pinyin reading   (from pypinyin's pinyin_dict.json)
#   zh_pinyin_phrases.tsv  — phrase → the pinyin of each character  (from pypinyin's phrases_dict.json)
# both converted from PyPI pypinyin 0.55.0 (MIT), plus its licence text, into
# $VOXREEL_HOME/models/kokoro/ (default ~/.cache/voxreel). The source files' sha256 are checked;
# provenance in models/kokoro/MANDARIN.md. Needs python3 with pip and network access to PyPI once.
set -euo pipefail

HOME_DIR="${VOXREEL_HOME:-$HOME/.cache/voxreel}"
DEST="$HOME_DIR/models/kokoro"
PKG="pypinyin==0.55.0"
FORMAT="voxreel-zh-pinyin 1"

declare -A SHA=(
  [pinyin_dict.json]=5f294c01e6c6c0a1c8e329c79335a3f8e0b27d06bf1de7a99244b765892d1e5b
  [phrases_dict.json]=a45ff140a6b631ca9c82127b280a2f414e0aba6bb2824a0e9d1e77fff359c665
)

installed() {
  [ -f "$DEST/zh_pinyin_chars.tsv" ] && [ -f "$DEST/zh_pinyin_phrases.tsv" ] \
    && [ -f "$DEST/LICENSE-pypinyin.txt" ] \
    && [ "$(head -n1 "$DEST/zh_pinyin_chars.tsv")" = "# $FORMAT" ] \
    && [ "$(head -n1 "$DEST/zh_pinyin_phrases.tsv")" = "# $FORMAT" ]
}

if installed; then
  echo "fetch-zh-frontend: already installed in $DEST"
  exit 0
fi

command -v python3 >/dev/null || { echo "fetch-zh-frontend: python3 with pip is needed" >&2; exit 3; }
mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m pip download --quiet --no-deps "$PKG" -d "$TMP"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
  "$TMP"/pypinyin-0.55.0-*.whl "$TMP/w"

for f in "${!SHA[@]}"; do
  if ! echo "${SHA[$f]}  $TMP/w/pypinyin/$f" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "fetch-zh-frontend: pypinyin/$f has an unexpected checksum" >&2
    exit 1
  fi
done

# Only the first reading of a character is kept (misaki reads with lazy_pinyin, which uses it),
# and the first reading of every character of a phrase. Tone marks are kept as they are.
python3 - "$TMP/w/pypinyin" "$TMP" "$FORMAT" <<'PY'
import json, sys
src, out, fmt = sys.argv[1:4]
chars = json.load(open(f"{src}/pinyin_dict.json", encoding="utf-8"))
phrases = json.load(open(f"{src}/phrases_dict.json", encoding="utf-8"))
with open(f"{out}/zh_pinyin_chars.tsv", "w", encoding="utf-8") as f:
    f.write(f"# {fmt}\n")
    for code in sorted(chars, key=int):
        f.write(f"{chr(int(code))}\t{chars[code].split(',')[0]}\n")
with open(f"{out}/zh_pinyin_phrases.tsv", "w", encoding="utf-8") as f:
    f.write(f"# {fmt}\n")
    for word in sorted(phrases):
        pys = phrases[word]
        if len(pys) != len(word):
            continue
        f.write(f"{word}\t{' '.join(p[0] for p in pys)}\n")
PY

cp "$TMP/w/pypinyin-0.55.0.dist-info/licenses/LICENSE.txt" "$DEST/LICENSE-pypinyin.txt"
# Tables last, so an interrupted run is retried.
mv "$TMP/zh_pinyin_phrases.tsv" "$DEST/zh_pinyin_phrases.tsv"
mv "$TMP/zh_pinyin_chars.tsv" "$DEST/zh_pinyin_chars.tsv"
echo "fetch-zh-frontend: installed zh_pinyin_chars.tsv, zh_pinyin_phrases.tsv and LICENSE-pypinyin.txt in $DEST"
