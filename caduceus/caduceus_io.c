/* Caduceus checkpoints (docs/caduceus.md "Checkpoint names"): HuggingFace CaduceusForMaskedLM directories and strand's own
 * files (same tensor names + "strand.config" metadata). Tied tensors are absent and aliased. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caduceus/caduceus.h"
#include "core/model_path.h"

#define CFG_META "strand.config"

static int jint(json_t *root, const char *key, int *out, int required, const char *what)
{
    json_t *v = json_object_get(root, key);
    if (!v) return required ? st_err(NULL, STRAND_E_FORMAT, "%s: missing \"%s\"", what, key) : 0;
    if (!json_is_integer(v)) return st_err(NULL, STRAND_E_FORMAT, "%s: \"%s\" is not an integer", what, key);
    json_int_t x = json_integer_value(v);
    if (x <= 0 || x > 1 << 20) return st_err(NULL, STRAND_E_FORMAT, "%s: \"%s\" = %lld out of range", what, key, (long long)x);
    *out = (int)x;
    return 0;
}

/* A boolean that, when present, must have the value strand supports. */
static int jbool_must(json_t *root, const char *key, int want, const char *what)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return st_err(NULL, STRAND_E_FORMAT, "%s: \"%s\" is not a boolean", what, key);
    if (json_is_true(v) != want)
        return st_err(NULL, STRAND_E_UNSUPPORTED, "%s: \"%s\": %s is not supported (strand implements %s)", what, key,
                      want ? "false" : "true", want ? "true" : "false");
    return 0;
}

int caduceus_config_from_json(caduceus_config *cfg, const char *text, const char *what)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root || !json_is_object(root)) {
        if (root) json_decref(root);
        return st_err(NULL, STRAND_E_FORMAT, "%s: invalid JSON at line %d: %s", what, je.line, je.text);
    }
    int rc = 0, vocab = CADUCEUS_VOCAB;
    if ((rc = jint(root, "d_model", &cfg->d_model, 1, what)) < 0) goto done;
    if ((rc = jint(root, "n_layer", &cfg->n_layer, 1, what)) < 0) goto done;
    if ((rc = jint(root, "vocab_size", &vocab, 0, what)) < 0) goto done;
    if (vocab > CADUCEUS_VOCAB) {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: vocab_size %d > %d (the DNA vocabulary)", what, vocab, CADUCEUS_VOCAB);
        goto done;
    }
    cfg->vocab = vocab;
    json_t *rcps = json_object_get(root, "rcps");
    cfg->rcps = rcps && json_is_true(rcps);
    json_t *eps = json_object_get(root, "norm_epsilon");
    cfg->eps = eps && json_is_number(eps) ? (float)json_number_value(eps) : 1e-5f;
    if ((rc = jbool_must(root, "rms_norm", 1, what)) < 0) goto done;
    if ((rc = jbool_must(root, "bidirectional", 1, what)) < 0) goto done;
    if ((rc = jbool_must(root, "bidirectional_weight_tie", 1, what)) < 0) goto done;
    json_t *strat = json_object_get(root, "bidirectional_strategy");
    if (strat && !json_is_null(strat) && (!json_is_string(strat) || strcmp(json_string_value(strat), "add") != 0)) {
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: bidirectional_strategy must be \"add\"", what);
        goto done;
    }
    json_t *ssm = json_object_get(root, "ssm_cfg");
    if (ssm && json_is_object(ssm)) {
        int ds = MAMBA_D_STATE, dc = MAMBA_D_CONV, ex = 2;
        if ((rc = jint(ssm, "d_state", &ds, 0, what)) < 0 || (rc = jint(ssm, "d_conv", &dc, 0, what)) < 0 ||
            (rc = jint(ssm, "expand", &ex, 0, what)) < 0)
            goto done;
        if (ds != MAMBA_D_STATE || dc != MAMBA_D_CONV || ex != 2) {
            rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: ssm_cfg d_state %d, d_conv %d, expand %d (strand supports 16, 4, 2)",
                        what, ds, dc, ex);
            goto done;
        }
        json_t *dr = json_object_get(ssm, "dt_rank");
        if (dr && json_is_integer(dr) && json_integer_value(dr) != (cfg->d_model + 15) / 16) {
            rc = st_err(NULL, STRAND_E_UNSUPPORTED, "%s: ssm_cfg dt_rank %lld (strand supports \"auto\" = %d)", what,
                        (long long)json_integer_value(dr), (cfg->d_model + 15) / 16);
            goto done;
        }
        if ((rc = jbool_must(ssm, "conv_bias", 1, what)) < 0 || (rc = jbool_must(ssm, "bias", 0, what)) < 0) goto done;
    }
    /* complement_map as a JSON object: read by key, never by position (docs/caduceus.md "Checkpoint names"). The int64
     * tensors in the weights file, when present, take precedence. */
    json_t *cm = json_object_get(root, "complement_map");
    if (cm && json_is_object(cm)) {
        const char *k;
        json_t *v;
        json_object_foreach(cm, k, v)
        {
            char *end;
            long key = strtol(k, &end, 10);
            if (*end || key < 0 || key >= CADUCEUS_VOCAB || !json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) >= CADUCEUS_VOCAB) {
                rc = st_err(NULL, STRAND_E_FORMAT, "%s: complement_map entry \"%s\" is not an id in 0..%d", what, k,
                            CADUCEUS_VOCAB - 1);
                goto done;
            }
            cfg->comp[key] = json_integer_value(v);
        }
    }
