"""Noisy classifiers p(y | z_t) for classifier-based guidance (include/strand.h "noisy classifiers
and classifier-based guidance"; docs/diffusion.md "Noisy classifiers").

    clf = strand.Classifier("models/smiles-qed-mdlm-classifier.safetensors")
    logp = clf.log_probs(ids)                 # (n, C) float32, log p(y | z) per class
    s = strand.Sampler(strand.Model("models/smiles-mdlm-qed.safetensors.zst"),
                       classifier=clf, cls=1, gamma=2.0, cbg="first-order")
"""
from __future__ import annotations

import ctypes as C
import os
from typing import Optional, Union

import numpy as np

from ._core import Handle, _check, _ids, _ptr
from ._lib import lib

PathLike = Union[str, "os.PathLike[str]"]


class Classifier(Handle):
    """A classifier trained by `strand train classifier` (kind "classifier"), loaded by
    strand_classifier_load.

    Attributes: path, num_classes (C), vocab_size (the diffusion model's vocabulary), max_length,
    process ("masked" or "uniform": the diffusion process it was trained on), time_conditioned
    (fed sigma_t), clean (trained at t = 0 only: a judge of finished samples, not a guide).
    Calls on one handle are not thread-safe; a Sampler given this classifier makes its own
    per-worker state and only reads the weights."""

    _free = lib.strand_classifier_free

    def __init__(self, path: PathLike):
        self.path = os.fspath(path)
        h = C.c_void_p()
        _check(lib.strand_classifier_load(self.path.encode(), C.byref(h)))
        self._h = h
        proc, tc, clean = C.c_int(), C.c_int(), C.c_int()
        _check(lib.strand_classifier_info(self._h, C.byref(proc), C.byref(tc), C.byref(clean)), self._err())
        self.process: str = "masked" if proc.value == 0 else "uniform"
        self.time_conditioned: bool = bool(tc.value)
        self.clean: bool = bool(clean.value)

    def _err(self) -> bytes:
        return lib.strand_classifier_last_error(self._h)

    @property
    def num_classes(self) -> int:
        return lib.strand_classifier_num_classes(self._h)

    @property
    def vocab_size(self) -> int:
        return lib.strand_classifier_vocab_size(self._h)

    @property
    def max_length(self) -> int:
        return lib.strand_classifier_max_length(self._h)

    def log_probs(self, ids, sigma: Optional[object] = None) -> np.ndarray:
        """log p(y | z) (n, C) float32 for token ids (n, L) (or (L,) for one sequence): the log-softmax
        of the class logits `strand logits -m CLASSIFIER` writes. sigma (n,) or a scalar is fed only
        to a time-conditioned classifier (None: 0)."""
        ids = _ids(ids)
        n, L = ids.shape
        out = np.empty((n, self.num_classes), dtype=np.float32)
        sp = None
        if sigma is not None:
            sigma = np.ascontiguousarray(np.broadcast_to(np.asarray(sigma, dtype=np.float32), (n,)))
            sp = _ptr(sigma, C.c_float)
        _check(lib.strand_classifier_log_probs(self._h, _ptr(ids, C.c_int32), n, L, sp, _ptr(out, C.c_float)),
               self._err())
        return out

    def predict(self, ids, sigma: Optional[object] = None) -> np.ndarray:
        """The most probable class (n,) int64 (argmax of log_probs)."""
        return np.argmax(self.log_probs(ids, sigma), axis=1)


__all__ = ["Classifier"]
