#!/usr/bin/env python3
"""Fixtures for voxreel's onnxruntime-exact float kernels (core/src/tts/kokoro/ortexact.rs).

    /var/tmp/kokoro-venv/bin/python scripts/ort-kernels-check.py [--out core/tests/data/ortexact]

Runs single-operator graphs through onnxruntime (CPU) on seeded random inputs shaped like
Kokoro's phoneme BERT and writes inputs and outputs as little-endian f32 files, which
`cargo test -p voxreel --lib ortexact` compares bit for bit. The committed files were
made with onnxruntime 1.32.0 on an x86-64 CPU with AVX-512F (MLAS picks its kernels by CPU,
so regenerate them on such a machine). Needs onnxruntime, onnx and numpy.
"""
import argparse
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper as H

f32 = np.float32


def run(nodes, inputs, inits=()):
    g = H.make_graph(
        nodes, "g",
        [H.make_tensor_value_info(n, TP.FLOAT, a.shape) for n, a in inputs],
        [H.make_tensor_value_info("y", TP.FLOAT, None)],
        [onnx.numpy_helper.from_array(np.asarray(a), n) for n, a in inits])
    m = H.make_model(g, opset_imports=[H.make_opsetid("", 17), H.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, dict(inputs))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="core/tests/data/ortexact")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(2026)
    files = {}
    # MatMul: attention scores [T,64]x[64,T] and context [T,T]x[T,64] (K ≤ 256: one block)
    for name, (m, k, n) in {"mm_qk": (37, 64, 37), "mm_ctx": (50, 200, 64)}.items():
        a = rng.standard_normal((m, k)).astype(f32)
        b = rng.standard_normal((k, n)).astype(f32)
        files[name + "_a"], files[name + "_b"] = a, b
        files[name + "_y"] = run([H.make_node("MatMul", ["a", "b"], ["y"])], [("a", a), ("b", b)])
    x = (rng.standard_normal((6, 37)) * 4).astype(f32)
    x[0, 3] = -200.0  # far below the exp range
    files["softmax_x"] = x
    files["softmax_y"] = run([H.make_node("Softmax", ["x"], ["y"], axis=-1)], [("x", x)])
    g = (rng.random(768) + 0.5).astype(f32)
    b = (rng.standard_normal(768) * 0.1).astype(f32)
    x = (rng.standard_normal((5, 768)) * 2 + 0.3).astype(f32)
    s = rng.standard_normal((5, 768)).astype(f32)
    files["ln_g"], files["ln_b"], files["ln_x"], files["ln_s"] = g, b, x, s
    files["ln_y"] = run([H.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1, epsilon=1e-12)],
                        [("x", x)], [("g", g), ("b", b)])
    files["skipln_y"] = run([H.make_node("SkipLayerNormalization", ["x", "s", "g", "b"], ["y"],
                                         domain="com.microsoft", epsilon=1e-12)],
                            [("x", x), ("s", s)], [("g", g), ("b", b)])
    x = (rng.standard_normal((3, 2048)) * 3).astype(f32)
    bias = rng.standard_normal(2048).astype(f32)
    files["gelu_x"], files["gelu_bias"] = x, bias
    files["gelu_y"] = run([H.make_node("FastGelu", ["x", "b"], ["y"], domain="com.microsoft")],
                          [("x", x)], [("b", bias)])
    # Harmonic source (decoder): MatMul [t,9]x[9,1] + bias, Tanh; zero (unvoiced) stretches
    t = 1203
    sines = (rng.standard_normal((t, 9)) * 0.1).astype(f32)
    sines[300:700] = 0.0
    w9 = (rng.standard_normal((9, 1)) * 0.3).astype(f32)
    b1 = np.array([-0.02945026], f32)
    files["src_sines"], files["src_w"], files["src_b"] = sines, w9, b1
    files["src_y"] = run([H.make_node("MatMul", ["x", "w"], ["m"]), H.make_node("Add", ["m", "b"], ["a"]),
                          H.make_node("Tanh", ["a"], ["y"])], [("x", sines)], [("w", w9), ("b", b1)])
    for name, a in files.items():
        np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(args.out, name + ".f32"))
    print(f"wrote {len(files)} files to {args.out} (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
