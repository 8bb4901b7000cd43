/* `strand inspect [--json] [--full] FILE`: describe a model file (safetensors, optionally .zst):
 * metadata, then one row per tensor (name, dtype, shape, bytes) and totals. The file is fully
 * validated first (core/safetensors.c); a bad file is reported as `strand inspect: FILE: reason`. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "apps/commands.h"
#include "core/safetensors.h"
#include "strand.h"

typedef struct inspect_opts {
    int json;       /* machine-readable output */
    int full;       /* do not truncate long metadata values */
    int max_value;  /* metadata values longer than this are cut with "..." */
} inspect_opts;

static inspect_opts inspect_default_opts(void) { return (inspect_opts){0, 0, 72}; }

static void inspect_usage(FILE *fp)
{
    inspect_opts d = inspect_default_opts();
    fprintf(fp, "\nUsage: strand inspect [options] FILE|HF_DIR   (a directory: its model.safetensors)\n\n"
                "Describe a safetensors model file (FILE may end in .zst): its metadata, then each\n"
                "tensor's name, dtype, shape and size in bytes, and the totals. The whole file is\n"
                "validated first; a malformed file is reported with the reason and exit status 1.\n\n"
                "Options:\n"
                "  --json        print one JSON object instead of the table\n"
                "  --full        print long metadata values in full (default: cut at %d characters)\n"
                "  -h, --help    this text\n\n"
                "Examples:\n"
                "  strand inspect model.safetensors\n"
                "  strand inspect --full caduceus_ph.safetensors.zst\n"
                "  strand inspect --json model.safetensors | jq '.totals'\n\n",
            d.max_value);
}

static void shape_text(char *buf, size_t cap, const sft_tensor *t)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, d ? "," : "", t->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* A metadata value on one line: control characters escaped, cut at `max` characters. */
static void print_value(const char *v, int max)
{
    size_t n = strlen(v);
    int shown = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (max > 0 && shown >= max) {
            printf("... (%zu bytes; --full shows all)", n);
            break;
        }
        if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
        if ((*p & 0xc0) != 0x80) shown++; /* count characters, not UTF-8 continuation bytes */
    }
    putchar('\n');
}

static void print_table(const sft_file *f, const char *path, const inspect_opts *o)
{
    size_t nm = sft_meta_count(f), nt = sft_count(f);
    uint64_t params = 0, bytes = 0;
    int kw = 4, nw = 4;
    for (size_t i = 0; i < nm; i++) {
        int l = (int)strlen(sft_meta_key(f, i));
        if (l > kw) kw = l < 32 ? l : 32;
    }
    for (size_t i = 0; i < nt; i++) {
        int l = (int)strlen(sft_get(f, i)->name);
        if (l > nw) nw = l < 64 ? l : 64;
    }
    printf("file: %s\n", path);
    printf("metadata: %zu %s\n", nm, nm == 1 ? "entry" : "entries");
    for (size_t i = 0; i < nm; i++) {
        printf("  %-*s = ", kw, sft_meta_key(f, i));
        print_value(sft_meta_get(f, sft_meta_key(f, i)), o->full ? 0 : o->max_value);
    }
    printf("tensors:\n  %-*s  %-5s  %-20s  %12s\n", nw, "name", "dtype", "shape", "bytes");
    for (size_t i = 0; i < nt; i++) {
        const sft_tensor *t = sft_get(f, i);
        char sb[256];
        shape_text(sb, sizeof sb, t);
        printf("  %-*s  %-5s  %-20s  %12" PRIu64 "\n", nw, t->name, sft_dtype_name(t->dtype), sb, t->end - t->begin);
        params += t->numel;
        bytes += t->end - t->begin;
    }
    printf("total: %zu tensors, %" PRIu64 " parameters, %" PRIu64 " bytes\n", nt, params, bytes);
}

