/* Internal error reporting: every failure records a code and a detailed message. */
#ifndef STRAND_CORE_ERROR_H
#define STRAND_CORE_ERROR_H
#include "strand.h"

#define ST_ERRMSG_MAX 1024

/* A handle's last error. Embed one in every opaque handle. */
typedef struct st_errbuf {
    int code;
    char msg[ST_ERRMSG_MAX];
} st_errbuf;

/* Record an error on this thread (and in `eb` when not NULL); returns `code` so callers can
 * write `return st_err(eb, STRAND_E_FORMAT, "%s: bad header", path);`. */
int st_err(st_errbuf *eb, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copy this thread's last error into `eb` (to attach a lower layer's error to a handle). */
void st_err_capture(st_errbuf *eb);
/* Prefix this thread's current message: "prefix: old message". Returns the current code. */
int st_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
