/*
 * racy_norm.c: a 2-norm whose result depends on thread timing.
 *
 * Demonstrates a non-deterministic kernel: 8 threads each sum the squares of one chunk in float, then add
 * their partial sums into one shared float total in the order they arrive. Float addition is not
 * associative, so on inputs of mixed magnitudes the result bits change from run to run. Each thread sleeps
 * a pseudo-random 0-300 microseconds before adding, standing in for the scheduling noise of a loaded machine
 * (on an idle one, threads started in order would mostly also arrive in order).
 *
 * Build: cc -O2 -shared -fPIC -I include examples/kernels/racy_norm.c -o racy_norm.so -lm -lpthread
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */

#include <math.h>
#include <pthread.h>
#include <time.h>

#include "precision_lab_kernel.h"

enum { THREADS = 8, MAX_DELAY_US = 300 };

struct shared {
    const void *x;
    int64_t n;
    int32_t dtype;
    pthread_mutex_t lock;
    float total;
};

struct task {
    struct shared *shared;
    int index;
};

/* A delay that differs between runs and threads: the clock's nanoseconds and the thread index, mixed by
 * the splitmix64 finalizer so that neighbouring seeds give unrelated delays. */
static long delay_ns(int index) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t z = (uint64_t)now.tv_nsec + (uint64_t)index * UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (long)(z % (MAX_DELAY_US + 1)) * 1000;
}

static void *sum_chunk(void *argument) {
    const struct task *task = argument;
    struct shared *shared = task->shared;
    int64_t begin = shared->n * task->index / THREADS, end = shared->n * (task->index + 1) / THREADS;
    float partial = 0.0f;
    for (int64_t i = begin; i < end; i++) {
        float v = (float)plk_load(shared->x, i, shared->dtype);
        partial += v * v;
    }
    struct timespec pause = {0, delay_ns(task->index)};
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&shared->lock);
    shared->total += partial; /* arrival order decides the rounding */
    pthread_mutex_unlock(&shared->lock);
    return NULL;
}

int racy_norm2(const void *x, int64_t n, int32_t dtype, double *out) {
    if (dtype < PLK_DTYPE_F16 || dtype > PLK_DTYPE_F64)
        return 1; /* unknown dtype */
    struct shared shared = {x, n, dtype, PTHREAD_MUTEX_INITIALIZER, 0.0f};
    struct task tasks[THREADS];
    pthread_t threads[THREADS];
    int started = 0, status = 0;
    for (; started < THREADS; started++) {
        tasks[started] = (struct task){&shared, started};
        status = pthread_create(&threads[started], NULL, sum_chunk, &tasks[started]);
        if (status != 0)
            break; /* join the threads already running, then report the error code */
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&shared.lock);
    if (status != 0)
        return status;
    *out = sqrtf(shared.total);
    return 0;
}
