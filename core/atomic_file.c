#include "core/atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int st_atomic_open(st_atomic_file *af, const char *final_path, int open_stream)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(final_path);
    af->final_path = strdup(final_path);
    af->tmp_path = malloc(n + 32);
    if (!af->final_path || !af->tmp_path) {
        st_atomic_abort(af);
        return st_err(NULL, STRAND_E_NOMEM, "out of memory");
    }
    snprintf(af->tmp_path, n + 32, "%s.tmp%ld.XXXXXX", final_path, (long)getpid());
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(af->tmp_path);
        af->tmp_path = NULL;
        st_atomic_abort(af);
        return st_err(NULL, STRAND_E_IO, "cannot create \"%s\": %s", final_path, strerror(e));
    }
    /* mkstemp creates 0600; give the file the mode a plain fopen would (0666 & ~umask). */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    if (open_stream) {
        af->fp = fdopen(fd, "wb");
        if (!af->fp) {
            int e = errno;
            close(fd);
            st_atomic_abort(af);
            return st_err(NULL, STRAND_E_IO, "cannot open \"%s\": %s", final_path, strerror(e));
        }
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
    if (rc == 0 && rename(af->tmp_path, af->final_path) != 0)
        rc = st_err(NULL, STRAND_E_IO, "cannot rename to \"%s\": %s", af->final_path, strerror(errno));
    if (rc != 0) {
        st_atomic_abort(af);
        return rc;
    }
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
    return 0;
}

void st_atomic_abort(st_atomic_file *af)
{
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
}
