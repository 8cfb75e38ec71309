/* snapshot.c: read a consistent, older view of the database while it changes.
 *
 *   ./snapshot [DB_DIR]
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

/* Reads key with get_into into a small stack buffer, through read options ro (NULL: now), and
 * exits with a message unless its value is want (NULL: the key must be absent): this program
 * runs as a test, and a snapshot that shows the wrong version is a failure. */
static void show(kevo_db *db, const kevo_read_options *ro, const char *label, const char *key,
                 const char *want) {
    kevo_error *err = NULL;
    char buf[64];
    size_t n = 0;
    kevo_status s = kevo_get_into(db, ro, B(key), (uint8_t *)buf, sizeof buf, &n, &err);
    if (s == KEVO_NOT_FOUND) {
        printf("  %-9s %s: (absent)\n", label, key);
        if (want) {
            fprintf(stderr, "%s %s: expected \"%s\", got: absent\n", label, key, want);
            exit(1);
        }
        return;
    }
    check(s, err, "kevo_get_into");
    printf("  %-9s %s: %.*s\n", label, key, (int)n, buf);
    if (!want) {
        fprintf(stderr, "%s %s: expected: absent, got \"%.*s\" (%zu bytes)\n", label, key,
                (int)n, buf, n);
        exit(1);
    }
    size_t want_len = strlen(want);
    if (n != want_len || memcmp(buf, want, n) != 0) {
        fprintf(stderr, "%s %s: expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)\n", label,
                key, want, want_len, (int)n, buf, n);
        exit(1);
    }
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-snapshot-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");

    check(kevo_put(db, NULL, B("config/mode"), B("blue"), &err), err, "kevo_put");
    kevo_snapshot *snap = NULL;
    check(kevo_snapshot_new(db, &snap, &err), err, "kevo_snapshot_new");
    uint64_t seq = 0;
    check(kevo_snapshot_sequence(snap, &seq, &err), err, "kevo_snapshot_sequence");
    printf("snapshot taken at sequence %llu\n", (unsigned long long)seq);

    /* Later writes, and even a flush to disk, do not change what the snapshot sees. */
    check(kevo_put(db, NULL, B("config/mode"), B("green"), &err), err, "kevo_put");
    check(kevo_put(db, NULL, B("config/new"), B("yes"), &err), err, "kevo_put");
    check(kevo_flush(db, &err), err, "kevo_flush");

    kevo_read_options *ro = kevo_read_options_new();
    check(kevo_read_options_set_snapshot(ro, snap, &err), err, "kevo_read_options_set_snapshot");
    kevo_snapshot_free(snap); /* the read options hold their own reference */

    show(db, ro, "snapshot:", "config/mode", "blue");
    show(db, ro, "snapshot:", "config/new", NULL);
    show(db, NULL, "now:", "config/mode", "green");
    show(db, NULL, "now:", "config/new", "yes");

    kevo_read_options_free(ro);
    check(kevo_close(db, &err), err, "kevo_close");
    kevo_db_free(db);
    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) return 1;
    }
    return 0;
}
