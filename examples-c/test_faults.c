/* test_faults.c: damaged files and a full disk, seen through the C API.
 *
 *   test_faults DIR [TMPFS_DIR]
 *
 * a. Corrupt SSTables: one byte of a table is inverted, at offsets spread over every table
 *    (and every footer); each reopen (block cache off, paranoid checks on) must fail with
 *    KEVO_CORRUPTION, or open and then answer every key with its exact value or
 *    KEVO_CORRUPTION. Never a wrong value, never another status.
 * b. Damaged WAL: a crash (a child process that writes with sync and _exits without
 *    closing), a torn last record, a zeroed tail, garbage after the last record, a flipped
 *    byte in the last record and in the middle of the log, each reopened under every
 *    kevo_wal_recovery_mode: the open fails with KEVO_CORRUPTION or recovers exactly the
 *    prefix of writes that kevo.h documents for that mode.
 * c. Full disk (only with TMPFS_DIR, a small tmpfs: `make test-c` mounts 4 MiB there as
 *    root): writes fail with KEVO_IO_ERROR or KEVO_BACKGROUND_ERROR, never a crash; after the
 *    space is freed, a reopen has every acknowledged write and takes new ones.
 *
 * DIR must exist and should be empty. Exits non-zero with a message on the first wrong
 * result; run under valgrind (and AddressSanitizer) by `make test`.
 * KEVO_FAULT_OFFSETS=N changes how many evenly spread SSTable offsets case a tries (default
 * 40, plus 6 in each table; each costs a reopen that reads every key).
 */
#define _POSIX_C_SOURCE 200809L
#include <kevo.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_LEN 4096
#define KEY_LEN 11 /* "key%08u" */

static kevo_error *err = NULL;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("test_faults: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static const char *msg(void) { return err ? kevo_error_message(err) : "(no error object)"; }

/* The status `expr` gave must be `want`. */
#define CHECK(expr, want)                                                                  \
    do {                                                                                   \
        kevo_status got_ = (expr);                                                         \
        if (got_ != (kevo_status)(want))                                                   \
            die("%s:%d: %s\n  gave %s (%s), expected %s", __FILE__, __LINE__, #expr,       \
                kevo_status_name(got_), got_ == KEVO_OK ? "-" : msg(),                     \
                kevo_status_name(want));                                                   \
    } while (0)

/* ---- keys, values, files ---- */

static void key(int i, char out[KEY_LEN + 1]) {
    snprintf(out, KEY_LEN + 1, "key%08u", (unsigned)i % 100000000u);
}

/* value(i): "value-<i>-" padded with one letter to `len` bytes (as core/tests/full_disk.rs). */
static size_t value(int i, size_t len, char *out) {
    int n = snprintf(out, len + 1, "value-%d-", i);
    if (n < 0 || (size_t)n > len) die("value %d does not fit in %zu bytes", i, len);
    memset(out + n, 'a' + i % 26, len - (size_t)n);
    return len;
}

/* Case a's values vary in length, so tables mix entry sizes. */
static size_t value_len_a(int i) { return 40 + (size_t)(i * 7919 % 160); }

/* Reads key(i): KEVO_OK with exactly value(i, len), KEVO_NOT_FOUND, or any other status
 * (returned to the caller to judge). A wrong value fails the test. */
static kevo_status get_key(kevo_db *db, int i, size_t len) {
    char k[KEY_LEN + 1], want[512];
    uint8_t *v = NULL;
    size_t vn = 0;
    key(i, k);
    kevo_status s = kevo_get(db, NULL, (const uint8_t *)k, KEY_LEN, &v, &vn, &err);
    if (s == KEVO_OK) {
        value(i, len, want);
        if (vn != len || memcmp(v, want, len) != 0)
            die("%s: WRONG VALUE (%zu bytes: %.*s)", k, vn, (int)(vn < 60 ? vn : 60),
                (const char *)v);
        kevo_free(v);
    } else if (v != NULL || vn != 0) {
        die("%s: %s but the value pointer was not cleared", k, kevo_status_name(s));
    }
    return s;
}

static kevo_status put_key(kevo_db *db, const kevo_write_options *wo, int i, size_t len) {
    char k[KEY_LEN + 1], v[512];
    key(i, k);
    value(i, len, v);
    return kevo_put(db, wo, (const uint8_t *)k, KEY_LEN, (const uint8_t *)v, len, &err);
}

static void join(char out[PATH_LEN], const char *dir, const char *name) {
    if (snprintf(out, PATH_LEN, "%s/%s", dir, name) >= PATH_LEN) die("path too long: %s", dir);
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the files in `dir` ending in `suffix`, sorted; *count receives how many.
 * Free with free_names. */
static char **list_files(const char *dir, const char *suffix, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) die("opendir %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_suffix(e->d_name, suffix)) continue;
        names = realloc(names, (n + 1) * sizeof *names);
        if (!names) die("out of memory");
        names[n] = malloc(strlen(e->d_name) + 1);
        if (!names[n]) die("out of memory");
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (n > 0) qsort(names, n, sizeof *names, cmp_names);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static uint8_t *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) die("stat %s: %s", path, strerror(errno));
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf) die("out of memory");
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0) die("read %s: %s", path, r < 0 ? strerror(errno) : "short file");
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return buf;
}

