"""Errors, versions, threads, tokenizers and the model handle (include/strand.h "models")."""
from __future__ import annotations

import ctypes as C
import json
import os
from typing import Optional

import numpy as np

from . import _lib
from ._lib import lib


class Error(RuntimeError):
    """A libstrand failure: `code` is the negative STRAND_E_* value, the message is the library's."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def _check(rc: int, handle_msg: Optional[bytes] = None) -> int:
    if rc < 0:
        msg = handle_msg or lib.strand_last_error() or lib.strand_strerror(rc)
        raise Error(rc, msg.decode("utf-8", "replace"))
    return rc


def version() -> str:
    """strand's version string ("0.1.0")."""
    return lib.strand_version_string().decode()


def version_number() -> int:
    return lib.strand_version_number()


def dep_versions() -> dict:
    """Versions of the libraries strand was built with (htslib, openblas, zstd, rdkit, jansson)."""
    d = lib.strand_get_dep_versions()
    return {k: (getattr(d, k) or b"").decode() for k, _ in _lib.DepVersions._fields_}


def set_threads(n: int) -> None:
    lib.strand_set_threads(int(n))


def get_threads() -> int:
    return lib.strand_get_threads()


def _ids(a, name="ids") -> np.ndarray:
    """(n, L) int32 C-contiguous view of a (no copy when it already is one)."""
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (n, L), got shape {a.shape}")
    if a.dtype != np.int32:
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{name} must be integer token ids, got {a.dtype}")
        a = a.astype(np.int32)
    return np.ascontiguousarray(a)


def _ptr(a: np.ndarray, ctype):
    return a.ctypes.data_as(C.POINTER(ctype))


class Handle:
    """An owned library handle: `_free` (the library's free call, which accepts NULL) runs once,
    on close(), at the end of a `with` block, or when the object is collected."""

    _free = None
    _h = None

    def close(self) -> None:
        if self._h:
            type(self)._free(self._h)
            self._h = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Tokenizer(Handle):
    """A model's tokenizer (DNA or SMILES): encode to padded ids, decode ids to text."""

    _free = lib.strand_tokenizer_free

    def __init__(self, handle: int):
        self._h = C.c_void_p(handle)

    @property
    def vocab_size(self) -> int:
        return lib.strand_tokenizer_vocab_size(self._h)

    def encode(self, text: str, length: int) -> np.ndarray:
        """Ids (length,) int32: text tokenised, framed and padded as the model was trained."""
        out = np.empty(length, dtype=np.int32)
        used, unk = C.c_size_t(), C.c_size_t()
        rc = lib.strand_tokenizer_encode_padded(self._h, text.encode(), _ptr(out, C.c_int32), length,
                                                C.byref(used), C.byref(unk))
        _check(rc, lib.strand_tokenizer_last_error(self._h))
        return out

    def decode(self, ids) -> str:
        """Text of one id sequence, special tokens dropped (what `strand sample` prints)."""
        a = np.ascontiguousarray(np.asarray(ids, dtype=np.int32).ravel())
        n = C.c_size_t()
        _check(lib.strand_tokenizer_decode(self._h, _ptr(a, C.c_int32), a.size, None, 0, C.byref(n)),
               lib.strand_tokenizer_last_error(self._h))
        buf = C.create_string_buffer(n.value + 1)
        _check(lib.strand_tokenizer_decode(self._h, _ptr(a, C.c_int32), a.size, buf, n.value + 1, None),
               lib.strand_tokenizer_last_error(self._h))
        return buf.value.decode()


class Model(Handle):
    """Any strand model file (DiT diffusion model, Caduceus PS/PH), or a Hugging Face directory.

    Attributes: path, kind, config (dict), vocab_size, max_length, num_classes.
    """

    _free = lib.strand_model_free

    def __init__(self, path: str):
        self.path = os.fspath(path)
        h = C.c_void_p()
        _check(lib.strand_model_load(self.path.encode(), C.byref(h)))
        self._h = h
        self._tok = None

    def _err(self) -> bytes:
        return lib.strand_model_last_error(self._h)

    @property
    def kind(self) -> str:
        return lib.strand_model_kind(self._h).decode()

    @property
    def config(self) -> dict:
        text = lib.strand_model_config(self._h)
        return json.loads(text.decode()) if text else {}

    @property
    def vocab_size(self) -> int:
        return lib.strand_model_vocab_size(self._h)

    @property
    def max_length(self) -> int:
        return lib.strand_model_max_length(self._h)

    @property
    def num_classes(self) -> int:
        return lib.strand_model_num_classes(self._h)

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tok is None:
            h = C.c_void_p()
            _check(lib.strand_tokenizer_for_model(self.path.encode(), self._h, C.byref(h)))
            self._tok = Tokenizer(h.value)
        return self._tok

    def logits(self, ids, sigma=None, labels=None) -> np.ndarray:
        """Raw logits (n, L, V) float32 for ids (n, L); sigma (n,) for time-conditioned models,
        labels (n,) in [0, num_classes] (num_classes = the null label) for label-conditioned ones."""
        ids = _ids(ids)
        n, L = ids.shape
        out = np.empty((n, L, self.vocab_size), dtype=np.float32)
        sp = lp = None
        if sigma is not None:
            sigma = np.ascontiguousarray(np.broadcast_to(np.asarray(sigma, dtype=np.float32), (n,)))
            sp = _ptr(sigma, C.c_float)
        if labels is not None:
            labels = np.ascontiguousarray(np.broadcast_to(np.asarray(labels, dtype=np.int32), (n,)))
            lp = _ptr(labels, C.c_int32)
        _check(lib.strand_model_logits(self._h, _ptr(ids, C.c_int32), n, L, sp, lp, _ptr(out, C.c_float)),
               self._err())
        return out

    def embed(self, ids, pooling: str = "mean") -> np.ndarray:
        """Embeddings (Caduceus: strand-collapsed for PS, conjoined for PH) from the same loaded
        weights: (n, d_model) with pooling="mean", (n, L, d_model) with pooling="position"."""
        if not self.kind.startswith("caduceus"):
            raise Error(-5, f"{self.path}: embeddings need a Caduceus model, this one is \"{self.kind}\"")
        d = int(self.config["d_model"])
        ids = _ids(ids)
        n, L = ids.shape
        if pooling == "mean":
            out, mode = np.empty((n, d), dtype=np.float32), 1
        elif pooling == "position":
            out, mode = np.empty((n, L, d), dtype=np.float32), 0
        else:
            raise ValueError('pooling must be "mean" or "position"')
        _check(lib.strand_model_embed(self._h, _ptr(ids, C.c_int32), n, L, mode, _ptr(out, C.c_float)),
               self._err())
        return out
