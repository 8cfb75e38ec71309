/* checkpoint.c: a consistent copy of a database in use, with kevo_checkpoint.
 *
 *   ./checkpoint [WORK_DIR]
 *
 * Writes, checkpoints into WORK_DIR/copy while the database stays open, writes more, and
 * opens the copy: it holds exactly what was written before the call. Runs as a test: every
 * answer is checked, and a wrong one exits non-zero.
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
    char tmp[] = "/tmp/kevo-checkpoint-XXXXXX";
    const char *work = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!work) { perror("mkdtemp"); return 1; }
    char path[4200], copy[4200];
    snprintf(path, sizeof path, "%s/db", work);
    snprintf(copy, sizeof copy, "%s/copy", work);
    kevo_error *err = NULL;
    kevo_status st;

    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");
    check(kevo_put(db, NULL, B("city/paris"), B("2.1M"), &err), err, "kevo_put");
    check(kevo_flush(db, &err), err, "kevo_flush");
    check(kevo_put(db, NULL, B("city/rome"), B("2.8M"), &err), err, "kevo_put");
    check(kevo_checkpoint(db, copy, &err), err, "kevo_checkpoint");
    /* After the call: in the source only. */
    check(kevo_put(db, NULL, B("city/lyon"), B("520k"), &err), err, "kevo_put");
    printf("checkpoint written to %s\n", copy);

    /* The directory now holds a database: a second checkpoint into it is refused. */
    st = kevo_checkpoint(db, copy, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_checkpoint into a non-empty dir");
    st = kevo_checkpoint(db, NULL, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_checkpoint(db, NULL)");
    st = kevo_checkpoint(NULL, copy, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_checkpoint(NULL, dir)");

    kevo_db *c = NULL;
    check(kevo_open(copy, NULL, &c, &err), err, "kevo_open (the checkpoint)");
    expect_value(c, "city/paris", "2.1M", "copy (flushed write)");
    expect_value(c, "city/rome", "2.8M", "copy (write in the WAL)");
    expect_value(c, "city/lyon", NULL, "copy (write after the call)");
    printf("the copy holds city/paris and city/rome, not city/lyon\n");
    check(kevo_close(c, &err), err, "kevo_close (copy)");
    kevo_db_free(c);

    check(kevo_close(db, &err), err, "kevo_close");
    st = kevo_checkpoint(db, copy, &err);
    expect_status(KEVO_CLOSED, st, &err, "kevo_checkpoint after close");
    kevo_db_free(db);

    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
