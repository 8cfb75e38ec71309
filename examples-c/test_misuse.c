/* test_misuse.c: every misuse the C API promises to survive, with the status each gives:
 * NULL handles and pointers, huge lengths, double frees, stale and wrongly typed handles,
 * use after close, children outliving their database, and error-object handling.
 * Exits non-zero on the first mismatch; run under valgrind by `make test`.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kevo.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checks = 0;

#define CHECK(expr, want)                                                                   \
    do {                                                                                    \
        kevo_status got_ = (expr);                                                          \
        checks++;                                                                           \
        if (got_ != (kevo_status)(want)) {                                                  \
            fprintf(stderr, "%s:%d: %s\n  gave %s, expected %s\n", __FILE__, __LINE__, #expr, \
                    kevo_status_name(got_), kevo_status_name(want));                        \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

#define TRUE(cond)                                                                          \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);             \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

#define B(s) (const uint8_t *)(s), strlen(s)

/* A kevo_txn_run callback that keeps its transaction handle, to check it dies with the run. */
static kevo_txn *kept_txn = NULL;
static kevo_status keep_txn(kevo_txn *txn, void *ctx, kevo_error **err) {
    (void)ctx;
    (void)err;
    kept_txn = txn;
    return KEVO_OK;
}

int main(void) {
    char dir[] = "/tmp/kevo-misuse-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    kevo_error *err = NULL;
    kevo_db *db = NULL;

    /* --- open --- */
    CHECK(kevo_open(NULL, NULL, &db, &err), KEVO_INVALID_ARGUMENT);
    TRUE(err != NULL && kevo_error_code(err) == KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "path") != NULL);
    CHECK(kevo_open(dir, NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    kevo_options *opts = kevo_options_new();
    CHECK(kevo_options_set_create_if_missing(opts, false, &err), KEVO_OK);
    CHECK(kevo_open("/tmp/kevo-misuse-does-not-exist", opts, &db, &err), KEVO_NOT_FOUND);
    TRUE(db == NULL && kevo_error_code(err) == KEVO_NOT_FOUND);
    /* Setters refuse values out of range; open refuses inconsistent ones. */
    CHECK(kevo_options_set_memtable_size(opts, 10, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_compression(opts, KEVO_COMPRESSION_ZSTD, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_compression(opts, 42, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_sync_mode(opts, KEVO_SYNC_BATCHED, 0, 10, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_compaction_style(opts, 7, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_create_if_missing(opts, true, &err), KEVO_OK);
    CHECK(kevo_options_set_l0_compaction_trigger(opts, 30, &err), KEVO_OK); /* > stop (20) */
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_l0_compaction_trigger(opts, 4, &err), KEVO_OK);
    CHECK(kevo_options_set_compression(opts, KEVO_COMPRESSION_ZSTD, 3, &err), KEVO_OK);
    CHECK(kevo_options_set_sync_mode(opts, KEVO_SYNC_BATCHED, 1 << 20, 100, &err), KEVO_OK);
    CHECK(kevo_open(dir, opts, &db, &err), KEVO_OK);
    kevo_options_free(opts);
    kevo_options_free(opts); /* double free: ignored */
    CHECK(kevo_options_set_block_size(opts, 4096, &err), KEVO_INVALID_ARGUMENT); /* stale */
    kevo_db *db2 = NULL;
    CHECK(kevo_open(dir, NULL, &db2, &err), KEVO_LOCKED);
    TRUE(db2 == NULL);

    /* --- NULL handles and pointers --- */
    CHECK(kevo_put(NULL, NULL, B("k"), B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, NULL, 1, B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, NULL, 0, B("v"), &err), KEVO_INVALID_ARGUMENT); /* empty key */
    CHECK(kevo_put(db, NULL, B("k"), NULL, 3, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, B("empty"), NULL, 0, &err), KEVO_OK); /* empty value */
    uint8_t *v = NULL;
    size_t vn = 0;
    CHECK(kevo_get(db, NULL, B("empty"), &v, &vn, &err), KEVO_OK);
    TRUE(v != NULL && vn == 0); /* an empty value is not NULL */
    kevo_free(v);
    CHECK(kevo_get(db, NULL, B("k"), NULL, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_get(db, NULL, B("k"), &v, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_get(NULL, NULL, B("k"), &v, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_delete(db, NULL, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_write(db, NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_flush(NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_compact_range(NULL, NULL, 0, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_property(db, NULL, (char **)&v, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_iter_new(db, NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_snapshot_new(db, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_batch_count(NULL, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_iter_seek_to_first(NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_read_options_set_snapshot(NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_write_options_set_sync(NULL, true, &err), KEVO_INVALID_ARGUMENT);
    TRUE(!kevo_iter_valid(NULL));
    TRUE(kevo_error_code(NULL) == KEVO_INVALID_ARGUMENT);
    TRUE(kevo_error_message(NULL) != NULL);
    /* Without an err pointer, statuses still come back. */
    CHECK(kevo_put(NULL, NULL, B("k"), B("v"), NULL), KEVO_INVALID_ARGUMENT);

    /* --- huge lengths: refused before the buffer is read --- */
    CHECK(kevo_put(db, NULL, (const uint8_t *)"k", SIZE_MAX, B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, B("k"), (const uint8_t *)"v", SIZE_MAX, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, (const uint8_t *)"k", 65536, B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_put(db, NULL, B("k"), (const uint8_t *)"v", ((size_t)512 << 20) + 1, &err),
          KEVO_INVALID_ARGUMENT);
    CHECK(kevo_get(db, NULL, (const uint8_t *)"k", SIZE_MAX, &v, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_delete(db, NULL, (const uint8_t *)"k", SIZE_MAX, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_compact_range(db, (const uint8_t *)"a", SIZE_MAX, NULL, 0, &err),
          KEVO_INVALID_ARGUMENT);

    /* --- binary keys and values, get_into --- */
    const uint8_t bk[] = {'b', 0, 'k'}, bv[] = {0, 1, 0, 2};
    CHECK(kevo_put(db, NULL, bk, sizeof bk, bv, sizeof bv, &err), KEVO_OK);
    uint8_t small[2], big[8];
    size_t need = 0;
    CHECK(kevo_get_into(db, NULL, bk, sizeof bk, small, sizeof small, &need, &err),
          KEVO_BUFFER_TOO_SMALL);
    TRUE(need == sizeof bv && kevo_error_code(err) == KEVO_BUFFER_TOO_SMALL);
    CHECK(kevo_get_into(db, NULL, bk, sizeof bk, NULL, 0, &need, &err), KEVO_BUFFER_TOO_SMALL);
    CHECK(kevo_get_into(db, NULL, bk, sizeof bk, big, sizeof big, &need, &err), KEVO_OK);
    TRUE(need == sizeof bv && memcmp(big, bv, sizeof bv) == 0);
    CHECK(kevo_get_into(db, NULL, B("absent"), big, sizeof big, &need, &err), KEVO_NOT_FOUND);
    TRUE(need == 0);
    CHECK(kevo_get_into(db, NULL, bk, sizeof bk, NULL, 5, &need, &err), KEVO_INVALID_ARGUMENT);

    /* --- error objects: replaced on failure, untouched on success and not-found --- */
    kevo_error *kept = err;
    CHECK(kevo_put(db, NULL, B("ok"), B("1"), &err), KEVO_OK);
    TRUE(err == kept);
    CHECK(kevo_get(db, NULL, B("absent"), &v, &vn, &err), KEVO_NOT_FOUND);
    TRUE(err == kept && v == NULL && vn == 0);
    char *prop = NULL;
    CHECK(kevo_property(db, "kevo.no-such-property", &prop, &err), KEVO_NOT_FOUND);
    TRUE(prop == NULL && err == kept);
    CHECK(kevo_property(db, "kevo.stats", &prop, &err), KEVO_OK);
    TRUE(prop != NULL && strlen(prop) > 0);
    kevo_free(prop);
    kevo_error_free(err);
    kevo_error_free(err); /* double free: ignored */
    err = NULL;
    kevo_error_free(NULL);

    /* --- wrongly typed and stale handles --- */
    kevo_batch *batch = kevo_batch_new();
    CHECK(kevo_flush((kevo_db *)batch, &err), KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "kevo_batch") != NULL);
    CHECK(kevo_batch_put(batch, B("b1"), B("x"), &err), KEVO_OK);
    CHECK(kevo_batch_put(batch, NULL, 0, B("x"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_batch_put(batch, (const uint8_t *)"k", SIZE_MAX, B("x"), &err), KEVO_INVALID_ARGUMENT);
    size_t count = 0;
    CHECK(kevo_batch_count(batch, &count, &err), KEVO_OK);
    TRUE(count == 1); /* the failed puts left the batch unchanged */
    CHECK(kevo_write(db, NULL, batch, &err), KEVO_OK);
    kevo_batch_free(batch);
    kevo_batch_free(batch);
    CHECK(kevo_batch_put(batch, B("b2"), B("x"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_write(db, NULL, batch, &err), KEVO_INVALID_ARGUMENT);
    int on_stack = 0;
    CHECK(kevo_put((kevo_db *)&on_stack, NULL, B("k"), B("v"), &err), KEVO_INVALID_ARGUMENT);

    /* --- iterators: unpositioned use, then outliving their db --- */
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "it/%d", i);
        CHECK(kevo_put(db, NULL, B(k), B("v"), &err), KEVO_OK);
    }
    kevo_iter *it = NULL;
    CHECK(kevo_iter_new(db, NULL, &it, &err), KEVO_OK);
    const uint8_t *ik = NULL;
    size_t ikn = 0;
    TRUE(!kevo_iter_valid(it));
    CHECK(kevo_iter_key(it, &ik, &ikn, &err), KEVO_INVALID_ARGUMENT); /* not positioned */
    CHECK(kevo_iter_next(it, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_iter_seek(it, B("it/"), &err), KEVO_OK);
    CHECK(kevo_iter_key(it, NULL, &ikn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_iter_key(it, &ik, &ikn, &err), KEVO_OK);
    TRUE(ikn == 4 && memcmp(ik, "it/0", 4) == 0);
    kevo_snapshot *snap = NULL;
    CHECK(kevo_snapshot_new(db, &snap, &err), KEVO_OK);
    kevo_read_options *ro = kevo_read_options_new();
    CHECK(kevo_read_options_set_snapshot(ro, snap, &err), KEVO_OK);
    CHECK(kevo_read_options_set_snapshot(ro, (kevo_snapshot *)it, &err), KEVO_INVALID_ARGUMENT);
    kevo_batch *b2 = kevo_batch_new();
    CHECK(kevo_batch_put(b2, B("late"), B("x"), &err), KEVO_OK);

    /* --- transactions: NULLs, bad options, use after commit, double free --- */
    kevo_txn *txn = NULL;
    CHECK(kevo_txn_begin(NULL, NULL, &txn, &err), KEVO_INVALID_ARGUMENT);
    TRUE(txn == NULL);
    CHECK(kevo_txn_begin(db, NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_begin(db, (kevo_txn_options *)ro, &txn, &err), KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "kevo_txn_options") != NULL);
    kevo_txn_options *to = kevo_txn_options_new();
    CHECK(kevo_txn_options_set_isolation(to, 2, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_options_set_isolation(NULL, KEVO_ISOLATION_SNAPSHOT, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_options_set_isolation(to, KEVO_ISOLATION_SERIALIZABLE, &err), KEVO_OK);
    CHECK(kevo_txn_begin(db, to, &txn, &err), KEVO_OK);
    kevo_txn_options_free(to);
    kevo_txn_options_free(to); /* double free: ignored */
    kevo_txn_options_free(NULL);
    CHECK(kevo_txn_put(NULL, B("k"), B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_put(txn, NULL, 1, B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_put(txn, NULL, 0, B("v"), &err), KEVO_INVALID_ARGUMENT); /* empty key */
    CHECK(kevo_txn_put(txn, (const uint8_t *)"k", SIZE_MAX, B("v"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_get(txn, B("k"), NULL, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_get(NULL, B("k"), &v, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_get(txn, B("absent"), &v, &vn, &err), KEVO_NOT_FOUND);
    TRUE(v == NULL && vn == 0);
    CHECK(kevo_txn_get_into(txn, bk, sizeof bk, NULL, 5, &need, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_delete(txn, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_iter_new(txn, NULL, NULL, &err), KEVO_INVALID_ARGUMENT);
    kevo_iter *tit = NULL;
    CHECK(kevo_txn_iter_new(txn, ro, &tit, &err), KEVO_INVALID_ARGUMENT); /* ro has a snapshot */
    TRUE(tit == NULL);
    CHECK(kevo_txn_commit(NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_rollback(NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_write_count(txn, NULL, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_flush((kevo_db *)txn, &err), KEVO_INVALID_ARGUMENT); /* wrongly typed */
    CHECK(kevo_txn_commit((kevo_txn *)db, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_put(txn, B("t1"), B("x"), &err), KEVO_OK);
    CHECK(kevo_txn_iter_new(txn, NULL, &tit, &err), KEVO_OK);
    CHECK(kevo_txn_get_into(txn, B("t1"), big, sizeof big, &need, &err), KEVO_OK);
    TRUE(need == 1 && big[0] == 'x');
    CHECK(kevo_txn_commit(txn, &err), KEVO_OK);
    /* Use after commit: every call refuses, saying why. */
    CHECK(kevo_txn_put(txn, B("t2"), B("x"), &err), KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "committed") != NULL);
    CHECK(kevo_txn_get(txn, B("t1"), &v, &vn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_delete(txn, B("t1"), &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_commit(txn, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_rollback(txn, &err), KEVO_INVALID_ARGUMENT);
    kevo_iter *tit2 = NULL;
    CHECK(kevo_txn_iter_new(txn, NULL, &tit2, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_iter_seek_to_first(tit, &err), KEVO_INVALID_ARGUMENT); /* its txn is finished */
    TRUE(!kevo_iter_valid(tit));
    kevo_txn_free(txn);
    kevo_txn_free(txn); /* double free: ignored */
    kevo_txn_free(NULL);
    CHECK(kevo_txn_put(txn, B("t2"), B("x"), &err), KEVO_INVALID_ARGUMENT); /* freed */
    kevo_iter_free(tit); /* after its transaction */
    /* kevo_txn_run: NULL callback, NULL or wrongly typed handles; the callback's handle is
     * gone once the run returns. */
    CHECK(kevo_txn_run(db, NULL, NULL, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "callback") != NULL);
    CHECK(kevo_txn_run(NULL, NULL, keep_txn, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_run(db, (kevo_txn_options *)ro, keep_txn, NULL, 0, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_txn_run(db, NULL, keep_txn, NULL, 1, &err), KEVO_OK);
    TRUE(kept_txn != NULL);
    CHECK(kevo_txn_put(kept_txn, B("t3"), B("x"), &err), KEVO_INVALID_ARGUMENT);
    TRUE(strstr(kevo_error_message(err), "not a live kevo_txn") != NULL);
    /* A transaction still active at close: it outlives the db and answers CLOSED. */
    kevo_txn *live = NULL;
    CHECK(kevo_txn_begin(db, NULL, &live, &err), KEVO_OK);
    CHECK(kevo_txn_put(live, B("never"), B("x"), &err), KEVO_OK);
    kevo_iter *lit = NULL;
    CHECK(kevo_txn_iter_new(live, NULL, &lit, &err), KEVO_OK);
    /* New options: recovery mode out of range, paranoid checks. */
    kevo_options *o2 = kevo_options_new();
    CHECK(kevo_options_set_wal_recovery_mode(o2, 4, &err), KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_wal_recovery_mode(o2, KEVO_WAL_POINT_IN_TIME, &err), KEVO_OK);
    CHECK(kevo_options_set_wal_recovery_mode(NULL, KEVO_WAL_POINT_IN_TIME, &err),
          KEVO_INVALID_ARGUMENT);
    CHECK(kevo_options_set_paranoid_checks(o2, false, &err), KEVO_OK);
    CHECK(kevo_options_set_paranoid_checks(NULL, false, &err), KEVO_INVALID_ARGUMENT);
    kevo_options_free(o2);
    TRUE(strcmp(kevo_status_name(KEVO_CONFLICT), "KEVO_CONFLICT") == 0);

    /* --- use after close --- */
    CHECK(kevo_close(db, &err), KEVO_OK);
    CHECK(kevo_close(db, &err), KEVO_OK); /* idempotent */
    TRUE(kevo_is_closed(db));
    CHECK(kevo_put(db, NULL, B("k"), B("v"), &err), KEVO_CLOSED);
    TRUE(kevo_error_code(err) == KEVO_CLOSED);
    CHECK(kevo_get(db, NULL, B("ok"), &v, &vn, &err), KEVO_CLOSED);
    CHECK(kevo_get(db, ro, B("ok"), &v, &vn, &err), KEVO_CLOSED);
    CHECK(kevo_delete(db, NULL, B("ok"), &err), KEVO_CLOSED);
    CHECK(kevo_write(db, NULL, b2, &err), KEVO_CLOSED);
    CHECK(kevo_flush(db, &err), KEVO_CLOSED);
    CHECK(kevo_compact_range(db, NULL, 0, NULL, 0, &err), KEVO_CLOSED);
    CHECK(kevo_property(db, "kevo.stats", &prop, &err), KEVO_CLOSED);
    CHECK(kevo_sync_wal(db, &err), KEVO_CLOSED);
    kevo_snapshot *snap2 = NULL;
    CHECK(kevo_snapshot_new(db, &snap2, &err), KEVO_CLOSED);
    kevo_iter *it2 = NULL;
    CHECK(kevo_iter_new(db, NULL, &it2, &err), KEVO_CLOSED);
    TRUE(snap2 == NULL && it2 == NULL);
    TRUE(!kevo_iter_valid(it));
    CHECK(kevo_iter_key(it, &ik, &ikn, &err), KEVO_CLOSED);
    CHECK(kevo_iter_status(it, &err), KEVO_CLOSED);

    CHECK(kevo_txn_put(live, B("k"), B("v"), &err), KEVO_CLOSED);
    CHECK(kevo_txn_get(live, B("k"), &v, &vn, &err), KEVO_CLOSED);
    CHECK(kevo_txn_commit(live, &err), KEVO_CLOSED);
    TRUE(kevo_error_code(err) == KEVO_CLOSED);
    CHECK(kevo_txn_begin(db, NULL, &txn, &err), KEVO_CLOSED);
    TRUE(txn == NULL);
    CHECK(kevo_iter_seek_to_first(lit, &err), KEVO_CLOSED);
    /* The db handle freed before its children: they stay safe and answer CLOSED. */
    kevo_db_free(db);
    kevo_db_free(db); /* double free: ignored */
    CHECK(kevo_put(db, NULL, B("k"), B("v"), &err), KEVO_INVALID_ARGUMENT); /* freed handle */
    CHECK(kevo_iter_seek_to_first(it, &err), KEVO_CLOSED);
    CHECK(kevo_iter_prev(it, &err), KEVO_CLOSED);
    uint64_t seq = 0;
    CHECK(kevo_snapshot_sequence(snap, &seq, &err), KEVO_OK);
    TRUE(seq > 0);
    CHECK(kevo_txn_rollback(live, &err), KEVO_CLOSED); /* after kevo_db_free too */
    kevo_txn_free(live);
    kevo_iter_free(lit);
    kevo_iter_free(it);
    kevo_iter_free(it);
    CHECK(kevo_iter_seek_to_first(it, &err), KEVO_INVALID_ARGUMENT);
    kevo_snapshot_free(snap);
    kevo_snapshot_free(snap);
    kevo_read_options_free(ro);
    kevo_batch_free(b2);
    kevo_error_free(err);

    /* The database reopens (close released the lock) and kept everything. */
    err = NULL;
    CHECK(kevo_open(dir, NULL, &db, &err), KEVO_OK);
    CHECK(kevo_get_into(db, NULL, bk, sizeof bk, big, sizeof big, &need, &err), KEVO_OK);
    CHECK(kevo_get(db, NULL, B("b1"), &v, &vn, &err), KEVO_OK);
    kevo_free(v);
    CHECK(kevo_get(db, NULL, B("t1"), &v, &vn, &err), KEVO_OK); /* committed */
    kevo_free(v);
    CHECK(kevo_get(db, NULL, B("never"), &v, &vn, &err), KEVO_NOT_FOUND); /* not committed */
    kevo_db_free(db); /* closes it */

    TRUE(kevo_abi_version() == KEVO_ABI_VERSION);
    TRUE(strcmp(kevo_status_name(KEVO_BUFFER_TOO_SMALL), "KEVO_BUFFER_TOO_SMALL") == 0);
    TRUE(strcmp(kevo_status_name(12345), "KEVO_UNKNOWN") == 0);

    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    printf("test_misuse: %d checks passed\n", checks);
    return 0;
}
