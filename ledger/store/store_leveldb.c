/* store_leveldb: the production store, over LevelDB's C API. Values are
 * copied out of LevelDB's memory at once (STYLE.md: foreign memory stays in
 * its module); every errptr is copied into the error message and freed. */
#include "store/store_int.h"

#include <leveldb/c.h>
#include <string.h>

typedef struct ldb_store {
    mla_store base;
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache; /* NULL: LevelDB's default cache */
    leveldb_filterpolicy_t *filter; /* NULL: no bloom filter */
    leveldb_readoptions_t *read; /* verify checksums */
    leveldb_writeoptions_t *w_sync; /* sync = true: durable before return */
    leveldb_writeoptions_t *w_nosync; /* sync = false */
    char *path;
} ldb_store;

typedef struct ldb_iter {
    mla_store_iter base;
    ldb_store *store;
    const leveldb_snapshot_t *snapshot;
    leveldb_readoptions_t *read;
    leveldb_iterator_t *it;
    uint8_t *end; /* exclusive bound, owned copy; NULL = none */
    size_t end_len;
    bool started;
    bool done; /* LevelDB must not be stepped past its end */
} ldb_iter;

static const mla_store_vtable ldb_vtable;

/* Convert and free a LevelDB error. A full disk is a limit the operator can
 * act on (SPEC §4: RESOURCE_EXHAUSTED); anything else is an I/O failure. */
static mla_status ldb_fail(char *errptr, const char *what, const char *path)
{
    const char *msg = errptr ? errptr : "unknown error";
    mla_status code = MLA_EIO;
    if (strstr(msg, "No space left") || strstr(msg, "ENOSPC")) code = MLA_ELIMIT;
    /* leveldb::Status::Corruption: a checksum or format check failed on disk. */
    if (strncmp(msg, "Corruption:", 11) == 0) code = MLA_ECORRUPT;
    mla_status rc = mla_err(code, "store.%s: %s: %s", what, path, msg);
    leveldb_free(errptr);
    return rc;
}

static mla_status ldb_get(mla_store *s, mla_slice key, mla_buf *value_out)
{
    ldb_store *l = (ldb_store *)s;
    char *err = NULL;
    size_t len = 0;
    char *v = leveldb_get(l->db, l->read, (const char *)key.ptr, key.len, &len, &err);
    if (err) {
        leveldb_free(v);
        return ldb_fail(err, "get", l->path);
    }
    if (!v) return mla_err(MLA_ENOTFOUND, "store.key: not found (%zu bytes)", key.len);
    mla_status rc = mla_store__copy_value(value_out, v, len);
    leveldb_free(v);
    return rc;
}

static mla_status ldb_write(mla_store *s, const mla_store_batch *b, bool sync)
{
    ldb_store *l = (ldb_store *)s;
    char *err = NULL;
    /* LevelDB allocates with new: out of memory aborts inside the library. */
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0; i < b->n_ops; i++) {
        const mla_store_op *op = &b->ops[i];
        mla_slice k = mla_store__op_key(b, op);
        if (op->kind == MLA_STORE_OP_PUT) {
            mla_slice v = mla_store__op_value(b, op);
            leveldb_writebatch_put(wb, (const char *)k.ptr, k.len, (const char *)v.ptr, v.len);
        } else {
            leveldb_writebatch_delete(wb, (const char *)k.ptr, k.len);
        }
    }
    /* SPEC §5: with sync the batch is in the fsynced log before we return. */
    leveldb_write(l->db, sync ? l->w_sync : l->w_nosync, wb, &err);
    leveldb_writebatch_destroy(wb);
    if (err) return ldb_fail(err, "write", l->path);
    return MLA_OK;
}

static mla_status ldb_iter_new(mla_store_iter **out, mla_store *s, mla_slice start, mla_slice end)
{
    ldb_store *l = (ldb_store *)s;
    ldb_iter *it = mla_calloc(1, sizeof *it);
    if (!it) return mla_err(MLA_ENOMEM, "store.iter: out of memory");
    if (end.len) {
        it->end = mla_malloc(end.len);
        if (!it->end) {
            mla_free(it);
            return mla_err(MLA_ENOMEM, "store.iter: out of memory for a %zu-byte bound", end.len);
        }
        memcpy(it->end, end.ptr, end.len);
        it->end_len = end.len;
    }
    it->base.vt = &ldb_vtable;
    it->store = l;
    it->snapshot = leveldb_create_snapshot(l->db);
    it->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(it->read, 1);
    leveldb_readoptions_set_snapshot(it->read, it->snapshot);
    it->it = leveldb_create_iterator(l->db, it->read);
    leveldb_iter_seek(it->it, (const char *)start.ptr, start.len);
    *out = &it->base;
    return MLA_OK;
}

