/* delete_range.c: deleting a whole key range at once, with kevo_delete_range.
 *
 *   ./delete_range [WORK_DIR]
 *
 * Writes 10,000 keys, deletes [user/01000, user/09000) with one call (one range tombstone,
 * however many keys it covers), in a batch and in a transaction too, and checks what every
 * read sees. Runs as a test: every answer is checked, and a wrong one exits non-zero.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kevo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(kevo_status s, kevo_error *err, const char *what) {
    if (s == KEVO_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, kevo_status_name(s),
            err ? kevo_error_message(err) : "(no message)");
    kevo_error_free(err);
    exit(1);
}

/* Takes the status first and the error after it (C leaves the order in which arguments are
 * evaluated open, so both must not come from one call's argument list). */
static void expect_status(kevo_status want, kevo_status got, kevo_error **err, const char *what) {
    kevo_error_free(*err);
    *err = NULL;
    if (got == want) return;
    fprintf(stderr, "%s: expected %s, got %s\n", what, kevo_status_name(want),
            kevo_status_name(got));
    exit(1);
}

#define B(s) (const uint8_t *)(s), strlen(s)

/* Expects `key` to read as `want` (NULL: absent) through `db`. */
static void expect_value(kevo_db *db, const char *key, const char *want, const char *what) {
    kevo_error *err = NULL;
    uint8_t *v = NULL;
    size_t n = 0;
    kevo_status st = kevo_get(db, NULL, B(key), &v, &n, &err);
    if (!want) {
        expect_status(KEVO_NOT_FOUND, st, &err, what);
        return;
    }
    check(st, err, what);
    if (n != strlen(want) || memcmp(v, want, n) != 0) {
        fprintf(stderr, "%s: %s is \"%.*s\", expected \"%s\"\n", what, key, (int)n,
                (const char *)v, want);
        exit(1);
    }
    kevo_free(v);
}

static void user(char *buf, size_t n, int i) { snprintf(buf, n, "user/%05d", i); }

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-delete-range-XXXXXX";
    const char *work = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!work) { perror("mkdtemp"); return 1; }
    char path[4200], k[32], k2[32];
    snprintf(path, sizeof path, "%s/db", work);
    kevo_error *err = NULL;
    kevo_status st;

    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");
    for (int i = 0; i < 10000; i++) {
        user(k, sizeof k, i);
        check(kevo_put(db, NULL, B(k), B("v"), &err), err, "kevo_put");
    }
    check(kevo_flush(db, &err), err, "kevo_flush");
    check(kevo_delete_range(db, NULL, B("user/01000"), B("user/09000"), &err), err,
          "kevo_delete_range");
    expect_value(db, "user/00999", "v", "below the range");
    expect_value(db, "user/01000", NULL, "range start");
    expect_value(db, "user/08999", NULL, "last key in the range");
    expect_value(db, "user/09000", "v", "range end (exclusive)");

    /* A scan walks straight from the last key before the range to the first after it. */
    kevo_iter *it = NULL;
    check(kevo_iter_new(db, NULL, &it, &err), err, "kevo_iter_new");
    check(kevo_iter_seek(it, B("user/00999"), &err), err, "kevo_iter_seek");
    check(kevo_iter_next(it, &err), err, "kevo_iter_next");
    const uint8_t *key = NULL;
    size_t key_len = 0;
    check(kevo_iter_key(it, &key, &key_len, &err), err, "kevo_iter_key");
    if (key_len != 10 || memcmp(key, "user/09000", 10) != 0) {
        fprintf(stderr, "after user/00999 came %.*s\n", (int)key_len, (const char *)key);
        return 1;
    }
    kevo_iter_free(it);
    printf("deleted 8000 keys with one range tombstone\n");

    /* In a batch: operations after the range deletion win over it. */
    kevo_batch *b = kevo_batch_new();
    check(kevo_batch_delete_range(b, B("user/00000"), B("user/00500"), &err), err,
          "kevo_batch_delete_range");
    check(kevo_batch_put(b, B("user/00100"), B("kept"), &err), err, "kevo_batch_put");
    st = kevo_batch_delete_range(b, B("z"), B("a"), &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_batch_delete_range(start > end)");
    check(kevo_write(db, NULL, b, &err), err, "kevo_write");
    kevo_batch_free(b);
    expect_value(db, "user/00099", NULL, "batch range");
    expect_value(db, "user/00100", "kept", "put after the range in the batch");

    /* In a transaction: its own reads see the deletion before commit, others after. */
    kevo_txn *txn = NULL;
    check(kevo_txn_begin(db, NULL, &txn, &err), err, "kevo_txn_begin");
    user(k, sizeof k, 9500);
    user(k2, sizeof k2, 9600);
    check(kevo_txn_delete_range(txn, B(k), B(k2), &err), err, "kevo_txn_delete_range");
    uint8_t *v = NULL;
    size_t n = 0;
    st = kevo_txn_get(txn, B("user/09550"), &v, &n, &err);
    expect_status(KEVO_NOT_FOUND, st, &err, "kevo_txn_get inside its own range deletion");
    expect_value(db, "user/09550", "v", "outside the transaction before commit");
    check(kevo_txn_commit(txn, &err), err, "kevo_txn_commit");
    kevo_txn_free(txn);
    expect_value(db, "user/09550", NULL, "after commit");

    /* Bad arguments get typed errors, not crashes. */
    st = kevo_delete_range(db, NULL, B("b"), B("a"), &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_delete_range(start > end)");
    st = kevo_delete_range(db, NULL, NULL, 3, B("a"), &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_delete_range(NULL start, len 3)");
    st = kevo_delete_range(NULL, NULL, B("a"), B("b"), &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_delete_range(NULL db)");
    check(kevo_delete_range(db, NULL, NULL, 0, B("user/00001"), &err), err,
          "kevo_delete_range from the first key");
    expect_value(db, "user/00000", NULL, "from the first key");

    check(kevo_close(db, &err), err, "kevo_close");
    st = kevo_delete_range(db, NULL, B("a"), B("b"), &err);
    expect_status(KEVO_CLOSED, st, &err, "kevo_delete_range after close");
    kevo_db_free(db);

    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
