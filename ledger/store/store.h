/* store: a narrow ordered key/value interface (get, range iteration, atomic
 * write batch with a sync flag) and its implementations: LevelDB, in-memory,
 * and a fault-injecting wrapper. Knows nothing of entries or Merkle trees.
 * The only module that calls leveldb_*.
 * Threads: a store may be read from any thread concurrently; writes
 * (mla_store_write) are serialised by the caller (the sequencer is the one
 * writer). Batches and iterators belong to the thread that made them. */
#ifndef MLA_STORE_H
#define MLA_STORE_H

#include "base/base.h"

typedef struct mla_store mla_store;
typedef struct mla_store_batch mla_store_batch;
typedef struct mla_store_iter mla_store_iter;

/* Upper bound for one value read through mla_store_get (its mla_buf max). */
#define MLA_STORE_VALUE_MAX (64u << 20)
/* Upper bound for one key in a batch (MLA_EINVAL naming "store.key"). */
#define MLA_STORE_KEY_MAX 2048u
/* Upper bound for the keys and values of one batch together (MLA_ELIMIT
 * naming "store.batch"): a batch is held in memory before it is written. */
#define MLA_STORE_BATCH_BYTES_MAX (1024u << 20)

typedef struct mla_store_leveldb_options {
    size_t cache_bytes; /* LRU block cache; 0 = LevelDB default (8 MiB) */
    int bloom_bits_per_key; /* 0 = no bloom filter; 10 is the usual choice */
    size_t write_buffer_bytes; /* 0 = LevelDB default */
    bool create_if_missing;
} mla_store_leveldb_options;

/** Open (or create) a LevelDB database in directory `path`. MLA_EIO names
 * the path and LevelDB's message (e.g. the directory is locked by another
 * process). `opts` NULL means all fields zero (defaults, no create).
 * Paranoid checks are on and reads verify checksums. */
mla_status mla_store_open_leveldb(mla_store **out, const char *path,
                                  const mla_store_leveldb_options *opts) MLA_MUST_USE;

/** A new empty in-memory store. Tracks what was synced, so that
 * mla_store_mem_crash() can drop every write since the last sync. */
mla_status mla_store_open_mem(mla_store **out) MLA_MUST_USE;
/** Simulate power loss on a memory store: forget every write not followed by
 * a synced write (LevelDB semantics: a synced write makes all earlier writes
 * durable too). The store stays open and usable, as after a restart. */
void mla_store_mem_crash(mla_store *s);

/* Fault injection (SQLite test6.c): wraps `inner` (which the wrapper owns
 * and closes; on failure the caller keeps it). Counting starts at 0 at wrap
 * time and at each arm call. Reads and iterators pass through. */
typedef enum mla_store_fault_kind {
    MLA_STORE_FAULT_NONE = 0,
    MLA_STORE_FAULT_WRITE, /* the k-th mla_store_write fails with MLA_EIO, nothing applied */
    MLA_STORE_FAULT_SYNC, /* the k-th synced write applies but is not made durable, then
                             fails with MLA_EIO (a torn fsync: the caller cannot know) */
} mla_store_fault_kind;
mla_status mla_store_open_fault(mla_store **out, mla_store *inner) MLA_MUST_USE;
/** Arm: the k-th (0-based) matching operation from now fails. */
void mla_store_fault_arm(mla_store *s, mla_store_fault_kind kind, long k);
/** Number of mla_store_write calls seen since wrap/arm. */
long mla_store_fault_writes(const mla_store *s);
/** Crash: passes to mla_store_mem_crash when inner is a memory store (or to
 * the inner wrapper's crash); a no-op over LevelDB. */
void mla_store_fault_crash(mla_store *s);

/** Close and free; NULL is a no-op. */
void mla_store_close(mla_store *s);

/** Copy the value of `key` into value_out (replacing its contents).
 * MLA_ENOTFOUND if absent (value_out unchanged), MLA_EIO on a storage
 * failure, MLA_ELIMIT naming "store.value" if it exceeds value_out->max. */
mla_status mla_store_get(mla_store *s, mla_slice key, mla_buf *value_out) MLA_MUST_USE;

/** An empty batch. Put and delete copy their arguments; operations apply in
 * order (a later op on the same key wins). Put refuses a key over
 * MLA_STORE_KEY_MAX ("store.key") or a value over MLA_STORE_VALUE_MAX
 * ("store.value") with MLA_EINVAL; on any failure the batch is unchanged. */
mla_status mla_store_batch_new(mla_store_batch **out) MLA_MUST_USE;
mla_status mla_store_batch_put(mla_store_batch *b, mla_slice key, mla_slice value) MLA_MUST_USE;
mla_status mla_store_batch_delete(mla_store_batch *b, mla_slice key) MLA_MUST_USE;
void mla_store_batch_clear(mla_store_batch *b);
size_t mla_store_batch_count(const mla_store_batch *b);
void mla_store_batch_free(mla_store_batch *b);

/** Apply the batch atomically; with sync, durable before returning.
 * On failure nothing of the batch is visible (MLA_EIO, MLA_ELIMIT on a full
 * disk). */
mla_status mla_store_write(mla_store *s, const mla_store_batch *b, bool sync) MLA_MUST_USE;

/** Iterate keys in [start, end) in byte order; an empty `end` means no upper
 * bound. The iterator sees a consistent snapshot taken at creation. Free it
 * before closing the store. */
mla_status mla_store_iter_new(mla_store_iter **out, mla_store *s, mla_slice start,
                              mla_slice end) MLA_MUST_USE;
/** Next pair: MLA_OK with key/value borrowed until the next call or free;
 * MLA_ENOTFOUND at the end; MLA_EIO on a storage failure. */
mla_status mla_store_iter_next(mla_store_iter *it, mla_slice *key, mla_slice *value) MLA_MUST_USE;
void mla_store_iter_free(mla_store_iter *it);

#endif
