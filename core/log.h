/* Internal logging: st_log(STRAND_LOG_WARN, "..."). Level and sink set through strand.h. */
#ifndef STRAND_CORE_LOG_H
#define STRAND_CORE_LOG_H
#include "strand.h"
void st_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define st_warn(...) st_log(STRAND_LOG_WARN, __VA_ARGS__)
#define st_info(...) st_log(STRAND_LOG_INFO, __VA_ARGS__)
#define st_debug(...) st_log(STRAND_LOG_DEBUG, __VA_ARGS__)
#endif
