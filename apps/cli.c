/* The command line's shared pieces (see cli.h). */
#include "apps/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char g_prog[256] = "strand";

const char *cli_prog(void) { return g_prog; }

static void vmessage(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return 1;
}

void cli_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

void cli_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    exit(1);
}

/* "want an integer >= 0", "want an integer in [1, 1024]", ... */
static void bad_integer(const char *opt, const char *text, long lo, long hi, long max)
{
    if (hi >= max) cli_die("bad %s \"%s\": want an integer >= %ld", opt, text, lo);
    cli_die("bad %s \"%s\": want an integer in [%ld, %ld]", opt, text, lo, hi);
}

long cli_long(const char *opt, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) bad_integer(opt, text, lo, hi, LONG_MAX);
    return v;
}

int cli_int(const char *opt, const char *text, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) bad_integer(opt, text, lo, hi, INT_MAX);
    return (int)v;
}

double cli_double(const char *opt, const char *text, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || !(v >= lo && v <= hi)) {
        if (hi >= HUGE_VAL) cli_die("bad %s \"%s\": want a finite number >= %g", opt, text, lo);
        cli_die("bad %s \"%s\": want a number in [%g, %g]", opt, text, lo, hi);
    }
    return v;
}

uint64_t cli_u64(const char *opt, const char *text)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-') cli_die("bad %s \"%s\": want an integer in [0, 2^64)", opt, text);
    return (uint64_t)v;
}

void cli_strs_push(cli_strs *l, const char *s)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 8;
        const char **nv = realloc(l->v, (size_t)nc * sizeof *nv);
        if (!nv) cli_die("out of memory");
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = s;
}

void cli_strs_free(cli_strs *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

void cli_list(FILE *fp, const cli_cmd *cmds)
{
    for (const cli_cmd *c = cmds; c->name; c++) {
        if (!c->func)
            fprintf(fp, "%s%s:\n", c == cmds ? "" : "\n", c->name);
        else
            fprintf(fp, "    %-12s %s\n", c->name, c->help);
    }
}

static void generic_usage(FILE *fp, const cli_cmd *cmds, const char *what)
{
    fprintf(fp, "\nUsage: %s <%s> [options]\n\n", g_prog, what);
    cli_list(fp, cmds);
    fprintf(fp, "\nRun `%s <%s>` with no arguments for its usage.\n\n", g_prog, what);
}

int cli_dispatch(const cli_cmd *cmds, const char *what, void (*usage)(FILE *fp), int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        if (usage) usage(stdout);
        else generic_usage(stdout, cmds, what);
        return 0;
    }
    for (const cli_cmd *c = cmds; c->name; c++) {
        if (!c->func || strcmp(argv[1], c->name)) continue;
        size_t n = strlen(g_prog);
        snprintf(g_prog + n, sizeof g_prog - n, " %s", c->name);
        return c->func(argc - 1, argv + 1);
    }
    cli_error("unknown %s \"%s\"", what, argv[1]);
    if (usage) usage(stderr);
    else generic_usage(stderr, cmds, what);
    return 1;
}
