"""Shared fixtures: the built `strand` CLI (the reference every Python call is compared with)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("STRAND_BIN", ROOT / "build" / "strand"))
MODEL = ROOT / "models" / "caduceus-ps-chr20.safetensors"
VEP_DIR = ROOT / "tests" / "data" / "vep"


def run(*args, **kw):
    r = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"strand {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
    return r


@pytest.fixture(scope="session")
def fasta(tmp_path_factory):
    """A copy of the bundled chr22 slice (its .fai is built beside the copy, not in the tree)."""
    d = tmp_path_factory.mktemp("ref")
    p = d / "chr22_60kb.fa"
    p.write_bytes((VEP_DIR / "chr22_60kb.fa").read_bytes())
    return p


@pytest.fixture(scope="session")
def udlm(tmp_path_factory):
    """A small real UDLM trained by `strand train udlm` on RDKit's NCI molecules (QED classes)."""
    d = tmp_path_factory.mktemp("udlm")
    out = d / "udlm.safetensors"
    table = d / "nci.tsv"  # the committed table without its provenance comment line
    lines = (ROOT / "tests" / "data" / "chem" / "nci_props.tsv").read_text().splitlines(True)
    table.write_text("".join(l for l in lines if not l.startswith("#")))
    run("train", "udlm", "-i", table, "--smiles-col", "smiles", "--prop-col", "qed",
        "--skip-bad", "--val-hold", "64", "-L", "48", "-B", "8", "--dim", "32", "--depth", "1", "--heads", "2",
        "--cond-dim", "32", "--steps", "4", "--val-every", "4", "--val-rows", "16", "--threads", "1", "-q",
        "-o", out)
    return out


@pytest.fixture(scope="session")
def clf(tmp_path_factory, udlm):
    """A small noisy classifier (`strand train classifier --like` the udlm fixture, so its vocabulary,
    process and length are the model's) over the same NCI molecules, QED classes. 200 steps at lr
    3e-3, so that its blocks are no longer the identity of their zero-initialised gates: a classifier
    that is still linear in its one-hot input makes exact and first-order CBG draw the same ids."""
    d = tmp_path_factory.mktemp("clf")
    out = d / "clf.safetensors"
    table = d / "nci.tsv"
    lines = (ROOT / "tests" / "data" / "chem" / "nci_props.tsv").read_text().splitlines(True)
    table.write_text("".join(l for l in lines if not l.startswith("#")))
    run("train", "classifier", "--like", udlm, "-i", table, "--smiles-col", "smiles", "--prop-col", "qed",
        "--skip-bad", "--val-hold", "64", "-B", "8", "--dim", "32", "--depth", "1", "--heads", "2",
        "--cond-dim", "32", "--steps", "200", "--lr", "3e-3", "--val-every", "200", "--val-rows", "16", "--threads", "1",
        "--seed", "3",
        "-q", "-o", out)
    return out
