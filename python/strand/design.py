"""Design campaigns (docs/design.md): load a campaign file or a preset, plan it, run it, iterate
its results. Everything is done by libstrand's strand_design_* calls; outputs are the CLI's
(`strand design CAMPAIGN -o DIR`), byte for byte.

    c = strand.design.Campaign("design/campaigns/demo.json")
    print(c.plan(out_dir="out", rate=100))
    for r in c.run("out", threads=2):
        print(r["job"], r["metrics"]["validity"], r["samples"][:3])
"""
from __future__ import annotations

import ctypes as C
import json
from typing import Callable, Iterator, Optional

from ._core import Error, Handle, _check
from ._lib import lib

PROGRESS = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.c_uint64)


class _Params(C.Structure):
    _fields_ = [("out_dir", C.c_char_p), ("threads", C.c_int), ("dry_run", C.c_int), ("rate", C.c_double),
                ("quiet", C.c_int), ("progress", PROGRESS), ("progress_user", C.c_void_p)]


class _Result(C.Structure):
    _fields_ = [("target", C.c_char_p), ("job", C.c_char_p), ("guidance", C.c_char_p), ("label", C.c_int),
                ("class_name", C.c_char_p), ("gamma", C.c_double), ("seed", C.c_uint64), ("reused", C.c_int),
                ("n_samples", C.c_size_t), ("metrics_json", C.c_char_p)]


lib.strand_design_load.argtypes = [C.c_char_p, C.POINTER(C.c_void_p)]
lib.strand_design_preset.argtypes = [C.c_char_p, C.c_char_p, C.POINTER(C.c_void_p)]
lib.strand_design_free.argtypes = [C.c_void_p]
lib.strand_design_free.restype = None
lib.strand_design_name.argtypes = [C.c_void_p]
lib.strand_design_name.restype = C.c_char_p
lib.strand_design_plan.argtypes = [C.c_void_p, C.POINTER(_Params), C.POINTER(C.c_void_p)]
lib.strand_design_run.argtypes = [C.c_void_p, C.POINTER(_Params)]
lib.strand_design_num_results.argtypes = [C.c_void_p]
lib.strand_design_num_results.restype = C.c_size_t
lib.strand_design_result_get.argtypes = [C.c_void_p, C.c_size_t, C.POINTER(_Result)]
lib.strand_design_sample.argtypes = [C.c_void_p, C.c_size_t, C.c_size_t]
lib.strand_design_sample.restype = C.c_char_p
lib.strand_design_last_error.argtypes = [C.c_void_p]
lib.strand_design_last_error.restype = C.c_char_p
_libc = C.CDLL(None)
_libc.free.argtypes = [C.c_void_p]


def _s(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


class Campaign(Handle):
    """A checked campaign: Campaign(path) or Campaign.preset(name, models_dir). Every problem of the
    file is in the strand.Error message (FILE: JSON.PATH: problem lines); nothing is written."""

    _free = lib.strand_design_free

    def __init__(self, path: Optional[str] = None, *, _handle: Optional[int] = None):
        if _handle is None:
            h = C.c_void_p()
            _check(lib.strand_design_load(str(path).encode(), C.byref(h)))
            _handle = h.value
        self._h = _handle

    @classmethod
    def preset(cls, name: str, models_dir: str) -> "Campaign":
        h = C.c_void_p()
        _check(lib.strand_design_preset(name.encode(), str(models_dir).encode(), C.byref(h)))
        return cls(_handle=h.value)

    @property
    def name(self) -> str:
        return _s(lib.strand_design_name(self._h))

    def _params(self, out_dir, threads, dry_run, rate, progress):
        cb = PROGRESS(lambda user, done, total: int(bool(progress(done, total)))) if progress else PROGRESS()
        p = _Params(str(out_dir).encode() if out_dir else None, threads, dry_run, rate, 1, cb, None)
        return p, cb

    def plan(self, out_dir: Optional[str] = None, rate: float = 0.0, threads: int = 1) -> str:
        """The plan text (jobs, NFEs, estimated time); writes nothing."""
        p, _cb = self._params(out_dir, threads, 1, rate, None)
        t = C.c_void_p()
        _check(lib.strand_design_plan(self._h, C.byref(p), C.byref(t)), lib.strand_design_last_error(self._h))
        try:
            return C.string_at(t.value).decode()
        finally:
            _libc.free(t)

    def run(self, out_dir: str, threads: int = 1,
            progress: Optional[Callable[[int, int], bool]] = None) -> list:
        """Run every job not already finished under out_dir; progress(done, total) returning True
        cancels (strand.Error STRAND_E_CANCELLED; finished jobs stay in the manifest)."""
        p, _cb = self._params(out_dir, threads, 0, 0.0, progress)
        _check(lib.strand_design_run(self._h, C.byref(p)), lib.strand_design_last_error(self._h))
        return list(self.results())

    def results(self) -> Iterator[dict]:
        """Each job of the last plan or run: target, job, guidance, label, class, gamma, seed, reused,
        metrics (the job's metrics.json) and samples (decoded text)."""
        for i in range(lib.strand_design_num_results(self._h)):
            r = _Result()
            _check(lib.strand_design_result_get(self._h, i, C.byref(r)))
            yield {"target": _s(r.target), "job": _s(r.job), "guidance": _s(r.guidance),
                   "label": None if r.label < 0 else r.label, "class": _s(r.class_name), "gamma": r.gamma,
                   "seed": r.seed, "reused": bool(r.reused),
                   "metrics": json.loads(r.metrics_json) if r.metrics_json else None,
                   "samples": [_s(lib.strand_design_sample(self._h, i, k)) for k in range(r.n_samples)]}


__all__ = ["Campaign", "Error"]
