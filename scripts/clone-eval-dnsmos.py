#!/usr/bin/env python3
"""DNSMOS (PyPI `speechmos`, Microsoft's DNS-challenge MOS models) of clone-eval's WAVs.

    scripts/clone-eval-dnsmos.sh DIR        (makes the venv, then runs this)

For each speaker in DIR/results.json: mean OVRL / SIG / BAK over the five clone sentences
(`<spk>-clone-<i>.wav`) and over the best stock voice's (`<spk>-stock-<i>.wav`); with
`--watermarked`, also over `<spk>-clone-<i>.wm.wav` (the same speech after voxreel's
watermark) to measure the watermark's cost. Audio is resampled to 16 kHz (the models' rate).
Writes DIR/dnsmos.json and prints a table.
"""
import argparse
import json
import os

import librosa
import numpy as np
from speechmos import dnsmos


def score(path):
    audio, _ = librosa.load(path, sr=16000)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    r = dnsmos.run(audio, 16000)
    return {k: float(r[k]) for k in ("ovrl_mos", "sig_mos", "bak_mos", "p808_mos")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--watermarked", action="store_true")
    a = ap.parse_args()
    res = json.load(open(os.path.join(a.dir, "results.json")))
    kinds = ["clone", "stock"] + (["clone.wm"] if a.watermarked else [])
    out = {}
    for row in res["rows"]:
        spk = row["speaker"]
        out[spk] = {}
        for kind in kinds:
            base, _, ext = kind.partition(".")
            files = [os.path.join(a.dir, f"{spk}-{base}-{i}{'.' + ext if ext else ''}.wav")
                     for i in range(len(res["sentences"]))]
            files = [f for f in files if os.path.exists(f)]
            if not files:
                continue
            s = [score(f) for f in files]
            out[spk][kind] = {k: round(float(np.mean([x[k] for x in s])), 3) for k in s[0]}
        print(spk, "  ".join(f"{k}: OVRL {v['ovrl_mos']:.2f} SIG {v['sig_mos']:.2f} BAK {v['bak_mos']:.2f}"
                             for k, v in out[spk].items()))
    json.dump(out, open(os.path.join(a.dir, "dnsmos.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