static void write_file(const char *path, const uint8_t *buf, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("create %s: %s", path, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) die("write %s: %s", path, strerror(errno));
        done += (size_t)w;
    }
    if (close(fd) != 0) die("close %s: %s", path, strerror(errno));
}

/* The byte at `offset` of `path`. */
static uint8_t peek(const char *path, long offset) {
    uint8_t b;
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open %s: %s", path, strerror(errno));
    if (pread(fd, &b, 1, (off_t)offset) != 1) die("pread %s: %s", path, strerror(errno));
    close(fd);
    return b;
}

/* Replaces the byte at `offset` of `path` with `b`. */
static void poke(const char *path, long offset, uint8_t b) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) die("open %s: %s", path, strerror(errno));
    if (pwrite(fd, &b, 1, (off_t)offset) != 1) die("pwrite %s: %s", path, strerror(errno));
    close(fd);
}

/* Removes the database directory `dir` (flat: kevo keeps no subdirectories), if it exists. */
static void remove_db_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return;
        die("opendir %s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    char p[PATH_LEN];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        join(p, dir, e->d_name);
        if (unlink(p) != 0) die("unlink %s: %s", p, strerror(errno));
    }
    closedir(d);
    if (rmdir(dir) != 0) die("rmdir %s: %s", dir, strerror(errno));
}

/* "name:size name:size ..." for the files of `dir`, sorted, for failure messages. */
static void describe_dir(const char *dir, char *out, size_t out_len) {
    size_t n, used = 0;
    char **names = list_files(dir, "", &n);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char p[PATH_LEN];
        struct stat st;
        if (names[i][0] == '.') continue;
        join(p, dir, names[i]);
        long size = stat(p, &st) == 0 ? (long)st.st_size : -1;
        int w = snprintf(out + used, out_len - used, "%s%s:%ld", used ? " " : "", names[i], size);
        if (w < 0 || (size_t)w >= out_len - used) break;
        used += (size_t)w;
    }
    free_names(names, n);
}

/* Copies the database directory `from` to `to` (which must not exist). */
static void copy_db_dir(const char *from, const char *to) {
    if (mkdir(to, 0755) != 0) die("mkdir %s: %s", to, strerror(errno));
    DIR *d = opendir(from);
    if (!d) die("opendir %s: %s", from, strerror(errno));
    struct dirent *e;
    char src[PATH_LEN], dst[PATH_LEN];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        join(src, from, e->d_name);
        join(dst, to, e->d_name);
        size_t len;
        uint8_t *buf = read_file(src, &len);
        write_file(dst, buf, len);
        free(buf);
    }
    closedir(d);
}

