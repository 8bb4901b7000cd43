#include "io/intervals.h"

#include <stdlib.h>

static int cmp_interval(const void *a, const void *b)
{
    const st_interval *x = a, *y = b;
    if (x->tid != y->tid) return x->tid < y->tid ? -1 : 1;
    return (x->beg > y->beg) - (x->beg < y->beg);
}

int st_intervals_sort_merge(st_interval *iv, int n)
{
    if (n <= 0) return 0;
    qsort(iv, (size_t)n, sizeof *iv, cmp_interval);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (k && iv[k - 1].tid == iv[i].tid && iv[i].beg <= iv[k - 1].end) {
            if (iv[i].end > iv[k - 1].end) iv[k - 1].end = iv[i].end;
        } else {
            iv[k++] = iv[i];
        }
    }
    return k;
}
