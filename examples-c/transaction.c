/* transaction.c: optimistic transactions, and a test of what they promise.
 *
 *   ./transaction [DB_DIR]
 *
 * (a) A transfer between two accounts, retried when kevo_txn_commit returns KEVO_CONFLICT.
 * (b) Write skew: two transactions each read two keys and write one. Under snapshot
 *     isolation both commit; under serializable exactly one does.
 * (c) Bank transfers: THREADS threads move money between ACCOUNTS accounts in transactions
 *     (with retries: half the threads write the loop themselves, half use kevo_txn_run)
 *     while an auditor thread sums the balances, at kevo snapshots and through transaction
 *     iterators: the total never changes; nor after close and reopen.
 * (d) kevo_txn_run, the engine's retry loop: a callback conflicted twice commits on its third
 *     run; one always conflicted stops after max_attempts with KEVO_CONFLICT; one whose kevo
 *     call fails is not retried, and its error reaches the caller.
 *
 * KEVO_TXN_TRANSFERS (environment) sets the transfers per thread (default 200); `make
 * test-c` lowers it under valgrind, which runs threads one at a time. Exits non-zero if any
 * property fails.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kevo.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ACCOUNTS 10
#define INITIAL 100

static void check(kevo_status s, kevo_error *err, const char *what) {
    if (s == KEVO_OK) return;
    fprintf(stderr, "%s: %s: %s\n", what, kevo_status_name(s),
            err ? kevo_error_message(err) : "(no message)");
    exit(1);
}

static void fail(const char *what) {
    fprintf(stderr, "FAILED: %s\n", what);
    exit(1);
}

#define B(s) (const uint8_t *)(s), strlen(s)

static void account_key(char *buf, size_t size, int i) { snprintf(buf, size, "acct/%02d", i); }

/* Reads a balance (a decimal string) through a transaction. */
static long txn_balance(kevo_txn *txn, const char *key, kevo_error **err) {
    char buf[32];
    size_t n = 0;
    check(kevo_txn_get_into(txn, B(key), (uint8_t *)buf, sizeof buf - 1, &n, err), *err,
          "kevo_txn_get_into");
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static void txn_set_balance(kevo_txn *txn, const char *key, long v, kevo_error **err) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    check(kevo_txn_put(txn, B(key), B(buf), err), *err, "kevo_txn_put");
}

/* Moves `amount` from one account to another in one transaction, retrying on conflict.
 * Returns how many attempts conflicted. */
static int transfer(kevo_db *db, const char *from, const char *to, long amount) {
    kevo_error *err = NULL;
    int conflicts = 0;
    for (;;) {
        kevo_txn *txn = NULL;
        check(kevo_txn_begin(db, NULL, &txn, &err), err, "kevo_txn_begin");
        long a = txn_balance(txn, from, &err);
        long b = txn_balance(txn, to, &err);
        txn_set_balance(txn, from, a - amount, &err);
        txn_set_balance(txn, to, b + amount, &err);
        kevo_status s = kevo_txn_commit(txn, &err);
        kevo_txn_free(txn); /* finished either way */
        if (s == KEVO_OK) break;
        if (s != KEVO_CONFLICT) check(s, err, "kevo_txn_commit");
        conflicts++; /* someone else committed first: nothing was written, try again */
    }
    kevo_error_free(err);
    return conflicts;
}

/* The same transfer through kevo_txn_run: the engine begins, calls this, commits, and runs it
 * again on a conflict. `ctx` is a struct run_transfer. */
struct run_transfer {
    const char *from, *to;
    long amount;
    int calls;
};

static kevo_status transfer_body(kevo_txn *txn, void *ctx, kevo_error **err) {
    struct run_transfer *t = ctx;
    t->calls++;
    long a = txn_balance(txn, t->from, err);
    long b = txn_balance(txn, t->to, err);
    txn_set_balance(txn, t->from, a - t->amount, err);
    txn_set_balance(txn, t->to, b + t->amount, err);
    return KEVO_OK; /* kevo_txn_run commits */
}

/* Returns how many attempts conflicted, as transfer() does. */
static int transfer_run(kevo_db *db, const char *from, const char *to, long amount) {
    kevo_error *err = NULL;
    struct run_transfer t = {from, to, amount, 0};
    /* Enough attempts that 4 threads on 10 accounts never run out. */
    check(kevo_txn_run(db, NULL, transfer_body, &t, 1000, &err), err, "kevo_txn_run");
    kevo_error_free(err);
    return t.calls - 1;
}

/* ---------- (b) write skew ---------- */

/* Alice and Bob are on call; each transaction checks that both are, then takes one of them
 * off call. Returns how many of the two commits succeeded. */