/* The first position of `needle` in `hay`, or -1. */
static long find(const uint8_t *hay, size_t n, const char *needle, size_t from) {
    size_t m = strlen(needle);
    for (size_t i = from; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return (long)i;
    return -1;
}

/* ---- a. corrupt SSTables ---- */

#define A_KEYS 2000

struct counts {
    long tried, at_open, on_read, unnoticed;
};

struct table {
    char path[PATH_LEN];
    const char *name;
    long size;
};

static void tally(struct counts *c, int outcome) {
    c->tried++;
    c->at_open += outcome == 1;
    c->on_read += outcome == 2;
    c->unnoticed += outcome == 0;
}

/* Tries one inverted byte. Returns 0 if nothing noticed it (every value still right),
 * 1 if the open failed with KEVO_CORRUPTION, 2 if some reads did. */
static int try_flip(const char *dir, const kevo_options *opts, const struct table *t,
                    long offset) {
    uint8_t orig = peek(t->path, offset);
    poke(t->path, offset, (uint8_t)~orig);

    int outcome = 0;
    kevo_db *db = NULL;
    kevo_status s = kevo_open(dir, opts, &db, &err);
    if (s == KEVO_CORRUPTION) {
        if (db != NULL) die("failed kevo_open left *db set");
        if (!strstr(msg(), t->name))
            die("%s+%ld: open's corruption message does not name the table: %s", t->name,
                offset, msg());
        outcome = 1;
    } else if (s == KEVO_OK) {
        for (int i = 0; i < A_KEYS; i++) {
            kevo_status g = get_key(db, i, value_len_a(i));
            if (g == KEVO_CORRUPTION) {
                if (!strstr(msg(), t->name))
                    die("%s+%ld: corruption message does not name the table: %s", t->name,
                        offset, msg());
                outcome = 2;
            } else if (g != KEVO_OK) {
                die("%s+%ld: get key %d gave %s (%s); expected KEVO_OK or KEVO_CORRUPTION",
                    t->name, offset, i, kevo_status_name(g), msg());
            }
        }
        CHECK(kevo_close(db, &err), KEVO_OK);
        kevo_db_free(db);
    } else {
        die("%s+%ld: kevo_open gave %s (%s); expected KEVO_OK or KEVO_CORRUPTION", t->name,
            offset, kevo_status_name(s), msg());
    }
    poke(t->path, offset, orig);
    return outcome;
}

static void case_corrupt_sst(const char *base, struct counts *c, char *summary,
                             size_t summary_len) {
    char dir[PATH_LEN];
    join(dir, base, "corrupt");
    kevo_options *opts = kevo_options_new();
    CHECK(kevo_options_set_memtable_size(opts, 64 << 10, &err), KEVO_OK);
    CHECK(kevo_options_set_target_file_size(opts, 64 << 10, &err), KEVO_OK);
    CHECK(kevo_options_set_block_cache_size(opts, 0, &err), KEVO_OK); /* reads hit the file */
    CHECK(kevo_options_set_paranoid_checks(opts, true, &err), KEVO_OK);
    /* Small blocks: more of them per table, and each read checks and decodes less (every
     * reopen reads all the keys, and valgrind makes that the bulk of the run time). */
    CHECK(kevo_options_set_block_size(opts, 1024, &err), KEVO_OK);

    kevo_db *db = NULL;
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);
    for (int i = 0; i < A_KEYS; i++) CHECK(put_key(db, NULL, i, value_len_a(i)), KEVO_OK);
    CHECK(kevo_flush(db, &err), KEVO_OK);
    /* Everything into the last level, split at target_file_size: a set of tables that does
     * not depend on when background compactions ran. */
    CHECK(kevo_compact_range(db, NULL, 0, NULL, 0, &err), KEVO_OK);
    CHECK(kevo_close(db, &err), KEVO_OK);
    kevo_db_free(db);

    size_t n_tables;
    char **names = list_files(dir, ".sst", &n_tables);
    if (n_tables == 0) die("no .sst file in %s after a flush", dir);
    struct table *tables = calloc(n_tables, sizeof *tables);
    if (!tables) die("out of memory");
    long total = 0;
    for (size_t f = 0; f < n_tables; f++) {
        join(tables[f].path, dir, names[f]);
        tables[f].name = names[f];
        struct stat st;
        if (stat(tables[f].path, &st) != 0) die("stat %s: %s", tables[f].path, strerror(errno));
        tables[f].size = (long)st.st_size;
        total += tables[f].size;
    }

    /* The offsets: `budget` spread evenly over all the tables' bytes (with a varying phase,
     * so they do not always land at the same place in a block), plus, in every table, its
     * first byte and bytes of the footer (the last 68: handles, version, checksum). */
    long budget = 40;
    const char *env = getenv("KEVO_FAULT_OFFSETS");
    if (env && atol(env) > 0) budget = atol(env);
    static const long footer[] = {68, 50, 21, 9, 1}; /* distances from the end */
    for (size_t f = 0; f < n_tables; f++) {
        const struct table *t = &tables[f];
        long offsets[1 + sizeof footer / sizeof footer[0]];
        size_t n = 0;
        offsets[n++] = 0;
        for (size_t j = 0; j < sizeof footer / sizeof footer[0]; j++)
            if (t->size >= footer[j]) offsets[n++] = t->size - footer[j];
        for (size_t j = 0; j < n; j++) {
            tally(c, try_flip(dir, opts, t, offsets[j]));
        }
    }
    for (long k = 0; k < budget; k++) {
        long pos = (long)((double)k * (double)total / (double)budget) + (k * 37) % 53;
        if (pos >= total) pos = total - 1;
        size_t f = 0;
        while (pos >= tables[f].size) pos -= tables[f++].size; /* pos: offset in table f */
        tally(c, try_flip(dir, opts, &tables[f], pos));
    }

    /* Every byte was put back: a last reopen reads every key intact. */
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);
    for (int i = 0; i < A_KEYS; i++) CHECK(get_key(db, i, value_len_a(i)), KEVO_OK);
    CHECK(kevo_close(db, &err), KEVO_OK);
    kevo_db_free(db);
    kevo_options_free(opts);

    snprintf(summary, summary_len,
             "sst: %ld inverted bytes in %zu tables of %ld bytes (%d keys), %ld failed the open "
             "with KEVO_CORRUPTION, %ld failed reads with it, %ld went unnoticed with every "
             "value right",
             c->tried, n_tables, total, A_KEYS, c->at_open, c->on_read, c->unnoticed);
    free(tables);
    free_names(names, n_tables);
}

