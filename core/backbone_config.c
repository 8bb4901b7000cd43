/* The diffusion backbones' shared config keys (core/backbone_config.h). */
#include "core/backbone_config.h"

#include <jansson.h>

#include "core/error.h"

int backbone_config_read(const char *json, const char *who,
                         const backbone_int_key *ints, size_t n_ints,
                         int *time_cond, int *num_classes) {
  json_error_t je;
  json_t *root = json_loads(json, 0, &je);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return st_err(NULL, STRAND_E_FORMAT,
                  "%s config: invalid JSON at line %d: %s", who, je.line,
                  je.text);
  }
  int rc = 0;
  for (size_t i = 0; i < n_ints; i++) {
    json_t *v = json_object_get(root, ints[i].key);
    if (!v)
      continue;
    if (!json_is_integer(v) || json_integer_value(v) < ints[i].min ||
        json_integer_value(v) > (1 << 24)) {
      rc = st_err(NULL, STRAND_E_FORMAT, "%s config: \"%s\" must be %s", who,
                  ints[i].key,
                  ints[i].min > 0 ? "a positive integer" : "an integer >= 0");
      goto done;
    }
    *ints[i].dst = (int)json_integer_value(v);
  }
  json_t *tc = json_object_get(root, "time_conditioning");
  if (tc)
    *time_cond = json_is_true(tc);
  json_t *cf = json_object_get(root, "cfg"),
         *nc = json_object_get(root, "cfg_num_classes");
  if (cf && !json_is_true(cf))
    *num_classes = 0;
  else if (nc) {
    if (!json_is_integer(nc) || json_integer_value(nc) < 0 ||
        json_integer_value(nc) > (1 << 24)) {
      rc =
          st_err(NULL, STRAND_E_FORMAT,
                 "%s config: \"cfg_num_classes\" must be an integer >= 0", who);
      goto done;
    }
    *num_classes = (int)json_integer_value(nc);
  }
done:
  json_decref(root);
  return rc;
}