static int write_skew(kevo_db *db, kevo_isolation level) {
    kevo_error *err = NULL;
    check(kevo_put(db, NULL, B("oncall/alice"), B("yes"), &err), err, "kevo_put");
    check(kevo_put(db, NULL, B("oncall/bob"), B("yes"), &err), err, "kevo_put");
    kevo_txn_options *o = kevo_txn_options_new();
    check(kevo_txn_options_set_isolation(o, level, &err), err, "set_isolation");
    kevo_txn *t[2] = {NULL, NULL};
    const char *leaving[2] = {"oncall/alice", "oncall/bob"};
    for (int i = 0; i < 2; i++) {
        check(kevo_txn_begin(db, o, &t[i], &err), err, "kevo_txn_begin");
    }
    kevo_txn_options_free(o);
    for (int i = 0; i < 2; i++) {
        uint8_t *v = NULL;
        size_t n = 0;
        int on = 0;
        for (int j = 0; j < 2; j++) {
            check(kevo_txn_get(t[i], B(leaving[j]), &v, &n, &err), err, "kevo_txn_get");
            on += n == 3 && memcmp(v, "yes", 3) == 0;
            kevo_free(v);
        }
        if (on == 2) check(kevo_txn_put(t[i], B(leaving[i]), B("no"), &err), err, "kevo_txn_put");
    }
    int committed = 0;
    for (int i = 0; i < 2; i++) {
        kevo_status s = kevo_txn_commit(t[i], &err);
        if (s == KEVO_OK) committed++;
        else if (s != KEVO_CONFLICT) check(s, err, "kevo_txn_commit");
        kevo_txn_free(t[i]);
    }
    kevo_error_free(err);
    return committed;
}

/* ---------- (d) kevo_txn_run ---------- */

/* What the (d) callbacks share with main, through `ctx`. */
struct run_test {
    kevo_db *db;
    int calls;
    int conflicting; /* runs on which a write outside the transaction makes it conflict */
};

static kevo_status conflicting_body(kevo_txn *txn, void *ctx, kevo_error **err) {
    struct run_test *t = ctx;
    char value[32];
    t->calls++;
    snprintf(value, sizeof value, "run %d", t->calls);
    kevo_status s = kevo_txn_put(txn, B("run/k"), B(value), err);
    if (s != KEVO_OK) return s;
    /* A commit outside the transaction, after its snapshot: its commit will conflict. */
    if (t->calls <= t->conflicting) return kevo_put(t->db, NULL, B("run/k"), B("outside"), err);
    return KEVO_OK;
}

/* Writes, then fails a kevo call (an empty key) and returns its status. */
static kevo_status failing_body(kevo_txn *txn, void *ctx, kevo_error **err) {
    struct run_test *t = ctx;
    t->calls++;
    kevo_status s = kevo_txn_put(txn, B("run/never"), B("x"), err);
    if (s != KEVO_OK) return s;
    return kevo_txn_put(txn, NULL, 0, B("x"), err);
}

static void run_tests(kevo_db *db) {
    kevo_error *err = NULL;
    uint8_t *v = NULL;
    size_t n = 0;

    struct run_test t = {db, 0, 2};
    check(kevo_txn_run(db, NULL, conflicting_body, &t, 0, &err), err, "kevo_txn_run");
    check(kevo_get(db, NULL, B("run/k"), &v, &n, &err), err, "kevo_get");
    if (t.calls != 3 || n != 5 || memcmp(v, "run 3", 5) != 0)
        fail("kevo_txn_run: two conflicts, then a commit on the third run");
    kevo_free(v);
    printf("(d) kevo_txn_run: committed on run %d after 2 conflicts\n", t.calls);

    struct run_test always = {db, 0, 1 << 30};
    kevo_status s = kevo_txn_run(db, NULL, conflicting_body, &always, 3, &err);
    if (s != KEVO_CONFLICT || always.calls != 3)
        fail("kevo_txn_run: max_attempts 3 of an always-conflicted transaction");
    printf("(d) kevo_txn_run: gave up after %d attempts: %s\n", always.calls,
           kevo_error_message(err));

    struct run_test failing = {db, 0, 0};
    s = kevo_txn_run(db, NULL, failing_body, &failing, 0, &err);
    if (s != KEVO_INVALID_ARGUMENT || failing.calls != 1 ||
        strstr(kevo_error_message(err), "key must not be empty") == NULL)
        fail("kevo_txn_run: a failing callback is not retried and its error is passed on");
    if (kevo_get(db, NULL, B("run/never"), &v, &n, &err) != KEVO_NOT_FOUND)
        fail("kevo_txn_run: a failed callback's writes were committed");
    printf("(d) kevo_txn_run: a failing callback stops it: %s\n", kevo_error_message(err));
    kevo_error_free(err);
}

