"""Write numeric test fixtures as safetensors files with an independent writer (struct + json,
no strand code, no safetensors package). Every fixture records in __metadata__ the script that
made it, the seed and a free-form description, so the C test can print where it came from.

    from fixture import save
    save("tests/data/layers/linear.safetensors", {"x": x, "w": w, "out": out},
         script=__file__, seed=0, desc="linear forward/backward, B=2 L=3 C=4 OC=5")
"""
import json
import os
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("float16"): "F16",
           np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("int8"): "I8",
           np.dtype("uint8"): "U8"}


def save(path, tensors, script="", seed=None, desc="", extra_meta=None):
    """tensors: name -> numpy array or torch tensor (converted, made contiguous, little-endian)."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        if hasattr(arr, "detach"):
            arr = arr.detach().cpu().numpy()
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    meta = {"generator": os.path.basename(script) if script else "", "description": desc}
    if seed is not None:
        meta["seed"] = str(seed)
    for k, v in (extra_meta or {}).items():
        meta[k] = str(v)
    header["__metadata__"] = meta
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # pad so data starts 8-aligned
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
