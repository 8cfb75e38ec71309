/* multi_get.c: read many keys at one consistent view with kevo_multi_get, and choose the
 * durability of each write with kevo_write_options (sync, disable_wal).
 *
 *   ./multi_get [DB_DIR]
 *
 * Runs as a test: every answer is checked, and a wrong one exits non-zero.
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
#define N 5

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-multi-get-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_status st;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");

    /* A synced write (durable at once), a normal one, and one that skips the WAL. */
    kevo_write_options *synced = kevo_write_options_new();
    check(kevo_write_options_set_sync(synced, true, &err), err, "set_sync");
    kevo_write_options *unlogged = kevo_write_options_new();
    check(kevo_write_options_set_disable_wal(unlogged, true, &err), err, "set_disable_wal");
    check(kevo_put(db, synced, B("city/paris"), B("2.1M"), &err), err, "kevo_put synced");
    check(kevo_put(db, NULL, B("city/lyon"), B(""), &err), err, "kevo_put");
    check(kevo_put(db, unlogged, B("city/nice"), B("340k"), &err), err, "kevo_put unlogged");

    /* sync and disable_wal together cannot hold. */
    kevo_write_options *both = kevo_write_options_new();
    check(kevo_write_options_set_sync(both, true, &err), err, "set_sync");
    check(kevo_write_options_set_disable_wal(both, true, &err), err, "set_disable_wal");
    st = kevo_put(db, both, B("x"), B("y"), &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_put with sync and disable_wal");

    /* One call, one view: present, empty, absent, repeated. */
    const char *names[N] = {"city/nice", "city/lyon", "city/rome", "city/paris", "city/nice"};
    const char *want[N] = {"340k", "", NULL, "2.1M", "340k"};
    const uint8_t *keys[N];
    size_t key_lens[N];
    for (int i = 0; i < N; i++) {
        keys[i] = (const uint8_t *)names[i];
        key_lens[i] = strlen(names[i]);
    }
    uint8_t *values[N];
    size_t value_lens[N];
    check(kevo_multi_get(db, NULL, N, keys, key_lens, values, value_lens, &err), err,
          "kevo_multi_get");
    for (int i = 0; i < N; i++) {
        if (!want[i]) {
            printf("  %s: (absent)\n", names[i]);
            if (values[i] != NULL || value_lens[i] != 0) {
                fprintf(stderr, "%s: expected absent\n", names[i]);
                return 1;
            }
            continue;
        }
        /* An empty value is a non-NULL pointer of length 0, never confused with absent. */
        if (values[i] == NULL || value_lens[i] != strlen(want[i]) ||
            memcmp(values[i], want[i], value_lens[i]) != 0) {
            fprintf(stderr, "%s: expected \"%s\"\n", names[i], want[i]);
            return 1;
        }
        printf("  %s: \"%.*s\"\n", names[i], (int)value_lens[i], (const char *)values[i]);
        kevo_free(values[i]);
    }

    /* An invalid key anywhere fails the whole call, and nothing is handed out. */
    key_lens[2] = 0;
    st = kevo_multi_get(db, NULL, N, keys, key_lens, values, value_lens, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_multi_get with an empty key");
    for (int i = 0; i < N; i++) {
        if (values[i] != NULL) {
            fprintf(stderr, "values[%d] was set on failure\n", i);
            return 1;
        }
    }
    st = kevo_multi_get(db, NULL, N, NULL, key_lens, values, value_lens, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_multi_get with NULL keys");
    check(kevo_multi_get(db, NULL, 0, NULL, NULL, NULL, NULL, &err), err, "kevo_multi_get of 0");

    kevo_write_options_free(both);
    kevo_write_options_free(unlogged);
    kevo_write_options_free(synced);
    check(kevo_close(db, &err), err, "kevo_close");
    st = kevo_multi_get(db, NULL, 1, keys, key_lens, values, value_lens, &err);
    expect_status(KEVO_CLOSED, st, &err, "kevo_multi_get after close");
    kevo_db_free(db);
    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
