/*
 * How far apart the two cores are right now: one thread per core hands a cache line back and forth and the
 * one-way transfer time is printed. On these VMs the host places the two vCPUs near (~25 ns) or far (~150-220 ns)
 * from each other, and changes its mind; anything that crosses cores (loopback TCP, vhost rings, reactor
 * messages) is several times slower in the far placement. Run it before and after a benchmark and record it.
 *
 *   gcc -O2 -pthread -o /tmp/core-distance perf/bench/core-distance.c && /tmp/core-distance [CORE_A CORE_B]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 2000000L

static volatile long line __attribute__((aligned(64)));
static int core_b = 1;

static void pin(int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        fprintf(stderr, "cannot pin to core %d\n", core);
        exit(1);
    }
}

static void *answer(void *unused) {
    pin(core_b);
    for (long i = 0; i < ROUNDS; i++) {
        while (line != 2 * i + 1) {
        }
        line = 2 * i + 2;
    }
    return unused;
}

int main(int argc, char **argv) {
    int core_a = argc > 2 ? atoi(argv[1]) : 0;
    core_b = argc > 2 ? atoi(argv[2]) : 1;
    pthread_t t;
    pin(core_a);
    pthread_create(&t, NULL, answer, NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < ROUNDS; i++) {
        line = 2 * i + 1;
        while (line != 2 * i + 2) {
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / ROUNDS / 2;
    printf("cores %d and %d: one-way cache line transfer %.1f ns (%s placement)\n", core_a, core_b, ns,
           ns < 80 ? "near" : "far");
    return 0;
}
