/*
** The native tests' assertion: reports the failed condition and where,
** counts it, and lets the test go on (main returns nonzero at the end).
*/
#ifndef MTINT_TEST_CHECK_H
#define MTINT_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#endif
