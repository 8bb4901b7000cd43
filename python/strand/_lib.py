"""ctypes declarations of include/strand.h (the library does all the work; this file only binds).

The shared library is found, in order, at $STRAND_LIB, through pkg-config (strand.pc's libdir),
or by the dynamic loader's search (ctypes.util.find_library("strand"), then "libstrand.so.0").
"""
from __future__ import annotations

import ctypes as C
import ctypes.util
import os
import subprocess

c_int_p = C.POINTER(C.c_int)
c_i32_p = C.POINTER(C.c_int32)
c_f32_p = C.POINTER(C.c_float)
c_f64_p = C.POINTER(C.c_double)


def _candidates():
    env = os.environ.get("STRAND_LIB")
    if env:
        yield env
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "strand"], capture_output=True,
                                text=True, check=True).stdout.strip()
        if libdir:
            yield os.path.join(libdir, "libstrand.so.0")
    except (OSError, subprocess.CalledProcessError):
        pass
    found = ctypes.util.find_library("strand")
    if found:
        yield found
    yield "libstrand.so.0"


def _load():
    errors = []
    for path in _candidates():
        try:
            return C.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("cannot load libstrand (set STRAND_LIB to the path of libstrand.so.0, or install "
                      "strand so that pkg-config finds strand.pc): " + "; ".join(errors))


lib, lib_path = _load()


class DepVersions(C.Structure):
    _fields_ = [(n, C.c_char_p) for n in ("htslib", "openblas", "zstd", "rdkit", "jansson")]


class Rng(C.Structure):
    _fields_ = [("s", C.c_uint64 * 4)]


class VepParams(C.Structure):
    _fields_ = [("window", C.c_int), ("pool_half_width", C.c_int), ("batch", C.c_int),
                ("threads", C.c_int), ("ref_mismatch", C.c_int), ("missing_contig", C.c_int),
                ("nonfinite", C.c_int), ("compress_level", C.c_int), ("rename_chrs", C.c_char_p),
                ("targets", C.c_char_p), ("targets_file", C.c_char_p), ("quiet", C.c_int),
                ("no_version", C.c_int), ("rc_average", C.c_int), ("llr", C.c_int), ("scores", C.c_int),
                ("marginal_core", C.c_int)]


class VepVariant(C.Structure):
    _fields_ = [("contig", C.c_char_p), ("pos1", C.c_int64), ("ref", C.c_char_p), ("alt", C.c_char_p),
                ("llr", C.c_double), ("emb", C.c_double), ("status", C.c_int)]


class VepSummary(C.Structure):
    _fields_ = [(n, C.c_int64) for n in ("records", "alts", "llr_scored", "emb_scored", "no_alt", "symbolic",
                                         "unscorable", "ref_mismatch", "missing_contig", "nonfinite",
                                         "windows_requested", "forwards")] + \
               [("n_examples", C.c_int), ("examples", (C.c_char * 160) * 5)]


PROGRESS_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_uint64, C.c_uint64)


class SamplerParams(C.Structure):
    _fields_ = [("steps", C.c_int), ("length", C.c_size_t), ("batch", C.c_size_t), ("seed", C.c_uint64),
                ("threads", C.c_int), ("label", C.c_int), ("gamma", C.c_double), ("top_p", C.c_double),
                ("greedy_final", C.c_int), ("noise_removal", C.c_int), ("use_cache", C.c_int), ("tail", C.c_int),
                ("progress", PROGRESS_FN), ("progress_user", C.c_void_p)]


class SamplerStats(C.Structure):
    _fields_ = [("net_calls", C.c_uint64), ("net_rows", C.c_uint64), ("nfe", C.c_double), ("seconds", C.c_double)]


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


P = C.c_void_p
_decl("strand_version_string", C.c_char_p)
_decl("strand_version_number", C.c_int)
_decl("strand_get_dep_versions", DepVersions)
_decl("strand_strerror", C.c_char_p, C.c_int)
_decl("strand_last_error", C.c_char_p)
_decl("strand_set_threads", None, C.c_int)
_decl("strand_get_threads", C.c_int)
_decl("strand_set_log_level", None, C.c_int)

