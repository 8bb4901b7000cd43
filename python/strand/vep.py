"""Variant effect scores with a Caduceus model (include/strand.h "variant effect prediction").

STRAND_LLR (SNVs) and STRAND_EMB (SNVs, MNVs, indels) as `strand vep` writes them; see docs/vep.md.
"""
from __future__ import annotations

import ctypes as C
import os
import sys
from typing import Iterable, Optional, Sequence

import numpy as np

from . import _lib
from ._core import Handle, _check
from ._lib import lib

STATUS = {0: "ok", 1: "symbolic", 2: "unscorable", 3: "ref_mismatch", 4: "missing_contig", 5: "nonfinite"}
_REF = {"skip": 0, "annotate": 1, "error": 2}
_CONTIG = {"skip": 0, "error": 1, "auto": 2}
_LLR = {"masked": 0, "marginal": 1}      # STRAND_VEP_LLR_*
_SCORES = {"llr": 1, "emb": 2}          # STRAND_VEP_SCORE_* bits

RECORD = np.dtype([("contig", object), ("pos", np.int64), ("ref", object), ("alt", object),
                   ("llr", np.float64), ("emb", np.float64), ("status", np.int32)])


class VEP(Handle):
    """A scorer: one model file and one reference FASTA (indexed on first use).

    Parameters mirror `strand vep` (window 0 = the model's training length)."""

    _free = lib.strand_vep_free

    def __init__(self, model: str, fasta: str, *, window: int = 0, pool_half_width: int = 128, batch: int = 64,
                 threads: int = 0, ref_mismatch: str = "skip", missing_contig: str = "auto",
                 rc_average: bool = False, rename_chrs: Optional[str] = None, quiet: bool = True,
                 no_version: bool = False, llr: str = "masked", scores: str = "llr,emb",
                 marginal_core: int = 0):
        p = lib.strand_vep_default_params()
        p.window, p.pool_half_width, p.batch, p.threads = window, pool_half_width, batch, threads
        p.ref_mismatch, p.missing_contig = _REF[ref_mismatch], _CONTIG[missing_contig]
        p.rc_average, p.quiet, p.no_version = int(rc_average), int(quiet), int(no_version)
        p.llr = _LLR[llr]
        p.scores = sum(_SCORES[x.strip()] for x in scores.split(",") if x.strip())
        p.marginal_core = marginal_core
        self._keep = []  # bytes referenced by the params struct
        if rename_chrs:
            b = os.fspath(rename_chrs).encode()
            self._keep.append(b)
            p.rename_chrs = b
        self.params = p
        h = C.c_void_p()
        _check(lib.strand_vep_create(os.fspath(model).encode(), os.fspath(fasta).encode(), C.byref(p), C.byref(h)))
        self._h = h

    @property
    def model_sha256(self) -> str:
        return lib.strand_vep_model_sha256(self._h).decode()

    def score(self, variants: Iterable) -> np.ndarray:
        """Score (contig, pos, ref, alt) tuples or dicts with those keys (pos 1-based).

        Returns a numpy structured array (fields contig, pos, ref, alt, llr, emb, status; missing
        scores are NaN; status 0 = scored, see STATUS); pandas.DataFrame(result) gives a table."""
        rows = []
        for v in variants:
            if isinstance(v, dict):
                v = (v["contig"], v["pos"], v["ref"], v["alt"])
            rows.append((str(v[0]), int(v[1]), str(v[2]), str(v[3])))
        n = len(rows)
        arr = (_lib.VepVariant * n)()
        keep = []
        for i, (c, pos, ref, alt) in enumerate(rows):
            cb, rb, ab = c.encode(), ref.encode(), alt.encode()
            keep += [cb, rb, ab]
            arr[i].contig, arr[i].pos1, arr[i].ref, arr[i].alt = cb, pos, rb, ab
        if n:
            _check(lib.strand_vep_score_batch(self._h, arr, n), lib.strand_vep_last_error(self._h))
        out = np.empty(n, dtype=RECORD)
        for i, (c, pos, ref, alt) in enumerate(rows):
            out[i] = (c, pos, ref, alt, arr[i].llr, arr[i].emb, arr[i].status)
        return out

    def annotate_vcf(self, in_path: str, out_path: str, *, mode: Optional[str] = None, index: bool = False,
                     regions: Optional[Sequence[str]] = None, argv: Optional[Sequence[str]] = None) -> dict:
        """VCF/BCF in -> annotated VCF/BCF out, exactly as `strand vep` (atomic output; "-" is
        stdin/stdout). mode: "v" "z" "b" "u" (default from the output name). Returns the summary."""
        out_path = os.fspath(out_path)
        if mode is None:
            mode = "z" if out_path.endswith(".gz") else "b" if out_path.endswith(".bcf") else "v"
        idx = 0
        if index:
            idx = 1 if mode == "b" else 2
        rg = None
        nr = 0
        keep = []
        if regions:
            keep = [r.encode() for r in regions]
            rg = (C.c_char_p * len(keep))(*keep)
            nr = len(keep)
        args = list(argv) if argv is not None else ["python", *sys.argv]
        argb = [a.encode() for a in args]
        av = (C.c_char_p * len(argb))(*argb)
        s = _lib.VepSummary()
        _check(lib.strand_vep_annotate_vcf(self._h, os.fspath(in_path).encode(), out_path.encode(), mode.encode(),
                                           idx, rg, nr, len(argb), av, C.byref(s)),
               lib.strand_vep_last_error(self._h))
        return {k: getattr(s, k) for k, _ in _lib.VepSummary._fields_ if k not in ("examples", "n_examples")}


def score(variants: Iterable, model: str, fasta: str, **params) -> np.ndarray:
    """One-shot VEP.score (see VEP for the parameters)."""
    with VEP(model, fasta, **params) as v:
        return v.score(variants)


def annotate_vcf(in_path: str, out_path: str, model: str, fasta: str, *, mode: Optional[str] = None,
                 index: bool = False, regions=None, **params) -> dict:
    """One-shot VEP.annotate_vcf (see VEP for the parameters)."""
    with VEP(model, fasta, **params) as v:
        return v.annotate_vcf(in_path, out_path, mode=mode, index=index, regions=regions)
