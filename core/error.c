#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local int tl_code;
static _Thread_local char tl_msg[ST_ERRMSG_MAX];

const char *strand_strerror(int code)
{
    switch (code) {
    case STRAND_OK: return "success";
    case STRAND_E_NOMEM: return "out of memory";
    case STRAND_E_IO: return "input/output error";
    case STRAND_E_FORMAT: return "malformed input";
    case STRAND_E_ARG: return "invalid argument";
    case STRAND_E_UNSUPPORTED: return "unsupported";
    case STRAND_E_SHAPE: return "shape mismatch";
    case STRAND_E_NOTFOUND: return "not found";
    case STRAND_E_TOKENIZE: return "cannot tokenise";
    case STRAND_E_CANCELLED: return "cancelled";
    case STRAND_E_RANGE: return "out of range";
    case STRAND_E_CHEM: return "chemistry error";
    case STRAND_E_INTERNAL: return "internal error";
    default: return "unknown error code";
    }
}

const char *strand_last_error(void) { return tl_msg; }
int strand_last_error_code(void) { return tl_code; }

void strand_clear_error(void)
{
    tl_code = 0;
    tl_msg[0] = '\0';
}

int st_err(st_errbuf *eb, int code, const char *fmt, ...)
{
    char buf[ST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tl_code = code;
    memcpy(tl_msg, buf, sizeof buf);
    if (eb) {
        eb->code = code;
        memcpy(eb->msg, buf, sizeof buf);
    }
    return code;
}

void st_err_capture(st_errbuf *eb)
{
    if (!eb) return;
    eb->code = tl_code;
    memcpy(eb->msg, tl_msg, sizeof eb->msg);
}

int st_err_prefix(const char *fmt, ...)
{
    char pre[ST_ERRMSG_MAX], old[ST_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, tl_msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof tl_msg - 3) n = sizeof tl_msg - 3;
    memcpy(tl_msg, pre, n);
    memcpy(tl_msg + n, ": ", 2);
    size_t m = strlen(old);
    if (m > sizeof tl_msg - n - 3) m = sizeof tl_msg - n - 3;
    memcpy(tl_msg + n + 2, old, m);
    tl_msg[n + 2 + m] = '\0';
    return tl_code;
}