/* ---- b. damaged WAL ---- */

#define B_KEYS 50
#define B_VALUE_LEN 100

static const char *mode_name(uint32_t mode) {
    switch (mode) {
    case KEVO_WAL_TOLERATE_CORRUPTED_TAIL: return "TOLERATE_CORRUPTED_TAIL";
    case KEVO_WAL_ABSOLUTE_CONSISTENCY: return "ABSOLUTE_CONSISTENCY";
    case KEVO_WAL_POINT_IN_TIME: return "POINT_IN_TIME";
    case KEVO_WAL_TOLERATE_INCOMPLETE_TAIL: return "TOLERATE_INCOMPLETE_TAIL";
    }
    return "?";
}

/* What reopening should give under each mode, indexed by kevo_wal_recovery_mode:
 * -1 for KEVO_CORRUPTION, else the number of writes recovered (keys 0 .. n-1). */
struct wal_damage {
    const char *what;
    int expect[4];
};

/* Writes keys 0 .. B_KEYS-1, each put synced, to a new database in `dir`; then closes it,
 * or, with `crash`, does it in a child process that _exits without closing. */
static void write_wal_db(const char *dir, int crash) {
    pid_t pid = 0;
    if (crash) {
        fflush(NULL);
        pid = fork();
        if (pid < 0) die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        kevo_options *opts = kevo_options_new();
        CHECK(kevo_options_set_memtable_size(opts, 1 << 20, &err), KEVO_OK); /* one segment */
        kevo_write_options *wo = kevo_write_options_new();
        CHECK(kevo_write_options_set_sync(wo, true, &err), KEVO_OK);
        kevo_db *db = NULL;
        CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);
        kevo_options_free(opts);
        for (int i = 0; i < B_KEYS; i++) CHECK(put_key(db, wo, i, B_VALUE_LEN), KEVO_OK);
        kevo_write_options_free(wo);
        if (crash) _exit(0); /* every write acknowledged and synced; no close */
        CHECK(kevo_close(db, &err), KEVO_OK);
        kevo_db_free(db);
        return;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the writer child failed");
}

