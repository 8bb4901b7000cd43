"""Every Python call against the CLI on the same inputs, compared bitwise."""
import json
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


def _safetensors_metadata(path):
    """The file's own header, read without the library (independent of strand's parser)."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])["__metadata__"]


def test_model_properties():
    m = strand.Model(MODEL)
    meta = _safetensors_metadata(MODEL)
    cfg = json.loads(meta["strand.config"])
    assert m.kind == meta["strand.kind"] == "caduceus_ps"
    assert m.vocab_size == cfg["vocab_size"] == 16
    assert m.config["d_model"] == cfg["d_model"]
    assert m.config["n_layer"] == cfg["n_layer"]


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


@pytest.mark.parametrize("tail", ["greedy", "ancestral"])
def test_sample_tail_equal_cli(tmp_path, udlm, tail):
    run("sample", "-m", udlm, "-n", 8, "--steps", 3, "--batch", 4, "--seed", 5, "--tail", tail, "--threads", 1, "-q",
        "-o", tmp_path / "cli.npy")
    m = strand.Model(udlm)
    s = strand.Sampler(m, steps=3, batch=4, seed=5, tail=tail, threads=1)
    ids = s.run(8)
    assert np.array_equal(ids, np.load(tmp_path / "cli.npy"))
    assert s.stats["nfe"] == 4  # 3 steps + the tail's call at t = 1e-5
    p = strand.Sampler(m, steps=3, batch=4, seed=5, threads=1)
    plain = p.run(8)
    assert p.stats["nfe"] == 3
    if tail == "greedy":  # argmax x_theta moves positions; an ancestral draw from 1e-5 keeps each with p ~ 1 - 1e-5
        assert not np.array_equal(ids, plain)
    assert np.array_equal(plain, strand.Sampler(m, steps=3, batch=4, seed=5, tail="none", threads=1).run(8))


def test_sampler_bad_input(udlm):
    m = strand.Model(udlm)
    with pytest.raises(strand.Error, match="label|class"):
        strand.Sampler(m, label=99)
    with pytest.raises(strand.Error):
        strand.Sampler(m, steps=0)
    with pytest.raises(strand.Error):
        strand.Sampler(strand.Model(MODEL))  # a Caduceus model cannot be sampled
    with pytest.raises(ValueError, match="tail"):
        strand.Sampler(m, tail="fast")


def test_progress_false_cancels(udlm):
    s = strand.Sampler(strand.Model(udlm), steps=20, batch=2)
    with pytest.raises(strand.Error) as e:
        s.run(8, progress=lambda d, t: False)
    assert e.value.code == -9  # STRAND_E_CANCELLED


def interrupt_after_first_step(script):
    """Run a Python script that prints "step ..." when its long call has started, send it SIGINT
    then, and return its stdout once it exits (it must exit 0: the interrupt is handled)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout.readline().startswith("step")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return out


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
    out = interrupt_after_first_step(script)
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


# ---- classifiers and classifier-based guidance --------------------------------------------------

def _log_softmax_as_c(logits: np.ndarray) -> np.ndarray:
    """guidance/classifier.c log_softmax_rows, operation for operation: max and sum of exp in double
    (libm's exp/log, which Python's math module calls), each value rounded once to float32."""
    import math
    out = np.empty(logits.shape, dtype=np.float32)
    for b, row in enumerate(logits):
        r = [float(x) for x in row]
        mx = r[0]
        for x in r[1:]:
            mx = x if x > mx else mx
        s = 0.0
        for x in r:
            s += math.exp(x - mx)
        lse = mx + math.log(s)
        out[b] = [np.float32(x - lse) for x in r]
    return out


@pytest.mark.parametrize("which", ["fixture", "bundled"])
@pytest.mark.parametrize("threads", [1, 2])
def test_classifier_log_probs_equal_cli(tmp_path, clf, which, threads):
    """Classifier.log_probs equals the log-softmax (computed as the library computes it) of the class
    logits `strand logits -m CLASSIFIER --threads N` writes (n, C), bit for bit, at the same thread
    count (the bundled classifier's logits at 1 and 2 threads differ in the last bits); 40 rows
    cross the library's 32-row chunks."""
    path = clf if which == "fixture" else ROOT / "models" / "smiles-qed-mdlm-classifier.safetensors"
    c = strand.Classifier(path)
    assert c.num_classes == 2
    assert c.process == ("uniform" if which == "fixture" else "masked")
    assert not c.clean and not c.time_conditioned
    rng = np.random.default_rng(4)
    ids = rng.integers(0, c.vocab_size, size=(40, c.max_length)).astype(np.int32)
    np.save(tmp_path / "ids.npy", ids)
    run("logits", "-m", path, "-i", tmp_path / "ids.npy", "-o", tmp_path / "cli.npy", "--threads", threads)
    cli = np.load(tmp_path / "cli.npy")
    assert cli.shape == (40, c.num_classes)
    old = strand.get_threads()
    strand.set_threads(threads)
    try:
        py = c.log_probs(ids)
        one, row = c.log_probs(ids[3]), c.log_probs(ids[3:4])  # one sequence as (L,) and as (1, L)
        pred = c.predict(ids)
    finally:
        strand.set_threads(old)
    want = _log_softmax_as_c(cli)
    assert py.dtype == np.float32 and py.shape == cli.shape
    assert np.array_equal(py, want), np.max(np.abs(py - want))
    assert np.array_equal(pred, np.argmax(cli, axis=1))
    # (a row alone need not equal the same row in a batch of 40 bit for bit: OpenBLAS's sums depend on M)
    assert one.shape == (1, 2) and np.array_equal(one, row)


