#!/usr/bin/env python3
"""Reference outputs of Kokoro-82M (int8 ONNX, onnxruntime CPU) for voxreel's parity test.

    scripts/kokoro-reference.py [--model-dir $VOXREEL_HOME/models/kokoro] [--out core/tests/data/kokoro]
                                [--bench [--bench-inputs FILE]]
                                [--cases-in FILE --cases-out NAME --wav-prefix PREFIX]

Needs onnxruntime, onnx, numpy (e.g. /var/tmp/kokoro-venv) and espeak-ng on PATH. Uses the
joined ONNX that scripts/fetch-kokoro.sh keeps in <model-dir>/download/ and the converted
voices.safetensors / vocab.json beside it.

For each sentence: IPA from `espeak-ng -q --ipa -v en-us` (punctuation re-inserted, with
kokoro-onnx's substitutions r→ɹ, ʲ→j, x→k, ɬ→l), token ids through vocab.json, style =
af_heart row len(tokens). The graph gets extra outputs (per-token durations after rounding,
the F0 and energy curves) so that the test can compare more than audio. Writes cases.json
and case-NN.wav (16-bit PCM, 24 kHz).

--cases-in FILE takes the cases (text, phonemes, token ids, voice) from FILE instead of
phonemizing SENTENCES with espeak-ng: the Mandarin cases come from voxreel's own front end
(`cargo run --release -p voxreel-benches --bin kokoro-tokens -- --lang zh --voice zf_xiaoxiao
TEXT…`), written to <out>/cases-zh.json and case-zh-NN.wav with
`--cases-out cases-zh.json --wav-prefix case-zh-`.

--bench times onnxruntime on the token sequences of <out>/cases.json (the same input as
benches/src/bin/kokoro-bench.rs) instead; prints, writes nothing. --bench-inputs FILE times it
on the inputs kokoro-bench writes with --write-inputs (groups of per-sentence token sequences:
an English and a Mandarin paragraph), one real-time factor per group.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import wave

import numpy as np
import onnx
import onnxruntime as ort

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you today?",
    "She sells seashells by the seashore.",
    "Rust makes systems programming safer.",
    "Turn left at the next corner, then stop.",
    "Numbers like seven and twelve are easy.",
    "Could you please call me back tomorrow?",
    "A bright morning light filled the room.",
]

EXTRA_OUTPUTS = {
    "durations": "/encoder/Cast_output_0",
    "f0": "/encoder/Reshape_output_0",
    "energy": "/encoder/Reshape_1_output_0",
}


def phonemize(text):
    """espeak-ng IPA with punctuation kept (espeak drops it) and kokoro-onnx's substitutions."""
    out = []
    for piece in re.findall(r"[^,.!?;:]+|[,.!?;:]", text):
        if piece in ",.!?;:":
            out.append(piece)
            continue
        if not piece.strip():
            continue
        ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", piece.strip()],
                             capture_output=True, text=True, check=True).stdout
        ipa = " ".join(ipa.split())
        if out:
            out.append(" ")
        out.append(ipa)
    s = "".join(out)
    for a, b in (("r", "ɹ"), ("ʲ", "j"), ("x", "k"), ("ɬ", "l")):
        s = s.replace(a, b)
    return s


def load_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return out


def session(onnx_path, extra):
    m = onnx.load(onnx_path)
    if extra:
        for name in EXTRA_OUTPUTS.values():
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])


