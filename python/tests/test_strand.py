"""Every Python call against the CLI on the same inputs, compared bitwise."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import strand
from conftest import BIN, MODEL, ROOT, VEP_DIR, run


def test_versions_match_cli():
    out = run("--version").stdout
    assert strand.version() in out
    for name, ver in strand.dep_versions().items():
        if name != "jansson" or "jansson" in out:
            assert ver.split()[0] in out, (name, ver, out)


def test_model_properties():
    m = strand.Model(MODEL)
    assert m.kind == "caduceus_ps"
    assert m.vocab_size == 16
    assert m.config["d_model"] == 64


def test_bad_model_raises_library_message(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(strand.Error) as e:
        strand.Model(bad)
    assert str(bad) in str(e.value) and e.value.code < 0
    with pytest.raises(strand.Error, match="No such file"):
        strand.Model(tmp_path / "missing.safetensors")


def test_logits_equal_cli(tmp_path):
    rng = np.random.default_rng(1)
    ids = rng.integers(7, 11, size=(3, 96)).astype(np.int32)
    np.save(tmp_path / "ids.npy", ids)
    run("logits", "-m", MODEL, "-i", tmp_path / "ids.npy", "-o", tmp_path / "cli.npy")
    cli = np.load(tmp_path / "cli.npy")
    py = strand.Model(MODEL).logits(ids)
    assert py.dtype == np.float32 and py.shape == cli.shape
    assert np.array_equal(py, cli)


def _fasta(tmp_path, n=3, L=80, seed=2):
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(n)]
    p = tmp_path / "seqs.fa"
    p.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    return p, seqs


@pytest.mark.parametrize("pool", ["mean", "none"])
def test_embed_equal_cli(tmp_path, pool):
    fa, seqs = _fasta(tmp_path)
    run("embed", "-m", MODEL, "-i", fa, "-o", tmp_path / "e.npy", "--pool", pool, "-q")
    cli = np.load(tmp_path / "e.npy")
    m = strand.Model(MODEL)
    tok = m.tokenizer
    ids = np.stack([tok.encode(s, len(s)) for s in seqs])
    py = m.embed(ids, pooling="mean" if pool == "mean" else "position")
    assert np.array_equal(py, cli)


def _strip_commands(text):
    return [l for l in text.splitlines() if not (l.startswith("##") and "Command=" in l)]


@pytest.fixture(scope="module")
def vcf(tmp_path_factory):
    """The header and first 30 records of the bundled chr22 dbSNP VCF."""
    p = tmp_path_factory.mktemp("vcf") / "snps30.vcf"
    lines = (VEP_DIR / "chr22_snps200.vcf").read_text().splitlines(True)
    head = [l for l in lines if l.startswith("#")]
    p.write_text("".join(head + [l for l in lines if not l.startswith("#")][:30]))
    return p


def test_annotate_vcf_equal_cli(tmp_path, fasta, vcf):
    run("vep", "-m", MODEL, "-f", fasta, "-o", tmp_path / "cli.vcf", "-q", vcf)
    s = strand.vep.annotate_vcf(vcf, tmp_path / "py.vcf", model=MODEL, fasta=fasta)
    cli = (tmp_path / "cli.vcf").read_text()
    py = (tmp_path / "py.vcf").read_text()
    assert _strip_commands(py) == _strip_commands(cli)
    assert s["records"] == 30 and s["llr_scored"] > 0


def test_score_equal_cli(tmp_path, fasta, vcf):
    run("vep", "-m", MODEL, "-f", fasta, "-o", tmp_path / "cli.vcf", "-q", vcf)
    cli = {}
    variants = []
    for line in (tmp_path / "cli.vcf").read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        info = dict(kv.split("=", 1) for kv in f[7].split(";") if "=" in kv)
        cli[(f[0], int(f[1]), f[3], f[4])] = (info.get("STRAND_LLR"), info.get("STRAND_EMB"))
        variants.append((f[0], int(f[1]), f[3], f[4]))
    rec = strand.vep.score(variants, model=MODEL, fasta=fasta)
    assert len(rec) == len(variants)
    for r in rec:
        llr, emb = cli[(r["contig"], r["pos"], r["ref"], r["alt"])]
        # the VCF holds float32 values printed by htslib with %g: the same number, the same text
        assert "%g" % float(np.float32(r["llr"])) == llr
        assert "%g" % float(np.float32(r["emb"])) == emb
        assert r["status"] == 0


def test_sample_equal_cli(tmp_path, udlm):
    run("sample", "-m", udlm, "-n", 12, "--steps", 5, "--batch", 4, "--seed", 7, "--label", 1, "--gamma", 2,
        "--threads", 2, "-q", "-o", tmp_path / "cli.npy")
    run("sample", "-m", udlm, "-n", 12, "--steps", 5, "--batch", 4, "--seed", 7, "--label", 1, "--gamma", 2,
        "--threads", 2, "-q", "-o", tmp_path / "cli.smi")
    m = strand.Model(udlm)
    seen = []
    s = strand.Sampler(m, steps=5, batch=4, seed=7, label=1, gamma=2.0, threads=2)
    ids = s.run(12, progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(ids, np.load(tmp_path / "cli.npy"))
    assert seen and seen[-1][0] == seen[-1][1]
    assert s.stats["nfe"] > 0
    text = strand.Sampler(m, steps=5, batch=4, seed=7, label=1, gamma=2.0).sample_text(12)
    assert text == (tmp_path / "cli.smi").read_text().splitlines()


def test_sampler_bad_input(udlm):
    m = strand.Model(udlm)
    with pytest.raises(strand.Error, match="label|class"):
        strand.Sampler(m, label=99)
    with pytest.raises(strand.Error):
        strand.Sampler(m, steps=0)
    with pytest.raises(strand.Error):
        strand.Sampler(strand.Model(MODEL))  # a Caduceus model cannot be sampled


def test_progress_false_cancels(udlm):
    s = strand.Sampler(strand.Model(udlm), steps=20, batch=2)
    with pytest.raises(strand.Error) as e:
        s.run(8, progress=lambda d, t: False)
    assert e.value.code == -9  # STRAND_E_CANCELLED


def test_sigint_cancels_sampling_cleanly(tmp_path, udlm):
    """SIGINT during a long run: the C call stops at the next step, KeyboardInterrupt reaches
    Python, no result is returned, and the interpreter keeps working."""
    script = tmp_path / "long.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time, strand
        m = strand.Model({str(udlm)!r})
        s = strand.Sampler(m, steps=100000, batch=4, threads=1)
        t0 = time.time()
        try:
            s.run(64, progress=lambda d, t: print("step", d, flush=True) if d == 1 else None)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted after %.1f s" % (time.time() - t0), flush=True)
            # the library is usable after the cancel
            print("again", strand.Sampler(m, steps=2, batch=4).run(4).shape, flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout.readline().startswith("step")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert "interrupted" in out and "finished" not in out and "again (4, " in out


def test_marginal_llr_only_equal_cli(tmp_path, fasta, vcf):
    """The newest VEP parameters (llr, scores) reach the library: marginal LLR without EMB."""
    run("vep", "-m", MODEL, "-f", fasta, "--llr", "marginal", "--scores", "llr", "-o", tmp_path / "cli.vcf", "-q",
        vcf)
    strand.vep.annotate_vcf(vcf, tmp_path / "py.vcf", model=MODEL, fasta=fasta, llr="marginal", scores="llr")
    cli = (tmp_path / "cli.vcf").read_text()
    assert "llr=marginal" in cli and "STRAND_EMB" not in cli
    assert _strip_commands((tmp_path / "py.vcf").read_text()) == _strip_commands(cli)


def test_design_campaign_equals_cli(tmp_path):
    """strand.design runs the bundled demo campaign; its files equal the CLI's byte for byte and the
    results carry the same samples."""
    import strand
    demo = ROOT / "design" / "campaigns" / "demo.json"
    run("design", demo, "-o", tmp_path / "cli", "-q")
    with strand.design.Campaign(str(demo)) as c:
        assert c.name == "demo"
        assert "3 jobs" in c.plan(rate=100)
        res = c.run(str(tmp_path / "py"), threads=2)
    assert [r["job"] for r in res] == ["unguided/gamma-0", "cfg-qed/gamma-1", "cfg-qed/gamma-3"]
    for r in res:
        lines = (tmp_path / "cli" / r["job"] / "samples.smi").read_text().split("\n")[:-1]
        assert r["samples"] == lines
    for f in ["metrics.json", "report.html", "cfg-qed/gamma-3/samples.tsv", "unguided/gamma-0/metrics.json"]:
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": {}, "targets": [], "extra": 1}')
    with pytest.raises(strand.Error, match="bad.json: extra: unknown key"):
        strand.design.Campaign(str(bad))
