// The RDKit shim: C entry points over RDKit's C++ API. Every entry point catches every C++
// exception and turns it into a STRAND_E_* code; nothing C++ escapes into C.
#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <RDGeneral/RDLog.h>
#include <RDGeneral/versions.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "core/error.h"
#include "core/log.h"
}
#include "chem/chem.h"

struct chem_mol {
    std::unique_ptr<RDKit::ROMol> mol;
};
struct chem_pattern {
    std::unique_ptr<RDKit::ROMol> query;
    std::string smarts;
};

namespace {

// Messages quote at most this much of a SMILES/SMARTS so a pathological input cannot drown them.
const int QUOTE_MAX = 200;

int chem_fail(const char *what, const char *text, const char *reason)
{
    return st_err(nullptr, STRAND_E_CHEM, "%s \"%.*s%s\": %s", what, QUOTE_MAX, text,
                  std::strlen(text) > (size_t)QUOTE_MAX ? "..." : "", reason);
}

int exc_fail(const char *where, const std::exception &e)
{
    return st_err(nullptr, STRAND_E_CHEM, "RDKit error in %s: %s", where, e.what());
}

int unknown_fail(const char *where)
{
    return st_err(nullptr, STRAND_E_CHEM, "RDKit error in %s: unknown C++ exception", where);
}

std::once_flag g_init_once;

void init_impl()
{
    try {
        if (strand_get_log_level() >= STRAND_LOG_DEBUG) {
            RDLog::InitLogs();  // RDKit's parse messages to stderr, as RDKit prints them
        } else {
            boost::logging::disable_logs("rdApp.*");
        }
        // Warm the lazily built tables (Crippen, TPSA, Lipinski SMARTS) outside parallel regions.
        std::unique_ptr<RDKit::ROMol> m(RDKit::SmilesToMol("OC(=O)c1ccccc1N[C@@H](C)C#N"));
        if (m) {
            double logp, mr;
            RDKit::Descriptors::calcCrippenDescriptors(*m, logp, mr);
            RDKit::Descriptors::calcTPSA(*m);
            RDKit::Descriptors::calcNumHBD(*m);
            RDKit::Descriptors::calcNumHBA(*m);
            RDKit::Descriptors::calcNumRotatableBonds(*m, RDKit::Descriptors::Strict);
            RDKit::Descriptors::calcNumRotatableBonds(*m, RDKit::Descriptors::NonStrict);
            RDKit::Descriptors::calcNumAromaticRings(*m);
            RDKit::Descriptors::calcAMW(*m);
            RDKit::MolToSmiles(*m);
        }
    } catch (...) {
        st_warn("RDKit initialisation raised an exception (continuing)");
    }
}

}  // namespace

extern "C" const char *chem_rdkit_version(void) { return RDKit::rdkitVersion; }

extern "C" void chem_init(void) { std::call_once(g_init_once, init_impl); }

extern "C" int chem_mol_from_smiles(const char *smiles, chem_mol **out)
{
    if (out) *out = nullptr;
    if (!smiles || !out) return st_err(nullptr, STRAND_E_ARG, "chem_mol_from_smiles: NULL argument");
    chem_init();
    if (!*smiles) return chem_fail("invalid SMILES", smiles, "empty string");
    try {
        RDKit::SmilesParserParams ps;  // sanitize, removeHs: Chem.MolFromSmiles defaults
        std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(smiles, ps));
        if (!m) return chem_fail("invalid SMILES", smiles, "syntax error");
        auto *cm = new chem_mol;
        cm->mol.reset(m.release());
        *out = cm;
        return 0;
    } catch (const std::exception &e) {
        // MolSanitizeException (valence, kekulisation), SmilesParseException, ...
        return chem_fail("invalid SMILES", smiles, e.what());
    } catch (...) {
        return chem_fail("invalid SMILES", smiles, "unknown C++ exception");
    }
}

extern "C" void chem_mol_free(chem_mol *m) { delete m; }

