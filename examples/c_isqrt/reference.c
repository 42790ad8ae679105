/* The reference the candidate is timed against: the starting program's binary search,
   compiled on its own like the candidate, so neither is inlined into the timing loop. */
#include <stdint.h>

uint64_t reference_isqrt(uint64_t x) {
    uint64_t lo = 0, hi = (uint64_t)1 << 32; /* the root is in [lo, hi) */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid * mid <= x) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}