def test_classifier_bad_input(tmp_path, clf):
    with pytest.raises(strand.Error, match="No such file"):
        strand.Classifier(tmp_path / "missing.safetensors")
    with pytest.raises(strand.Error):
        strand.Classifier(MODEL)  # a Caduceus model is not a classifier
    c = strand.Classifier(clf)
    with pytest.raises(strand.Error):
        c.log_probs(np.full((1, c.max_length), c.vocab_size + 5, dtype=np.int32))  # ids outside the vocabulary


BUNDLED_UDLM = ROOT / "models" / "smiles-udlm-qed.safetensors.zst"
BUNDLED_UDLM_CLF = ROOT / "models" / "smiles-qed-classifier.safetensors"
CBG_CASES = {
    # name: (Python keywords, the same options of `strand sample`, keywords that must give other ids)
    "first-order": (dict(cls=1, gamma=30.0), ["--class", 1, "--gamma", 30], dict(cls=0)),
    "exact": (dict(cls=0, gamma=30.0, cbg="exact"), ["--class", 0, "--gamma", 30, "--cbg", "exact"],
              dict(cbg="first-order")),
    # the fixture UDLM's label hardly moves its samples: CFG+CBG on the bundled UDLM and its classifier
    "cfg+cbg": (dict(label=1, cfg_gamma=3.0, cls=1, gamma=5.0),
                ["--label", 1, "--cfg-gamma", 3, "--class", 1, "--gamma", 5], dict(cfg_gamma=1.0)),
}


@pytest.mark.parametrize("case", list(CBG_CASES))
def test_cbg_sample_equal_cli(tmp_path, udlm, clf, case):
    """Sampler with a classifier: the same ids as `strand sample --classifier ...` (bitwise), for
    first-order and exact CBG and for CFG+CBG, and the same text for the first-order case. Each case
    also shows that its keywords matter: unguided, and with one keyword changed (the class, the mode,
    the CFG weight), the ids differ."""
    kw, opts, other = CBG_CASES[case]
    model, classifier = (BUNDLED_UDLM, BUNDLED_UDLM_CLF) if case == "cfg+cbg" else (udlm, clf)
    n = 4 if case == "exact" else 10  # exact scores every single-token edit: ~2,900 classifier rows a sequence-step
    common = ["-m", model, "-n", n, "--steps", 4, "--batch", 4, "--seed", 11, "--threads", 2, "-q",
              "--classifier", classifier, *opts]
    run("sample", *common, "-o", tmp_path / "cli.npy")
    cli = np.load(tmp_path / "cli.npy")
    m = strand.Model(model)
    c = strand.Classifier(classifier)
    s = strand.Sampler(m, steps=4, batch=4, seed=11, threads=2, classifier=c, **kw)
    py = s.run(n)
    assert np.array_equal(py, cli)
    st = s.cbg_stats
    assert st["rows"] > 0 and st["calls"] > 0
    unguided = strand.Sampler(m, steps=4, batch=4, seed=11, threads=2,
                              label=kw.get("label"), gamma=kw.get("cfg_gamma", 1.0)).run(n)
    assert not np.array_equal(py, unguided)
    changed = strand.Sampler(m, steps=4, batch=4, seed=11, threads=2, classifier=c, **{**kw, **other}).run(n)
    assert not np.array_equal(py, changed), other
    if case == "first-order":
        run("sample", *common, "-o", tmp_path / "cli.smi")
        text = strand.Sampler(m, steps=4, batch=4, seed=11, classifier=classifier, **kw).sample_text(n)  # a path works too
        assert text == (tmp_path / "cli.smi").read_text().splitlines()


def test_sampler_cbg_bad_input(udlm, clf):
    m = strand.Model(udlm)
    with pytest.raises(ValueError, match="cls needs a classifier"):
        strand.Sampler(m, cls=1)
    with pytest.raises(ValueError, match="cfg_gamma needs a classifier"):
        strand.Sampler(m, cfg_gamma=2.0)
    with pytest.raises(ValueError, match="needs cls"):
        strand.Sampler(m, classifier=clf)
    with pytest.raises(ValueError, match="exact"):
        strand.Sampler(m, classifier=clf, cls=1, cbg="second-order")
    with pytest.raises(strand.Error):
        strand.Sampler(m, classifier=clf, cls=7)  # a class the classifier does not have
    with pytest.raises(strand.Error):
        # the bundled MDLM classifier's vocabulary and process are not the fixture UDLM's
        strand.Sampler(m, classifier=ROOT / "models" / "smiles-qed-mdlm-classifier.safetensors", cls=1)


