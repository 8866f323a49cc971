#!/usr/bin/env bash
# Word error rate (pocketsphinx, scripts/kokoro-asr.py) of the clone-eval WAVs: each
# speaker's clone and its best stock voice speaking the five sentences.
#   scripts/clone-eval-wer.sh DIR     (DIR: clone-eval's --out folder with results.json)
#   KINDS="clone stock noeq nomap speed1 start" scripts/clone-eval-wer.sh DIR   (after --ablate)
# Needs $VOXREEL_HOME/venvs/asr (scripts/fetch-asr.sh). Prints one line per speaker and kind.
set -euo pipefail
dir=${1:?usage: clone-eval-wer.sh DIR}
py=${VOXREEL_HOME:-$HOME/.cache/voxreel}/venvs/asr/bin/python
here=$(cd "$(dirname "$0")" && pwd)
for kind in ${KINDS:-clone stock}; do
  python3 - "$dir" "$kind" <<'PY'
import json, sys
d, kind = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/results.json"))
cases = [{"wav": f"{row['speaker']}-{kind}-{i}.wav", "text": t}
         for row in r["rows"] for i, t in enumerate(r["sentences"])]
json.dump({"cases": cases}, open(f"{d}/cases-{kind}.json", "w"), indent=1)
PY
  "$py" "$here/kokoro-asr.py" --cases "$dir/cases-$kind.json" --wav-dir "$dir" > "$dir/asr-$kind.json"
  python3 - "$dir" "$kind" <<'PY'
import json, sys, collections
d, kind = sys.argv[1], sys.argv[2]
a = json.load(open(f"{d}/asr-{kind}.json"))
per = collections.defaultdict(lambda: [0, 0])
for f in a["files"]:
    s = f["wav"].split("-")[0]
    per[s][0] += f["errors"]; per[s][1] += f["words"]
for s, (e, w) in sorted(per.items()):
    print(f"{kind} {s} WER {100 * e / w:.1f} % ({e}/{w})")
print(f"{kind} all WER {a['wer_percent']} %")
PY
done
