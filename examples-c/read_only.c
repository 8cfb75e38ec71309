/* read_only.c: a read-only handle beside a writer (kevo_options_set_read_only), brought up
 * to date with kevo_refresh.
 *
 *   ./read_only [DB_DIR]
 *
 * A read-only handle takes no lock and writes no file, so it may be opened while a writer
 * has the database open, here in the same process (another process works the same way).
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

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-read-only-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_status st;

    kevo_db *writer = NULL;
    check(kevo_open(path, NULL, &writer, &err), err, "kevo_open (writer)");
    check(kevo_put(writer, NULL, B("city/paris"), B("2.1M"), &err), err, "kevo_put");

    kevo_options *ro = kevo_options_new();
    check(kevo_options_set_read_only(ro, true, &err), err, "set_read_only");
    kevo_db *reader = NULL;
    check(kevo_open(path, ro, &reader, &err), err, "kevo_open (read-only, beside the writer)");
    /* The writer's unflushed write is seen: the reader replays the WAL tail. */
    expect_value(reader, "city/paris", "2.1M", "reader after open");
    printf("reader sees city/paris = 2.1M\n");

    /* Every write is refused with KEVO_READ_ONLY, and changes nothing. */
    st = kevo_put(reader, NULL, B("city/rome"), B("2.8M"), &err);
    expect_status(KEVO_READ_ONLY, st, &err, "kevo_put on a read-only handle");
    st = kevo_delete(reader, NULL, B("city/paris"), &err);
    expect_status(KEVO_READ_ONLY, st, &err, "kevo_delete on a read-only handle");
    st = kevo_flush(reader, &err);
    expect_status(KEVO_READ_ONLY, st, &err, "kevo_flush on a read-only handle");
    /* refresh is for read-only handles; a writer is always current. */
    st = kevo_refresh(writer, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_refresh on a writer");

    /* New writes, flushed and not: invisible until the reader refreshes. */
    check(kevo_put(writer, NULL, B("city/lyon"), B("520k"), &err), err, "kevo_put");
    check(kevo_flush(writer, &err), err, "kevo_flush");
    check(kevo_delete(writer, NULL, B("city/paris"), &err), err, "kevo_delete");
    expect_value(reader, "city/lyon", NULL, "reader before refresh");
    expect_value(reader, "city/paris", "2.1M", "reader before refresh");
    check(kevo_refresh(reader, &err), err, "kevo_refresh");
    expect_value(reader, "city/lyon", "520k", "reader after refresh");
    expect_value(reader, "city/paris", NULL, "reader after refresh");
    printf("after kevo_refresh: city/lyon = 520k, city/paris deleted\n");

    check(kevo_close(reader, &err), err, "kevo_close (reader)");
    st = kevo_refresh(reader, &err);
    expect_status(KEVO_CLOSED, st, &err, "kevo_refresh after close");
    st = kevo_refresh(NULL, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_refresh(NULL)");
    kevo_db_free(reader);
    kevo_options_free(ro);
    check(kevo_close(writer, &err), err, "kevo_close (writer)");
    kevo_db_free(writer);

    /* No database there: a read-only open never creates one. */
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none", path);
    ro = kevo_options_new();
    check(kevo_options_set_read_only(ro, true, &err), err, "set_read_only");
    st = kevo_open(missing, ro, &reader, &err);
    expect_status(KEVO_NOT_FOUND, st, &err, "read-only kevo_open of a missing database");
    kevo_options_free(ro);

    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
