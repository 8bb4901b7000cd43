"""Discrete-diffusion sampling (include/strand.h "diffusion sampling", experimental API).

MDLM/UDLM ancestral samplers with classifier-free and classifier-based guidance, run by the C
library. Ctrl-C during a
run cancels it at the next batch step and raises KeyboardInterrupt; nothing is returned or written.
"""
from __future__ import annotations

import ctypes as C
import os
import signal
import threading
from typing import Callable, List, Optional, Union

import numpy as np

from . import _lib
from ._core import Handle, Model, _check
from ._lib import lib
from .classifier import Classifier

_CBG_MODES = {"exact": _lib.STRAND_CBG_EXACT, "first-order": _lib.STRAND_CBG_FIRST_ORDER}
_TAILS = {None: _lib.STRAND_TAIL_NONE, "none": _lib.STRAND_TAIL_NONE, "greedy": _lib.STRAND_TAIL_GREEDY,
          "ancestral": _lib.STRAND_TAIL_ANCESTRAL}

ProgressFn = Callable[[int, int], Optional[bool]]


class _SigintWatch:
    """While a C call runs, SIGINT only sets a flag (a handler that does not raise) and writes to a
    wakeup pipe (signal.set_wakeup_fd), so the progress callback, on whichever thread the library
    calls it, sees it and cancels the run. The caller raises KeyboardInterrupt after the call has
    returned, and the previous handler is back in place."""

    def __enter__(self):
        self.hit = False
        self.r = self.w = None
        if threading.current_thread() is threading.main_thread():
            self.r, self.w = os.pipe()
            os.set_blocking(self.r, False)
            os.set_blocking(self.w, False)
            self.old_fd = signal.set_wakeup_fd(self.w, warn_on_full_buffer=False)
            self.old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum, frame):
        self.hit = True

    def poll(self) -> bool:
        if self.r is not None and not self.hit:
            try:
                if signal.SIGINT in os.read(self.r, 64):
                    self.hit = True
            except BlockingIOError:
                pass
        return self.hit

    def __exit__(self, *exc):
        if self.r is not None:
            signal.signal(signal.SIGINT, self.old_handler)
            signal.set_wakeup_fd(self.old_fd)
            os.close(self.r)
            os.close(self.w)


