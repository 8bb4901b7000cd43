/* libFuzzer target for token shards (io/shards.c): any bytes opened as a shard must be rejected
 * with a message (size, magic, version, checksums, table) or, when they pass, every chunk must
 * decode or fail cleanly and the loader must drain an epoch without crashing.
 *   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSTRAND_FUZZ=ON && cmake --build build-fuzz -t fuzz_shard
 *   build-fuzz/fuzz/fuzz_shard -max_total_time=60 fuzz/corpus/shard */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/shards.h"
#include "strand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0]) snprintf(path, sizeof path, "%s/strand_fuzz_shard.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    /* Fix up the size field and both CRCs so mutations reach the table and chunk parsers
     * instead of all stopping at the checksum test. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= ST_SHARD_HEADER_BYTES) {
        uint64_t payload = size - ST_SHARD_HEADER_BYTES;
        for (int i = 0; i < 8; i++) buf[56 + i] = (uint8_t)(payload >> (8 * i));
        uint32_t c = st_crc32(0, buf + ST_SHARD_HEADER_BYTES, payload);
        for (int i = 0; i < 4; i++) buf[64 + i] = (uint8_t)(c >> (8 * i));
        c = st_crc32(0, buf, 68);
        for (int i = 0; i < 4; i++) buf[68 + i] = (uint8_t)(c >> (8 * i));
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) { free(buf); return 0; }
    fwrite(buf, 1, size, fp);
    fclose(fp);
    free(buf);
    st_loader *ld = NULL;
    strand_clear_error();
    if (st_loader_open(&ld, path, 3, 5, 1) != 0) {
        if (!strand_last_error()[0]) __builtin_trap();
        return 0;
    }
    const st_shard_info *I = st_loader_info(ld);
    if ((uint64_t)I->record_len * 3 > (1u << 26)) { /* huge records: skip draining (memory) */
        st_loader_close(ld);
        return 0;
    }
    int32_t *ids = malloc((size_t)I->record_len * 3 * sizeof *ids);
    int r;
    while (ids && (r = st_loader_next(ld, ids, NULL, NULL)) > 0) {}
    free(ids);
    st_loader_close(ld);
    return 0;
}