/* The WAL segment of `dir` that holds the records: its only non-empty .log file. */
static void find_wal(const char *dir, char path[PATH_LEN]) {
    size_t n;
    char **names = list_files(dir, ".log", &n);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        char p[PATH_LEN];
        struct stat st;
        join(p, dir, names[i]);
        if (stat(p, &st) != 0) die("stat %s: %s", p, strerror(errno));
        if (st.st_size == 0) continue;
        if (found++) die("%s has more than one non-empty WAL segment", dir);
        strcpy(path, p);
    }
    free_names(names, n);
    if (!found) die("no WAL segment with records in %s", dir);
}

/* Copies `pristine` to `work`, applies damage number `d` to its WAL, and reopens it under
 * every mode, checking the outcome against `dmg->expect`. */
static int check_modes(const char *pristine, const char *work, int d,
                       const struct wal_damage *dmg) {
    int cases = 0;
    for (uint32_t mode = 0; mode < 4; mode++) {
        remove_db_dir(work);
        copy_db_dir(pristine, work);
        char wal[PATH_LEN];
        find_wal(work, wal);
        size_t len;
        uint8_t *buf = read_file(wal, &len);
        char k[KEY_LEN + 1];
        key(B_KEYS - 1, k);
        long last = find(buf, len, k, 0); /* the last record's key: past its header */
        key(B_KEYS / 2, k);
        long mid = find(buf, len, k, 0);
        if (last < 0 || mid < 0 || find(buf, len, k, (size_t)mid + 1) >= 0)
            die("%s: cannot find the records of keys %d and %d", wal, B_KEYS / 2, B_KEYS - 1);
        switch (d) {
        case 0: /* crashed writer, or a clean close: as it is */
            write_file(wal, buf, len);
            break;
        case 1: /* torn: the file ends inside the last record */
            write_file(wal, buf, (size_t)last + 2);
            break;
        case 2: { /* zeroed tail: space a crash extended the file by */
            uint8_t *more = calloc(len + 4096, 1);
            if (!more) die("out of memory");
            memcpy(more, buf, len);
            write_file(wal, more, len + 4096);
            free(more);
            break;
        }
        case 3: { /* garbage after the last record (its length field runs past the block) */
            uint8_t *more = malloc(len + 32);
            if (!more) die("out of memory");
            memcpy(more, buf, len);
            memset(more + len, 0xA5, 32);
            write_file(wal, more, len + 32);
            free(more);
            break;
        }
        case 4: /* bit rot inside the (complete) last record */
            buf[last + KEY_LEN + 3] ^= 0x10;
            write_file(wal, buf, len);
            break;
        case 5: /* bit rot in the middle of the log: intact records follow */
            buf[mid + KEY_LEN + 3] ^= 0x10;
            write_file(wal, buf, len);
            break;
        }
        free(buf);

        kevo_options *opts = kevo_options_new();
        CHECK(kevo_options_set_create_if_missing(opts, false, &err), KEVO_OK);
        CHECK(kevo_options_set_wal_recovery_mode(opts, mode, &err), KEVO_OK);
        kevo_db *db = NULL;
        kevo_status s = kevo_open(work, opts, &db, &err);
        kevo_options_free(opts);
        int want = dmg->expect[mode];
        if (want < 0) {
            if (s != KEVO_CORRUPTION)
                die("WAL %s, %s: kevo_open gave %s (%s), expected KEVO_CORRUPTION", dmg->what,
                    mode_name(mode), kevo_status_name(s), s == KEVO_OK ? "-" : msg());
            if (db != NULL) die("failed kevo_open left *db set");
            if (!strstr(msg(), ".log"))
                die("WAL %s, %s: the message does not name the WAL: %s", dmg->what,
                    mode_name(mode), msg());
        } else {
            if (s != KEVO_OK)
                die("WAL %s, %s: kevo_open gave %s (%s), expected KEVO_OK with %d writes",
                    dmg->what, mode_name(mode), kevo_status_name(s), msg(), want);
            for (int i = 0; i < B_KEYS; i++) {
                kevo_status g = get_key(db, i, B_VALUE_LEN);
                if (g != (i < want ? KEVO_OK : KEVO_NOT_FOUND))
                    die("WAL %s, %s: key %d gave %s, expected %s (the first %d writes "
                        "recovered)",
                        dmg->what, mode_name(mode), i, kevo_status_name(g),
                        i < want ? "KEVO_OK" : "KEVO_NOT_FOUND", want);
            }
            CHECK(kevo_close(db, &err), KEVO_OK);
            kevo_db_free(db);
        }
        cases++;
    }
    return cases;
}

