/* `strand data info`: describe token shards (a shard file, or a directory written by
 * `strand data windows`), verifying header, checksums and every chunk. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apps/commands.h"
#include "core/tokenizer_dna.h"
#include "io/shards.h"
#include "strand.h"

static void usage(FILE *fp)
{
    fprintf(fp, "\nUsage: strand data info PATH...\n\n"
                "Describe token shards: PATH is a .shard file or a directory of them (as written by\n"
                "`strand data windows`). Prints kind, record length, counts, vocabulary, split and the\n"
                "dataset metadata, and verifies the header and payload checksums and every chunk.\n"
                "Exit status is non-zero when any shard fails a check.\n\n"
                "Examples:\n  strand data info chr20\n  strand data info chr20/val.shard\n\n");
}

static const char *kind_name(uint32_t k) { return k == ST_SHARD_KIND_DNA_WINDOWS ? "dna_windows" : "unknown"; }

static int describe(const char *path, int show_meta)
{
    st_shard *s = NULL;
    if (st_shard_open(&s, path) != 0) {
        cli_error("%s", strand_last_error());
        printf("%s\tchecksum\tFAILED\n", path);
        return 1;
    }
    const st_shard_info *I = st_shard_get_info(s);
    /* decode every chunk: zstd's own frame checksum and the decompressed sizes */
    int bad = 0;
    uint8_t *tok = malloc((size_t)I->records_per_chunk * I->record_len);
    int32_t *ct = malloc((size_t)I->records_per_chunk * sizeof *ct);
    int64_t *stt = malloc((size_t)I->records_per_chunk * sizeof *stt);
    uint64_t counts[16] = {0};
    for (uint32_t c = 0; c < I->n_chunks && tok && ct && stt; c++) {
        if (st_shard_read_chunk(s, c, tok, ct, stt) != 0) {
            cli_error("%s", strand_last_error());
            bad = 1;
            break;
        }
        size_t n = (size_t)st_shard_chunk_records(s, c) * I->record_len;
        for (size_t i = 0; i < n; i++) counts[tok[i] & 15]++;
    }
    free(tok); free(ct); free(stt);
    int vocab_ok = I->vocab_hash == st_dna_vocab_hash();
    printf("%s\n", path);
    printf("  kind          %s (version %u)\n", kind_name(I->kind), I->version);
    printf("  split         %s\n", st_split_name(I->split));
    printf("  records       %llu x %u tokens in %u chunks of <= %u\n", (unsigned long long)I->n_records,
           I->record_len, I->n_chunks, I->records_per_chunk);
    printf("  vocabulary    %u rows, hash %016llx (%s)\n", I->vocab_size, (unsigned long long)I->vocab_hash,
           vocab_ok ? "DNA, docs/tokenizers.md" : "does not match this strand's DNA vocabulary");
    printf("  tokens       ");
    for (int id = 0; id < 16; id++)
        if (counts[id]) printf(" %s=%llu", st_dna_token(id) ? st_dna_token(id) : "?", (unsigned long long)counts[id]);
    printf("\n  checksum      crc32 %08x %s\n", I->payload_crc, bad ? "FAILED (chunk)" : "OK");
    if (show_meta) {
        const char *m = st_shard_meta(s);
        int ncontig = 0;
        for (const char *l = m; *l;) {
            const char *e = strchr(l, '\n');
            size_t n = e ? (size_t)(e - l) : strlen(l);
            if (!strncmp(l, "contig\t", 7)) {
                if (++ncontig <= 5) printf("  %.*s\n", (int)n, l);
                else if (ncontig == 6) printf("  contig\t...\n");
            } else {
                printf("  %.*s\n", (int)n, l);
            }
            l += n + (e ? 1 : 0);
        }
    }
    st_shard_close(s);
    return bad;
}

int cmd_data_info_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    int fails = 0;
    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat(argv[a], &st) != 0) {
            cli_error("cannot open \"%s\": No such file or directory", argv[a]);
            fails++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            fails += describe(argv[a], 1);
            continue;
        }
        int found = 0;
        for (uint32_t s = 0; s < 3; s++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.shard", argv[a], st_split_name(s));
            if (stat(path, &st) != 0) continue;
            fails += describe(path, found == 0); /* metadata is shared: print it once */
            found++;
        }
        if (!found) {
            cli_error("\"%s\" holds no train/val/test .shard files", argv[a]);
            fails++;
        }
    }
    return fails ? 1 : 0;
}