/* ---------- (c) bank transfers ---------- */

struct shared {
    kevo_db *db;
    int transfers;
    pthread_mutex_t lock;
    int running; /* workers still transferring */
    int conflicts;
};

struct worker {
    struct shared *sh;
    unsigned seed;
    int use_run; /* kevo_txn_run instead of the hand-written loop */
};

static unsigned next_rand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    int conflicts = 0;
    for (int i = 0; i < w->sh->transfers; i++) {
        int a = next_rand(&w->seed) % ACCOUNTS, b = next_rand(&w->seed) % ACCOUNTS;
        if (a == b) b = (b + 1) % ACCOUNTS;
        char from[16], to[16];
        account_key(from, sizeof from, a);
        account_key(to, sizeof to, b);
        long amount = 1 + next_rand(&w->seed) % 20;
        conflicts += w->use_run ? transfer_run(w->sh->db, from, to, amount)
                                : transfer(w->sh->db, from, to, amount);
    }
    pthread_mutex_lock(&w->sh->lock);
    w->sh->running--;
    w->sh->conflicts += conflicts;
    pthread_mutex_unlock(&w->sh->lock);
    return NULL;
}

/* The total at a kevo snapshot, read key by key. */
static long total_at_snapshot(kevo_db *db) {
    kevo_error *err = NULL;
    kevo_snapshot *snap = NULL;
    check(kevo_snapshot_new(db, &snap, &err), err, "kevo_snapshot_new");
    kevo_read_options *ro = kevo_read_options_new();
    check(kevo_read_options_set_snapshot(ro, snap, &err), err, "set_snapshot");
    long total = 0;
    for (int i = 0; i < ACCOUNTS; i++) {
        char key[16], buf[32];
        size_t n = 0;
        account_key(key, sizeof key, i);
        check(kevo_get_into(db, ro, B(key), (uint8_t *)buf, sizeof buf - 1, &n, &err), err,
              "kevo_get_into");
        buf[n] = '\0';
        total += strtol(buf, NULL, 10);
    }
    kevo_read_options_free(ro);
    kevo_snapshot_free(snap);
    return total;
}

/* The total as a (read-only) transaction sees it, through its iterator over "acct/". */
static long total_in_transaction(kevo_db *db) {
    kevo_error *err = NULL;
    kevo_txn *txn = NULL;
    check(kevo_txn_begin(db, NULL, &txn, &err), err, "kevo_txn_begin");
    kevo_read_options *ro = kevo_read_options_new();
    check(kevo_read_options_set_prefix(ro, B("acct/"), &err), err, "set_prefix");
    kevo_iter *it = NULL;
    check(kevo_txn_iter_new(txn, ro, &it, &err), err, "kevo_txn_iter_new");
    long total = 0;
    int seen = 0;
    for (check(kevo_iter_seek_to_first(it, &err), err, "seek"); kevo_iter_valid(it);
         check(kevo_iter_next(it, &err), err, "next")) {
        const uint8_t *v = NULL;
        size_t n = 0;
        char buf[32];
        check(kevo_iter_value(it, &v, &n, &err), err, "kevo_iter_value");
        if (n >= sizeof buf) fail("balance too long");
        memcpy(buf, v, n);
        buf[n] = '\0';
        total += strtol(buf, NULL, 10);
        seen++;
    }
    check(kevo_iter_status(it, &err), err, "kevo_iter_status");
    if (seen != ACCOUNTS) fail("the transaction's iterator did not see every account");
    kevo_iter_free(it);
    kevo_read_options_free(ro);
    check(kevo_txn_commit(txn, &err), err, "kevo_txn_commit (read-only)");
    kevo_txn_free(txn);
    return total;
}

static int audits = 0;

