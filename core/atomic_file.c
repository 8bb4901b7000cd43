/* Atomic and direct outputs; see core/atomic_file.h. */
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"

/* ---- registry of live temporaries (read by the signal handler) ---------------------------- */

#define ST_TMP_SLOTS 256
static char *g_tmp[ST_TMP_SLOTS];

void st_atomic_register_tmp(const char *path)
{
    char *p = strdup(path);
    if (!p) return;
    for (int i = 0; i < ST_TMP_SLOTS; i++) {
        char *expect = NULL;
        if (__atomic_compare_exchange_n(&g_tmp[i], &expect, p, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return;
    }
    free(p); /* full: this one is not cleaned up on a signal */
}

void st_atomic_unregister_tmp(const char *path)
{
    for (int i = 0; i < ST_TMP_SLOTS; i++) {
        char *p = __atomic_load_n(&g_tmp[i], __ATOMIC_SEQ_CST);
        if (p && !strcmp(p, path) &&
            __atomic_compare_exchange_n(&g_tmp[i], &p, NULL, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            free(p);
            return;
        }
    }
}

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < ST_TMP_SLOTS; i++) {
        char *p = __atomic_load_n(&g_tmp[i], __ATOMIC_SEQ_CST);
        if (p) unlink(p); /* async-signal-safe */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void st_atomic_cleanup_on_signals(void)
{
    static int done;
    if (done) return;
    done = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* keep "ignored" (nohup) as it is */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- where a name really goes ------------------------------------------------------------- */

/* A descriptor named by the path itself: "-" → 1, /dev/stdout → 1, /dev/stderr → 2,
 * /dev/fd/N and /proc/self/fd/N → N; else -1. */
static int named_fd(const char *p)
{
    if (!strcmp(p, "-") || !strcmp(p, "/dev/stdout")) return 1;
    if (!strcmp(p, "/dev/stderr")) return 2;
    const char *n = NULL;
    if (!strncmp(p, "/dev/fd/", 8)) n = p + 8;
    else if (!strncmp(p, "/proc/self/fd/", 14)) n = p + 14;
    if (!n || !*n) return -1;
    char *end;
    long x = strtol(n, &end, 10);
    return *end || x < 0 || x > INT_MAX ? -1 : (int)x;
}

/* Follow symbolic links (also dangling ones: the file they would create) up to a descriptor's
 * name (/dev/stdout, /proc/self/fd/N). Returns a malloc'd
 * path, or NULL with errno set (ELOOP after 40 links). */
static char *resolve_links(const char *path)
{
    char *p = strdup(path);
    for (int hop = 0; p && hop < 40; hop++) {
        struct stat st;
        /* /dev/stdout -> /proc/self/fd/1 -> "pipe:[123]": stop at the descriptor's name */
        if (named_fd(p) >= 0 || lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
        char buf[PATH_MAX];
        ssize_t k = readlink(p, buf, sizeof buf - 1);
        if (k < 0) {
            free(p);
            return NULL;
        }
        buf[k] = '\0';
        char *next;
        const char *slash = strrchr(p, '/');
        if (buf[0] == '/' || !slash) {
            next = strdup(buf);
        } else {
            size_t dl = (size_t)(slash - p) + 1;
            next = malloc(dl + (size_t)k + 1);
            if (next) {
                memcpy(next, p, dl);
                memcpy(next + dl, buf, (size_t)k + 1);
            }
        }
        free(p);
        p = next;
    }
    if (p) {
        free(p);
        errno = ELOOP;
    }
    return NULL;
}

int st_output_is_direct(const char *path)
{
    if (named_fd(path) >= 0) return 1;
    char *t = resolve_links(path);
    if (!t) return 0;
    struct stat st;
    int direct = named_fd(t) >= 0 || (stat(t, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode));
    free(t);
    return direct;
}

/* Open the direct output `path` (resolved `t`) for writing; fd or -1 with errno. */
static int open_direct(const char *t)
{
    int nfd = named_fd(t);
    if (nfd >= 0) {
        if (nfd == 1) fflush(stdout);
        if (nfd == 2) fflush(stderr);
        return fcntl(nfd, F_DUPFD_CLOEXEC, 3);
    }
    struct stat st;
    if (stat(t, &st) == 0 && S_ISSOCK(st.st_mode)) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        if (strlen(t) >= sizeof a.sun_path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        strcpy(a.sun_path, t);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return -1;
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
            int e = errno;
            close(s);
            errno = e;
            return -1;
        }
        return s;
    }
    return open(t, O_WRONLY | O_CLOEXEC | O_NOCTTY); /* a FIFO blocks here until a reader comes */
}

int st_atomic_open(st_atomic_file *af, const char *final_path, int how)
{
    memset(af, 0, sizeof *af);
    af->fd = -1;
    af->final_path = strdup(final_path);
    if (!af->final_path) return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    int direct_fd = named_fd(final_path);
    char *t = direct_fd >= 0 ? NULL : resolve_links(final_path);
    if (direct_fd < 0 && !t) {
        int e = errno;
        st_atomic_abort(af);
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", final_path, strerror(e));
    }
    struct stat st;
    int exists = t && stat(t, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        free(t);
        st_atomic_abort(af);
        return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": it is a directory", final_path);
    }
    int fd = -1;
    if (direct_fd >= 0 || (t && named_fd(t) >= 0) || (exists && !S_ISREG(st.st_mode))) {
        af->direct = 1;
        if (how == ST_ATOMIC_PATH) {
            free(t);
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_ARG, "\"%s\": a file is needed here, not standard output, a device, FIFO "
                          "or socket", final_path);
        }
        fd = open_direct(t ? t : final_path);
        int e = errno;
        free(t);
        if (fd < 0) {
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", final_path, strerror(e));
        }
    } else {
        af->target = t;
        size_t n = strlen(t) + 40;
        af->tmp_path = malloc(n);
        if (!af->tmp_path) {
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_NOMEM, "out of memory");
        }
        snprintf(af->tmp_path, n, "%s.tmp%ld.XXXXXX", t, (long)getpid());
        fd = mkstemp(af->tmp_path);
        if (fd < 0) {
            int e = errno;
            free(af->tmp_path);
            af->tmp_path = NULL;
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_IO, "cannot create \"%s\": %s", final_path, strerror(e));
        }
        st_atomic_register_tmp(af->tmp_path);
        /* mkstemp creates 0600: give the mode of the file being replaced, else what fopen would */
        if (exists) {
            fchmod(fd, st.st_mode & 07777);
        } else {
            mode_t mask = umask(0);
            umask(mask);
            fchmod(fd, 0666 & ~mask);
        }
    }
    if (how == ST_ATOMIC_STREAM) {
        af->fp = fdopen(fd, "wb");
        if (!af->fp) {
            int e = errno;
            close(fd);
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", final_path, strerror(e));
        }
    } else if (how == ST_ATOMIC_FD) {
        af->fd = fd;
    } else {
        close(fd);
    }
    return 0;
}