static int case_damaged_wal(const char *base, char *summary, size_t summary_len) {
    /* Modes in enum order: TOLERATE_CORRUPTED_TAIL, ABSOLUTE_CONSISTENCY, POINT_IN_TIME,
     * TOLERATE_INCOMPLETE_TAIL. */
    enum { N = B_KEYS, C = -1, M = B_KEYS / 2 };
    static const struct wal_damage closed[] = {
        {"intact (closed)", {N, N, N, N}},
        /* An incomplete last record: dropped, except under absolute consistency. */
        {"torn last record", {N - 1, C, N - 1, N - 1}},
        /* A zero-filled tail is dropped; it is damage to absolute consistency. */
        {"zeroed tail", {N, C, N, N}},
        /* Garbage that is no cut-short record: only tolerate-incomplete-tail refuses it. */
        {"garbage tail", {N, C, N, C}},
        /* A complete last record fails its checksum: bit rot or torn, dropped by
         * tolerate-corrupted-tail and point-in-time. */
        {"bit rot in the last record", {N - 1, C, N - 1, C}},
        /* Damage followed by intact records: only point-in-time opens, with the prefix. */
        {"bit rot mid-log", {C, C, M, C}},
    };
    /* After a crash the mmap'd segment ends in its zero-filled reservation. */
    static const struct wal_damage crashed = {"crash (no close)", {N, C, N, N}};

    char dir[PATH_LEN], pristine[PATH_LEN], work[PATH_LEN];
    join(dir, base, "wal");
    if (mkdir(dir, 0755) != 0) die("mkdir %s: %s", dir, strerror(errno));
    join(work, dir, "work");
    int cases = 0;

    join(pristine, dir, "crashed");
    write_wal_db(pristine, 1);
    cases += check_modes(pristine, work, 0, &crashed);

    join(pristine, dir, "closed");
    write_wal_db(pristine, 0);
    for (int d = 0; d < (int)(sizeof closed / sizeof closed[0]); d++)
        cases += check_modes(pristine, work, d, &closed[d]);

    snprintf(summary, summary_len,
             "wal: %d damage kinds x 4 recovery modes = %d reopens, each as documented",
             1 + (int)(sizeof closed / sizeof closed[0]), cases);
    return cases;
}

