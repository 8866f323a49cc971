"""Resemblyzer's side of benches/ge2e-bench: embed a WAV (preprocess_wav + embed_utterance)."""
import json
import sys
import time

import numpy as np
import soundfile as sf
import torch
from resemblyzer import VoiceEncoder, preprocess_wav

wav, sr = sf.read(sys.argv[1], dtype="float32")
runs = int(sys.argv[2])
t = time.perf_counter()
enc = VoiceEncoder("cpu", verbose=False)
load_s = time.perf_counter() - t
enc.embed_utterance(preprocess_wav(wav, source_sr=sr))  # warm-up
times = []
for _ in range(runs):
    t = time.perf_counter()
    e = enc.embed_utterance(preprocess_wav(wav, source_sr=sr))
    times.append(time.perf_counter() - t)
print(json.dumps({"load_s": load_s, "embed_s": float(np.median(times)), "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "embedding": [float(x) for x in e]}))
