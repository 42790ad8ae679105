/* Prime numbers: a test, and how many there are up to a bound. */
#ifndef PRIMES_H
#define PRIMES_H

#include <stdint.h>

/* 1 when n is prime, else 0 (0 and 1 are not prime). */
int is_prime(uint32_t n);

/* How many primes are at most n (pi(n)): 0 for n < 2. */
uint32_t count_primes(uint32_t n);

#endif