done:
    json_decref(root);
    return rc;
}

static char *config_to_json(const caduceus_config *c)
{
    json_t *cm = json_object();
    for (int v = 0; v < c->vocab; v++) {
        char k[16];
        snprintf(k, sizeof k, "%d", v);
        json_object_set_new(cm, k, json_integer(c->comp[v]));
    }
    json_t *root = json_pack("{s:s, s:s, s:i, s:i, s:i, s:b, s:b, s:b, s:f, s:b, s:s, s:b, s:b, s:o, s:{s:i, s:i, s:i, s:s, s:b, s:b}}",
                             "kind", c->rcps ? "caduceus_ps" : "caduceus_ph", "model_type", "caduceus", "d_model", c->d_model, "n_layer", c->n_layer, "vocab_size",
                             c->vocab, "rms_norm", 1, "fused_add_norm", 1, "residual_in_fp32", 0, "norm_epsilon",
                             (double)c->eps, "bidirectional", 1, "bidirectional_strategy", "add",
                             "bidirectional_weight_tie", 1, "rcps", c->rcps, "complement_map", cm, "ssm_cfg",
                             "d_state", MAMBA_D_STATE, "d_conv", MAMBA_D_CONV, "expand", 2, "dt_rank", "auto",
                             "conv_bias", 1, "bias", 0);
    if (!root) return NULL;
    char *s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(root);
    return s;
}

/* Read an int64 complement map tensor when present; 1 if read, 0 if absent, < 0 on error. */
static int read_cmap(const sft_file *f, const char *name, int64_t out[CADUCEUS_VOCAB], int vocab)
{
    const sft_tensor *t = sft_find(f, name);
    if (!t) return 0;
    if (t->numel != (size_t)vocab)
        return st_err(NULL, STRAND_E_SHAPE, "tensor \"%s\" has %zu entries, expected %d (vocab_size)", name, t->numel, vocab);
    int rc = sft_read_i64(f, name, out, (size_t)vocab);
    return rc < 0 ? rc : 1;
}

/* A tied tensor that a file does carry must equal its source. */
static int check_tied(const caduceus_weights *m, const sft_file *f, const char *name, int src_idx)
{
    const sft_tensor *t = sft_find(f, name);
    if (!t) return 0;
    size_t n = m->pb.entries[src_idx].numel;
    float *tmp = malloc(n * sizeof(float));
    if (!tmp) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    int rc = sft_read_f32(f, name, tmp, n);
    if (rc == 0 && memcmp(tmp, pb_param(&m->pb, src_idx), n * sizeof(float)) != 0)
        rc = st_err(NULL, STRAND_E_UNSUPPORTED, "tensor \"%s\" differs from the tensor it is tied to (\"%s\"); untied "
                                                "weights are not supported", name, m->pb.entries[src_idx].name);
    free(tmp);
    return rc;
}

