"""Read safetensors files written by strand (sft_writer_write) with an independent reader
(struct + json + numpy, optionally the `safetensors` package when installed) and check the layout:

    /usr/bin/python3 tests/reference/check_strand_safetensors.py FILE [FILE.zst ...]

Checks: 8-byte little-endian header length; JSON header padded with spaces so the data starts
8-byte aligned; tensors stored back to back in header order (the order they were added) from
offset 0 to the end of the file; sizes = dtype x shape; __metadata__ all strings. Prints every
tensor with a few decoded values. Exit status 1 on the first problem. Not needed by the C tests
(CI has no numpy guarantee); run it by hand after changing core/safetensors.c.
"""
import json
import struct
import subprocess
import sys

import numpy as np

DT = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
      "U8": "u1", "BOOL": "u1", "BF16": "<u2"}


def load(path):
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-q", "-d", "-c", path], check=True, stdout=subprocess.PIPE).stdout
    with open(path, "rb") as f:
        return f.read()


def check(path):
    b = load(path)
    assert len(b) >= 8, "shorter than 8 bytes"
    (n,) = struct.unpack("<Q", b[:8])
    assert 8 + n <= len(b), f"header length {n} past the end ({len(b)} bytes)"
    raw = b[8:8 + n]
    assert (8 + n) % 8 == 0, f"data section starts at {8 + n}, not 8-aligned"
    body = raw.rstrip(b" ")
    assert len(raw) - len(body) < 8 and body.endswith(b"}"), "header padding is not 0..7 spaces"
    hdr = json.loads(body, object_pairs_hook=lambda kv: dict(kv) if len(set(k for k, _ in kv)) == len(kv)
                     else (_ for _ in ()).throw(ValueError("duplicate key")))
    data = b[8 + n:]
    meta = hdr.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "__metadata__ values must be strings"
    off = 0
    for name, e in hdr.items():
        dt = np.dtype(DT[e["dtype"]])
        begin, end = e["data_offsets"]
        assert begin == off, f"{name}: begins at {begin}, expected {off} (order added, back to back)"
        numel = int(np.prod(e["shape"], dtype=np.int64)) if e["shape"] else 1
        assert end - begin == numel * dt.itemsize, f"{name}: {end - begin} bytes for shape {e['shape']}"
        arr = np.frombuffer(data[begin:end], dtype=dt).reshape(e["shape"])
        if e["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        print(f"  {name:30s} {e['dtype']:5s} {str(e['shape']):16s} {arr.ravel()[:4]}")
        off = end
    assert off == len(data), f"data section is {len(data)} bytes, tensors cover {off}"
    for k, v in meta.items():
        print(f"  meta {k} = {v[:60]!r}")
    try:
        from safetensors.numpy import load as st_load  # optional second opinion
        if not path.endswith(".zst"):
            st = st_load(b)
            for name in hdr:
                if hdr[name]["dtype"] != "BF16":
                    assert np.array_equal(st[name], np.frombuffer(
                        data[hdr[name]["data_offsets"][0]:hdr[name]["data_offsets"][1]],
                        dtype=DT[hdr[name]["dtype"]]).reshape(hdr[name]["shape"]), equal_nan=True), name
            print("  safetensors package agrees")
    except ImportError:
        pass


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 0
    for p in sys.argv[1:]:
        print(p)
        try:
            check(p)
        except (AssertionError, ValueError, KeyError) as e:
            print(f"{p}: FAIL: {e}")
            return 1
    print("all ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
