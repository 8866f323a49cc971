#!/usr/bin/env python3
"""Convert the Kokoro-82M int8 ONNX export into f32 safetensors with PyTorch-style names.

    convert.py --onnx kokoro-v1.0.int8.onnx --voices-dir package/voices \
               --vocab vocab.json --out DIR

Writes DIR/kokoro-v1.0.safetensors (every weight dequantised to float32 as
(q - zero_point) * scale; weight norm is already folded in the export),
DIR/voices.safetensors (one [510, 256] float32 tensor per voice) and
DIR/vocab.json (phoneme -> token id).

Names follow hexgrad's KModel modules: bert.*, bert_encoder.*, predictor.*,
text_encoder.*, decoder.*. Linear weights are [out, in], Conv1d [out, in/groups, k],
ConvTranspose1d [in, out/groups, k], LSTMs use PyTorch's gate order (i, f, g, o)
with weight_ih_l0 / weight_hh_l0 / bias_ih_l0 / bias_hh_l0 and *_reverse.

Needs only `onnx` and `numpy` (safetensors is written by hand: an 8-byte header
length, a JSON header, then the raw little-endian data).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def save_safetensors(path, tensors, metadata=None):
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def torch_name_from_init(name):
    """`encoder.predictor.F0.0.conv1.bias` -> `predictor.F0.0.conv1.bias`."""
    if name.startswith("decoder.decoder."):
        return "decoder." + name[len("decoder.decoder."):]
    if name.startswith("encoder."):
        return name[len("encoder."):]
    raise ValueError(name)


# 2: ConvInteger weights also carry `weight_scale` and `weight_zero_point`.
# 3: MatMulInteger weights (int8, zero point 0) carry per-output `weight_scale`.
FORMAT_VERSION = 3

ALBERT_LINEARS = ("query", "key", "value", "dense", "ffn", "ffn_output")


def module_from_node(node_name):
    """`/encoder/F0.0/conv1/Conv_quant` -> `predictor.F0.0.conv1`."""
    parts = node_name.strip("/").split("/")[:-1]
    # `cnn.0/cnn.0.0` (a Sequential inside a ModuleList) -> `cnn.0.0`
    fixed = []
    for p in parts:
        if fixed and p.startswith(fixed[-1] + "."):
            fixed[-1] = p
        else:
            fixed.append(p)
    # `query_1` (second use of a shared ALBERT layer) -> `query`
    # `query_3` (a later use of the shared ALBERT layer) -> `query`
    fixed = [p.rsplit("_", 1)[0] if p.rsplit("_", 1)[0] in ALBERT_LINEARS and p.rsplit("_", 1)[-1].isdigit() else p
             for p in fixed]
    s = ".".join(fixed)
    if s.startswith("decoder.decoder."):
        return "decoder." + s[len("decoder.decoder."):]
    for top in ("bert.", "bert_encoder", "predictor.", "text_encoder."):
        if s.startswith("encoder." + top):
            return s[len("encoder."):]
    if s.startswith("encoder."):
        return "predictor." + s[len("encoder."):]
    raise ValueError(node_name)


def lstm_gates_to_torch(w, hidden):
    """ONNX gate blocks (i, o, f, c) along axis 0 -> PyTorch (i, f, g=c, o)."""
    i, o, f, c = (w[k * hidden:(k + 1) * hidden] for k in range(4))
    return np.concatenate([i, f, c, o], axis=0)


def convert_model(onnx_path):
    m = onnx.load(onnx_path)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes_by_name = {n.name: n for n in g.node}
    out = {}

    def put(name, arr):
        arr = np.asarray(arr, dtype=np.float32)
        if name in out:
            if out[name].shape != arr.shape or not np.array_equal(out[name], arr):
                raise ValueError(f"conflicting values for {name}")
            return
        out[name] = arr

    def deq(q, zp, scale, axis=None):
        q = q.astype(np.float32)
        zp = np.asarray(zp).astype(np.float32)
        scale = np.asarray(scale, dtype=np.float32)
        if axis is not None and zp.ndim == 1:
            shape = [1] * q.ndim
            shape[axis] = -1
            zp = zp.reshape(shape)
            scale = scale.reshape(shape)
        return (q - zp) * scale

    for n in g.node:
        if n.op_type == "MatMulInteger" and n.input[1] in inits:
            bname = n.input[1]
            mul = nodes_by_name[n.name + "_scales_mul"]
            scale = [inits[x] for x in mul.input if x in inits]
            assert len(scale) == 1, n.name
            w = deq(inits[bname], inits[n.input[3]], scale[0], axis=1)  # [in, out]
            if bname.endswith(".weight_quantized"):
                name = torch_name_from_init(bname[: -len("_quantized")])
            else:
                name = module_from_node(n.name) + ".weight"
            put(name, w.T)
            # int8 weights with zero point 0 and one scale per output column
            if np.all(np.asarray(inits[n.input[3]]) == 0):
                cols = w.shape[1]
                put(name + "_scale", np.broadcast_to(np.asarray(scale[0], dtype=np.float32).reshape(-1), (cols,)))
        elif n.op_type == "ConvInteger" and n.input[1] in inits:
            wname = n.input[1]
            sname = wname[: -len("_quantized")] + "_scale"
            w = deq(inits[wname], inits[n.input[3]], inits[sname])
            mod = module_from_node(n.name)
            put(mod + ".weight", w)
            # the integer grid, so the engine can run the same integer convolution and
            # quantise the bias the way the export does (floor(bias / (x_scale * w_scale)))
            put(mod + ".weight_scale", np.asarray(inits[sname], dtype=np.float32).reshape(1))
            put(mod + ".weight_zero_point", np.asarray(inits[n.input[3]], dtype=np.float32).reshape(1))
        elif n.op_type == "DynamicQuantizeLSTM":
            mod = module_from_node(n.name)
            hidden = [a.i for a in n.attribute if a.name == "hidden_size"][0]
            W = deq(inits[n.input[1]], inits[n.input[9]], inits[n.input[8]], axis=0)  # [2, in, 4H]
            R = deq(inits[n.input[2]], inits[n.input[11]], inits[n.input[10]], axis=0)  # [2, H, 4H]
            B = inits[n.input[3]]  # [2, 8H]
            for d, suffix in enumerate(("", "_reverse")):
                put(f"{mod}.weight_ih_l0{suffix}", lstm_gates_to_torch(W[d].T, hidden))
                put(f"{mod}.weight_hh_l0{suffix}", lstm_gates_to_torch(R[d].T, hidden))
                put(f"{mod}.bias_ih_l0{suffix}", lstm_gates_to_torch(B[d][: 4 * hidden], hidden))
                put(f"{mod}.bias_hh_l0{suffix}", lstm_gates_to_torch(B[d][4 * hidden:], hidden))
        elif n.op_type == "Gather" and n.input[0].endswith(".weight_quantized"):
            # quantised embedding tables: Gather rows, then DequantizeLinear (per-tensor)
            base = n.input[0][: -len("_quantized")]
            dq = nodes_by_name[n.name + "_DequantizeLinear"]
            w = deq(inits[n.input[0]], inits[dq.input[2]], inits[dq.input[1]])
            put(torch_name_from_init(base), w)
        elif n.op_type in ("Conv", "ConvTranspose") and n.input[1] in inits:
            mod = module_from_node(n.name)
            if ".istft." in mod:  # the export's iSTFT basis; we compute the iSTFT ourselves
                continue
            put(mod + ".weight", inits[n.input[1]])
        elif n.op_type == "MatMul" and n.input[1] in inits:
            # the only float MatMul with a constant: the harmonic merge (9 -> 1)
            put(module_from_node(n.name) + ".weight", inits[n.input[1]].T)

    skip_suffix = ("_quantized", "_scale", "_zero_point", "_reshape_shape")
    for name, a in inits.items():
        if name.startswith("/") or name.startswith("onnx::") or "." not in name:
            continue
        if name.endswith(skip_suffix) or a.dtype != np.float32:
            continue
        if ".stft." in name:  # the export's iSTFT basis; we compute the iSTFT ourselves
            continue
        put(torch_name_from_init(name), a)
    return out


def convert_voices(voices_dir):
    voices = {}
    for f in sorted(os.listdir(voices_dir)):
        if not f.endswith(".bin"):
            continue
        a = np.fromfile(os.path.join(voices_dir, f), dtype="<f4")
        if a.size != 510 * 256:
            raise ValueError(f"{f}: {a.size} floats, expected 510*256")
        voices[f[:-4]] = a.reshape(510, 256)
    return voices


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--voices-dir", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    weights = convert_model(args.onnx)
    n_params = sum(a.size for a in weights.values())
    save_safetensors(os.path.join(args.out, "kokoro-v1.0.safetensors"), weights,
                     {"source": "kokoro-v1.0.int8.onnx", "dequantised": "float32 = (q - zero_point) * scale",
                      "format": str(FORMAT_VERSION)})
    voices = convert_voices(args.voices_dir)
    save_safetensors(os.path.join(args.out, "voices.safetensors"), voices)
    with open(args.vocab, encoding="utf-8") as f:
        vocab = json.load(f)
    vocab = vocab.get("vocab", vocab)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0, sort_keys=True)
    with open(os.path.join(args.out, "FORMAT"), "w") as f:
        f.write(f"{FORMAT_VERSION}\n")
    print(f"{len(weights)} tensors, {n_params} parameters; {len(voices)} voices; {len(vocab)} symbols -> {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
