#include <math.h>
#include <stdint.h>

// EVOLVE-BLOCK-START
/* The integer square root of x: the largest r with r * r <= x (so 0 <= r < 2^32).
   Binary search over [0, 2^32): 32 steps, each with a multiplication and a branch. */
uint64_t isqrt(uint64_t x) {
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
// EVOLVE-BLOCK-END
