/* header_check.c: kevo.h must compile cleanly as C99 and as C++17 (`make test` builds this
 * file both ways with -Wall -Wextra -Werror), and the library loaded must match it. */
#include <kevo.h>

/* A kevo_txn_fn as C and C++ callers write it: returning kevo_status. */
static kevo_status body(kevo_txn *txn, void *ctx, kevo_error **err) {
    (void)ctx;
    return kevo_txn_put(txn, (const uint8_t *)"k", 1, NULL, 0, err);
}

int main(void) {
    kevo_txn_fn fn = body;
    kevo_status s = KEVO_OK;
    kevo_error *err = NULL;
    kevo_options *o = kevo_options_new();
    s = kevo_options_set_compression(o, KEVO_COMPRESSION_LZ4, 0, &err);
    if (s == KEVO_OK) s = kevo_options_set_wal_recovery_mode(o, KEVO_WAL_POINT_IN_TIME, &err);
    kevo_options_free(o);
    kevo_txn_options *t = kevo_txn_options_new();
    if (s == KEVO_OK) s = kevo_txn_options_set_isolation(t, KEVO_ISOLATION_SERIALIZABLE, &err);
    kevo_txn_options_free(t);
    /* Not a live database: refused before `fn` is called. */
    if (s == KEVO_OK && kevo_txn_run(NULL, NULL, fn, NULL, 0, &err) != KEVO_INVALID_ARGUMENT)
        s = KEVO_INTERNAL;
    kevo_error_free(err);
    return (s == KEVO_OK && kevo_abi_version() == KEVO_ABI_VERSION) ? 0 : 1;
}
