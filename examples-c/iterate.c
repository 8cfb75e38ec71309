/* iterate.c: bounded forward and reverse scans with a kevo_iter.
 *
 *   ./iterate [DB_DIR]
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

/* Exits with a message unless got[0..got_len) is exactly want. */
static void expect(const char *what, size_t i, const char *want, const uint8_t *got,
                   size_t got_len) {
    size_t want_len = strlen(want);
    /* memcmp's pointers must be valid even for a length of 0, and got may be NULL then. */
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) return;
    fprintf(stderr, "%s, entry %zu: expected \"%s\" (%zu bytes), got \"%.*s\" (%zu bytes)\n",
            what, i, want, want_len, (int)got_len, got ? (const char *)got : "", got_len);
    exit(1);
}

/* Prints the entries from the iterator's position onwards, moving with next (forward) or
 * prev (reverse); the key and value pointers are borrowed until the next move. Exits with a
 * message unless they are exactly the want_n {key, value} pairs of want, in that order: this
 * program runs as a test, and a scan that skips, adds or misorders an entry is a failure. */
static void scan(kevo_iter *it, int forward, const char *what, const char *const want[][2],
                 size_t want_n) {
    kevo_error *err = NULL;
    size_t i = 0;
    while (kevo_iter_valid(it)) {
        const uint8_t *k, *v;
        size_t kn, vn;
        check(kevo_iter_key(it, &k, &kn, &err), err, "kevo_iter_key");
        check(kevo_iter_value(it, &v, &vn, &err), err, "kevo_iter_value");
        printf("  %.*s = %.*s\n", (int)kn, (const char *)k, (int)vn, (const char *)v);
        if (i >= want_n) {
            fprintf(stderr, "%s: expected %zu entries, got an extra one: \"%.*s\"\n", what,
                    want_n, (int)kn, (const char *)k);
            exit(1);
        }
        expect(what, i, want[i][0], k, kn);
        expect(what, i, want[i][1], v, vn);
        i++;
        check(forward ? kevo_iter_next(it, &err) : kevo_iter_prev(it, &err), err, "move");
    }
    /* Not valid any more: the end of the range, or an error? */
    check(kevo_iter_status(it, &err), err, "kevo_iter_status");
    if (i != want_n) {
        fprintf(stderr, "%s: expected %zu entries, got %zu\n", what, want_n, i);
        exit(1);
    }
}

#define N(a) (sizeof a / sizeof a[0])

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-iterate-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");

    const char *cities[][2] = {
        {"city/FR/Lyon", "522969"},   {"city/FR/Paris", "2138551"},
        {"city/FR/Toulouse", "493465"}, {"city/DE/Berlin", "3644826"},
        {"city/IT/Roma", "2872800"},  {"country/FR", "France"},
    };
    for (size_t i = 0; i < N(cities); i++)
        check(kevo_put(db, NULL, B(cities[i][0]), B(cities[i][1]), &err), err, "kevo_put");

    /* French cities: [city/FR/, city/FR0) -- '0' is the byte after '/'. */
    kevo_read_options *ro = kevo_read_options_new();
    check(kevo_read_options_set_lower_bound(ro, B("city/FR/"), &err), err, "set_lower_bound");
    check(kevo_read_options_set_upper_bound(ro, B("city/FR0"), &err), err, "set_upper_bound");
    kevo_iter *it = NULL;
    check(kevo_iter_new(db, ro, &it, &err), err, "kevo_iter_new");

    /* What each scan must return: the French cities only, in the scan's order. */
    const char *const forward[][2] = {
        {"city/FR/Lyon", "522969"}, {"city/FR/Paris", "2138551"},
        {"city/FR/Toulouse", "493465"},
    };
    const char *const reverse[][2] = {
        {"city/FR/Toulouse", "493465"}, {"city/FR/Paris", "2138551"},
        {"city/FR/Lyon", "522969"},
    };
    const char *const from_m[][2] = {
        {"city/FR/Paris", "2138551"}, {"city/FR/Toulouse", "493465"},
    };
    const char *const before_m[][2] = {{"city/FR/Lyon", "522969"}};

    printf("forward, city/FR/ <= key < city/FR0:\n");
    check(kevo_iter_seek_to_first(it, &err), err, "kevo_iter_seek_to_first");
    scan(it, 1, "forward scan", forward, N(forward));
    printf("reverse:\n");
    check(kevo_iter_seek_to_last(it, &err), err, "kevo_iter_seek_to_last");
    scan(it, 0, "reverse scan", reverse, N(reverse));
    printf("from city/FR/M onwards:\n");
    check(kevo_iter_seek(it, B("city/FR/M"), &err), err, "kevo_iter_seek");
    scan(it, 1, "scan from city/FR/M", from_m, N(from_m));
    printf("at or before city/FR/M, backwards:\n");
    check(kevo_iter_seek_for_prev(it, B("city/FR/M"), &err), err, "kevo_iter_seek_for_prev");
    scan(it, 0, "scan back from city/FR/M", before_m, N(before_m));

    kevo_iter_free(it);
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