def main():
    home = os.environ.get("VOXREEL_HOME", os.path.expanduser("~/.cache/voxreel"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default=os.path.join(home, "models", "kokoro"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "core", "tests", "data", "kokoro"))
    ap.add_argument("--voice", default="af_heart")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--bench-inputs")
    ap.add_argument("--cases-in")
    ap.add_argument("--cases-out", default="cases.json")
    ap.add_argument("--wav-prefix", default="case-")
    args = ap.parse_args()

    onnx_path = os.path.join(args.model_dir, "download", "kokoro-v1.0.int8.onnx")
    with open(os.path.join(args.model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    voices = load_safetensors(os.path.join(args.model_dir, "voices.safetensors"))
    table = voices[args.voice]

    def tokens_of(text):
        ph = phonemize(text)
        return ph, [vocab[c] for c in ph if c in vocab]

    if args.bench and args.bench_inputs:
        sess = session(onnx_path, extra=False)
        with open(args.bench_inputs, encoding="utf-8") as f:
            groups = json.load(f)["groups"]
        print(f"onnxruntime {ort.__version__} ({os.cpu_count()} CPUs), one call per sentence, median of 3 runs:")
        for g in groups:
            table_g = voices[g["voice"]]
            feeds = [{"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                      "style": table_g[min(len(ids), 509)][None, :].astype(np.float32),
                      "speed": np.array([1.0], dtype=np.float32)} for ids in g["tokens"]]
            sess.run(None, feeds[0])  # warm-up
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                samples = sum(sess.run(None, f)[0].size for f in feeds)
                times.append(time.perf_counter() - t0)
            dt = sorted(times)[1]
            audio_s = samples / 24000
            print(f"  {g['name']}: {audio_s:.1f} s of audio in {dt:.2f} s, real-time factor {dt / audio_s:.3f}")
        return

    if args.bench:
        sess = session(onnx_path, extra=False)
        # one call per sentence, as a pipeline would
        with open(os.path.join(args.out, "cases.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        feeds = []
        for c in cases:
            ids = c["tokens"]
            feeds.append({"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                          "style": table[min(len(ids), 509)][None, :].astype(np.float32),
                          "speed": np.array([1.0], dtype=np.float32)})
        sess.run(None, feeds[0])  # warm-up
        runs = 3
        t0 = time.perf_counter()
        for _ in range(runs):
            samples = sum(sess.run(None, f)[0].size for f in feeds)
        dt = (time.perf_counter() - t0) / runs
        audio_s = samples / 24000
        print(f"onnxruntime {ort.__version__} ({os.cpu_count()} CPUs): {audio_s:.1f} s of audio in {dt:.2f} s, "
              f"real-time factor {dt / audio_s:.3f}")
        return

    sess = session(onnx_path, extra=True)
    os.makedirs(args.out, exist_ok=True)
    if args.cases_in:
        with open(args.cases_in, encoding="utf-8") as f:
            given = [(c["text"], c["phonemes"], [int(t) for t in c["tokens"]], c["voice"])
                     for c in json.load(f)["cases"]]
    else:
        given = [(text, *tokens_of(text), args.voice) for text in SENTENCES]
    cases = []
    for i, (text, ph, ids, voice) in enumerate(given):
        style = voices[voice][min(len(ids), 509)][None, :].astype(np.float32)
        feed = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64), "style": style,
                "speed": np.array([1.0], dtype=np.float32)}
        audio, dur, f0, energy = sess.run(["audio", *EXTRA_OUTPUTS.values()], feed)
        audio = audio.reshape(-1)
        wav = f"{args.wav_prefix}{i:02}.wav"
        pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
        with wave.open(os.path.join(args.out, wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(24000)
            w.writeframes(pcm.tobytes())
        cases.append({
            "text": text, "phonemes": ph, "tokens": [int(t) for t in ids], "voice": voice,
            "style_row": min(len(ids), 509), "speed": 1.0,
            "durations": [int(d) for d in dur.reshape(-1)],
            "f0": [round(float(v), 2) for v in f0.reshape(-1)],
            "energy": [round(float(v), 3) for v in energy.reshape(-1)],
            "samples": int(audio.size), "wav": wav,
        })
        print(f"{wav}: {len(ids)} tokens, {audio.size / 24000:.2f} s  {ph}", file=sys.stderr)
    with open(os.path.join(args.out, args.cases_out), "w", encoding="utf-8") as f:
        json.dump({"model": "kokoro-v1.0.int8.onnx", "onnxruntime": ort.__version__,
                   "sample_rate": 24000, "cases": cases}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