extern "C" int chem_mol_remove_hs(const chem_mol *m, chem_mol **out)
{
    if (out) *out = nullptr;
    if (!m || !out) return st_err(nullptr, STRAND_E_ARG, "chem_mol_remove_hs: NULL argument");
    try {
        // Chem.RemoveHs(mol) defaults: implicitOnly=False, updateExplicitCount=False, sanitize=True
        std::unique_ptr<RDKit::ROMol> h(RDKit::MolOps::removeHs(*m->mol, false, false, true));
        auto *cm = new chem_mol;
        cm->mol = std::move(h);
        *out = cm;
        return 0;
    } catch (const std::exception &e) {
        return exc_fail("removeHs", e);
    } catch (...) {
        return unknown_fail("removeHs");
    }
}

extern "C" int chem_smiles_valid(const char *smiles)
{
    if (!smiles || !*smiles) return 0;
    chem_init();
    try {
        std::unique_ptr<RDKit::RWMol> m(RDKit::SmilesToMol(smiles));
        return m ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" int chem_num_atoms(const chem_mol *m)
{
    if (!m) return st_err(nullptr, STRAND_E_ARG, "chem_num_atoms: NULL molecule");
    return (int)m->mol->getNumAtoms();
}

extern "C" int chem_num_explicit_h_atoms(const chem_mol *m)
{
    if (!m) return st_err(nullptr, STRAND_E_ARG, "chem_num_explicit_h_atoms: NULL molecule");
    int n = 0;
    for (const RDKit::Atom *a : m->mol->atoms()) n += a->getAtomicNum() == 1;
    return n;
}

extern "C" int chem_canonical_smiles(const chem_mol *m, char *buf, size_t buflen)
{
    if (!m || !buf || buflen == 0) return st_err(nullptr, STRAND_E_ARG, "chem_canonical_smiles: bad argument");
    try {
        std::string s = RDKit::MolToSmiles(*m->mol);
        if (s.size() + 1 > buflen) {
            buf[0] = '\0';
            return st_err(nullptr, STRAND_E_RANGE, "canonical SMILES needs %zu bytes, buffer has %zu",
                          s.size() + 1, buflen);
        }
        std::memcpy(buf, s.c_str(), s.size() + 1);
        return (int)s.size();
    } catch (const std::exception &e) {
        return exc_fail("MolToSmiles", e);
    } catch (...) {
        return unknown_fail("MolToSmiles");
    }
}

// Run a descriptor call that returns a count, mapping exceptions to STRAND_E_CHEM.
template <class F>
static int count_call(const chem_mol *m, const char *name, F f)
{
    if (!m) return st_err(nullptr, STRAND_E_ARG, "%s: NULL molecule", name);
    try {
        return (int)f(*m->mol);
    } catch (const std::exception &e) {
        return exc_fail(name, e);
    } catch (...) {
        return unknown_fail(name);
    }
}

template <class F>
static int real_call(const chem_mol *m, double *out, const char *name, F f)
{
    if (!m || !out) return st_err(nullptr, STRAND_E_ARG, "%s: NULL argument", name);
    try {
        *out = f(*m->mol);
        return 0;
    } catch (const std::exception &e) {
        return exc_fail(name, e);
    } catch (...) {
        return unknown_fail(name);
    }
}

extern "C" int chem_ring_count(const chem_mol *m)
{
    // findSSSR resets the ring information of the molecule it is given (RDKit keeps the
    // symmetrised SSSR after sanitisation), so it runs on a copy: `m` stays as parsed.
    return count_call(m, "ring count", [](const RDKit::ROMol &mol) {
        RDKit::ROMol copy(mol);
        std::vector<std::vector<int>> rings;
        return RDKit::MolOps::findSSSR(copy, rings);
    });
}

extern "C" int chem_logp(const chem_mol *m, double *out)
{
    return real_call(m, out, "Crippen logP", [](const RDKit::ROMol &mol) {
        double logp = 0, mr = 0;  // Crippen.MolLogP: includeHs=True
        RDKit::Descriptors::calcCrippenDescriptors(mol, logp, mr, true, false);
        return logp;
    });
}

extern "C" int chem_mw(const chem_mol *m, double *out)
{
    return real_call(m, out, "MolWt",
                     [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcAMW(mol, false); });
}

extern "C" int chem_tpsa(const chem_mol *m, double *out)
{
    return real_call(m, out, "TPSA", [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcTPSA(mol); });
}

extern "C" int chem_hbd(const chem_mol *m)
{
    return count_call(m, "NumHDonors", [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcNumHBD(mol); });
}

extern "C" int chem_hba(const chem_mol *m)
{
    return count_call(m, "NumHAcceptors",
                      [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcNumHBA(mol); });
}

extern "C" int chem_rotatable_bonds(const chem_mol *m, int mode)
{
    if (mode < CHEM_ROTB_DEFAULT || mode > CHEM_ROTB_STRICT_LINKAGES)
        return st_err(nullptr, STRAND_E_ARG, "chem_rotatable_bonds: unknown mode %d", mode);
    return count_call(m, "NumRotatableBonds", [mode](const RDKit::ROMol &mol) {
        return RDKit::Descriptors::calcNumRotatableBonds(mol, (RDKit::Descriptors::NumRotatableBondsOptions)mode);
    });
}

extern "C" int chem_aromatic_rings(const chem_mol *m)
{
    return count_call(m, "NumAromaticRings",
                      [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcNumAromaticRings(mol); });
}

/* ---- SMARTS ------------------------------------------------------------------ */

extern "C" int chem_pattern_compile(const char *smarts, chem_pattern **out)
{
    if (out) *out = nullptr;
    if (!smarts || !out) return st_err(nullptr, STRAND_E_ARG, "chem_pattern_compile: NULL argument");
    chem_init();
    if (!*smarts) return chem_fail("invalid SMARTS", smarts, "empty string");
    try {
        std::unique_ptr<RDKit::RWMol> q(RDKit::SmartsToMol(smarts));
        if (!q) return chem_fail("invalid SMARTS", smarts, "syntax error");
        auto *p = new chem_pattern;
        p->query.reset(q.release());
        p->smarts = smarts;
        *out = p;
        return 0;
    } catch (const std::exception &e) {
        return chem_fail("invalid SMARTS", smarts, e.what());
    } catch (...) {
        return chem_fail("invalid SMARTS", smarts, "unknown C++ exception");
    }
}

extern "C" void chem_pattern_free(chem_pattern *p) { delete p; }

namespace {
std::mutex g_cache_mu;
std::unordered_map<std::string, std::unique_ptr<chem_pattern>> g_cache;
}  // namespace

extern "C" int chem_pattern_cached(const char *smarts, const chem_pattern **out)
{
    if (out) *out = nullptr;
    if (!smarts || !out) return st_err(nullptr, STRAND_E_ARG, "chem_pattern_cached: NULL argument");
    try {
        std::lock_guard<std::mutex> lock(g_cache_mu);
        auto it = g_cache.find(smarts);
        if (it != g_cache.end()) {
            *out = it->second.get();
            return 0;
        }
        chem_pattern *p = nullptr;
        int rc = chem_pattern_compile(smarts, &p);
        if (rc < 0) return rc;
        g_cache.emplace(smarts, std::unique_ptr<chem_pattern>(p));
        *out = p;
        return 0;
    } catch (const std::exception &e) {
        return exc_fail("SMARTS cache", e);
    } catch (...) {
        return unknown_fail("SMARTS cache");
    }
}

extern "C" int chem_count_matches(const chem_mol *m, const chem_pattern *p)
{
    if (!m || !p) return st_err(nullptr, STRAND_E_ARG, "chem_count_matches: NULL argument");
    try {
        RDKit::SubstructMatchParameters ps;  // GetSubstructMatches: uniquify, maxMatches 1000
        return (int)RDKit::SubstructMatch(*m->mol, *p->query, ps).size();
    } catch (const std::exception &e) {
        return chem_fail("substructure match failed for SMARTS", p->smarts.c_str(), e.what());
    } catch (...) {
        return chem_fail("substructure match failed for SMARTS", p->smarts.c_str(), "unknown C++ exception");
    }
}

extern "C" int chem_has_match(const chem_mol *m, const chem_pattern *p)
{
    if (!m || !p) return st_err(nullptr, STRAND_E_ARG, "chem_has_match: NULL argument");
    try {
        RDKit::SubstructMatchParameters ps;
        ps.maxMatches = 1;
        return RDKit::SubstructMatch(*m->mol, *p->query, ps).empty() ? 0 : 1;
    } catch (const std::exception &e) {
        return chem_fail("substructure match failed for SMARTS", p->smarts.c_str(), e.what());
    } catch (...) {
        return chem_fail("substructure match failed for SMARTS", p->smarts.c_str(), "unknown C++ exception");
    }
}

extern "C" int chem_count_smarts(const chem_mol *m, const char *smarts)
{
    const chem_pattern *p = nullptr;
    int rc = chem_pattern_cached(smarts, &p);
    if (rc < 0) return rc;
    return chem_count_matches(m, p);
}

extern "C" int chem_ring_count_after_delete(const chem_mol *m, const chem_pattern *p)
{
    if (!m || !p) return st_err(nullptr, STRAND_E_ARG, "chem_ring_count_after_delete: NULL argument");
    try {
        // Chem.DeleteSubstructs(mol, query): onlyFrags=False, useChirality=False
        std::unique_ptr<RDKit::ROMol> d(RDKit::deleteSubstructs(*m->mol, *p->query, false, false));
        std::vector<std::vector<int>> rings;
        return RDKit::MolOps::findSSSR(*d, rings);
    } catch (const std::exception &e) {
        return chem_fail("deleteSubstructs failed for SMARTS", p->smarts.c_str(), e.what());
    } catch (...) {
        return chem_fail("deleteSubstructs failed for SMARTS", p->smarts.c_str(), "unknown C++ exception");
    }
}

/* ---- fingerprints, BertzCT, depiction ---------------------------------------- */

extern "C" int chem_morgan_bits(const chem_mol *m, int radius, int nbits, uint64_t *words)
{
    if (!m || !words || radius < 0 || nbits <= 0 || nbits % 64)
        return st_err(nullptr, STRAND_E_ARG, "chem_morgan_bits: bad argument (radius %d, nbits %d)", radius, nbits);
    try {
        std::unique_ptr<ExplicitBitVect> fp(
            RDKit::MorganFingerprints::getFingerprintAsBitVect(*m->mol, (unsigned)radius, (unsigned)nbits));
        std::memset(words, 0, (size_t)nbits / 8);
        for (int b = 0; b < nbits; b++)
            if (fp->getBit((unsigned)b)) words[b / 64] |= (uint64_t)1 << (b % 64);
        return 0;
    } catch (const std::exception &e) {
        return exc_fail("Morgan fingerprint", e);
    } catch (...) {
        return unknown_fail("Morgan fingerprint");
    }
}

extern "C" int chem_aliphatic_rings(const chem_mol *m)
{
    return count_call(m, "NumAliphaticRings",
                      [](const RDKit::ROMol &mol) { return RDKit::Descriptors::calcNumAliphaticRings(mol); });
}

namespace {

// Shannon entropy in bits of counts (rdkit.ML.InfoTheory.entropy.InfoEntropy), summed in order.
double info_entropy(const std::vector<double> &c)
{
    double n = 0, h = 0;
    for (double v : c) n += v;
    if (n == 0) return 0;
    for (double v : c) {
        double p = v / n;
        if (p > 0) h += -p * std::log(p) / std::log(2.0);
    }
    return h;
}

// GraphDescriptors._LookUpBondOrder: aromatic 1.5, else float(BondType) (the enum's value).
double bertz_bond_order(const RDKit::Bond *b)
{
    if (b->getIsAromatic() || b->getBondType() == RDKit::Bond::AROMATIC) return 1.5;
    return (double)(int)b->getBondType();
}

double bertz_ct(const RDKit::ROMol &mol)
{
    const int n = (int)mol.getNumAtoms();
    if (n < 2) return 0;
    // symmetry classes: atoms whose sorted "Balaban" (bond-order) distance rows agree to %.4f
    const double *bd = RDKit::MolOps::getDistanceMat(mol, true, false, true, "Balaban");
    std::vector<int> sym(n);
    std::vector<std::string> keys;
    std::vector<double> row(n);
    char num[64];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) row[j] = bd[(size_t)i * n + j];
        std::sort(row.begin(), row.end());
        std::string key;
        for (int j = 0; j < n && j < 100; j++) {
            std::snprintf(num, sizeof num, "%.4f,", row[j]);
            key += num;
        }
        auto it = std::find(keys.begin(), keys.end(), key);
        if (it == keys.end()) {
            sym[i] = (int)keys.size() + 1;
            keys.push_back(key);
        } else {
            sym[i] = (int)(it - keys.begin()) + 1;
        }
    }
    // neighbour lists sorted by index (GraphDescriptors._CreateBondDictEtc)
    std::vector<std::vector<int>> nb(n);
    for (const RDKit::Bond *b : mol.bonds()) {
        int a1 = (int)b->getBeginAtomIdx(), a2 = (int)b->getEndAtomIdx();
        if (std::find(nb[a1].begin(), nb[a1].end(), a2) == nb[a1].end()) nb[a1].push_back(a2);
        if (std::find(nb[a2].begin(), nb[a2].end(), a1) == nb[a2].end()) nb[a2].push_back(a1);
    }
    for (auto &l : nb) std::sort(l.begin(), l.end());
    // dictionaries kept in insertion order, as Python's dicts are
    std::map<int, size_t> type_idx;
    std::vector<double> types;
    std::map<std::array<int, 3>, size_t> conn_idx;
    std::vector<double> conns;
    auto add_conn = [&](std::array<int, 3> key, double v) {
        auto it = conn_idx.find(key);
        if (it == conn_idx.end()) {
            conn_idx.emplace(key, conns.size());
            conns.push_back(v);
        } else {
            conns[it->second] += v;
        }
    };
    for (int a = 0; a < n; a++) {
        int z = mol.getAtomWithIdx(a)->getAtomicNum();
        auto it = type_idx.find(z);
        if (it == type_idx.end()) {
            type_idx.emplace(z, types.size());
            types.push_back(1);
        } else {
            types[it->second] += 1;
        }
        const int h = sym[a];
        const auto &l = nb[a];
        for (size_t i = 0; i < l.size(); i++) {
            int ni = l[i], ci = sym[ni];
            double oi = bertz_bond_order(mol.getBondBetweenAtoms(a, ni));
            if (oi > 1 && ni > a) add_conn({std::min(h, ci), std::max(h, ci), -1}, oi * (oi - 1) / 2);
            for (size_t j = i + 1; j < l.size(); j++) {
                int nj = l[j], cj = sym[nj];
                double oj = bertz_bond_order(mol.getBondBetweenAtoms(a, nj));
                add_conn({std::min(ci, cj), h, std::max(ci, cj)}, oi * oj);
            }
        }
    }
    if (conns.empty()) conns.push_back(1);
    double tot = 0;
    for (double v : conns) tot += v;
    double conn_ie = tot * (info_entropy(conns) + std::log(tot) / std::log(2.0));
    double type_ie = n * info_entropy(types);
    return type_ie + conn_ie;
}

}  // namespace

