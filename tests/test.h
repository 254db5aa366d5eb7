/* test.h: the few macros every test uses. A failed CHECK prints where and why and marks the test
 * failed; the test keeps going so one run shows every failure. End main with `return test_report();`. */
#ifndef EBMC_TEST_H
#define EBMC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures, test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                              \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        CHECK_MSG(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_), "%s = %.9g, %s = %.9g", #a, a_, #b, b_); \
    } while (0)

/* EBMC_TEST_SHORT=1 (scripts/test.sh sets it for the sanitizer run, where compiling is several times
 * slower): tests whose length comes from repeating one check over many seeds or JIT configurations run
 * fewer of them. The plain run, without it, runs them all. */
static inline int test_short(void) {
    const char *s = getenv("EBMC_TEST_SHORT");
    return s && s[0] == '1';
}

static inline int test_report(void) {
    fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