static int print_json(const sft_file *f, const char *path)
{
    json_t *root = json_object(), *meta = json_object(), *arr = json_array(), *tot = json_object();
    uint64_t params = 0, bytes = 0;
    int bad = !root || !meta || !arr || !tot;
    for (size_t i = 0; !bad && i < sft_meta_count(f); i++)
        bad |= json_object_set_new(meta, sft_meta_key(f, i), json_string(sft_meta_get(f, sft_meta_key(f, i))));
    for (size_t i = 0; !bad && i < sft_count(f); i++) {
        const sft_tensor *t = sft_get(f, i);
        json_t *shape = json_array(), *o = json_object();
        bad |= !shape || !o;
        for (int d = 0; !bad && d < t->ndim; d++) bad |= json_array_append_new(shape, json_integer(t->shape[d]));
        if (!bad) {
            bad |= json_object_set_new(o, "name", json_string(t->name));
            bad |= json_object_set_new(o, "dtype", json_string(sft_dtype_name(t->dtype)));
            bad |= json_object_set_new(o, "shape", shape);
            shape = NULL;
            bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)(t->end - t->begin)));
            bad |= json_object_set_new(o, "data_offsets",
                                       json_pack("[II]", (json_int_t)t->begin, (json_int_t)t->end));
            bad |= json_array_append_new(arr, o);
            o = NULL;
        }
        json_decref(shape);
        json_decref(o);
        params += t->numel;
        bytes += t->end - t->begin;
    }
    if (!bad) {
        bad |= json_object_set_new(tot, "tensors", json_integer((json_int_t)sft_count(f)));
        bad |= json_object_set_new(tot, "parameters", json_integer((json_int_t)params));
        bad |= json_object_set_new(tot, "bytes", json_integer((json_int_t)bytes));
        bad |= json_object_set_new(root, "file", json_string(path));
        bad |= json_object_set(root, "metadata", meta);
        bad |= json_object_set(root, "tensors", arr);
        bad |= json_object_set(root, "totals", tot);
    }
    char *s = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(meta);
    json_decref(arr);
    json_decref(tot);
    json_decref(root);
    if (!s) {
        cli_error("%s: out of memory formatting JSON", path);
        return 1;
    }
    puts(s);
    free(s);
    return 0;
}

int cmd_inspect_main(int argc, char **argv)
{
    inspect_opts o = inspect_default_opts();
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'}, {"full", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    if (argc < 2) {
        inspect_usage(stdout);
        return 0;
    }
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o.json = 1; break;
        case 'f': o.full = 1; break;
        case 'h': inspect_usage(stdout); return 0;
        default: inspect_usage(stderr); return 1;
        }
    }
    if (argc - optind != 1) {
        cli_error("expected exactly one FILE, got %d", argc - optind);
        inspect_usage(stderr);
        return 1;
    }
    const char *path = argv[optind];
    /* a Hugging Face model directory: its model.safetensors (config.json beside it) */
    char hf[4096];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(hf, sizeof hf, "%s/model.safetensors", path);
        if (access(hf, R_OK) != 0) snprintf(hf, sizeof hf, "%s/model.safetensors.zst", path);
        if (access(hf, R_OK) != 0) {
            cli_error("%s: a directory without model.safetensors (a Hugging Face model directory has one)", path);
            return 1;
        }
        path = hf;
    }
    sft_file *f = NULL;
    if (sft_open(&f, path) != 0) {
        const char *msg = strand_last_error();
        /* the library's message starts with the path already where it names the file */
        size_t pl = strlen(path);
        if (!strncmp(msg, path, pl) && msg[pl] == ':')
            cli_error("%s", msg);
        else
            cli_error("%s: %s", path, msg);
        return 1;
    }
    int rc = o.json ? print_json(f, path) : (print_table(f, path, &o), 0);
    sft_close(f);
    if (fflush(stdout) != 0) {
        cli_error("cannot write the output");
        return 1;
    }
    return rc;
}
