/* Query intervals on reference sequences (0-based, half-open), as BAM and VCF readers use them. */
#ifndef STRAND_IO_INTERVALS_H
#define STRAND_IO_INTERVALS_H
#include <stdint.h>

typedef struct st_interval {
    int tid;             /* the file header's sequence id */
    int64_t beg, end;    /* 0-based, half-open */
} st_interval;

/* Sort by (tid, beg) and merge overlapping intervals in place, so every base is visited once;
 * returns the number of intervals left. */
int st_intervals_sort_merge(st_interval *iv, int n);
#endif
