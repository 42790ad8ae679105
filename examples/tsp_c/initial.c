#include <math.h>
#include <stdio.h>
#include <stdlib.h>

// EVOLVE-BLOCK-START
/* Choose the order in which to visit the n cities (x[i], y[i]), all in the unit square.
   Write a permutation of 0..n-1 into order[]; the tour returns to its first city.
   This version visits the cities in the order they are given. */
void tour(int n, const double *x, const double *y, int *order) {
    for (int i = 0; i < n; i++) {
        order[i] = i;
    }
}
// EVOLVE-BLOCK-END

int main(void) {
    int n;
    if (scanf("%d", &n) != 1 || n <= 0) {
        return 2;
    }
    double *x = malloc(n * sizeof *x);
    double *y = malloc(n * sizeof *y);
    int *order = malloc(n * sizeof *order);
    for (int i = 0; i < n; i++) {
        if (scanf("%lf %lf", &x[i], &y[i]) != 2) {
            return 2;
        }
    }
    tour(n, x, y, order);
    for (int i = 0; i < n; i++) {
        printf("%d\n", order[i]);
    }
    return 0;
}