_decl("strand_tokenizer_free", None, P)
_decl("strand_tokenizer_dna_create", C.c_int, C.POINTER(P))
_decl("strand_tokenizer_vocab_size", C.c_size_t, P)
_decl("strand_tokenizer_encode_padded", C.c_int, P, C.c_char_p, c_i32_p, C.c_size_t,
      C.POINTER(C.c_size_t), C.POINTER(C.c_size_t))
_decl("strand_tokenizer_decode", C.c_int, P, c_i32_p, C.c_size_t, C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t))
_decl("strand_tokenizer_last_error", C.c_char_p, P)
_decl("strand_tokenizer_for_model", C.c_int, C.c_char_p, P, C.POINTER(P))

_decl("strand_model_load", C.c_int, C.c_char_p, C.POINTER(P))
_decl("strand_model_free", None, P)
_decl("strand_model_kind", C.c_char_p, P)
_decl("strand_model_config", C.c_char_p, P)
_decl("strand_model_vocab_size", C.c_size_t, P)
_decl("strand_model_max_length", C.c_size_t, P)
_decl("strand_model_num_classes", C.c_int, P)
_decl("strand_model_logits", C.c_int, P, c_i32_p, C.c_size_t, C.c_size_t, c_f32_p, c_i32_p, c_f32_p)
_decl("strand_model_last_error", C.c_char_p, P)
_decl("strand_model_embed", C.c_int, P, c_i32_p, C.c_size_t, C.c_size_t, C.c_int, c_f32_p)


_decl("strand_vep_default_params", VepParams)
_decl("strand_vep_create", C.c_int, C.c_char_p, C.c_char_p, C.POINTER(VepParams), C.POINTER(P))
_decl("strand_vep_free", None, P)
_decl("strand_vep_last_error", C.c_char_p, P)
_decl("strand_vep_score_batch", C.c_int, P, C.POINTER(VepVariant), C.c_size_t)
_decl("strand_vep_annotate_vcf", C.c_int, P, C.c_char_p, C.c_char_p, C.c_char, C.c_int, C.POINTER(C.c_char_p),
      C.c_int, C.c_int, C.POINTER(C.c_char_p), C.POINTER(VepSummary))
_decl("strand_vep_model_sha256", C.c_char_p, P)

_decl("strand_diffusion_info", C.c_int, P, c_int_p, c_i32_p, c_int_p)
_decl("strand_sampler_default_params", SamplerParams)
_decl("strand_sampler_create", C.c_int, P, C.POINTER(SamplerParams), C.POINTER(P))
_decl("strand_sampler_free", None, P)
_decl("strand_sampler_length", C.c_size_t, P)
_decl("strand_sampler_run", C.c_int, P, C.c_size_t, c_i32_p, C.POINTER(SamplerStats))
_decl("strand_sampler_last_error", C.c_char_p, P)

STRAND_E_CANCELLED = -9

_decl("strand_classifier_load", C.c_int, C.c_char_p, C.POINTER(P))
_decl("strand_classifier_free", None, P)
_decl("strand_classifier_num_classes", C.c_int, P)
_decl("strand_classifier_vocab_size", C.c_size_t, P)
_decl("strand_classifier_max_length", C.c_size_t, P)
_decl("strand_classifier_info", C.c_int, P, c_int_p, c_int_p, c_int_p)
_decl("strand_classifier_log_probs", C.c_int, P, c_i32_p, C.c_size_t, C.c_size_t, c_f32_p, c_f32_p)
_decl("strand_classifier_last_error", C.c_char_p, P)
_decl("strand_sampler_set_classifier", C.c_int, P, P, C.c_int, C.c_double, C.c_int, C.c_size_t)
_decl("strand_sampler_cbg_stats", C.c_int, P, C.POINTER(C.c_uint64), C.POINTER(C.c_uint64), C.POINTER(C.c_uint64))

STRAND_CBG_EXACT = 0
STRAND_CBG_FIRST_ORDER = 1
STRAND_TAIL_NONE, STRAND_TAIL_GREEDY, STRAND_TAIL_ANCESTRAL = 0, 1, 2  # include/strand.h strand_sampler_params.tail
