/* bench.c: the cost of the C ABI. N random-key puts into a fresh database, then N random-key
 * gets (16-byte keys "%016llu" of a number in [0, N), 100-byte values, sync off: the workload
 * of `kevo bench` fillrandom + readrandom). ffi/examples/bench_rust.rs runs the same workload,
 * with the same generator, through the Rust API; `make bench-c` runs both.
 *
 *   ./bench [N [OPS [DB_DIR]]]
 *
 * N (default 1000000) is the key space; OPS (default N) the puts, then gets per pass. A small N
 * with a large OPS keeps everything in the memtable, so the engine's work per call is small and
 * the ABI's share of it large. DB_DIR defaults to a temporary directory.
 */
#define _POSIX_C_SOURCE 200809L
#include <kevo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

/* splitmix64: the same generator as bench_rust.rs. */
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Writes k as 16 zero-padded decimal digits. */
static void fill_key(uint8_t key[16], uint64_t k) {
    for (int i = 15; i >= 0; i--) {
        key[i] = (uint8_t)('0' + k % 10);
        k /= 10;
    }
}

static double clock_s(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time, and CPU time of this thread only (not of the engine's background threads nor of
 * other processes: the steadier measure of what a call costs on these shared machines). */
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static void check(kevo_status s, kevo_error *err, const char *what) {
    if (s == KEVO_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, kevo_status_name(s),
            err ? kevo_error_message(err) : "(no message)");
    exit(1);
}

enum { POOL = 1 << 20, VALUE = 100 };

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : n;
    char tmp[] = "/tmp/kevo-bench-c-XXXXXX";
    const char *path = argc > 3 ? argv[3] : mkdtemp(tmp);
    if (!path || n == 0 || ops == 0) {
        fprintf(stderr, "usage: bench [N [OPS [DB_DIR]]]\n");
        return 1;
    }

    /* Value pool: printable bytes, each 100-byte stretch 50 random bytes written twice. */
    rng_state = 42;
    uint8_t *pool = malloc(POOL);
    for (size_t i = 0; i < POOL; i += 100)
        for (size_t j = 0; j < 50 && i + j + 50 < POOL; j++)
            pool[i + j] = pool[i + j + 50] = (uint8_t)(' ' + next_random() % 95);

    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");
    uint8_t key[16];

    double t0 = now(), c0 = cpu();
    for (uint64_t i = 0; i < ops; i++) {
        fill_key(key, next_random() % n);
        const uint8_t *value = pool + (i * VALUE) % (POOL - VALUE);
        check(kevo_put(db, NULL, key, sizeof key, value, VALUE, &err), err, "kevo_put");
    }
    double put_s = now() - t0, put_cpu = cpu() - c0;

    uint64_t found = 0;
    uint8_t buf[VALUE];
    size_t len;
    t0 = now(), c0 = cpu();
    for (uint64_t i = 0; i < ops; i++) {
        fill_key(key, next_random() % n);
        kevo_status s = kevo_get_into(db, NULL, key, sizeof key, buf, sizeof buf, &len, &err);
        if (s == KEVO_OK) found++;
        else if (s != KEVO_NOT_FOUND) check(s, err, "kevo_get_into");
    }
    double get_into_s = now() - t0, get_into_cpu = cpu() - c0;

    t0 = now(), c0 = cpu();
    for (uint64_t i = 0; i < ops; i++) {
        fill_key(key, next_random() % n);
        uint8_t *v = NULL;
        kevo_status s = kevo_get(db, NULL, key, sizeof key, &v, &len, &err);
        if (s == KEVO_OK) kevo_free(v);
        else if (s != KEVO_NOT_FOUND) check(s, err, "kevo_get");
    }
    double get_s = now() - t0, get_cpu = cpu() - c0;

    double ns = 1e9 / (double)ops;
    printf("c    put         %10.0f ops/s %7.0f cpu-ns/op  (kevo_put)\n", (double)ops / put_s,
           put_cpu * ns);
    printf("c    get pass 1  %10.0f ops/s %7.0f cpu-ns/op  (kevo_get_into; found %llu of %llu)\n",
           (double)ops / get_into_s, get_into_cpu * ns, (unsigned long long)found,
           (unsigned long long)ops);
    printf("c    get pass 2  %10.0f ops/s %7.0f cpu-ns/op  (kevo_get + kevo_free)\n",
           (double)ops / get_s, get_cpu * ns);

    /* The glue's fixed cost per call, without engine work: a guard, a registry lookup (read
     * lock, hash, reference count) and the batch's lock. */
    kevo_batch *batch = kevo_batch_new();
    size_t count;
    c0 = cpu();
    for (uint64_t i = 0; i < ops; i++)
        check(kevo_batch_count(batch, &count, &err), err, "kevo_batch_count");
    printf("c    glue only   %10.1f cpu-ns/call  (kevo_batch_count: no engine work)\n",
           (cpu() - c0) * ns);
    kevo_batch_free(batch);

    check(kevo_close(db, &err), err, "kevo_close");
    kevo_db_free(db);
    free(pool);
    if (argc <= 3) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