int st_atomic_commit(st_atomic_file *af)
{
    int rc = 0;
    if (af->fp) {
        if (fflush(af->fp) != 0 || ferror(af->fp))
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", af->final_path, strerror(errno));
        if (fclose(af->fp) != 0 && rc == 0)
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", af->final_path, strerror(errno));
        af->fp = NULL;
    }
    if (af->fd >= 0) {
        if (close(af->fd) != 0 && rc == 0 && errno != EINTR)
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", af->final_path, strerror(errno));
        af->fd = -1;
    }
    if (rc == 0 && af->tmp_path && rename(af->tmp_path, af->target) != 0)
        rc = st_err(NULL, STRAND_E_IO, "cannot rename to \"%s\": %s", af->target, strerror(errno));
    if (rc != 0) {
        st_atomic_abort(af);
        return rc;
    }
    if (af->tmp_path) st_atomic_unregister_tmp(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    free(af->target);
    af->tmp_path = af->final_path = af->target = NULL;
    return 0;
}

void st_atomic_abort(st_atomic_file *af)
{
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->fd >= 0) close(af->fd);
    af->fd = -1;
    if (af->tmp_path) {
        unlink(af->tmp_path);
        st_atomic_unregister_tmp(af->tmp_path);
    }
    free(af->tmp_path);
    free(af->final_path);
    free(af->target);
    af->tmp_path = af->final_path = af->target = NULL;
}

/* ---- checks before work ------------------------------------------------------------------- */

int st_output_check(const char *out, const char *const *inputs, int n_inputs)
{
    if (!out) return 0;
    if (named_fd(out) >= 0) return 0;
    char *t = resolve_links(out);
    if (!t) return st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", out, strerror(errno));
    struct stat so;
    int rc = 0;
    if (stat(t, &so) == 0) {
        if (S_ISDIR(so.st_mode)) {
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": it is a directory", out);
        } else {
            for (int i = 0; i < n_inputs && rc == 0; i++) {
                struct stat si;
                if (!inputs[i] || !strcmp(inputs[i], "-") || stat(inputs[i], &si) != 0) continue;
                if (si.st_dev == so.st_dev && si.st_ino == so.st_ino && S_ISREG(so.st_mode))
                    rc = st_err(NULL, STRAND_E_ARG, "output \"%s\" is the input \"%s\": refusing to overwrite the "
                                "input; write to another file", out, inputs[i]);
            }
        }
        if (rc == 0 && S_ISREG(so.st_mode)) {
            /* replaced by a rename: the directory must be writable */
            char *slash = strrchr(t, '/');
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == t ? 1 : slash - t) : 1, slash ? t : ".");
            if (access(dir, W_OK | X_OK) != 0)
                rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": directory \"%s\": %s", out, dir, strerror(errno));
        }
    } else if (errno == ENOENT) {
        char *slash = strrchr(t, '/');
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash == t ? 1 : slash - t) : 1, slash ? t : ".");
        struct stat sd;
        if (stat(dir, &sd) != 0)
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": directory \"%s\": %s", out, dir, strerror(errno));
        else if (!S_ISDIR(sd.st_mode))
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": \"%s\" is not a directory", out, dir);
        else if (access(dir, W_OK | X_OK) != 0)
            rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": directory \"%s\": %s", out, dir, strerror(errno));
    } else {
        rc = st_err(NULL, STRAND_E_IO, "cannot write \"%s\": %s", out, strerror(errno));
    }
    free(t);
    return rc;
}
