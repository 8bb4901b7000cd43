#!/usr/bin/python3
"""Independent reference for strand's SMILES tokenizer (docs/tokenizers.md "SMILES tokenizer"), using Python's re module with
the published regex. Writes, under tests/data/tokenizers/:

  nci_tokens.tsv   SMILES <TAB> tokens joined by single spaces, for every 17th molecule of RDKit's
                   NCI first_5K.smi (lines 1, 18, 35, ...) followed by hand-picked edge cases;
  invalid.tsv      strings the regex does not cover <TAB> 1-based position of the first character
                   that no token covers <TAB> that character;
  nci5k_vocab.txt  the sorted distinct tokens of all of first_5K.smi, one a line;
and the fuzzer's seed corpus fuzz/corpus/smiles_tokenizer/ (one file per sample and invalid string).

Run: /usr/bin/python3 tests/reference/smiles_tokens.py   (Debian's python3; rdkit-data installed)
"""
import os
import re
import sys

PATTERN = r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|\/|:|~|@|\?|>|\*|\$|\%[0-9]{2}|[0-9])"
RX = re.compile(PATTERN)
NCI = "/usr/share/RDKit/Data/NCI/first_5K.smi"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "data", "tokenizers")
CORPUS = os.path.join(ROOT, "fuzz", "corpus", "smiles_tokenizer")
STEP = 17

EDGE = [
    "[NH3+]CC(=O)[O-]",             # charged bracket atoms
    "C%12CCCCC%12",                 # two-digit ring closure
    "C%10CC%11CC%10CC%11",
    "BrCCCl", "ClC(Br)(Cl)Br", "B", "Bc1ccccc1", "BrB", "CCl", "C1CC1Cl",
    "F/C=C/F", "F/C=C\\F", "C(\\F)=C/F",  # stereo bonds
    "[C@@H](N)(C)C(=O)O", "N[C@H](C)C(=O)O",
    "C.C", "[Na+].[Cl-]", "CC(=O)[O-].[NH4+]",
    "c1ccccc1", "c1cc[nH]c1", "[se]1cccc1", "c1ccoc1", "c1ccsc1", "b1ccccc1", "p1ccccc1",
    "[2H]C([2H])([2H])[2H]", "[13CH4]", "[Fe+2]", "[Co+3]", "[U]", "[*]", "*CC*",
    "C#N", "C=C", "CC-C", "C:C", "C~C", "C$C", "CCO>>CC=O", "C?C", "[C@]", "C@C",
    "OS(=O)(=O)O", "P(=O)(O)(O)O", "IC", "FC(F)(F)F",
    "[[C]", "[C[N]", "C[N+](C)(C)C", "C1CCCCC1C2CCCCC2", "C0C", "C9", "CC%99",
]

INVALID = ["C1CC!", "[NH3+", "Xe", "C%1C", "C%", "[]C", "CC ", " C", "Ca", "Cl[", "C]", "c1ccccc1Q", "K"]


def tokens(s):
    return RX.findall(s)


def first_uncovered(s):
    """1-based position of the first character that no regex match starting there covers."""
    i = 0
    while i < len(s):
        m = RX.match(s, i)
        if not m:
            return i + 1
        i = m.end()
    return 0


def main():
    with open(NCI) as f:
        smiles = [line.split()[0] for line in f if line.strip()]
    os.makedirs(OUT, exist_ok=True)
    sample = smiles[::STEP] + EDGE
    with open(os.path.join(OUT, "nci_tokens.tsv"), "w") as f:
        for s in sample:
            t = tokens(s)
            assert "".join(t) == s, f"regex does not cover {s!r}"
            assert all(" " not in x and "\t" not in x for x in t), s
            f.write(s + "\t" + " ".join(t) + "\n")
    with open(os.path.join(OUT, "invalid.tsv"), "w") as f:
        for s in INVALID:
            p = first_uncovered(s)
            assert p > 0 and "".join(tokens(s)) != s, s
            f.write(f"{s}\t{p}\t{s[p - 1]}\n")
    vocab = set()
    for s in smiles:
        t = tokens(s)
        if "".join(t) != s:
            sys.exit(f"NCI SMILES not covered by the regex: {s!r}")
        vocab.update(t)
    with open(os.path.join(OUT, "nci5k_vocab.txt"), "w") as f:
        for t in sorted(vocab):
            f.write(t + "\n")
    os.makedirs(CORPUS, exist_ok=True)
    for i, s in enumerate(sample + INVALID):
        with open(os.path.join(CORPUS, f"seed_{i:03d}"), "w") as f:
            f.write(s)
    print(f"{len(sample)} sample rows ({len(smiles)} NCI molecules, every {STEP}th + {len(EDGE)} edge cases), "
          f"{len(INVALID)} invalid strings, vocabulary of {len(vocab)} tokens")


if __name__ == "__main__":
    main()
