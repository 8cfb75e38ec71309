/* backup.c: incremental backups of a database in use, with kevo_backup_engine.
 *
 *   ./backup [WORK_DIR]
 *
 * Writes, backs up into WORK_DIR/backups, writes more, backs up again (the second backup
 * reuses the first one's SSTable instead of storing it twice), lists both, restores the
 * latest into WORK_DIR/restored and opens it, deletes the first backup, and tries the error
 * paths. Runs as a test: every answer is checked, and a wrong one exits non-zero.
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
    if (got == want) {
        kevo_error_free(*err);
        *err = NULL;
        return;
    }
    fprintf(stderr, "%s: expected %s, got %s (%s)\n", what, kevo_status_name(want),
            kevo_status_name(got), *err ? kevo_error_message(*err) : "no message");
    exit(1);
}

static void expect(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "check failed: %s\n", what);
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

static void print_info(const kevo_backup_info *b) {
    printf("backup %llu: %llu files, %llu bytes (%llu new), %llu tables reused, %llu us\n",
           (unsigned long long)b->id, (unsigned long long)b->num_files,
           (unsigned long long)b->size, (unsigned long long)b->new_bytes,
           (unsigned long long)b->files_reused, (unsigned long long)b->duration_us);
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-backup-XXXXXX";
    const char *work = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!work) { perror("mkdtemp"); return 1; }
    char path[4200], backups[4200], restored[4200], missing[4200];
    snprintf(path, sizeof path, "%s/db", work);
    snprintf(backups, sizeof backups, "%s/backups", work);
    snprintf(restored, sizeof restored, "%s/restored", work);
    snprintf(missing, sizeof missing, "%s/missing", work);
    kevo_error *err = NULL;
    kevo_status st;

    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");
    kevo_backup_engine *engine = NULL;
    check(kevo_backup_engine_open(backups, &engine, &err), err, "kevo_backup_engine_open");

    /* First backup: one SSTable (flushed) and the WAL. */
    check(kevo_put(db, NULL, B("city/paris"), B("2.1M"), &err), err, "kevo_put");
    check(kevo_flush(db, &err), err, "kevo_flush");
    kevo_backup_info first, second;
    check(kevo_backup_create(engine, db, &first, &err), err, "kevo_backup_create (1)");
    print_info(&first);

    /* Second backup: the table above is already stored, so it is reused. */
    check(kevo_put(db, NULL, B("city/paris"), B("2.2M"), &err), err, "kevo_put");
    check(kevo_put(db, NULL, B("city/rome"), B("2.8M"), &err), err, "kevo_put");
    check(kevo_backup_create(engine, db, &second, &err), err, "kevo_backup_create (2)");
    print_info(&second);
    expect(first.id == 1 && second.id == 2, "the backups are numbered 1 and 2");
    expect(second.files_reused > 0, "the second backup reuses the first one's table");
    expect(second.new_bytes < second.size, "the second backup stores less than its size");

    /* Listing, into an array of the caller's. */
    size_t count = 0;
    check(kevo_backup_count(engine, &count, &err), err, "kevo_backup_count");
    expect(count == 2, "kevo_backup_count is 2");
    kevo_backup_info list[4];
    memset(list, 0, sizeof list);
    check(kevo_backup_list(engine, list, 4, &count, &err), err, "kevo_backup_list");
    expect(count == 2, "kevo_backup_list gives 2 backups");
    expect(list[0].id == 1 && list[1].id == 2, "listed ids are 1, 2");
    expect(list[1].files_reused > 0, "listed: the second reuses a table");
    expect(list[1].size == second.size && list[1].num_files == second.num_files,
           "the list gives back what kevo_backup_create returned");
    st = kevo_backup_list(engine, list, 1, &count, &err);
    expect_status(KEVO_BUFFER_TOO_SMALL, st, &err, "kevo_backup_list into 1 entry");
    expect(count == 2, "KEVO_BUFFER_TOO_SMALL gives the number needed");

    check(kevo_backup_verify(engine, 1, &err), err, "kevo_backup_verify (1)");
    check(kevo_backup_verify(engine, 2, &err), err, "kevo_backup_verify (2)");

    /* Restore the latest into a new directory; it opens like any database. */
    check(kevo_backup_restore_latest(engine, restored, &err), err, "kevo_backup_restore_latest");
    kevo_db *r = NULL;
    check(kevo_open(restored, NULL, &r, &err), err, "kevo_open (restored)");
    expect_value(r, "city/paris", "2.2M", "restored (overwritten value)");
    expect_value(r, "city/rome", "2.8M", "restored (write in the WAL)");
    check(kevo_close(r, &err), err, "kevo_close (restored)");
    kevo_db_free(r);
    printf("restored backup 2 into %s: city/paris=2.2M, city/rome=2.8M\n", restored);
    st = kevo_backup_restore(engine, 2, restored, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "restore into a non-empty dir");

    /* Delete backup 1: backup 2 keeps the table they share. */
    check(kevo_backup_delete(engine, 1, &err), err, "kevo_backup_delete (1)");
    check(kevo_backup_list(engine, list, 4, &count, &err), err, "kevo_backup_list");
    expect(count == 1 && list[0].id == 2, "only backup 2 is left");
    check(kevo_backup_verify(engine, 2, &err), err, "kevo_backup_verify (2, after delete)");

    /* Error paths. */
    st = kevo_backup_restore(engine, 1, missing, &err);
    expect_status(KEVO_NOT_FOUND, st, &err, "restore of a deleted backup");
    st = kevo_backup_restore(engine, 42, missing, &err);
    expect_status(KEVO_NOT_FOUND, st, &err, "restore of a backup that never was");
    st = kevo_backup_delete(engine, 1, &err);
    expect_status(KEVO_NOT_FOUND, st, &err, "delete of a deleted backup");
    st = kevo_backup_verify(NULL, 2, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_verify(NULL, ...)");
    st = kevo_backup_create(NULL, db, &first, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_create(NULL, db, ...)");
    st = kevo_backup_restore_latest(NULL, missing, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_restore_latest(NULL, ...)");
    st = kevo_backup_create(engine, NULL, &first, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_create(engine, NULL, ...)");
    st = kevo_backup_restore(engine, 2, NULL, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_restore(engine, 2, NULL)");
    kevo_backup_engine *other = engine;
    st = kevo_backup_engine_open(NULL, &other, &err);
    expect_status(KEVO_INVALID_ARGUMENT, st, &err, "kevo_backup_engine_open(NULL, ...)");
    expect(other == NULL, "a failed open sets *engine to NULL");

    /* A closed database cannot be backed up. */
    check(kevo_close(db, &err), err, "kevo_close");
    st = kevo_backup_create(engine, db, &first, &err);
    expect_status(KEVO_CLOSED, st, &err, "kevo_backup_create after kevo_close");
    kevo_db_free(db);

    kevo_backup_engine_free(engine);
    kevo_backup_engine_free(engine); /* a second free does nothing */
    kevo_backup_engine_free(NULL);
    printf("error paths: KEVO_NOT_FOUND, KEVO_INVALID_ARGUMENT, KEVO_CLOSED as expected\n");

    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
