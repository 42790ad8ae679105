/* Benchmark harness of examples/c_isqrt; trusted, shipped with the task, linked with the
   candidate's file (which defines isqrt) and reference.c.

   1. Checks isqrt(x) on about 400,000 inputs: 0..1024, every power of two and its
      neighbours, 2^64 - 1, squares k^2 and k^2 +- 1 (random and chosen k up to 2^32 - 1),
      random values of every size. Each result r must satisfy r^2 <= x < (r + 1)^2.
   2. Times isqrt and the reference on 20,000 random inputs of every size, 101 times
      each, alternately, keeping the fastest round of each; the results of every timed round
      must add up to the reference's.
   Prints one JSON line with the metrics: score = reference time / candidate time when every
   result is right, else 0 with the first wrong results as feedback. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t isqrt(uint64_t x);
uint64_t reference_isqrt(uint64_t x);

#define N_CHECKED 450000
#define N_TIMED 20000
#define ROUNDS 101
#define SHOWN 3

static uint64_t rng_state = 20241124;

/* splitmix64: a fixed sequence, the same inputs on every run. */
static uint64_t next_random(void) {
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A random value with a random number of bits (0 to 64, uniformly), then uniform. */
static uint64_t random_value(void) {
    unsigned bits = (unsigned)(next_random() % 65);
    uint64_t v = next_random();
    if (bits == 0) {
        return 0;
    }
    if (bits == 64) {
        return v | (UINT64_C(1) << 63);
    }
    return (v & ((UINT64_C(1) << bits) - 1)) | (UINT64_C(1) << (bits - 1));
}

static int is_root(uint64_t x, uint64_t r) {
    if (r > UINT32_MAX || r * r > x) {
        return 0;
    }
    return r == UINT32_MAX || (r + 1) * (r + 1) > x;
}

static size_t add_square(uint64_t *xs, size_t n, uint64_t k) {
    xs[n++] = k * k - 1; /* k = 0 gives 2^64 - 1, also worth checking */
    xs[n++] = k * k;
    xs[n++] = k * k + 1;
    return n;
}

static size_t checked_inputs(uint64_t *xs) {
    static const uint64_t chosen[] = {
        UINT32_MAX,     UINT32_MAX - 1, UINT64_C(1) << 31, (UINT64_C(1) << 31) - 1,
        UINT64_C(94906265),   /* about sqrt(2^53): doubles stop being exact above */
        UINT64_C(94906266),   UINT64_C(3037000499), /* about sqrt(2^63) */
        UINT64_C(3037000500), UINT64_C(4294967291), UINT64_C(4000000000),
    };
    size_t n = 0;
    for (uint64_t x = 0; x <= 1024; x++) {
        xs[n++] = x;
    }
    for (int b = 1; b < 64; b++) {
        xs[n++] = (UINT64_C(1) << b) - 1;
        xs[n++] = UINT64_C(1) << b;
        xs[n++] = (UINT64_C(1) << b) + 1;
    }
    xs[n++] = UINT64_MAX;
    xs[n++] = UINT64_MAX - 1;
    for (size_t i = 0; i < sizeof chosen / sizeof chosen[0]; i++) {
        n = add_square(xs, n, chosen[i]);
    }
    for (int i = 0; i < 50000; i++) {
        n = add_square(xs, n, next_random() >> 32); /* mostly large roots */
    }
    for (int i = 0; i < 50000; i++) {
        n = add_square(xs, n, random_value() >> 32); /* roots of every size */
    }
    for (int i = 0; i < 100000; i++) {
        xs[n++] = random_value();
    }
    return n;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Nanoseconds per call of f over xs; the sum of its results goes to *sum. */
static double time_pass(uint64_t (*f)(uint64_t), const uint64_t *xs, size_t n, uint64_t *sum) {
    uint64_t s = 0;
    double start = now_ns();
    for (size_t i = 0; i < n; i++) {
        s += f(xs[i]);
    }
    double elapsed = now_ns() - start;
    *sum = s;
    return elapsed / (double)n;
}

int main(void) {
    uint64_t *xs = malloc(N_CHECKED * sizeof *xs);
    uint64_t *timed = malloc(N_TIMED * sizeof *timed);
    if (xs == NULL || timed == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        return 2;
    }
    size_t n = checked_inputs(xs);
    size_t wrong = 0;
    char shown[SHOWN][200];
    for (size_t i = 0; i < n; i++) {
        uint64_t r = isqrt(xs[i]);
        if (!is_root(xs[i], r)) {
            if (wrong < SHOWN) {
                snprintf(shown[wrong], sizeof shown[wrong],
                         "isqrt(%" PRIu64 ") returned %" PRIu64 ", expected %" PRIu64, xs[i], r,
                         reference_isqrt(xs[i]));
            }
            wrong++;
        }
    }
    if (wrong > 0) {
        fflush(stdout);
        printf("{\"score\": 0, \"correct\": 0, \"wrong\": %zu, \"checked\": %zu, "
               "\"feedback\": \"wrong on %zu of %zu inputs, so the score is 0; for example ",
               wrong, n, wrong, n);
        for (size_t i = 0; i < wrong && i < SHOWN; i++) {
            printf("%s%s", i ? "; " : "", shown[i]);
        }
        printf("\"}\n");
        fflush(stdout);
        return 0;
    }

    for (size_t i = 0; i < N_TIMED; i++) {
        timed[i] = random_value();
    }
    uint64_t expected = 0, got = 0;
    time_pass(reference_isqrt, timed, N_TIMED, &expected); /* warm-up */
    time_pass(isqrt, timed, N_TIMED, &got);
    double best_ref = 1e300, best = 1e300;
    for (int round = 0; round < 2 * ROUNDS; round++) {
        int candidate_turn = (round % 4 == 1 || round % 4 == 2); /* ref, cand, cand, ref, ... */
        if (candidate_turn) {
            double t = time_pass(isqrt, timed, N_TIMED, &got);
            if (got != expected) {
                printf("{\"score\": 0, \"correct\": 0, \"checked\": %zu, \"feedback\": "
                       "\"the results differ from the reference's while being timed\"}\n",
                       n);
                return 0;
            }
            best = t < best ? t : best;
        } else {
            double t = time_pass(reference_isqrt, timed, N_TIMED, &got);
            best_ref = t < best_ref ? t : best_ref;
        }
    }
    double speedup = best_ref / best;
    fflush(stdout);
    printf("{\"score\": %.6g, \"speedup\": %.6g, \"correct\": 1, \"checked\": %zu, "
           "\"ns_per_call\": %.4g, \"reference_ns_per_call\": %.4g, \"feedback\": \"correct on "
           "all %zu inputs; %.3g ns per call against %.3g ns for the reference (the starting "
           "binary search): speedup %.3f\"}\n",
           speedup, speedup, n, best, best_ref, n, best, best_ref, speedup);
    fflush(stdout);
    free(xs);
    free(timed);
    return 0;
}
