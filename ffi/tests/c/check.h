/* Assertion helpers for the C test programs: a failed check prints where and why, with the
 * library's message for the last call, and exits 1. */
#ifndef QUIVER_TEST_CHECK_H
#define QUIVER_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "quiver.h"

#define EXPECT(cond)                                                                      \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: check failed: %s (last message: %s)\n", __FILE__, __LINE__, \
              #cond, quiver_errmsg());                                                    \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

/* The call returns `want` (a quiver_status). */
#define EXPECT_STATUS(want, call)                                                        \
  do {                                                                                   \
    int got_ = (call);                                                                   \
    if (got_ != (want)) {                                                                \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s); message: %s\n",     \
              __FILE__, __LINE__, #call, got_, quiver_errstr(got_), (int)(want),         \
              quiver_errstr(want), quiver_errmsg());                                     \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

#define OK(call) EXPECT_STATUS(QUIVER_OK, call)

/* `dir/name` in a static buffer (one at a time). */
static const char *path_in(const char *dir, const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}
#endif