class Sampler(Handle):
    """A sampler over one diffusion model (weights shared by its worker threads).

    steps: T; length: 0 = the model's; batch: sequences per network call; seed; threads (0: the
    library's setting); label: class or None (a label-conditioned model then runs with the null
    label); gamma: CFG weight (0 unconditional, 1 conditional); top_p; greedy_final; noise_removal;
    use_cache; tail (uniform-state models only, as `strand sample --tail`): None/"none", "greedy" (one more call
    at t = 1e-5 and argmax x_theta) or "ancestral" (a draw of z_0), docs/duo.md "Few-step sampling".
    Samples depend on the seed and batch only, not on threads.

    Classifier-based guidance (docs/diffusion.md "Classifier-based guidance"), the keywords of
    `strand sample --classifier C --class Y --gamma G --cbg MODE --cfg-gamma G2 --cbg-mem-mb M`:
    classifier: a strand.Classifier or the path of one (noisy, over the model's vocabulary);
    cls: the class Y to steer towards (required with a classifier); with a classifier, gamma is
    the CBG weight (every drawn position's step distribution times p(Y | z_t, position set to v)^gamma);
    cbg: "first-order" (one forward + backward per sequence and step; the default, as the CLI's)
    or "exact" (every single-token edit scored); cfg_gamma: with a classifier and a label, the CFG
    weight (default 1; the two factors multiply: CFG+CBG); cbg_mem_mb: exact mode's bound on
    classifier memory (0: 2048 MiB). The classifier is kept alive as long as the sampler."""

    _free = lib.strand_sampler_free

    def __init__(self, model: Model, *, steps: int = 32, length: int = 0, batch: int = 64, seed: int = 0,
                 threads: int = 0, label: Optional[int] = None, gamma: float = 1.0, top_p: float = 1.0,
                 greedy_final: bool = False, noise_removal: bool = True, use_cache: bool = True, tail: Optional[str] = None,
                 classifier: Union[Classifier, str, "os.PathLike[str]", None] = None, cls: Optional[int] = None,
                 cbg: str = "first-order", cfg_gamma: Optional[float] = None, cbg_mem_mb: int = 0):
        if cbg not in _CBG_MODES:
            raise ValueError(f'cbg must be "exact" or "first-order", got {cbg!r}')
        if classifier is None:
            if cls is not None:
                raise ValueError("cls needs a classifier")
            if cfg_gamma is not None:
                raise ValueError("cfg_gamma needs a classifier (without one, gamma is the CFG weight)")
        elif cls is None:
            raise ValueError("a classifier needs cls, the class to steer towards")
        if tail not in _TAILS:
            raise ValueError(f'tail must be None, "none", "greedy" or "ancestral", got {tail!r}')
        if int(cbg_mem_mb) < 0:
            raise ValueError(f"cbg_mem_mb must be >= 0, got {cbg_mem_mb!r}")
        self.model = model
        p = lib.strand_sampler_default_params()
        p.steps, p.length, p.batch, p.seed, p.threads = steps, length, batch, seed, threads
        p.label = -1 if label is None else int(label)
        # with a classifier the CLI's --gamma is the CBG weight and --cfg-gamma (1) the CFG weight
        p.gamma = float(gamma) if classifier is None else (1.0 if cfg_gamma is None else float(cfg_gamma))
        p.top_p = float(top_p)
        p.greedy_final, p.noise_removal, p.use_cache = int(greedy_final), int(noise_removal), int(use_cache)
        p.tail = _TAILS[tail]
        self._user_progress: Optional[ProgressFn] = None
        self._watch: Optional[_SigintWatch] = None
        self._exc: Optional[BaseException] = None
        self._cb = _lib.PROGRESS_FN(self._progress)  # kept alive as long as the sampler
        p.progress = self._cb
        h = C.c_void_p()
        _check(lib.strand_sampler_create(model._h, C.byref(p), C.byref(h)))
        self._h = h
        self.stats = None
        self.classifier: Optional[Classifier] = None
        if classifier is not None:
            self.classifier = classifier if isinstance(classifier, Classifier) else Classifier(classifier)
            _check(lib.strand_sampler_set_classifier(self._h, self.classifier._h, int(cls), float(gamma),
                                                     _CBG_MODES[cbg], int(cbg_mem_mb) << 20),
                   lib.strand_sampler_last_error(self._h))

    def close(self) -> None:
        super().close()  # the sampler first: it reads the classifier until it is freed
        self.classifier = None

    @property
    def cbg_stats(self) -> dict:
        """Classifier rows and calls of the guided runs so far, and batch rows served from the cache."""
        rows, calls, cached = C.c_uint64(), C.c_uint64(), C.c_uint64()
        _check(lib.strand_sampler_cbg_stats(self._h, C.byref(rows), C.byref(calls), C.byref(cached)),
               lib.strand_sampler_last_error(self._h))
        return {"rows": rows.value, "calls": calls.value, "cached": cached.value}

    @property
    def length(self) -> int:
        return lib.strand_sampler_length(self._h)

    def _progress(self, user, done, total) -> int:
        try:
            if self._watch is not None and self._watch.poll():
                return 1
            if self._user_progress is not None and self._user_progress(int(done), int(total)) is False:
                return 1
            return 0
        except BaseException as e:  # KeyboardInterrupt raised inside the callback, or the user's error
            self._exc = e
            return 1

    def run(self, n: int, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """n samples as token ids (n, length) int32. progress(done, total) may return False to
        cancel (then strand.Error with code STRAND_E_CANCELLED)."""
        out = np.empty((n, self.length), dtype=np.int32)
        st = _lib.SamplerStats()
        self._user_progress, self._exc = progress, None
        with _SigintWatch() as w:
            self._watch = w
            rc = lib.strand_sampler_run(self._h, n, out.ctypes.data_as(C.POINTER(C.c_int32)), C.byref(st))
            self._watch = None
        if w.hit:
            raise KeyboardInterrupt
        if self._exc is not None:
            raise self._exc
        _check(rc, lib.strand_sampler_last_error(self._h))
        self.stats = {"net_calls": st.net_calls, "net_rows": st.net_rows, "nfe": st.nfe, "seconds": st.seconds}
        return out

    def sample_text(self, n: int, progress: Optional[ProgressFn] = None) -> List[str]:
        """n decoded samples (SMILES or DNA, special tokens dropped), as `strand sample` prints them."""
        tok = self.model.tokenizer
        return [tok.decode(row) for row in self.run(n, progress)]
