/* The model path resolver (core/model_path.h). */
#include "core/model_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

#define CONFIG_MAX (1 << 24)

int model_path_resolve(const char *path, model_files *mp)
{
    memset(mp, 0, sizeof *mp);
    if (!path || !*path) return st_err(NULL, STRAND_E_ARG, "model path: empty");
    struct stat st;
    if (stat(path, &st) != 0) return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
    int n;
    if (S_ISDIR(st.st_mode)) {
        mp->dir = 1;
        n = snprintf(mp->weights, sizeof mp->weights, "%s/model.safetensors", path);
        if (n > 0 && (size_t)n < sizeof mp->weights && stat(mp->weights, &st) != 0)
            n = snprintf(mp->weights, sizeof mp->weights, "%s/model.safetensors.zst", path);
        if (n > 0 && (size_t)n < sizeof mp->weights) n = snprintf(mp->config, sizeof mp->config, "%s/config.json", path);
    } else {
        n = snprintf(mp->weights, sizeof mp->weights, "%s", path);
        const char *slash = strrchr(path, '/');
        if (n > 0 && (size_t)n < sizeof mp->weights)
            n = slash ? snprintf(mp->config, sizeof mp->config, "%.*s/config.json", (int)(slash - path), path)
                      : snprintf(mp->config, sizeof mp->config, "config.json");
    }
    if (n < 0 || (size_t)n >= sizeof mp->weights) return st_err(NULL, STRAND_E_ARG, "model path \"%.80s...\" too long", path);
    return 0;
}

static char *read_text(const char *path, int *rc)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *rc = st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t nc = cap ? 2 * cap : 8192;
            char *nb = nc <= CONFIG_MAX ? realloc(buf, nc) : NULL;
            if (!nb) {
                free(buf);
                fclose(fp);
                *rc = st_err(NULL, STRAND_E_FORMAT, "\"%s\": larger than %d bytes or out of memory", path, CONFIG_MAX);
                return NULL;
            }
            buf = nb, cap = nc;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, fp);
        n += k;
        if (k == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        *rc = st_err(NULL, STRAND_E_IO, "cannot read \"%s\"", path);
        return NULL;
    }
    buf[n] = '\0';
    *rc = 0;
    return buf;
}

int model_path_config(model_files *mp, const sft_file *f, char **json)
{
    *json = NULL;
    int rc = 0;
    if (mp->dir) {
        *json = read_text(mp->config, &rc);
        if (!*json) return st_err(NULL, rc, "%s (a model directory needs config.json)", strand_last_error());
        return 0;
    }
    const char *meta = f ? sft_meta_get(f, "strand.config") : NULL;
    if (meta) {
        if (!(*json = strdup(meta))) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        return 0;
    }
    struct stat st;
    if (stat(mp->config, &st) == 0 && S_ISREG(st.st_mode)) {
        *json = read_text(mp->config, &rc);
        mp->config_beside = *json != NULL;
        return *json ? 0 : rc;
    }
    return st_err(NULL, STRAND_E_FORMAT,
                  "%s: no \"strand.config\" in the file's __metadata__ and no %s beside it (for a HuggingFace "
                  "checkpoint pass its directory, with config.json beside model.safetensors)",
                  mp->weights, mp->config);
}

int model_path_open(const char *path, model_files *mp, sft_file **f, char **json)
{
    *f = NULL;
    *json = NULL;
    int rc = model_path_resolve(path, mp);
    if (rc == 0 && mp->dir) rc = model_path_config(mp, NULL, json); /* a directory's config.json first */
    if (rc == 0) rc = sft_open(f, mp->weights);
    if (rc == 0 && !mp->dir) rc = model_path_config(mp, *f, json);
    if (rc < 0) {
        sft_close(*f);
        *f = NULL;
        free(*json);
        *json = NULL;
    }
    return rc;
}