extern "C" int chem_bertz_ct(const chem_mol *m, double *out)
{
    return real_call(m, out, "BertzCT", [](const RDKit::ROMol &mol) { return bertz_ct(mol); });
}

extern "C" int chem_depict_svg(const chem_mol *m, int width, int height, char **svg)
{
    if (svg) *svg = nullptr;
    if (!m || !svg || width < 16 || height < 16 || width > 4096 || height > 4096)
        return st_err(nullptr, STRAND_E_ARG, "chem_depict_svg: bad argument (%d x %d)", width, height);
    try {
        RDKit::MolDraw2DSVG drawer(width, height, -1, -1, true);  // no FreeType: text as <text>
        RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, *m->mol);
        drawer.finishDrawing();
        std::string s = drawer.getDrawingText();
        if (s.compare(0, 5, "<?xml") == 0) {
            size_t e = s.find("?>");
            if (e != std::string::npos) s.erase(0, e + 2);
            while (!s.empty() && (s[0] == '\n' || s[0] == '\r')) s.erase(0, 1);
        }
        char *c = (char *)std::malloc(s.size() + 1);
        if (!c) return st_err(nullptr, STRAND_E_NOMEM, "chem_depict_svg: out of memory");
        std::memcpy(c, s.c_str(), s.size() + 1);
        *svg = c;
        return 0;
    } catch (const std::exception &e) {
        return exc_fail("MolDraw2DSVG", e);
    } catch (...) {
        return unknown_fail("MolDraw2DSVG");
    }
}
