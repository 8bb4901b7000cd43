/* SHA-256 (FIPS 180-4) of a file, for the model checksum in VEP provenance headers. */
#ifndef STRAND_CADUCEUS_VEP_SHA256_H
#define STRAND_CADUCEUS_VEP_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct st_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} st_sha256;

void st_sha256_init(st_sha256 *s);
void st_sha256_update(st_sha256 *s, const void *data, size_t n);
void st_sha256_final(st_sha256 *s, uint8_t out[32]);
/* hex: 65 bytes (64 digits + NUL). 0 or STRAND_E_IO naming the file. */
int st_sha256_file(const char *path, char hex[65]);
#endif