# ---- design campaigns one job at a time -------------------------------------------------------

WF_CAMPAIGN = ROOT / "tests" / "data" / "design" / "workflow.json"


def _tree(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


def _no_seconds(o):
    return {k: _no_seconds(v) for k, v in o.items() if k != "seconds"} if isinstance(o, dict) else o


def _assert_same_campaign_files(a, b):
    """Every file byte-identical except manifest.json and */job.json (wall-clock seconds), which must
    be equal once "seconds" is removed."""
    import json
    assert _tree(a) == _tree(b)
    for f in _tree(a):
        x, y = (a / f).read_bytes(), (b / f).read_bytes()
        if f == "manifest.json" or f.endswith("/job.json"):
            assert _no_seconds(json.loads(x)) == _no_seconds(json.loads(y)), f
        else:
            assert x == y, f


def test_campaign_jobs_run_job_gather_equal_cli(tmp_path):
    """strand.Campaign: jobs() is `--list-jobs`; run_job() of every job then gather() writes the
    files of one `strand design` run; a finished job is kept; gather refuses while a job is missing."""
    cli_jobs = run("design", WF_CAMPAIGN, "--list-jobs").stdout.split()
    run("design", WF_CAMPAIGN, "-o", tmp_path / "cli", "--threads", 2, "-q")
    c = strand.Campaign(WF_CAMPAIGN)
    assert c.name == "workflow-check"
    jobs = c.jobs()
    assert jobs == cli_jobs and len(jobs) == 4
    out = tmp_path / "py"
    first = c.run_job(jobs[0], out)
    assert first["job"] == jobs[0] and not first["reused"]
    assert first["samples"] == (tmp_path / "cli" / jobs[0] / "samples.smi").read_text().split("\n")[:-1]
    with pytest.raises(strand.Error, match=jobs[1]):
        c.gather(out)  # the other jobs have not run: named, nothing written
    assert not (out / "metrics.json").exists() and not (out / "manifest.json").exists()
    for j in jobs[1:]:
        r = c.run_job(j, out, threads=2)
        assert r["job"] == j and r["metrics"]["samples"] == 16 and len(r["samples"]) == 16
    assert c.run_job(jobs[0], out)["reused"]  # its job.json shows it finished
    res = c.gather(out)
    assert [r["job"] for r in res] == jobs
    _assert_same_campaign_files(out, tmp_path / "cli")
    with pytest.raises(strand.Error, match="nope/gamma-1"):
        c.run_job("nope/gamma-1", out)


def test_campaign_run_iterates_and_equals_cli(tmp_path):
    """strand.Campaign.run over the same campaign: results in campaign order, files as the CLI's."""
    run("design", WF_CAMPAIGN, "-o", tmp_path / "cli", "-q")
    res = strand.Campaign(WF_CAMPAIGN).run(tmp_path / "py", threads=2)
    assert [r["job"] for r in res] == run("design", WF_CAMPAIGN, "--list-jobs").stdout.split()
    for r in res:
        assert r["metrics"] is not None and not r["reused"]
        assert r["samples"] == (tmp_path / "cli" / r["job"] / "samples.smi").read_text().split("\n")[:-1]
    _assert_same_campaign_files(tmp_path / "py", tmp_path / "cli")


def test_sigint_cancels_campaign_job_cleanly(tmp_path):
    """SIGINT during run_job: KeyboardInterrupt, no job.json and no file of the job under its final
    name (a rerun redoes it), and the handle still works."""
    import json
    big = json.loads(WF_CAMPAIGN.read_text())
    for k in ("models", "classifiers"):
        for v in big[k].values():
            v["path"] = str((WF_CAMPAIGN.parent / v["path"]).resolve())
    big["defaults"].update(steps=4000, samples=64)
    camp = tmp_path / "long.json"
    camp.write_text(json.dumps(big))
    script = tmp_path / "long.py"
    script.write_text(textwrap.dedent(f"""
        import strand
        c = strand.Campaign({str(camp)!r})
        try:
            c.run_job("unguided/gamma-0", {str(tmp_path / "out")!r},
                      progress=lambda d, t: print("step", d, flush=True) if d == 1 else None)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            print("jobs", len(c.jobs()), flush=True)
    """))
    out = interrupt_after_first_step(script)
    assert "interrupted" in out and "finished" not in out and "jobs 4" in out
    job = tmp_path / "out" / "unguided" / "gamma-0"
    assert not (job / "job.json").exists() and not (job / "samples.smi").exists()
