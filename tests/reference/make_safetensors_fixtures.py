"""Fixtures for tests/test_safetensors.c (core/safetensors.c, `strand inspect`).

Run with Debian's python3 (numpy + struct + json only; the `zstd` CLI for the .zst copies):

    /usr/bin/python3 tests/reference/make_safetensors_fixtures.py

Writes tests/data/safetensors/:
  good_mixed.safetensors       every dtype, 0-d and empty tensors, IEEE specials, metadata. Each
                               tensor NAME has a companion NAME.expected holding what the reader must
                               return: F32 (decoded by numpy) for float dtypes, I64 for integer ones.
  good_mixed.safetensors.zst   the same bytes compressed by the zstd CLI from stdin (frame content
                               size NOT recorded: exercises streaming decompression)
  good_mixed_fcs.safetensors.zst  compressed from the file (content size recorded in the frame)
  good_mixed_2frames.safetensors.zst  the same bytes as two concatenated zstd frames
  good_fixturepy.safetensors   written by tests/reference/fixture.py's save(): the C writer must
                               reproduce it byte for byte from what the C reader returns
  good_touching.safetensors    two U8 tensors that touch ([4, 8] listed before [0, 4]) and an empty
                               one at the seam: accepted; values 1..8
  good_end_exact.safetensors   one F32 tensor ending exactly at the end of the data section: accepted
  bad_*.safetensors[.zst]      one defect each (see BAD below); test_safetensors.c lists the error
                               code and key words it expects for each.
The data section is built independently of strand (struct/json/numpy), never with strand code.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "safetensors")
SEED = 20261128

sys.path.insert(0, HERE)
from fixture import save  # noqa: E402  (the independent writer other fixtures use)


def pad_header(hjson: bytes) -> bytes:
    return hjson + b" " * ((8 - len(hjson) % 8) % 8)


def raw(path, header, data=b"", hlen=None, pad=True):
    """Write a safetensors file by hand. header: dict (dumped compactly) or bytes (written as is)."""
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h = pad_header(h)
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(struct.pack("<Q", len(h) if hlen is None else hlen))
        f.write(h)
        f.write(data)


def build(tensors, meta):
    """tensors: list of (name, dtype_str, shape, raw_bytes) -> (header dict, data bytes)."""
    header, blobs, off = {}, [], 0
    for name, dt, shape, b in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta is not None:
        header["__metadata__"] = meta
    return header, b"".join(blobs)


def good_mixed(rng):
    t = []

    def add(name, dt, arr_bytes, shape, expected):
        t.append((name, dt, shape, arr_bytes))
        t.append((name + ".expected", "F32" if expected.dtype == np.float32 else "I64", shape,
                  np.ascontiguousarray(expected).astype(expected.dtype.newbyteorder("<")).tobytes()))

    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    add("w_f32", "F32", f32.astype("<f4").tobytes(), f32.shape, f32)

    # F16: random values plus every IEEE class: zeros, subnormals (smallest, largest, odd ones),
    # smallest normal, max, inf, -inf, NaN.
    special = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x0003, 0x02AB, 0x03FF, 0x0400, 0x7BFF,
                        0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x3C00, 0x3555], dtype=np.uint16)
    rnd = rng.integers(0, 0x10000, size=25, dtype=np.uint16)  # any bit pattern, NaNs included
    h = np.concatenate([special, rnd]).view(np.float16).reshape(5, 8)
    add("w_f16", "F16", h.astype("<f2").tobytes(), h.shape, h.astype(np.float32))

    # BF16: numpy has none; the value is the top half of a float32 (decoded by numpy's view).
    bf_src = np.concatenate([rng.standard_normal(9).astype(np.float32),
                             np.array([np.inf, -np.inf, np.nan, 1e-40, -0.0, 3.0e38], np.float32)])
    bf_bits = (bf_src.view(np.uint32) >> 16).astype(np.uint16)
    bf_val = (bf_bits.astype(np.uint32) << 16).view(np.float32)
    add("w_bf16", "BF16", bf_bits.astype("<u2").tobytes(), (3, 5), bf_val)

    # F64: rounding to nearest float32, overflow to inf (the exact halfway point between FLT_MAX
    # and 2^128 rounds to -inf; just below it rounds to FLT_MAX), underflow to 0 and subnormals.
    flt_max = float(np.finfo(np.float32).max)
    d = np.concatenate([rng.standard_normal(6) * 1e3,
                        np.array([1e300, -1e300, 1e-50, 1e-40, flt_max, float.fromhex("0x1.fffffefffffffp127"),
                                  -float.fromhex("0x1.ffffffp127"), np.inf, np.nan, 1 / 3])])
    with np.errstate(over="ignore"):
        d32 = d.astype(np.float32)
    add("w_f64", "F64", d.astype("<f8").tobytes(), (2, 8), d32)

    i64 = np.concatenate([rng.integers(-2 ** 62, 2 ** 62, size=4),
                          np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0])]).astype(np.int64)
    add("ids_i64", "I64", i64.astype("<i8").tobytes(), (8,), i64)
    i32 = rng.integers(-2 ** 31, 2 ** 31, size=(2, 3), dtype=np.int64).astype(np.int32)
    i32.flat[0] = np.iinfo(np.int32).min
    add("ids_i32", "I32", i32.astype("<i4").tobytes(), i32.shape, i32.astype(np.int64))
    i16 = rng.integers(-2 ** 15, 2 ** 15, size=4, dtype=np.int64).astype(np.int16)
    add("ids_i16", "I16", i16.astype("<i2").tobytes(), i16.shape, i16.astype(np.int64))
    i8 = np.array([-128, -1, 0, 1, 127], dtype=np.int8)
    add("ids_i8", "I8", i8.tobytes(), i8.shape, i8.astype(np.int64))
    u8 = rng.integers(0, 256, size=(2, 2, 2), dtype=np.int64).astype(np.uint8)
    u8.flat[0] = 255
    add("mask_u8", "U8", u8.tobytes(), u8.shape, u8.astype(np.int64))
    bl = np.array([0, 1, 1, 0, 2], dtype=np.uint8)  # 2: a non-canonical true byte reads as 1
    add("flags_bool", "BOOL", bl.tobytes(), bl.shape, (bl != 0).astype(np.int64))

    sc = np.array(rng.standard_normal(), dtype=np.float32)
    add("scalar_f32", "F32", sc.astype("<f4").tobytes(), (), sc.reshape(()))
    add("empty_f32", "F32", b"", (0, 3), np.zeros((0, 3), np.float32))
    add("empty_i64", "I64", b"", (4, 0), np.zeros((4, 0), np.int64))

    meta = {"generator": "make_safetensors_fixtures.py", "seed": str(SEED),
            "description": "every dtype, 0-d and empty tensors, IEEE specials",
            "unicode": "h\u00e9lix \u03b1\u2192\u03b2 \U0001F9EC",
            "long_config": json.dumps({"d_model": 128, "n_layer": 4, "vocab": list("ACGTN") * 20})}
    header, data = build(t, meta)
    raw("good_mixed.safetensors", header, data)
    return header, data


def zstd(src, dst, from_stdin):
    with open(dst, "wb") as out:
        if from_stdin:
            with open(src, "rb") as inp:
                subprocess.run(["zstd", "-q", "-3", "-c"], stdin=inp, stdout=out, check=True)
        else:
            subprocess.run(["zstd", "-q", "-3", "-c", src], stdout=out, check=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    header, data = good_mixed(rng)
    g = os.path.join(OUT, "good_mixed.safetensors")
    zstd(g, g + ".zst", from_stdin=True)
    zstd(g, os.path.join(OUT, "good_mixed_fcs.safetensors.zst"), from_stdin=False)
    # two concatenated frames (a valid zstd stream: the decoder must continue after frame 1)
    half = os.path.join(OUT, "tmp_half")
    with open(g, "rb") as f:
        whole = f.read()
    parts = []
    for piece in (whole[:1000], whole[1000:]):
        with open(half, "wb") as f:
            f.write(piece)
        zstd(half, half + ".zst", from_stdin=False)
        with open(half + ".zst", "rb") as f:
            parts.append(f.read())
        os.remove(half)
        os.remove(half + ".zst")
    with open(os.path.join(OUT, "good_mixed_2frames.safetensors.zst"), "wb") as f:
        f.write(b"".join(parts))

    x = rng.standard_normal((2, 3)).astype(np.float32)
    save(os.path.join(OUT, "good_fixturepy.safetensors"),
         {"x": x, "ids": np.arange(-2, 3, dtype=np.int64), "h": x[0].astype(np.float16),
          "b": np.array([1, 2, 250], np.uint8)},
         script=__file__, seed=SEED, desc="byte-identity reference for sft_writer (\"quoted\"\ttab \u00e9)",
         extra_meta={"config": '{"a": 1}'})

    # ---- bad files: one defect each -----------------------------------------------------------
    ok4 = np.arange(4, dtype="<f4").tobytes()  # 16 bytes
    with open(g, "rb") as f:
        good = f.read()
    with open(os.path.join(OUT, "bad_truncated.safetensors"), "wb") as f:
        f.write(good[:-10])  # data section cut: the last tensor runs past the end
    raw("bad_header_past_end.safetensors", b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        b"\0\0\0\0", hlen=1000)
    with open(os.path.join(OUT, "bad_short.safetensors"), "wb") as f:
        f.write(b"\x10\0\0\0\0")
    open(os.path.join(OUT, "bad_empty.safetensors"), "wb").close()
    raw("bad_json.safetensors", b'{"a": {"dtype": "F32",, "shape": [4], "data_offsets": [0, 16]}}', ok4)
    raw("bad_duplicate_key.safetensors",
        b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        b'"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', ok4)
    raw("bad_overlap.safetensors", {"first": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                                    "second": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, ok4)
    # the boundaries of the two bounds checks, one byte either side (issue 19)
    raw("bad_overlap_1byte.safetensors", {"first": {"dtype": "U8", "shape": [5], "data_offsets": [0, 5]},
                                          "second": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}},
        bytes(range(1, 9)))
    raw("good_touching.safetensors", {"second": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]},
                                      "seam": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]},
                                      "first": {"dtype": "U8", "shape": [2, 2], "data_offsets": [0, 4]}},
        bytes(range(1, 9)))
    raw("good_end_exact.safetensors", {"a": {"dtype": "F32", "shape": [3], "data_offsets": [4, 16]},
                                       "b": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}},
        bytes([9, 8, 7, 6]) + np.array([1.5, -2.0, 3.25], "<f4").tobytes())
    raw("bad_offsets_past_end_1byte.safetensors",
        {"b": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
         "a": {"dtype": "F32", "shape": [3], "data_offsets": [5, 17]}},
        bytes([9, 8, 7, 6]) + np.array([1.5, -2.0, 3.25], "<f4").tobytes())
    raw("bad_offsets_past_end.safetensors", {"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, ok4)
    raw("bad_offsets_reversed.safetensors", {"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}, ok4)
    raw("bad_unknown_dtype.safetensors", {"a": {"dtype": "F8_E9M9", "shape": [4], "data_offsets": [0, 4]}}, ok4)
    raw("bad_size_mismatch.safetensors", {"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 40]}},
        bytes(48))
    raw("bad_size_larger.safetensors", {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, ok4)
    raw("bad_negative_shape.safetensors", {"a": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}}, ok4)
    raw("bad_float_shape.safetensors", {"a": {"dtype": "F32", "shape": [2.0, 2], "data_offsets": [0, 16]}}, ok4)
    raw("bad_numel_overflow.safetensors",
        {"a": {"dtype": "F64", "shape": [2 ** 31, 2 ** 31, 4], "data_offsets": [0, 16]}}, ok4)
    raw("bad_missing_offsets.safetensors", {"a": {"dtype": "F32", "shape": [4]}}, ok4)
    raw("bad_entry_not_object.safetensors", {"a": [1, 2, 3]}, ok4)
    raw("bad_header_not_object.safetensors", b"[1, 2, 3]", ok4)
    raw("bad_metadata_nonstring.safetensors",
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "__metadata__": {"n_layer": 4}}, ok4)
    raw("bad_metadata_not_object.safetensors",
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "__metadata__": "v1"}, ok4)
    # .zst defects: a cut stream, and a frame header that declares 2^50 bytes of content
    with open(g + ".zst", "rb") as f:
        z = f.read()
    with open(os.path.join(OUT, "bad_truncated.safetensors.zst"), "wb") as f:
        f.write(z[: len(z) // 2])
    with open(os.path.join(OUT, "bad_huge.safetensors.zst"), "wb") as f:
        # magic, frame header descriptor 0xE0 (8-byte content size, single segment), content size
        f.write(struct.pack("<IBQ", 0xFD2FB528, 0xE0, 2 ** 50) + bytes(16))
    print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