int caduceus_load_from(caduceus_weights **out, const caduceus_config *cfg_in, const sft_file *f)
{
    *out = NULL;
    caduceus_config cfg = *cfg_in;
    const char *tl = sft_meta_get(f, "strand.train_seq_len");
    if (tl && cfg.train_len <= 0) cfg.train_len = atoi(tl) > 0 ? atoi(tl) : 0;
    int64_t a[CADUCEUS_VOCAB], b[CADUCEUS_VOCAB];
    int ra = read_cmap(f, CADUCEUS_PREFIX "embeddings.word_embeddings.complement_map", a, cfg.vocab);
    if (ra < 0) return ra;
    int rb = read_cmap(f, "lm_head.complement_map", b, cfg.vocab);
    if (rb == 0) rb = read_cmap(f, CADUCEUS_PREFIX "lm_head.complement_map", b, cfg.vocab);
    if (rb < 0) return rb;
    if (ra && rb && memcmp(a, b, (size_t)cfg.vocab * sizeof(int64_t)) != 0)
        return st_err(NULL, STRAND_E_FORMAT, "the embedding's and the LM head's complement_map tensors differ");
    if (ra) memcpy(cfg.comp, a, (size_t)cfg.vocab * sizeof(int64_t));
    else if (rb) memcpy(cfg.comp, b, (size_t)cfg.vocab * sizeof(int64_t));
    caduceus_weights *m;
    int rc = caduceus_create(&m, &cfg);
    if (rc < 0) return rc;
    rc = pb_load(&m->pb, f, CADUCEUS_PREFIX);
    for (int i = 0; rc == 0 && i < cfg.n_layer; i++) {
        char nm[256];
        const char *mix = cfg.rcps ? "mixer.submodule." : "mixer.";
        snprintf(nm, sizeof nm, CADUCEUS_PREFIX "layers.%d.%smamba_rev.in_proj.weight", i, mix);
        rc = check_tied(m, f, nm, m->layers[i].fwd[MAMBA_IN_PROJ]);
        snprintf(nm, sizeof nm, CADUCEUS_PREFIX "layers.%d.%smamba_rev.out_proj.weight", i, mix);
        if (rc == 0) rc = check_tied(m, f, nm, m->layers[i].fwd[MAMBA_OUT_PROJ]);
    }
    if (rc == 0) rc = check_tied(m, f, cfg.rcps ? "lm_head.lm_head.weight" : "lm_head.weight", m->emb);
    if (rc < 0) {
        caduceus_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int caduceus_load(caduceus_weights **out, const char *path)
{
    *out = NULL;
    model_files mp;
    sft_file *f = NULL;
    char *json = NULL;
    int rc = model_path_open(path, &mp, &f, &json);
    if (rc < 0) return rc;
    caduceus_config cfg;
    caduceus_default_config(&cfg);
    rc = caduceus_config_from_json(&cfg, json, mp.dir || mp.config_beside ? mp.config : mp.weights);
    if (rc == 0) rc = caduceus_load_from(out, &cfg, f);
    if (rc < 0) st_err_prefix("%s", mp.weights);
    free(json);
    sft_close(f);
    return rc;
}

int caduceus_save(const caduceus_weights *m, const char *path)
{
    sft_writer *w = sft_writer_create();
    if (!w) return st_err(NULL, STRAND_E_NOMEM, "caduceus save: out of memory");
    int rc = pb_save(&m->pb, w, CADUCEUS_PREFIX);
    if (rc == 0 && m->cfg.rcps) {
        int64_t shape[1] = {m->cfg.vocab};
        rc = sft_writer_add(w, CADUCEUS_PREFIX "embeddings.word_embeddings.complement_map", SFT_I64, 1, shape, m->cfg.comp);
        if (rc == 0) rc = sft_writer_add(w, "lm_head.complement_map", SFT_I64, 1, shape, m->cfg.comp);
    }
    char *cfg = rc == 0 ? config_to_json(&m->cfg) : NULL;
    if (rc == 0 && !cfg) rc = st_err(NULL, STRAND_E_NOMEM, "caduceus save: cannot format the config");
    if (rc == 0) rc = sft_writer_meta(w, CFG_META, cfg);
    if (rc == 0) rc = sft_writer_meta(w, "strand.kind", m->cfg.rcps ? "caduceus_ps" : "caduceus_ph");
    if (rc == 0) rc = sft_writer_meta(w, "format", "pt");
    char tl[24];
    snprintf(tl, sizeof tl, "%d", m->cfg.train_len);
    if (rc == 0 && m->cfg.train_len > 0) rc = sft_writer_meta(w, "strand.train_seq_len", tl);
    if (rc == 0) rc = sft_writer_write(w, path);
    free(cfg);
    sft_writer_free(w);
    return rc;
}
