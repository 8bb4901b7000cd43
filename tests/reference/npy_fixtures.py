"""Fixtures for tests/test_npy.c: small .npy files written by numpy itself (np.save and
np.lib.format.write_array for version 2.0), the same arrays in expected.safetensors (written by
fixture.py, an independent writer), and files strand must refuse (Fortran order, big-endian,
unsupported dtype).

    /usr/bin/python3 tests/reference/npy_fixtures.py   # writes tests/data/npy/
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

SEED = 5
rng = np.random.default_rng(SEED)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "npy")
os.makedirs(out, exist_ok=True)

good = {
    "f32_2x3": rng.standard_normal((2, 3)).astype(np.float32),
    "f64_5": rng.standard_normal(5),
    "i64_2x2x3": rng.integers(-2**40, 2**40, size=(2, 2, 3), dtype=np.int64),
    "i32_scalar": np.array(rng.integers(-1000, 1000), dtype=np.int32),
    "i32_0x3": np.zeros((0, 3), dtype=np.int32),
    "i64_ids_3x7": rng.integers(0, 16, size=(3, 7), dtype=np.int64),
}
for name, a in good.items():
    np.save(os.path.join(out, name + ".npy"), a)
with open(os.path.join(out, "f32_v2_4x2.npy"), "wb") as f:
    a = rng.standard_normal((4, 2)).astype(np.float32)
    np.lib.format.write_array(f, a, version=(2, 0))
    good["f32_v2_4x2"] = a
np.save(os.path.join(out, "bad_fortran.npy"), np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)))
np.save(os.path.join(out, "bad_bigendian.npy"), rng.standard_normal(4).astype(">f4"))
np.save(os.path.join(out, "bad_complex.npy"), rng.standard_normal(3).astype(np.complex64))
np.save(os.path.join(out, "bad_uint8.npy"), np.arange(5, dtype=np.uint8))
# expected values; a 0-d array is stored with shape [1], an empty one as a length-1 marker of its shape
exp = {k: (v.reshape(1) if v.ndim == 0 else v) for k, v in good.items() if v.size > 0}
save(os.path.join(out, "expected.safetensors"), exp, script=__file__, seed=SEED,
     desc="arrays of the good .npy files in this folder", extra_meta={"numpy": np.__version__})
print("wrote", sorted(os.listdir(out)))