static mla_status ldb_iter_next(mla_store_iter *i, mla_slice *key, mla_slice *value)
{
    ldb_iter *it = (ldb_iter *)i;
    if (it->done) return mla_err(MLA_ENOTFOUND, "store.iter: end");
    /* The first call returns the pair the seek landed on. */
    if (it->started)
        leveldb_iter_next(it->it);
    else
        it->started = true;
    /* LevelDB's iterator steps over a block that fails its checksum and stays
     * valid on the next one, recording the error: check it at every step, or
     * a corrupted block silently drops keys from the range. */
    char *err = NULL;
    leveldb_iter_get_error(it->it, &err);
    if (err) {
        it->done = true;
        return ldb_fail(err, "iter", it->store->path);
    }
    if (!leveldb_iter_valid(it->it)) {
        it->done = true;
        return mla_err(MLA_ENOTFOUND, "store.iter: end");
    }
    size_t klen = 0, vlen = 0;
    const char *k = leveldb_iter_key(it->it, &klen);
    mla_slice ks = mla_slice_make(k, klen);
    if (it->end && mla_store__key_cmp(ks, mla_slice_make(it->end, it->end_len)) >= 0) {
        it->done = true;
        return mla_err(MLA_ENOTFOUND, "store.iter: end");
    }
    const char *v = leveldb_iter_value(it->it, &vlen);
    *key = ks;
    *value = mla_slice_make(v, vlen);
    return MLA_OK;
}

static void ldb_iter_free(mla_store_iter *i)
{
    ldb_iter *it = (ldb_iter *)i;
    leveldb_iter_destroy(it->it);
    leveldb_readoptions_destroy(it->read);
    leveldb_release_snapshot(it->store->db, it->snapshot);
    mla_free(it->end);
    mla_free(it);
}

static void ldb_close(mla_store *s)
{
    ldb_store *l = (ldb_store *)s;
    /* The database first: it uses the cache and the filter policy. */
    if (l->db) leveldb_close(l->db);
    if (l->options) leveldb_options_destroy(l->options);
    if (l->cache) leveldb_cache_destroy(l->cache);
    if (l->filter) leveldb_filterpolicy_destroy(l->filter);
    if (l->read) leveldb_readoptions_destroy(l->read);
    if (l->w_sync) leveldb_writeoptions_destroy(l->w_sync);
    if (l->w_nosync) leveldb_writeoptions_destroy(l->w_nosync);
    mla_free(l->path);
    mla_free(l);
}

static const mla_store_vtable ldb_vtable = {
    .kind = MLA_STORE_KIND_LEVELDB,
    .get = ldb_get,
    .write = ldb_write,
    .iter_new = ldb_iter_new,
    .iter_next = ldb_iter_next,
    .iter_free = ldb_iter_free,
    .close = ldb_close,
};

mla_status mla_store_open_leveldb(mla_store **out, const char *path,
                                  const mla_store_leveldb_options *opts)
{
    MLA_ASSERT(out != NULL);
    *out = NULL;
    static const mla_store_leveldb_options defaults = {0};
    if (!opts) opts = &defaults;
    if (!path || !*path) return mla_err(MLA_EINVAL, "store.path: empty");
    if (opts->bloom_bits_per_key < 0 || opts->bloom_bits_per_key > 64)
        return mla_err(MLA_EINVAL, "store.bloom_bits_per_key: %d outside [0, 64]",
                       opts->bloom_bits_per_key);
    ldb_store *l = mla_calloc(1, sizeof *l);
    if (!l) return mla_err(MLA_ENOMEM, "store.open: out of memory");
    l->base.vt = &ldb_vtable;
    l->path = mla_strndup(path, strlen(path));
    if (!l->path) {
        mla_free(l);
        return mla_err(MLA_ENOMEM, "store.open: out of memory");
    }
    l->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(l->options, opts->create_if_missing);
    /* A ledger would rather stop than serve data it cannot vouch for. */
    leveldb_options_set_paranoid_checks(l->options, 1);
    if (opts->cache_bytes) {
        l->cache = leveldb_cache_create_lru(opts->cache_bytes);
        leveldb_options_set_cache(l->options, l->cache);
    }
    if (opts->bloom_bits_per_key) {
        l->filter = leveldb_filterpolicy_create_bloom(opts->bloom_bits_per_key);
        leveldb_options_set_filter_policy(l->options, l->filter);
    }
    if (opts->write_buffer_bytes)
        leveldb_options_set_write_buffer_size(l->options, opts->write_buffer_bytes);
    l->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(l->read, 1);
    l->w_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->w_sync, 1);
    l->w_nosync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->w_nosync, 0);

    char *err = NULL;
    l->db = leveldb_open(l->options, path, &err);
    if (err || !l->db) {
        mla_status rc;
        /* LevelDB holds an fcntl lock on <path>/LOCK while a database is open:
         * "lock <path>/LOCK: already held by process" within this process,
         * "Resource temporarily unavailable" across processes. */
        if (err && strstr(err, "lock ") &&
            (strstr(err, "already held") || strstr(err, "temporarily unavailable"))) {
            rc = mla_err(MLA_EIO, "store.open: %s: in use by another open store (%s)", path, err);
            leveldb_free(err);
        } else {
            rc = ldb_fail(err, "open", path);
        }
        l->db = NULL;
        ldb_close(&l->base);
        return rc;
    }
    *out = &l->base;
    return MLA_OK;
}
