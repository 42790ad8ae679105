// Count the primes below N, read from standard input; print the count.
#include <iostream>

// EVOLVE-BLOCK-START
long count_primes(long n) {
    // Trial division by every smaller number: correct, and slow.
    long count = 0;
    for (long k = 2; k < n; ++k) {
        bool prime = true;
        for (long d = 2; d < k; ++d) {
            if (k % d == 0) { prime = false; break; }
        }
        if (prime) ++count;
    }
    return count;
}
// EVOLVE-BLOCK-END

int main() {
    long n = 0;
    std::cin >> n;
    std::cout << count_primes(n) << std::endl;
    return 0;
}
