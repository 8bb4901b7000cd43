/* Wall time for rates, ETAs and benchmarks: seconds on the monotonic clock (CLOCK_MONOTONIC),
 * from an arbitrary origin, so only differences mean anything. Never used for results. */
#ifndef STRAND_CORE_CLOCK_H
#define STRAND_CORE_CLOCK_H

double st_clock_s(void);
#endif
