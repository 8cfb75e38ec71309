/* hello.c: open a database, put a key, read it back, delete it.
 *
 *   ./hello [DB_DIR]     (default: a new temporary directory, removed at exit)
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kevo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints the error of a failed call and exits. */
static void check(kevo_status s, kevo_error *err, const char *what) {
    if (s == KEVO_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, kevo_status_name(s),
            err ? kevo_error_message(err) : "(no message)");
    kevo_error_free(err);
    exit(1);
}

/* Exits with a message unless got[0..got_len) is exactly want: this program runs as a test,
 * and a call that succeeds with the wrong bytes is as much a failure as one that errs. */
static void expect(const char *what, const char *want, const uint8_t *got, size_t got_len) {
    size_t want_len = strlen(want);
    /* memcmp's pointers must be valid even for a length of 0, and got may be NULL then. */
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) return;
    fprintf(stderr, "%s: expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)\n", what, want,
            want_len, (int)got_len, got ? (const char *)got : "", got_len);
    exit(1);
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-hello-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }

    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");
    printf("kevo %s (ABI %u): opened %s\n", kevo_version_string(), kevo_abi_version(), path);

    const char *key = "hello/from-c";
    const char *value = "Hello, kevo!";
    check(kevo_put(db, NULL, (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                   strlen(value), &err), err, "kevo_put");

    uint8_t *got = NULL;
    size_t got_len = 0;
    check(kevo_get(db, NULL, (const uint8_t *)key, strlen(key), &got, &got_len, &err), err,
          "kevo_get");
    printf("get %s -> %.*s\n", key, (int)got_len, (const char *)got);
    expect("kevo_get", value, got, got_len);
    kevo_free(got);

    check(kevo_delete(db, NULL, (const uint8_t *)key, strlen(key), &err), err, "kevo_delete");
    kevo_status s = kevo_get(db, NULL, (const uint8_t *)key, strlen(key), &got, &got_len, &err);
    if (s != KEVO_NOT_FOUND) check(s == KEVO_OK ? KEVO_INTERNAL : s, err, "kevo_get after delete");
    printf("after delete: %s\n", kevo_status_name(s));

    check(kevo_close(db, &err), err, "kevo_close");
    kevo_db_free(db);
    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
