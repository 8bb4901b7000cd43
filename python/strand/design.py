"""Design campaigns (docs/design.md): load a campaign file or a preset, plan it, run it whole or
one job at a time, gather, iterate its results. Everything is done by libstrand's strand_design_*
calls; outputs are the CLI's (`strand design CAMPAIGN -o DIR`, `--job NAME`, `--gather`), byte
for byte.

    c = strand.Campaign("design/campaigns/demo.json")      # also strand.design.Campaign
    print(c.plan(out_dir="out", rate=100))
    for r in c.run("out", threads=2):
        print(r["job"], r["metrics"]["metrics"]["validity"], r["samples"][:3])
    # as a workflow manager does it (docs/design.md "One job at a time"):
    for name in c.jobs():                                  # "unguided/gamma-0", "cfg-qed/gamma-1", ...
        c.run_job(name, "out2", threads=1)                 # its files and out2/<name>/job.json
    c.gather("out2")                                       # metrics.json, report.html, campaign.json, manifest.json

Ctrl-C during run() or run_job() cancels at the next batch step and raises KeyboardInterrupt
(finished jobs stay finished; a job's files are written atomically, so no partial job is left).
"""
from __future__ import annotations

import ctypes as C
import json
import os
from typing import Callable, Iterator, List, Optional, Union

from ._core import Error, Handle, _check
from ._lib import lib
from .sample import _SigintWatch

PathLike = Union[str, "os.PathLike[str]"]

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
lib.strand_design_run_job.argtypes = [C.c_void_p, C.POINTER(_Params), C.c_char_p]
lib.strand_design_gather.argtypes = [C.c_void_p, C.POINTER(_Params)]
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

    def __init__(self, path: Optional[PathLike] = None, *, _handle: Optional[int] = None):
        self._exc: Optional[BaseException] = None
        if _handle is None:
            h = C.c_void_p()
            _check(lib.strand_design_load(os.fsencode(path), C.byref(h)))
            _handle = h.value
        self._h = _handle

    @classmethod
    def preset(cls, name: str, models_dir: PathLike) -> "Campaign":
        """A built-in campaign ("smiles-qed", "dna-species", "demo") over the bundled models in
        models_dir (`strand design --preset NAME --models-dir DIR`)."""
        h = C.c_void_p()
        _check(lib.strand_design_preset(name.encode(), os.fsencode(models_dir), C.byref(h)))
        return cls(_handle=h.value)

    @property
    def name(self) -> str:
        return _s(lib.strand_design_name(self._h))

    def _params(self, out_dir, threads, dry_run, rate, progress, watch=None):
        def cb(user, done, total):
            try:
                if watch is not None and watch.poll():
                    return 1
                return int(bool(progress(done, total))) if progress else 0
            except BaseException as e:  # the user's error: cancel, re-raised after the call
                self._exc = e
                return 1
        fn = PROGRESS(cb)
        p = _Params(os.fsencode(out_dir) if out_dir else None, threads, dry_run, rate, 1, fn, None)
        return p, fn

    def _call(self, fn, out_dir, threads, progress, *args) -> None:
        """fn(handle, params, *args) with Ctrl-C and the progress callback able to cancel it."""
        self._exc = None
        with _SigintWatch() as w:
            p, _cb = self._params(out_dir, threads, 0, 0.0, progress, w)
            rc = fn(self._h, C.byref(p), *args)
        if w.hit:
            raise KeyboardInterrupt
        if self._exc is not None:
            raise self._exc
        _check(rc, lib.strand_design_last_error(self._h))

    def plan(self, out_dir: Optional[PathLike] = None, rate: float = 0.0, threads: int = 1) -> str:
        """The plan text (jobs, NFEs, estimated time; rate 0 times one network call per model);
        writes nothing."""
        p, _cb = self._params(out_dir, threads, 1, rate, None)
        t = C.c_void_p()
        _check(lib.strand_design_plan(self._h, C.byref(p), C.byref(t)), lib.strand_design_last_error(self._h))
        try:
            return C.string_at(t.value).decode()
        finally:
            _libc.free(t)

    def jobs(self) -> List[str]:
        """The job names "<target>/gamma-<γ>" in campaign order, as `strand design CAMPAIGN
        --list-jobs` prints them (no timing probe, nothing written)."""
        self.plan(rate=1e9)
        return [r["job"] for r in self._results(samples=False)]

    def run(self, out_dir: PathLike, threads: int = 1,
            progress: Optional[Callable[[int, int], bool]] = None) -> List[dict]:
        """Run every job not already finished under out_dir, then write the campaign-level files
        (`strand design CAMPAIGN -o out_dir --threads N`); returns results() as a list, one dict per
        job. progress(done, total) returning True cancels (strand.Error STRAND_E_CANCELLED;
        finished jobs stay in the manifest)."""
        self._call(lib.strand_design_run, out_dir, threads, progress)
        return list(self.results())

    def run_job(self, job: str, out_dir: PathLike, threads: int = 1,
                progress: Optional[Callable[[int, int], bool]] = None) -> dict:
        """One job (`strand design CAMPAIGN -o out_dir --job NAME --threads N`): its files and
        out_dir/<job>/job.json, nothing campaign-level, so separate processes may run the jobs of
        one campaign at once; a job its job.json shows finished is kept (reused True). Returns that
        job's result (as results()). An unknown name raises strand.Error listing the jobs."""
        self._call(lib.strand_design_run_job, out_dir, threads, progress, job.encode())
        for r in self.results():
            if r["job"] == job:
                return r
        raise Error(-1, f"{job}: not among the campaign's jobs after the run")  # not reached

    def gather(self, out_dir: PathLike) -> List[dict]:
        """After every job ran (run_job): out_dir/campaign.json, manifest.json, metrics.json and
        report.html from the jobs' files (`strand design CAMPAIGN -o out_dir --gather`), the bytes
        one whole run writes (manifest.json aside: timings). Raises strand.Error, writing nothing,
        naming the jobs that are not finished. Returns results() as a list."""
        self._call(lib.strand_design_gather, out_dir, 1, None)
        return list(self.results())

    def results(self) -> Iterator[dict]:
        """Each job of the last plan or run: target, job, guidance, label, class, gamma, seed, reused,
        metrics (the job's metrics.json, None before a run) and samples (decoded text)."""
        return self._results(samples=True)

    def _results(self, samples: bool) -> Iterator[dict]:
        for i in range(lib.strand_design_num_results(self._h)):
            r = _Result()
            _check(lib.strand_design_result_get(self._h, i, C.byref(r)))
            yield {"target": _s(r.target), "job": _s(r.job), "guidance": _s(r.guidance),
                   "label": None if r.label < 0 else r.label, "class": _s(r.class_name), "gamma": r.gamma,
                   "seed": r.seed, "reused": bool(r.reused),
                   "metrics": json.loads(r.metrics_json) if r.metrics_json else None,
                   "samples": [_s(lib.strand_design_sample(self._h, i, k)) for k in range(r.n_samples if samples else 0)]}


__all__ = ["Campaign", "Error"]
