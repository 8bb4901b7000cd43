/* Token shards: fixed-length token records (uint8 ids) in zstd-compressed chunks, with a header
 * checked on open, and a streaming shuffling loader that yields (B,L) int32 batches.
 *
 * File layout (all integers little-endian, written field by field):
 *   [0,128)  header:
 *            0 magic "STRNDSHD" | 8 u32 version (1) | 12 u32 kind (1 = DNA windows)
 *           16 u32 split (0 train, 1 val, 2 test, 255 none) | 20 u32 record length L
 *           24 u64 record count | 32 u64 vocabulary hash (FNV-1a 64 of "id\ttoken\n" lines)
 *           40 u32 vocabulary size | 44 u32 records per chunk | 48 u32 chunk count
 *           52 u32 metadata bytes | 56 u64 payload bytes (file size - 128)
 *           64 u32 CRC-32 of the payload | 68 u32 CRC-32 of header bytes [0,68) | 72.. zero
 *   chunks:  each one zstd frame; decompressed = n*L token bytes, then n * (i32 contig, i64 start)
 *   chunk table: per chunk u64 file offset, u32 compressed bytes, u32 records
 *   metadata: UTF-8 text, "key\tvalue...\n" lines (contigs, source, parameters, split regions)
 * Open checks: size >= 128, magic, version, header CRC, payload size, payload CRC, table bounds,
 * record counts; each chunk's decompressed size is checked when read. */
#ifndef STRAND_IO_SHARDS_H
#define STRAND_IO_SHARDS_H
#include <stddef.h>
#include <stdint.h>

#include "strand.h"

#define ST_SHARD_MAGIC "STRNDSHD"
#define ST_SHARD_VERSION 1
#define ST_SHARD_HEADER_BYTES 128

enum { ST_SHARD_KIND_DNA_WINDOWS = 1 };
enum { ST_SPLIT_TRAIN = 0, ST_SPLIT_VAL = 1, ST_SPLIT_TEST = 2, ST_SPLIT_NONE = 255 };

typedef struct st_shard_info {
    uint32_t version, kind, split, record_len;
    uint64_t n_records, vocab_hash;
    uint32_t vocab_size, records_per_chunk, n_chunks;
    uint32_t payload_crc;
} st_shard_info;

const char *st_split_name(uint32_t split); /* "train", "val", "test", "none" */
uint32_t st_crc32(uint32_t crc, const void *buf, size_t n); /* start with crc = 0 */
/* FNV-1a 64 of "id\ttoken\n" for the DNA vocabulary (ids 0..11 of docs/tokenizers.md "DNA tokenizer"). */
uint64_t st_dna_vocab_hash(void);

/* ---- writing ---- */
typedef struct st_shard_writer st_shard_writer;
/* Written under a temporary name; renamed to `path` by close, removed by abort. */
int st_shard_writer_open(st_shard_writer **out, const char *path, uint32_t kind, uint32_t split,
                         uint32_t record_len, uint64_t vocab_hash, uint32_t vocab_size,
                         uint32_t records_per_chunk);
int st_shard_writer_add(st_shard_writer *w, const uint8_t *tokens /* (L) */, int32_t contig, int64_t start);
/* Metadata text stored at close (copied). */
int st_shard_writer_set_meta(st_shard_writer *w, const char *meta);
uint64_t st_shard_writer_count(const st_shard_writer *w);
int st_shard_writer_close(st_shard_writer *w); /* commit; frees w */
void st_shard_writer_abort(st_shard_writer *w); /* frees w; nothing left under the final name */

/* ---- reading ---- */
typedef struct st_shard st_shard;
int st_shard_open(st_shard **out, const char *path);
void st_shard_close(st_shard *s);
const st_shard_info *st_shard_get_info(const st_shard *s);
const char *st_shard_meta(const st_shard *s);
uint32_t st_shard_chunk_records(const st_shard *s, uint32_t chunk);
/* Decompress one chunk: tokens (n, L), contig (n), start (n); n = st_shard_chunk_records. */
int st_shard_read_chunk(st_shard *s, uint32_t chunk, uint8_t *tokens, int32_t *contig, int64_t *start);

/* ---- streaming shuffling loader ----
 * Each epoch visits every record once: chunk order is shuffled, records pass through a buffer of
 * `shuffle_buffer` slots from which a uniformly random one is emitted (buffer shuffle, as in
 * tf.data / webdataset). shuffle_buffer <= 1: file order. Same seed -> same order. */
typedef struct st_loader st_loader;
int st_loader_open(st_loader **out, const char *path, int batch, size_t shuffle_buffer, uint64_t seed);
void st_loader_close(st_loader *ld);
const st_shard_info *st_loader_info(const st_loader *ld);
/* Fill up to `batch` rows of ids (B, L) (and starts/contigs if not NULL). Returns the number of
 * rows (< batch only at the end of an epoch; 0 when the epoch is over) or a negative STRAND_E_*. */
int st_loader_next(st_loader *ld, int32_t *ids, int32_t *contigs, int64_t *starts);
/* Start the next epoch (a new order from the same RNG stream). */
int st_loader_new_epoch(st_loader *ld);
#endif
