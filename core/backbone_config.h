/* Reading the strand.config keys the diffusion backbones share (the DiT in
 * core/dit.c, DiMamba in guidance/dimamba.c; docs/dit.md): integer sizes from a
 * table of (key, destination, least value), "time_conditioning", and "cfg" /
 * "cfg_num_classes" (no CFG -> 0 classes). Keys that are absent keep the
 * destination's value. */
#ifndef STRAND_CORE_BACKBONE_CONFIG_H
#define STRAND_CORE_BACKBONE_CONFIG_H
#include <stddef.h>

typedef struct backbone_int_key {
  const char *key;
  int *dst;
  int min; /* least accepted value (the largest is 2^24) */
} backbone_int_key;

/* who names the backbone in errors ("DiT config: ..."); STRAND_E_FORMAT on bad
 * JSON or values. */
int backbone_config_read(const char *json, const char *who,
                         const backbone_int_key *ints, size_t n_ints,
                         int *time_cond, int *num_classes);
#endif
