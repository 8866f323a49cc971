#!/usr/bin/env python3
"""Converts Resemblyzer's pretrained.pt (legacy torch serialisation) to safetensors.

Dev-only, standard library only (no torch, no numpy):

    pip download --no-deps resemblyzer==0.1.4 && unzip Resemblyzer-0.1.4-py3-none-any.whl
    python3 models/ge2e/convert.py resemblyzer/pretrained.pt models/ge2e/ge2e.safetensors

Keeps only `model_state` (the LSTM and linear weights, float32); the optimiser state in the
checkpoint is dropped. Tensor names are PyTorch's (`lstm.weight_ih_l0`, `linear.bias`, ...).
"""
import json
import pickle
import struct
import sys

MAGIC = 0x1950A86A20F9469CFC6C


class Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel, self.data = dtype, key, numel, None


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor_v2(storage, offset, size, stride, *_):
    return Tensor(storage, offset, size, stride)


class StorageType:
    def __init__(self, name):
        self.name = name


class Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        # Anything else (optimiser internals) becomes an inert placeholder.
        return lambda *a, **k: None

    def persistent_load(self, pid):
        typename, dtype, key, _location, numel, _view = pid
        assert typename == "storage", pid
        if key not in self.storages:
            self.storages[key] = Storage(dtype.name, key, numel)
        return self.storages[key]


def load_legacy(path):
    with open(path, "rb") as f:
        assert pickle.load(f) == MAGIC, "not a legacy torch file"
        assert pickle.load(f) == 1001, "unknown protocol version"
        sys_info = pickle.load(f)
        assert sys_info.get("little_endian", True)
        storages = {}
        obj = Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            s = storages[key]
            size = {"FloatStorage": 4, "LongStorage": 8, "IntStorage": 4, "DoubleStorage": 8}[s.dtype]
            s.data = f.read(numel * size)
    return obj


def tensor_bytes(t):
    assert t.storage.dtype == "FloatStorage", t.storage.dtype
    n = 1
    for d in t.size:
        n *= d
    # Contiguous row-major tensors only (true for these weights).
    expect = []
    acc = 1
    for d in reversed(t.size):
        expect.insert(0, acc)
        acc *= d
    assert t.stride == tuple(expect) or n == 1, (t.size, t.stride)
    return t.storage.data[t.offset * 4:(t.offset + n) * 4]


def main(src, dst):
    ckpt = load_legacy(src)
    state = ckpt["model_state"]
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        if not isinstance(t, Tensor):
            continue
        b = tensor_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.size), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"source": "resemblyzer 0.1.4 pretrained.pt", "licence": "Apache-2.0"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    for name, v in header.items():
        if name != "__metadata__":
            print(name, v["shape"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