/* ---- c. full disk ---- */

#define C_VALUE_LEN 200

static int case_full_disk(const char *mnt, char *summary, size_t summary_len) {
    /* Never fill a real disk: TMPFS_DIR must be a small file system. */
    struct statvfs vfs;
    if (statvfs(mnt, &vfs) != 0) die("statvfs %s: %s", mnt, strerror(errno));
    unsigned long long fs_bytes = (unsigned long long)vfs.f_blocks * vfs.f_frsize;
    if (fs_bytes > 64ull << 20)
        die("%s is a %llu MiB file system; the full-disk case wants a small tmpfs (4 MiB)", mnt,
            fs_bytes >> 20);

    char ballast[PATH_LEN], dir[PATH_LEN];
    join(ballast, mnt, "ballast");
    join(dir, mnt, "db");
    uint8_t *b = malloc(1 << 20);
    if (!b) die("out of memory");
    memset(b, 7, 1 << 20);
    write_file(ballast, b, 1 << 20);
    free(b);

    kevo_options *opts = kevo_options_new();
    CHECK(kevo_options_set_sync_mode(opts, KEVO_SYNC_NONE, 0, 0, &err), KEVO_OK);
    CHECK(kevo_options_set_memtable_size(opts, 256 << 10, &err), KEVO_OK);
    CHECK(kevo_options_set_target_file_size(opts, 256 << 10, &err), KEVO_OK);
    CHECK(kevo_options_set_block_cache_size(opts, 1 << 20, &err), KEVO_OK);
    /* Uncompressed, the padded values fill the disk in about 5,000 writes rather than
     * 35,000 (the run time under valgrind). */
    CHECK(kevo_options_set_compression(opts, KEVO_COMPRESSION_NONE, 0, &err), KEVO_OK);
    kevo_db *db = NULL;
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);

    int acked = 0;
    kevo_status first;
    for (;;) {
        first = put_key(db, NULL, acked, C_VALUE_LEN);
        if (first != KEVO_OK) break;
        if (++acked >= 1000000) die("a %llu MiB disk never filled up", fs_bytes >> 20);
    }
    if (first != KEVO_IO_ERROR && first != KEVO_BACKGROUND_ERROR)
        die("the first failing put gave %s (%s); expected KEVO_IO_ERROR or "
            "KEVO_BACKGROUND_ERROR",
            kevo_status_name(first), msg());
    if (err == NULL || kevo_error_code(err) != first || kevo_error_message(err)[0] == '\0')
        die("the failing put left no error object, or one with another code or no message");
    if (!strstr(msg(), "No space left") && !strstr(msg(), "os error 28"))
        die("the first failure is not ENOSPC: %s", msg());
    char first_msg[200];
    snprintf(first_msg, sizeof first_msg, "%s", msg());

    /* A failure before anything reached the WAL (reserving a new segment) leaves the
     * database writable; a failed flush turns it read-only until reopened (documented for
     * KEVO_BACKGROUND_ERROR). Go on until 50 more writes failed: whatever is acknowledged
     * must be kept. */
    int io_after = 0, bg_after = 0, acked_after = 0;
    int read_only = first == KEVO_BACKGROUND_ERROR;
    for (int j = 0; j < 100000 && io_after + bg_after < 50; j++) {
        kevo_status s = put_key(db, NULL, acked, C_VALUE_LEN);
        if (s == KEVO_OK) {
            if (read_only) die("a put succeeded after KEVO_BACKGROUND_ERROR (read-only)");
            acked++;
            acked_after++;
        } else if (s == KEVO_IO_ERROR || s == KEVO_BACKGROUND_ERROR) {
            if (kevo_error_code(err) != s || msg()[0] == '\0')
                die("a failed put's error object has another code or no message");
            if (s == KEVO_IO_ERROR) {
                io_after++;
            } else {
                bg_after++;
                read_only = 1;
            }
        } else {
            die("a put after the disk filled gave %s (%s)", kevo_status_name(s), msg());
        }
    }
    for (int i = 0; i < acked; i += 97) {
        kevo_status g = get_key(db, i, C_VALUE_LEN);
        if (g != KEVO_OK)
            die("acknowledged key %d gave %s (%s) in the full database", i, kevo_status_name(g),
                g == KEVO_NOT_FOUND ? "-" : msg());
    }
    kevo_status closed = kevo_close(db, &err); /* its final WAL sync may fail too */
    if (closed != KEVO_OK && closed != KEVO_IO_ERROR && closed != KEVO_BACKGROUND_ERROR)
        die("kevo_close of the full database gave %s (%s)", kevo_status_name(closed), msg());
    kevo_db_free(db);

    /* The files as the full disk left them, for the message if something is missing. */
    char files[2048];
    describe_dir(dir, files, sizeof files);
    if (unlink(ballast) != 0) die("unlink %s: %s", ballast, strerror(errno));
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);
    kevo_options_free(opts);
    for (int i = 0; i < acked; i++) {
        kevo_status g = get_key(db, i, C_VALUE_LEN);
        if (g != KEVO_OK)
            die("after reopening, acknowledged key %d of %d gave %s (%s)\n  first failure: "
                "%s (%s); then %d more acknowledged, %d KEVO_IO_ERROR, %d "
                "KEVO_BACKGROUND_ERROR\n  files before the reopen (name:bytes): %s",
                i, acked, kevo_status_name(g), g == KEVO_NOT_FOUND ? "-" : msg(),
                kevo_status_name(first), first_msg, acked_after, io_after, bg_after, files);
    }
    /* The write that failed last was never acknowledged: it may be absent or whole. */
    kevo_status g = get_key(db, acked, C_VALUE_LEN);
    if (g != KEVO_NOT_FOUND && g != KEVO_OK)
        die("the unacknowledged key %d gave %s (%s)", acked, kevo_status_name(g), msg());
    CHECK(get_key(db, acked + 1, C_VALUE_LEN), KEVO_NOT_FOUND); /* never written */
    CHECK(kevo_put(db, NULL, (const uint8_t *)"after", 5, (const uint8_t *)"space was freed", 15,
                   &err),
          KEVO_OK);
    CHECK(kevo_close(db, &err), KEVO_OK);
    kevo_db_free(db);
    snprintf(summary, summary_len,
             "full disk: first failure %s (%s); then %d more acknowledged, %d KEVO_IO_ERROR, "
             "%d KEVO_BACKGROUND_ERROR; close gave %s; all %d acknowledged writes there "
             "after reopen",
             kevo_status_name(first), first_msg, acked_after, io_after, bg_after,
             kevo_status_name(closed), acked);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DIR [TMPFS_DIR]\n", argv[0]);
        return 2;
    }
    char line[1024];
    struct counts sst = {0};
    case_corrupt_sst(argv[1], &sst, line, sizeof line);
    printf("test_faults: %s\n", line);
    fflush(stdout);
    int wal = case_damaged_wal(argv[1], line, sizeof line);
    printf("test_faults: %s\n", line);
    fflush(stdout);
    int disk = 0;
    if (argc == 3) {
        disk = case_full_disk(argv[2], line, sizeof line);
        printf("test_faults: %s\n", line);
    }
    kevo_error_free(err);
    printf("test_faults: passed: %ld SSTable offsets (%ld failed the open, %ld failed reads, "
           "%ld unnoticed), %d WAL reopens, full disk %s\n",
           sst.tried, sst.at_open, sst.on_read, sst.unnoticed, wal,
           argc == 3 ? (disk ? "passed" : "?") : "skipped (no TMPFS_DIR)");
    return 0;
}