static void *auditor_main(void *arg) {
    struct shared *sh = arg;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        int running = sh->running;
        pthread_mutex_unlock(&sh->lock);
        if (running == 0) break;
        long t1 = total_at_snapshot(sh->db);
        long t2 = total_in_transaction(sh->db);
        if (t1 != (long)ACCOUNTS * INITIAL || t2 != (long)ACCOUNTS * INITIAL) {
            fprintf(stderr, "audit %d: totals %ld and %ld, expected %ld\n", audits, t1, t2,
                    (long)ACCOUNTS * INITIAL);
            exit(1);
        }
        audits++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/kevo-txn-XXXXXX";
    const char *path = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!path) { perror("mkdtemp"); return 1; }
    const char *env = getenv("KEVO_TXN_TRANSFERS");
    int transfers = env ? atoi(env) : 200;
    if (transfers <= 0) transfers = 200;

    kevo_error *err = NULL;
    kevo_db *db = NULL;
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open");

    /* (a) One transfer, with the retry loop. */
    for (int i = 0; i < ACCOUNTS; i++) {
        char key[16];
        account_key(key, sizeof key, i);
        check(kevo_put(db, NULL, B(key), B("100"), &err), err, "kevo_put");
    }
    transfer(db, "acct/00", "acct/01", 30);
    {
        /* A conflict, on purpose: two transfers out of the same account, begun together.
         * Both read acct/02 = 100; the first to commit wins, the other must not overwrite
         * its result (a lost update). */
        kevo_txn *t1 = NULL, *t2 = NULL;
        check(kevo_txn_begin(db, NULL, &t1, &err), err, "kevo_txn_begin");
        check(kevo_txn_begin(db, NULL, &t2, &err), err, "kevo_txn_begin");
        txn_set_balance(t1, "acct/02", txn_balance(t1, "acct/02", &err) - 5, &err);
        txn_set_balance(t1, "acct/03", txn_balance(t1, "acct/03", &err) + 5, &err);
        txn_set_balance(t2, "acct/02", txn_balance(t2, "acct/02", &err) - 7, &err);
        txn_set_balance(t2, "acct/04", txn_balance(t2, "acct/04", &err) + 7, &err);
        check(kevo_txn_commit(t1, &err), err, "kevo_txn_commit");
        if (kevo_txn_commit(t2, &err) != KEVO_CONFLICT) fail("second writer did not conflict");
        printf("(a) conflict as expected: %s\n", kevo_error_message(err));
        kevo_txn_free(t1);
        kevo_txn_free(t2);
        /* t2 wrote nothing: acct/04 is unchanged. */
        kevo_txn *check_txn = NULL;
        check(kevo_txn_begin(db, NULL, &check_txn, &err), err, "kevo_txn_begin");
        if (txn_balance(check_txn, "acct/02", &err) != 95 ||
            txn_balance(check_txn, "acct/04", &err) != 100)
            fail("the conflicting transaction wrote something");
        kevo_txn_free(check_txn);
    }
    kevo_txn *view = NULL;
    check(kevo_txn_begin(db, NULL, &view, &err), err, "kevo_txn_begin");
    long a0 = txn_balance(view, "acct/00", &err), a1 = txn_balance(view, "acct/01", &err);
    kevo_txn_free(view); /* never committed: rolled back */
    printf("(a) after transferring 30: acct/00 = %ld, acct/01 = %ld\n", a0, a1);
    if (a0 != 70 || a1 != 130) fail("transfer");

    /* (b) Write skew. */
    int si = write_skew(db, KEVO_ISOLATION_SNAPSHOT);
    int ser = write_skew(db, KEVO_ISOLATION_SERIALIZABLE);
    printf("(b) write skew: snapshot isolation %d of 2 committed, serializable %d of 2\n", si,
           ser);
    if (si != 2) fail("under snapshot isolation both transactions should commit");
    if (ser != 1) fail("under serializable exactly one transaction should commit");

    /* (d) kevo_txn_run. */
    run_tests(db);

    /* (c) Bank transfers from THREADS threads, audited while they run. */
    struct shared sh = {db, transfers, PTHREAD_MUTEX_INITIALIZER, THREADS, 0};
    struct worker ws[THREADS];
    pthread_t threads[THREADS], auditor;
    for (int i = 0; i < THREADS; i++) {
        ws[i].sh = &sh;
        ws[i].seed = 7919u * (unsigned)(i + 1);
        ws[i].use_run = i % 2;
        if (pthread_create(&threads[i], NULL, worker_main, &ws[i]) != 0) fail("pthread_create");
    }
    if (pthread_create(&auditor, NULL, auditor_main, &sh) != 0) fail("pthread_create");
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    pthread_join(auditor, NULL);
    long total = total_at_snapshot(db);
    printf("(c) %d threads x %d transfers: %d conflicts retried, %d audits during the run, "
           "total %ld\n",
           THREADS, transfers, sh.conflicts, audits, total);
    if (total != (long)ACCOUNTS * INITIAL) fail("total after the run");

    check(kevo_close(db, &err), err, "kevo_close");
    kevo_db_free(db);
    check(kevo_open(path, NULL, &db, &err), err, "kevo_open (again)");
    total = total_at_snapshot(db);
    if (total != (long)ACCOUNTS * INITIAL) fail("total after reopening");
    printf("(c) after reopening: total %ld\n", total);
    kevo_db_free(db);
    kevo_error_free(err);

    if (argc <= 1) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
        if (system(cmd) != 0) return 1;
    }
    printf("transaction: ok\n");
    return 0;
}
