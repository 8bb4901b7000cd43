#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static int g_level = STRAND_LOG_WARN;
static strand_log_fn g_fn;
static void *g_user;

void strand_set_log_level(int level) { g_level = level; }
int strand_get_log_level(void) { return g_level; }

void strand_set_log_callback(strand_log_fn fn, void *user)
{
    g_fn = fn;
    g_user = user;
}

void st_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char buf[2048];
    va_list ap;
    if (level > g_level) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (g_fn) g_fn(level, buf, g_user);
    else fprintf(stderr, "[strand %s] %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], buf);
}
