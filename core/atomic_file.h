/* Output files that never appear half-written, and that never destroy what the name points at.
 *
 * A regular file (or a name that does not exist yet) is written to "<target>.tmp<pid>.XXXXXX"
 * beside the real target and renamed onto it on success, unlinked on failure. Symbolic links are
 * resolved first (the temporary goes beside the file the link points at, and the link stays a
 * link). Everything else is written directly, because renaming over it would replace it:
 *   "-"                                  standard output
 *   /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N   that descriptor (dup), so pipes and
 *                                        sockets behind them work
 *   character/block devices, FIFOs       opened for writing (/dev/null, /dev/full: ENOSPC fails)
 *   UNIX sockets                         connected to
 * Direct outputs cannot be taken back: st_atomic_abort() only closes them.
 *
 * Temporaries are registered: st_atomic_cleanup_on_signals() installs SIGINT/SIGTERM/SIGHUP
 * handlers that unlink every live temporary and then die of the signal (the CLI calls it once). */
#ifndef STRAND_CORE_ATOMIC_FILE_H
#define STRAND_CORE_ATOMIC_FILE_H
#include <stdio.h>

enum {
    ST_ATOMIC_PATH = 0,   /* only reserve tmp_path, for writers that open a path themselves
                           * (regular files only: a special output is an error) */
    ST_ATOMIC_STREAM = 1, /* fp: a FILE* open for writing */
    ST_ATOMIC_FD = 2      /* fd: a descriptor open for writing (htslib: hdopen) */
};

typedef struct st_atomic_file {
    char *final_path; /* the name as given */
    char *tmp_path;   /* written under this name until commit; NULL for a direct output */
    char *target;     /* the real file the rename goes to (symlinks resolved); NULL when direct */
    FILE *fp;         /* ST_ATOMIC_STREAM */
    int fd;           /* ST_ATOMIC_FD; -1 otherwise */
    int direct;       /* 1: written in place (stdout, device, FIFO, socket) */
} st_atomic_file;

/* Open for writing as `how` (ST_ATOMIC_*). 0 or STRAND_E_*. */
int st_atomic_open(st_atomic_file *af, const char *final_path, int how);
/* Flush, close, rename onto the target (direct: close and check for write errors). On failure
 * the temporary is removed. */
int st_atomic_commit(st_atomic_file *af);
/* Close and remove the temporary; the final name is untouched. Safe to call twice. */
void st_atomic_abort(st_atomic_file *af);

/* 1 when `path` would be written directly ("-", a device, FIFO, socket, /dev/fd/N, through
 * symlinks), else 0. */
int st_output_is_direct(const char *path);
/* Check an output before any work: not a directory, its directory exists and is writable, and
 * not the same file as any of the inputs (through symlinks and hard links). NULL entries in
 * inputs are skipped; "-" is always fine. 0 or STRAND_E_ARG / STRAND_E_IO naming both paths. */
int st_output_check(const char *out, const char *const *inputs, int n_inputs);

/* Install SIGINT, SIGTERM and SIGHUP handlers that remove every registered temporary and then
 * re-raise the signal with its default action. Idempotent. For programs (the CLI), not libraries. */
void st_atomic_cleanup_on_signals(void);
/* Register / unregister a temporary created elsewhere (e.g. a training checkpoint's .tmp name)
 * for removal on a signal. The string is copied. */
void st_atomic_register_tmp(const char *path);
void st_atomic_unregister_tmp(const char *path);
#endif
