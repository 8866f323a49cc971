#!/usr/bin/env python3
"""Intelligibility of Kokoro output: pocketsphinx word error rate against the reference texts.

    scripts/kokoro-asr.py --wav-dir DIR [--cases core/tests/data/kokoro/cases.json]

For every case in cases.json (made by scripts/kokoro-reference.py) transcribes DIR/<case's
"wav" name> with PyPI pocketsphinx (5.1.1, its bundled en-us acoustic model, language model
and dictionary, default settings) and scores it against the case's "text". Run it once on
the committed onnxruntime WAVs (DIR = core/tests/data/kokoro) and once on a folder of our
engine's WAVs written under the same names; core/tests/kokoro.rs does both.

Needs the venv that scripts/fetch-asr.sh makes ($VOXREEL_HOME/venvs/asr: pocketsphinx, numpy).

Audio: 16-bit PCM WAV, any rate, channels averaged; resampled to 16 kHz (windowed-sinc,
Kaiser window, cut-off 7.6 kHz, above the acoustic model's 6.855 kHz top filter) and fed as
16-bit mono as the en-us model expects.

WER: word-level Levenshtein distance (substitutions + deletions + insertions) over the
number of reference words. Both sides are lowercased; punctuation is dropped, apostrophes
inside words kept ("you're"). pocketsphinx only ever writes words, so a reference containing
digits is refused (spell numbers out in the reference, as the cases do).

Prints one JSON object: per file the reference, the hypothesis, words, errors and WER (%),
and the corpus WER (all errors over all reference words, %). Exit 2: bad input (missing or
unreadable WAV, digits in a reference); 3: pocketsphinx or numpy not importable.
"""
import argparse
import json
import math
import os
import re
import sys
import wave

TARGET_RATE = 16000
CUTOFF_HZ = 7600.0
HALF_TAPS = 32  # input samples each side of an output instant
KAISER_BETA = 8.6


class AsrInputError(Exception):
    """A case or WAV file that cannot be scored (exit 2)."""


def normalise(text):
    """Lowercase words, punctuation dropped, inner apostrophes kept."""
    text = text.lower().replace("\u2019", "'")
    if re.search(r"[0-9]", text):
        raise AsrInputError(f"digits in {text!r}: spell numbers out, pocketsphinx only writes words")
    return re.findall(r"[a-z]+(?:'[a-z]+)*", text)


def edit_distance(ref, hyp):
    """Word-level Levenshtein distance (substitution, deletion, insertion each cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def read_wav(path):
    """(float64 mono samples in [-1, 1], rate) of a 16-bit PCM WAV."""
    import numpy as np

    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
                raise AsrInputError(f"{path}: not 16-bit PCM")
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (OSError, EOFError, wave.Error) as e:
        raise AsrInputError(f"{path}: {e}") from e
    x = pcm.astype(np.float64).reshape(-1, channels).mean(axis=1) / 32768.0
    return x, rate


def resample(x, rate, target=TARGET_RATE):
    """Band-limited resampling by windowed-sinc interpolation at each output instant."""
    import numpy as np

    if rate == target:
        return x
    n_out = int(math.floor(len(x) * target / rate))
    fc = min(CUTOFF_HZ, 0.5 * min(rate, target)) / rate  # cycles per input sample
    k = np.arange(-HALF_TAPS + 1, HALF_TAPS + 1)
    out = np.empty(n_out)
    chunk = 8192
    for s in range(0, n_out, chunk):
        t = np.arange(s, min(s + chunk, n_out)) * (rate / target)  # in input samples
        base = np.floor(t).astype(np.int64)
        idx = base[:, None] + k[None, :]
        d = t[:, None] - idx  # distance from each tap, in input samples
        # the Kaiser window evaluated at continuous offsets d in (-HALF_TAPS, HALF_TAPS)
        arg = np.clip(1.0 - (d / HALF_TAPS) ** 2, 0.0, 1.0)
        w = np.i0(KAISER_BETA * np.sqrt(arg)) / np.i0(KAISER_BETA)
        h = 2 * fc * np.sinc(2 * fc * d) * w
        valid = (idx >= 0) & (idx < len(x))
        taps = np.where(valid, x[np.clip(idx, 0, len(x) - 1)], 0.0)
        out[s:s + len(t)] = (taps * h).sum(axis=1)
    return out


def to_pcm16(x):
    import numpy as np

    return np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=os.path.join(here, "..", "core", "tests", "data", "kokoro", "cases.json"))
    ap.add_argument("--wav-dir", required=True, help="folder holding each case's WAV under its cases.json name")
    args = ap.parse_args()

    try:
        import numpy  # noqa: F401
        from importlib.metadata import version
        from pocketsphinx import Decoder
    except ImportError as e:
        print(f"kokoro-asr: {e}; run scripts/fetch-asr.sh and use $VOXREEL_HOME/venvs/asr/bin/python",
              file=sys.stderr)
        return 3

    try:
        with open(args.cases, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
    except (OSError, ValueError, KeyError) as e:
        print(f"kokoro-asr: {args.cases}: {e}", file=sys.stderr)
        return 2

    decoder = Decoder(loglevel="FATAL")
    files = []
    total_words = total_errors = 0
    try:
        for c in cases:
            ref = normalise(c["text"])
            if not ref:
                raise AsrInputError(f"case {c['wav']}: reference text {c['text']!r} has no words")
            path = os.path.join(args.wav_dir, c["wav"])
            x, rate = read_wav(path)
            decoder.start_utt()
            decoder.process_raw(to_pcm16(resample(x, rate)), full_utt=True)
            decoder.end_utt()
            hyp_text = decoder.hyp().hypstr if decoder.hyp() is not None else ""
            hyp = normalise(hyp_text)
            errors = edit_distance(ref, hyp)
            total_words += len(ref)
            total_errors += errors
            files.append({"wav": c["wav"], "reference": " ".join(ref), "hypothesis": " ".join(hyp),
                          "words": len(ref), "errors": errors,
                          "wer_percent": round(100.0 * errors / len(ref), 2)})
    except AsrInputError as e:
        print(f"kokoro-asr: {e}", file=sys.stderr)
        return 2

    json.dump({"asr": f"pocketsphinx {version('pocketsphinx')} en-us (bundled model)",
               "wav_dir": args.wav_dir, "files": files, "words": total_words, "errors": total_errors,
               "wer_percent": round(100.0 * total_errors / max(total_words, 1), 2)},
              sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
