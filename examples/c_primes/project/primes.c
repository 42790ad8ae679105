#include "primes.h"

int is_prime(uint32_t n) {
    if (n < 2) return 0;
    for (uint64_t d = 2; d * d <= n; d++) {
        if (n % d == 0) return 0;
    }
    return 1;
}

uint32_t count_primes(uint32_t n) {
    uint32_t count = 0;
    for (uint64_t i = 2; i <= n; i++) {
        count += is_prime((uint32_t)i);
    }
    return count;
}
