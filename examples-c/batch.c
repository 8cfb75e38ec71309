/* batch.c: apply several puts and deletes atomically with a kevo_batch.
 *
 *   ./batch [DB_DIR]
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kevo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check(kevo_status s, kevo_error *err, const char *what) {
    if (s == KEVO_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, kevo_status_name(s),
            err ? kevo_error_message(err) : "(no message)");
    kevo_error_free(err);
    exit(1);
}

#define B(s) (const uint8_t *)(s), strlen(s)

/* Prints key's value, or "(absent)", and exits with a message unless it is want (NULL: the
 * key must be absent): this program runs as a test, and a wrong value is a failure. */
static void show(kevo_db *db, const char *key, const char *want) {
    kevo_error *err = NULL;
    uint8_t *v = NULL;
    size_t n = 0;
    kevo_status s = kevo_get(db, NULL, B(key), &v, &n, &err);
    if (s == KEVO_NOT_FOUND) {
        printf("  %s: (absent)\n", key);
        if (want) {
            fprintf(stderr, "%s: expected \"%s\", got: absent\n", key, want);
            exit(1);
        }
        return;
    }
    check(s, err, "kevo_get");
    printf("  %s: %.*s\n", key, (int)n, (const char *)v);
    if (!want) {
        fprintf(stderr, "%s: expected: absent, got \"%.*s\" (%zu bytes)\n", key, (int)n,
                (const char *)v, n);
        exit(1);
    }
    size_t want_len = strlen(want);
    /* memcmp's pointers must be valid even for a length of 0, and v may be NULL then. */
    if (n != want_len || (n > 0 && memcmp(v, want, n) != 0)) {
        fprintf(stderr, "%s: expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)\n", key,
                want, want_len, (int)n, v ? (const char *)v : "", n);
        exit(1);
    }
    kevo_free(v);
}

/* Exits with a message unless the batch holds want operations. */
static void expect_count(const char *what, size_t want, size_t got) {
    if (got == want) return;
    fprintf(stderr, "%s: expected %zu operations, got %zu\n", what, want, got);
    exit(1);
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-batch-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");

    check(kevo_put(db, NULL, B("account/alice"), B("100"), &err), err, "kevo_put");
    check(kevo_put(db, NULL, B("account/bob"), B("50"), &err), err, "kevo_put");

    /* Move 30 from alice to bob and drop a stale key: all three or none. */
    kevo_batch *batch = kevo_batch_new();
    check(kevo_batch_put(batch, B("account/alice"), B("70"), &err), err, "kevo_batch_put");
    check(kevo_batch_put(batch, B("account/bob"), B("80"), &err), err, "kevo_batch_put");
    check(kevo_batch_delete(batch, B("pending/transfer-1"), &err), err, "kevo_batch_delete");
    size_t count = 0;
    check(kevo_batch_count(batch, &count, &err), err, "kevo_batch_count");
    printf("writing a batch of %zu operations, synced\n", count);
    expect_count("kevo_batch_count", 3, count);

    kevo_write_options *wo = kevo_write_options_new();
    check(kevo_write_options_set_sync(wo, true, &err), err, "kevo_write_options_set_sync");
    check(kevo_write(db, wo, batch, &err), err, "kevo_write");
    show(db, "account/alice", "70");
    show(db, "account/bob", "80");
    show(db, "pending/transfer-1", NULL);

    check(kevo_batch_clear(batch, &err), err, "kevo_batch_clear");
    check(kevo_batch_count(batch, &count, &err), err, "kevo_batch_count");
    printf("after clear: %zu operations\n", count);
    expect_count("kevo_batch_count after clear", 0, count);

    kevo_write_options_free(wo);
    kevo_batch_free(batch);
    check(kevo_close(db, &err), err, "kevo_close");
    kevo_db_free(db);
    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
