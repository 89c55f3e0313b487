/* Unit suite for ledger/store: one behavioural contract run against all three
 * implementations (LevelDB in a temporary directory, memory, fault wrapper
 * over memory), then what is specific to each: LevelDB persistence and
 * locking, memory crash semantics, injected write/sync faults, and
 * allocation failures (each failing run: MLA_ENOMEM, nothing changed, no
 * leak). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "testutil.h"

/* ---- helpers --------------------------------------------------------------- */

/* Loop index _i of the contract tests: which implementation. */
enum { KIND_LEVELDB, KIND_MEM, KIND_FAULT, N_KINDS };

typedef struct fx {
    mla_store *s;
    char *dir; /* LevelDB only */
    int kind;
} fx;

static void fx_open(fx *f, int kind)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    if (kind == KIND_LEVELDB) {
        f->dir = tu_tmpdir_new();
        mla_store_leveldb_options o = {
            .cache_bytes = 1u << 20, .bloom_bits_per_key = 10, .create_if_missing = true};
        tu_assert_ok(mla_store_open_leveldb(&f->s, f->dir, &o));
    } else if (kind == KIND_MEM) {
        tu_assert_ok(mla_store_open_mem(&f->s));
    } else {
        mla_store *mem = NULL;
        tu_assert_ok(mla_store_open_mem(&mem));
        tu_assert_ok(mla_store_open_fault(&f->s, mem));
    }
}

static void fx_close(fx *f)
{
    mla_store_close(f->s);
    f->s = NULL;
    if (f->dir) {
        tu_rmtree(f->dir);
        free(f->dir);
        f->dir = NULL;
    }
}

static mla_slice S(const char *s) { return mla_slice_cstr(s); }

static void put1(mla_store *s, const char *k, const char *v, bool sync)
{
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S(k), S(v)));
    tu_assert_ok(mla_store_write(s, b, sync));
    mla_store_batch_free(b);
}

static void del1(mla_store *s, const char *k, bool sync)
{
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_delete(b, S(k)));
    tu_assert_ok(mla_store_write(s, b, sync));
    mla_store_batch_free(b);
}

/* Assert the value of a string key (NULL: absent). */
static void expect(mla_store *s, const char *k, const char *want)
{
    mla_buf v;
    mla_buf_init(&v, MLA_STORE_VALUE_MAX);
    mla_status rc = mla_store_get(s, S(k), &v);
    if (!want) {
        tu_assert_fail_with(rc, MLA_ENOTFOUND, "store.key: not found");
    } else {
        tu_assert_ok(rc);
        ck_assert_msg(mla_slice_eq(mla_buf_slice(&v), S(want)), "key %s: got \"%.*s\", want \"%s\"",
                      k, (int)v.len, (const char *)v.ptr, want);
    }
    mla_buf_dispose(&v);
}

/* The whole store as "hexkey=hexvalue;..." in iteration order; caller frees. */
static char *dump_range(mla_store *s, mla_slice start, mla_slice end)
{
    mla_buf out;
    mla_buf_init(&out, 64u << 20);
    mla_store_iter *it = NULL;
    mla_slice k, v;
    mla_status rc;
    tu_assert_ok(mla_store_iter_new(&it, s, start, end));
    while ((rc = mla_store_iter_next(it, &k, &v)) == MLA_OK) {
        tu_assert_ok(mla_hex_encode(&out, k));
        tu_assert_ok(mla_buf_append_byte(&out, '='));
        tu_assert_ok(mla_hex_encode(&out, v));
        tu_assert_ok(mla_buf_append_byte(&out, ';'));
    }
    tu_assert_fail_with(rc, MLA_ENOTFOUND, "store.iter: end");
    /* At the end it stays at the end. */
    tu_assert_fail_with(mla_store_iter_next(it, &k, &v), MLA_ENOTFOUND, "store.iter: end");
    mla_store_iter_free(it);
    char *str = mla_buf_cstr_new(&out);
    ck_assert_ptr_nonnull(str);
    mla_buf_dispose(&out);
    return str;
}

static char *dump(mla_store *s) { return dump_range(s, S(""), S("")); }

static void expect_dump(mla_store *s, const char *want)
{
    char *got = dump(s);
    ck_assert_str_eq(got, want);
    mla_free(got);
}

/* Keys of the iteration over [start, end) joined with ',' (printable keys). */
static void expect_keys(mla_store *s, mla_slice start, mla_slice end, const char *want)
{
    char got[4096];
    size_t n = 0;
    mla_store_iter *it = NULL;
    mla_slice k, v;
    tu_assert_ok(mla_store_iter_new(&it, s, start, end));
    got[0] = '\0';
    while (mla_store_iter_next(it, &k, &v) == MLA_OK) {
        ck_assert(n + k.len + 2 < sizeof got);
        if (n) got[n++] = ',';
        memcpy(got + n, k.ptr, k.len);
        n += k.len;
        got[n] = '\0';
    }
    mla_store_iter_free(it);
    ck_assert_str_eq(got, want);
}

/* ---- the contract, for every implementation -------------------------------- */

START_TEST(test_store_get_missing_is_notfound)
{
    fx f;
    fx_open(&f, _i);
    mla_buf v;
    mla_buf_init(&v, 100);
    tu_assert_ok(mla_buf_set(&v, S("keep")));
    tu_assert_fail_with(mla_store_get(f.s, S("nope"), &v), MLA_ENOTFOUND, "store.key");
    ck_assert_uint_eq(v.len, 4); /* unchanged */
    tu_assert_fail_with(mla_store_get(f.s, S(""), &v), MLA_ENOTFOUND, "store.key");
    mla_buf_dispose(&v);
    fx_close(&f);
}
END_TEST

START_TEST(test_store_batch_put_get_delete)
{
    fx f;
    fx_open(&f, _i);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S("a"), S("1")));
    tu_assert_ok(mla_store_batch_put(b, S("b"), S("2")));
    tu_assert_ok(mla_store_batch_delete(b, S("a"))); /* later op on a key wins */
    tu_assert_ok(mla_store_batch_put(b, S("c"), S("3")));
    tu_assert_ok(mla_store_batch_put(b, S("c"), S("33")));
    tu_assert_ok(mla_store_batch_delete(b, S("never-there")));
    tu_assert_ok(mla_store_batch_put(b, S("empty"), S("")));
    ck_assert_uint_eq(mla_store_batch_count(b), 7);
    tu_assert_ok(mla_store_write(f.s, b, true));
    expect(f.s, "a", NULL);
    expect(f.s, "b", "2");
    expect(f.s, "c", "33");
    expect(f.s, "empty", "");
    expect(f.s, "never-there", NULL);

    /* The batch is reusable after clear, and deletes then re-puts apply in order. */
    mla_store_batch_clear(b);
    ck_assert_uint_eq(mla_store_batch_count(b), 0);
    tu_assert_ok(mla_store_batch_delete(b, S("b")));
    tu_assert_ok(mla_store_batch_put(b, S("a"), S("again")));
    tu_assert_ok(mla_store_write(f.s, b, false));
    expect(f.s, "a", "again");
    expect(f.s, "b", NULL);
    expect_keys(f.s, S(""), S(""), "a,c,empty");
    mla_store_batch_free(b);
    fx_close(&f);
}
END_TEST

START_TEST(test_store_batch_is_atomic_to_readers)
{
    fx f;
    fx_open(&f, _i);
    put1(f.s, "k0000", "old", true);
    mla_store_iter *before = NULL;
    tu_assert_ok(mla_store_iter_new(&before, f.s, S(""), S("")));
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    char key[16];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        tu_assert_ok(mla_store_batch_put(b, S(key), S("new")));
    }
    tu_assert_ok(mla_store_write(f.s, b, true));
    mla_store_batch_free(b);
    /* A snapshot taken before sees none of the batch, one after sees all. */
    mla_slice k, v;
    tu_assert_ok(mla_store_iter_next(before, &k, &v));
    ck_assert(mla_slice_eq(k, S("k0000")) && mla_slice_eq(v, S("old")));
    tu_assert_fail_with(mla_store_iter_next(before, &k, &v), MLA_ENOTFOUND, "store.iter");
    mla_store_iter_free(before);
    mla_store_iter *after = NULL;
    tu_assert_ok(mla_store_iter_new(&after, f.s, S(""), S("")));
    int n = 0;
    while (mla_store_iter_next(after, &k, &v) == MLA_OK) {
        ck_assert(mla_slice_eq(v, S("new")));
        n++;
    }
    ck_assert_int_eq(n, 500);
    mla_store_iter_free(after);

    /* A failing write applies nothing (the fault wrapper fails it). */
    if (f.kind == KIND_FAULT) {
        mla_store_fault_arm(f.s, MLA_STORE_FAULT_WRITE, 0);
        tu_assert_ok(mla_store_batch_new(&b));
        tu_assert_ok(mla_store_batch_put(b, S("k0001"), S("torn")));
        tu_assert_ok(mla_store_batch_delete(b, S("k0002")));
        tu_assert_ok(mla_store_batch_put(b, S("zz"), S("torn")));
        tu_assert_fail_with(mla_store_write(f.s, b, true), MLA_EIO, "store.fault");
        mla_store_batch_free(b);
        expect(f.s, "k0001", "new");
        expect(f.s, "k0002", "new");
        expect(f.s, "zz", NULL);
    }
    fx_close(&f);
}
END_TEST

START_TEST(test_store_iter_ranges_in_byte_order)
{
    fx f;
    fx_open(&f, _i);
    /* Binary keys: 0x00 and 0xff bytes, prefixes of each other, inserted out
     * of order; byte order is unsigned and a prefix sorts first. */
    static const uint8_t keys[][4] = {{0xff, 0xff}, {0x00}, {'a'},        {'a', 0x00},
                                      {'a', 0xff},  {'b'},  {0x7f, 0x01}, {0x80}};
    static const size_t lens[] = {2, 1, 1, 2, 2, 1, 2, 1};
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    for (size_t i = 0; i < 8; i++) {
        uint8_t val = (uint8_t)i;
        tu_assert_ok(
            mla_store_batch_put(b, mla_slice_make(keys[i], lens[i]), mla_slice_make(&val, 1)));
    }
    tu_assert_ok(mla_store_write(f.s, b, true));
    mla_store_batch_free(b);

    expect_dump(f.s, "00=01;61=02;6100=03;61ff=04;62=05;7f01=06;80=07;ffff=00;");
    /* [start, end): start included, end excluded, bounds need not exist. */
    const uint8_t a00[] = {'a', 0x00}, ff[] = {0xff}, ffff[] = {0xff, 0xff}, zero[] = {0x00};
    char *got = dump_range(f.s, mla_slice_make(a00, 2), S("b"));
    ck_assert_str_eq(got, "6100=03;61ff=04;");
    mla_free(got);
    got = dump_range(f.s, S("a"), mla_slice_make(a00, 2));
    ck_assert_str_eq(got, "61=02;");
    mla_free(got);
    got = dump_range(f.s, mla_slice_make(ff, 1), S(""));
    ck_assert_str_eq(got, "ffff=00;");
    mla_free(got);
    got = dump_range(f.s, S(""), mla_slice_make(zero, 1));
    ck_assert_str_eq(got, "");
    mla_free(got);
    got = dump_range(f.s, S(""), mla_slice_make(a00, 1));
    ck_assert_str_eq(got, "00=01;");
    mla_free(got);
    got = dump_range(f.s, S("b"), S("b")); /* empty range */
    ck_assert_str_eq(got, "");
    mla_free(got);
    got = dump_range(f.s, S("c"), S("a")); /* inverted range */
    ck_assert_str_eq(got, "");
    mla_free(got);
    got = dump_range(f.s, mla_slice_make(ffff, 2), mla_slice_make(ffff, 2));
    ck_assert_str_eq(got, "");
    mla_free(got);
    got = dump_range(f.s, S("0"), mla_slice_make(ff, 1));
    ck_assert_str_eq(got, "61=02;6100=03;61ff=04;62=05;7f01=06;80=07;");
    mla_free(got);
    fx_close(&f);
}
END_TEST

START_TEST(test_store_iter_many_keys_in_order)
{
    fx f;
    fx_open(&f, _i);
    enum { N = 20000 };
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    /* A permutation of 0..N-1 (multiplier coprime to N) as big-endian keys,
     * in four batches, some unsynced. */
    for (uint64_t i = 0; i < N; i++) {
        uint8_t k[8], v[8];
        mla_put_be64(k, (i * 7919) % N);
        mla_put_be64(v, (i * 7919) % N + 1);
        tu_assert_ok(mla_store_batch_put(b, mla_slice_make(k, 8), mla_slice_make(v, 8)));
        if (i % (N / 4) == N / 4 - 1) {
            tu_assert_ok(mla_store_write(f.s, b, i % 2 == 1));
            mla_store_batch_clear(b);
        }
    }
    mla_store_batch_free(b);
    mla_store_iter *it = NULL;
    mla_slice k, v;
    uint8_t lo[8], hi[8];
    mla_put_be64(lo, 100);
    mla_put_be64(hi, N - 100);
    tu_assert_ok(mla_store_iter_new(&it, f.s, mla_slice_make(lo, 8), mla_slice_make(hi, 8)));
    uint64_t want = 100;
    while (mla_store_iter_next(it, &k, &v) == MLA_OK) {
        ck_assert_uint_eq(k.len, 8);
        ck_assert_uint_eq(mla_get_be64(k.ptr), want);
        ck_assert_uint_eq(mla_get_be64(v.ptr), want + 1);
        want++;
    }
    ck_assert_uint_eq(want, N - 100);
    mla_store_iter_free(it);
    fx_close(&f);
}
END_TEST

START_TEST(test_store_iter_sees_snapshot_at_creation)
{
    fx f;
    fx_open(&f, _i);
    put1(f.s, "a", "1", true);
    put1(f.s, "b", "2", true);
    put1(f.s, "c", "3", false);
    mla_store_iter *it = NULL;
    tu_assert_ok(mla_store_iter_new(&it, f.s, S(""), S("")));
    mla_slice k, v;
    tu_assert_ok(mla_store_iter_next(it, &k, &v));
    ck_assert(mla_slice_eq(k, S("a")) && mla_slice_eq(v, S("1")));
    /* Writes after creation: overwrite, delete, insert before/after the cursor. */
    put1(f.s, "b", "changed", true);
    del1(f.s, "c", false);
    put1(f.s, "aa", "new", true);
    put1(f.s, "d", "new", false);
    tu_assert_ok(mla_store_iter_next(it, &k, &v));
    ck_assert(mla_slice_eq(k, S("b")) && mla_slice_eq(v, S("2")));
    tu_assert_ok(mla_store_iter_next(it, &k, &v));
    ck_assert(mla_slice_eq(k, S("c")) && mla_slice_eq(v, S("3")));
    tu_assert_fail_with(mla_store_iter_next(it, &k, &v), MLA_ENOTFOUND, "store.iter");
    mla_store_iter_free(it);
    expect_keys(f.s, S(""), S(""), "a,aa,b,d");
    expect(f.s, "b", "changed");
    fx_close(&f);
}
END_TEST

START_TEST(test_store_empty_batch_write_changes_nothing)
{
    fx f;
    fx_open(&f, _i);
    put1(f.s, "x", "1", true);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    ck_assert_uint_eq(mla_store_batch_count(b), 0);
    tu_assert_ok(mla_store_write(f.s, b, true));
    tu_assert_ok(mla_store_write(f.s, b, false));
    mla_store_batch_free(b);
    expect_dump(f.s, "78=31;");
    fx_close(&f);
}
END_TEST

START_TEST(test_store_large_values_roundtrip)
{
    fx f;
    fx_open(&f, _i);
    size_t n = 8u << 20;
    uint8_t *big = malloc(n);
    ck_assert_ptr_nonnull(big);
    uint64_t rng = 7;
    tu_rand_bytes(&rng, big, 4096);
    for (size_t i = 4096; i < n; i++) big[i] = (uint8_t)(big[i % 4096] ^ (i >> 12));
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S("big"), mla_slice_make(big, n)));
    tu_assert_ok(mla_store_batch_put(b, S("big2"), mla_slice_make(big + 1, n - 1)));
    tu_assert_ok(mla_store_write(f.s, b, true));
    mla_store_batch_free(b);

    mla_buf v;
    mla_buf_init(&v, MLA_STORE_VALUE_MAX);
    tu_assert_ok(mla_store_get(f.s, S("big"), &v));
    ck_assert_uint_eq(v.len, n);
    ck_assert_int_eq(memcmp(v.ptr, big, n), 0);
    mla_buf_dispose(&v);
    /* A value larger than the caller's buffer allows is refused, not cut. */
    mla_buf_init(&v, 1000);
    tu_assert_fail_with(mla_store_get(f.s, S("big"), &v), MLA_ELIMIT, "store.value");
    ck_assert_uint_eq(v.len, 0);
    mla_buf_dispose(&v);

    mla_store_iter *it = NULL;
    mla_slice k, val;
    tu_assert_ok(mla_store_iter_new(&it, f.s, S("big2"), S("")));
    tu_assert_ok(mla_store_iter_next(it, &k, &val));
    ck_assert_uint_eq(val.len, n - 1);
    ck_assert_int_eq(memcmp(val.ptr, big + 1, n - 1), 0);
    mla_store_iter_free(it);
    free(big);
    fx_close(&f);
}
END_TEST

START_TEST(test_store_batch_refuses_oversized_key_and_value)
{
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    static uint8_t key[MLA_STORE_KEY_MAX + 1];
    tu_assert_ok(mla_store_batch_put(b, mla_slice_make(key, MLA_STORE_KEY_MAX), S("v")));
    tu_assert_fail_with(mla_store_batch_put(b, mla_slice_make(key, MLA_STORE_KEY_MAX + 1), S("v")),
                        MLA_EINVAL, "store.key: 2049 bytes exceeds limit 2048");
    tu_assert_fail_with(mla_store_batch_delete(b, mla_slice_make(key, MLA_STORE_KEY_MAX + 1)),
                        MLA_EINVAL, "store.key");
    /* calloc maps zero pages lazily: the refusal happens before any copy. */
    uint8_t *big = calloc(1, (size_t)MLA_STORE_VALUE_MAX + 1);
    ck_assert_ptr_nonnull(big);
    tu_assert_fail_with(
        mla_store_batch_put(b, S("k"), mla_slice_make(big, (size_t)MLA_STORE_VALUE_MAX + 1)),
        MLA_EINVAL, "store.value");
    free(big);
    ck_assert_uint_eq(mla_store_batch_count(b), 1);

    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    tu_assert_ok(mla_store_write(s, b, false));
    mla_buf v;
    mla_buf_init(&v, 10);
    tu_assert_ok(mla_store_get(s, mla_slice_make(key, MLA_STORE_KEY_MAX), &v));
    tu_assert_fail_with(mla_store_get(s, mla_slice_make(key, MLA_STORE_KEY_MAX + 1), &v),
                        MLA_EINVAL, "store.key");
    mla_buf_dispose(&v);
    mla_store_close(s);
    mla_store_batch_free(b);
    /* Freeing and closing NULL are no-ops. */
    mla_store_batch_free(NULL);
    mla_store_close(NULL);
    mla_store_iter_free(NULL);
}
END_TEST

/* Readers on other threads while the one writer writes (store.h threads). */
typedef struct reader_arg {
    mla_store *s;
    int rounds;
    int bad;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    mla_buf v;
    mla_buf_init(&v, 1024);
    for (int r = 0; r < a->rounds; r++) {
        mla_status rc = mla_store_get(a->s, S("counter"), &v);
        if (rc != MLA_OK && rc != MLA_ENOTFOUND) a->bad++;
        mla_store_iter *it = NULL;
        if (mla_store_iter_new(&it, a->s, S("k"), S("l")) != MLA_OK) {
            a->bad++;
            continue;
        }
        mla_slice k, val;
        int n = 0;
        while (mla_store_iter_next(it, &k, &val) == MLA_OK) n++;
        /* Every batch writes both keys: a snapshot has both or neither. */
        if (n != 0 && n != 2) a->bad++;
        mla_store_iter_free(it);
    }
    mla_buf_dispose(&v);
    return NULL;
}

START_TEST(test_store_concurrent_readers_see_whole_batches)
{
    fx f;
    fx_open(&f, _i);
    reader_arg a = {f.s, 300, 0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reader_main, &a), 0);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    for (int i = 0; i < 300; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        mla_store_batch_clear(b);
        tu_assert_ok(mla_store_batch_put(b, S("counter"), S(num)));
        if (i % 2 == 0) {
            tu_assert_ok(mla_store_batch_put(b, S("k1"), S(num)));
            tu_assert_ok(mla_store_batch_put(b, S("k2"), S(num)));
        } else {
            tu_assert_ok(mla_store_batch_delete(b, S("k1")));
            tu_assert_ok(mla_store_batch_delete(b, S("k2")));
        }
        tu_assert_ok(mla_store_write(f.s, b, false));
    }
    mla_store_batch_free(b);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(a.bad, 0);
    fx_close(&f);
}
END_TEST

/* ---- LevelDB ------------------------------------------------------------------ */

START_TEST(test_leveldb_reopen_keeps_synced_writes)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true, .write_buffer_bytes = 64 << 10};
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    put1(s, "a", "1", true);
    put1(s, "b", "2", false);
    put1(s, "c", "3", true);
    del1(s, "a", true);
    mla_store_close(s);
    /* Reopen without create: the data is there. */
    tu_assert_ok(mla_store_open_leveldb(&s, dir, NULL));
    expect_dump(s, "62=32;63=33;");
    put1(s, "d", "4", true);
    mla_store_close(s);
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    expect_keys(s, S(""), S(""), "b,c,d");
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A data block that fails its checksum is reported as MLA_ECORRUPT by reads
 * and by iteration; LevelDB's iterator would otherwise step over the block
 * and silently drop its keys from the range. */
START_TEST(test_leveldb_corrupt_block_is_ecorrupt_not_skipped)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    uint8_t key[8], val[600];
    uint64_t rng = 7;
    for (uint64_t i = 0; i < 400; i++) {
        mla_put_be64(key, i);
        tu_rand_bytes(&rng, val, sizeof val); /* incompressible: many blocks */
        tu_assert_ok(
            mla_store_batch_put(b, mla_slice_make(key, 8), mla_slice_make(val, sizeof val)));
    }
    tu_assert_ok(mla_store_write(s, b, true));
    mla_store_batch_free(b);
    mla_store_close(s);
    /* Reopening turns the write-ahead log into a table file. */
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    mla_store_close(s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls %s/*.ldb | head -1", dir);
    FILE *ls = popen(cmd, "r");
    char table[4096] = "";
    ck_assert_ptr_nonnull(fgets(table, sizeof table, ls));
    pclose(ls);
    table[strcspn(table, "\n")] = '\0';
    FILE *f = fopen(table, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 100000, SEEK_SET), 0); /* a data block in the middle */
    int c = fgetc(f);
    ck_assert_int_ne(c, EOF);
    ck_assert_int_eq(fseek(f, 100000, SEEK_SET), 0);
    fputc(c ^ 0x01, f);
    fclose(f);

    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    mla_store_iter *it = NULL;
    tu_assert_ok(mla_store_iter_new(&it, s, S(""), S("")));
    mla_slice k, v;
    mla_status rc;
    uint64_t n = 0;
    while ((rc = mla_store_iter_next(it, &k, &v)) == MLA_OK) {
        ck_assert_uint_eq(mla_get_be64(k.ptr), n); /* never a gap */
        n++;
    }
    tu_assert_fail_with(rc, MLA_ECORRUPT, "Corruption");
    ck_assert_uint_lt(n, 400);
    mla_store_iter_free(it);
    mla_buf out;
    mla_buf_init(&out, 4096);
    mla_put_be64(key, n);
    tu_assert_fail_with(mla_store_get(s, mla_slice_make(key, 8), &out), MLA_ECORRUPT, "Corruption");
    mla_buf_dispose(&out);
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_leveldb_second_open_of_same_dir_is_eio_naming_path)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *s = NULL, *s2 = NULL;
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    tu_assert_fail_with(mla_store_open_leveldb(&s2, dir, &o), MLA_EIO, "in use");
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, dir));
    /* The first store is unaffected, and once closed the directory opens. */
    put1(s, "k", "v", true);
    mla_store_close(s);
    tu_assert_ok(mla_store_open_leveldb(&s2, dir, &o));
    expect(s2, "k", "v");
    mla_store_close(s2);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_leveldb_open_locked_by_another_process_is_eio)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    /* Two daemons on one directory: the second process is refused. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mla_store *s2 = NULL;
        mla_status rc = mla_store_open_leveldb(&s2, dir, &o);
        const char *msg = mla_error_last()->msg;
        _exit(rc == MLA_EIO && s2 == NULL && strstr(msg, "in use") && strstr(msg, dir) ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_leveldb_bad_path_is_eio)
{
    char *dir = tu_tmpdir_new();
    char path[4200];
    mla_store *s = NULL;
    /* A directory that does not exist, without create_if_missing. */
    snprintf(path, sizeof path, "%s/absent", dir);
    tu_assert_fail_with(mla_store_open_leveldb(&s, path, NULL), MLA_EIO, path);
    ck_assert_ptr_null(s);
    /* A path below a regular file cannot be a database directory. */
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/file/db", dir);
    mla_store_leveldb_options o = {.create_if_missing = true};
    tu_assert_fail_with(mla_store_open_leveldb(&s, path, &o), MLA_EIO, path);
    ck_assert_ptr_null(s);
    tu_assert_fail_with(mla_store_open_leveldb(&s, "", &o), MLA_EINVAL, "store.path");
    o.bloom_bits_per_key = -1;
    tu_assert_fail_with(mla_store_open_leveldb(&s, dir, &o), MLA_EINVAL,
                        "store.bloom_bits_per_key");
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* The largest file number in a LevelDB directory (000003.log, MANIFEST-000002). */
static unsigned long max_file_number(const char *dir)
{
    unsigned long max = 0;
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = strncmp(e->d_name, "MANIFEST-", 9) == 0 ? e->d_name + 9 : e->d_name;
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        if (end != p && n > max) max = n;
    }
    closedir(d);
    return max;
}

START_TEST(test_leveldb_full_disk_is_elimit)
{
    /* A full disk without filling one: a reopen first writes a new MANIFEST
     * numbered after every existing file; made a symlink to /dev/full, its
     * write fails with ENOSPC. (A symlinked log would not do: recovery
     * would read /dev/full's endless zeros as a log to replay.) */
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    put1(s, "k", "v", true);
    mla_store_close(s);
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST-%06lu", dir, max_file_number(dir) + 1);
    ck_assert_int_eq(symlink("/dev/full", manifest), 0);
    tu_assert_fail_with(mla_store_open_leveldb(&s, dir, &o), MLA_ELIMIT, "No space left");
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, "store.open"));
    ck_assert_ptr_nonnull(strstr(mla_error_last()->msg, manifest));
    /* The failed open released the directory and changed nothing. */
    mla_ignore(unlink(manifest)); /* LevelDB may already have removed it */
    tu_assert_ok(mla_store_open_leveldb(&s, dir, &o));
    expect(s, "k", "v");
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_leveldb_open_survives_allocation_failures)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *s = NULL;
    long k;
    for (k = 0; k < 10; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_store_open_leveldb(&s, dir, &o);
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "store.open");
        ck_assert_ptr_null(s);
    }
    ck_assert_int_gt(k, 0);
    ck_assert_int_lt(k, 10);
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- memory store: crash semantics ------------------------------------------ */

START_TEST(test_mem_crash_drops_unsynced_keeps_synced)
{
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    put1(s, "durable", "1", true);
    put1(s, "overwritten", "old", true);
    put1(s, "deleted", "here", true);
    /* Unsynced: a new key, an overwrite twice, a delete. */
    put1(s, "volatile", "x", false);
    put1(s, "overwritten", "new1", false);
    put1(s, "overwritten", "new2", false);
    del1(s, "deleted", false);
    expect_keys(s, S(""), S(""), "durable,overwritten,volatile");
    mla_store_mem_crash(s);
    expect_dump(s, "64656c65746564=68657265;64757261626c65=31;6f7665727772697474656e=6f6c64;");
    /* Crashing again changes nothing; the store is usable after a crash. */
    mla_store_mem_crash(s);
    expect_keys(s, S(""), S(""), "deleted,durable,overwritten");
    put1(s, "after", "crash", true);
    expect(s, "after", "crash");
    mla_store_close(s);
}
END_TEST

START_TEST(test_mem_synced_write_makes_earlier_unsynced_durable)
{
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    put1(s, "a", "1", false);
    del1(s, "a", false);
    put1(s, "b", "2", false);
    put1(s, "c", "3", true); /* LevelDB: the fsync of the log covers a and b */
    put1(s, "d", "4", false);
    mla_store_mem_crash(s);
    expect_keys(s, S(""), S(""), "b,c");
    /* An empty synced batch is a durability point too. */
    put1(s, "e", "5", false);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_write(s, b, true));
    mla_store_batch_free(b);
    mla_store_mem_crash(s);
    expect_keys(s, S(""), S(""), "b,c,e");
    mla_store_close(s);
}
END_TEST

START_TEST(test_mem_crash_leaves_open_iterators_intact)
{
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    put1(s, "a", "1", true);
    put1(s, "b", "2", false);
    mla_store_iter *it = NULL;
    tu_assert_ok(mla_store_iter_new(&it, s, S(""), S("")));
    mla_store_mem_crash(s);
    mla_slice k, v;
    tu_assert_ok(mla_store_iter_next(it, &k, &v));
    tu_assert_ok(mla_store_iter_next(it, &k, &v));
    ck_assert(mla_slice_eq(k, S("b")) && mla_slice_eq(v, S("2")));
    mla_store_iter_free(it);
    expect_keys(s, S(""), S(""), "a");
    mla_store_close(s);
}
END_TEST

START_TEST(test_mem_100k_random_inserts)
{
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    uint64_t rng = 99;
    int64_t t0 = mla_time_mono_ns();
    for (int i = 0; i < 100000; i++) {
        uint8_t k[16];
        tu_rand_bytes(&rng, k, sizeof k);
        tu_assert_ok(mla_store_batch_put(b, mla_slice_make(k, sizeof k), mla_slice_make(k, 8)));
        if (mla_store_batch_count(b) == 64) {
            tu_assert_ok(mla_store_write(s, b, (i / 64) % 8 == 0));
            mla_store_batch_clear(b);
        }
    }
    tu_assert_ok(mla_store_write(s, b, true));
    int64_t ms = (mla_time_mono_ns() - t0) / 1000000;
    mla_store_batch_free(b);
    /* Generous bound (ASan, a shared machine): O(n^2) would take far longer. */
    ck_assert_msg(ms < 10000, "100k inserts took %lld ms", (long long)ms);
    mla_store_iter *it = NULL;
    tu_assert_ok(mla_store_iter_new(&it, s, S(""), S("")));
    mla_slice k, v, prev = {NULL, 0};
    uint8_t prevbuf[16];
    int n = 0;
    while (mla_store_iter_next(it, &k, &v) == MLA_OK) {
        if (n) {
            ck_assert_uint_eq(k.len, 16);
            ck_assert_int_lt(memcmp(prev.ptr, k.ptr, 16), 0);
        }
        memcpy(prevbuf, k.ptr, 16);
        prev = mla_slice_make(prevbuf, 16);
        n++;
    }
    ck_assert_int_eq(n, 100000);
    mla_store_iter_free(it);
    mla_store_close(s);
}
END_TEST

/* ---- fault wrapper ---------------------------------------------------------------- */

START_TEST(test_fault_write_fails_exactly_the_kth_write)
{
    mla_store *mem = NULL, *s = NULL;
    tu_assert_ok(mla_store_open_mem(&mem));
    tu_assert_ok(mla_store_open_fault(&s, mem));
    put1(s, "before-arm", "x", false);
    ck_assert_int_eq(mla_store_fault_writes(s), 1);
    mla_store_fault_arm(s, MLA_STORE_FAULT_WRITE, 2);
    ck_assert_int_eq(mla_store_fault_writes(s), 0);
    put1(s, "w0", "x", false);
    put1(s, "w1", "x", true);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S("w2"), S("x")));
    tu_assert_ok(mla_store_batch_delete(b, S("w0")));
    tu_assert_fail_with(mla_store_write(s, b, true), MLA_EIO, "store.fault: injected failure");
    ck_assert_int_eq(mla_store_fault_writes(s), 3);
    expect(s, "w2", NULL);
    expect(s, "w0", "x");
    /* Only the k-th: the same batch succeeds next time. */
    tu_assert_ok(mla_store_write(s, b, true));
    mla_store_batch_free(b);
    expect_keys(s, S(""), S(""), "before-arm,w1,w2");
    /* Disarmed, nothing fails. */
    mla_store_fault_arm(s, MLA_STORE_FAULT_NONE, 0);
    for (int i = 0; i < 5; i++) put1(s, "again", "y", i % 2);
    ck_assert_int_eq(mla_store_fault_writes(s), 5);
    mla_store_close(s); /* closes mem too */
}
END_TEST

START_TEST(test_fault_sync_then_crash_loses_the_batch)
{
    mla_store *mem = NULL, *s = NULL;
    tu_assert_ok(mla_store_open_mem(&mem));
    tu_assert_ok(mla_store_open_fault(&s, mem));
    mla_store_fault_arm(s, MLA_STORE_FAULT_SYNC, 1); /* the second synced write */
    put1(s, "s0", "x", true);
    put1(s, "u0", "x", false); /* unsynced writes do not count */
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S("s1"), S("torn")));
    tu_assert_ok(mla_store_batch_delete(b, S("s0")));
    tu_assert_fail_with(mla_store_write(s, b, true), MLA_EIO,
                        "store.fault: injected failure of sync");
    mla_store_batch_free(b);
    /* Applied but not durable: visible now, gone after a crash, together
     * with the unsynced write before it. */
    expect_keys(s, S(""), S(""), "s1,u0");
    mla_store_fault_crash(s);
    expect_keys(s, S(""), S(""), "s0");
    put1(s, "s2", "x", true);
    mla_store_fault_crash(s);
    expect_keys(s, S(""), S(""), "s0,s2");
    /* mla_store_mem_crash on the wrapper reaches the memory store too. */
    put1(s, "u1", "x", false);
    mla_store_mem_crash(s);
    expect_keys(s, S(""), S(""), "s0,s2");
    mla_store_close(s);
}
END_TEST

START_TEST(test_fault_over_leveldb_passes_through)
{
    char *dir = tu_tmpdir_new();
    mla_store_leveldb_options o = {.create_if_missing = true};
    mla_store *ldb = NULL, *s = NULL;
    tu_assert_ok(mla_store_open_leveldb(&ldb, dir, &o));
    tu_assert_ok(mla_store_open_fault(&s, ldb));
    put1(s, "a", "1", false);
    mla_store_fault_crash(s); /* LevelDB cannot forget: a no-op */
    expect(s, "a", "1");
    mla_store_fault_arm(s, MLA_STORE_FAULT_WRITE, 0);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    tu_assert_ok(mla_store_batch_put(b, S("b"), S("2")));
    tu_assert_fail_with(mla_store_write(s, b, true), MLA_EIO, "store.fault");
    mla_store_batch_free(b);
    expect_keys(s, S(""), S(""), "a");
    mla_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------ */

START_TEST(test_batch_put_allocation_failures_change_nothing)
{
    mla_store_batch *b = NULL;
    mla_alloc_fail_after(0);
    tu_assert_fail_with(mla_store_batch_new(&b), MLA_ENOMEM, "store.batch");
    mla_alloc_fail_reset();
    ck_assert_ptr_null(b);
    tu_assert_ok(mla_store_batch_new(&b));
    char key[16];
    /* Fill to the first capacity step so the next put must grow both the op
     * list and the arena. */
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        tu_assert_ok(mla_store_batch_put(b, S(key), S("v")));
    }
    static uint8_t big[5000];
    memset(big, 0xab, sizeof big);
    long k;
    for (k = 0;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_store_batch_put(b, S("zz"), mla_slice_make(big, sizeof big));
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "store.batch: out of memory");
        ck_assert_uint_eq(mla_store_batch_count(b), 16);
    }
    ck_assert_int_eq(k, 2); /* op list, arena */
    ck_assert_uint_eq(mla_store_batch_count(b), 17);
    /* The batch still holds exactly what was put. */
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    tu_assert_ok(mla_store_write(s, b, true));
    expect(s, "k00", "v");
    expect(s, "k15", "v");
    mla_buf v;
    mla_buf_init(&v, sizeof big);
    tu_assert_ok(mla_store_get(s, S("zz"), &v));
    ck_assert(mla_slice_eq(mla_buf_slice(&v), mla_slice_make(big, sizeof big)));
    mla_buf_dispose(&v);
    mla_store_close(s);
    mla_store_batch_free(b);
}
END_TEST

static void mem_write_alloc_loop(bool sync)
{
    mla_store *s = NULL;
    tu_assert_ok(mla_store_open_mem(&s));
    put1(s, "keep", "durable", true);
    put1(s, "over", "old", true);
    put1(s, "gone", "soon", true);
    put1(s, "pending", "unsynced", false);
    mla_store_batch *b = NULL;
    tu_assert_ok(mla_store_batch_new(&b));
    char key[16];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "new%d", i);
        tu_assert_ok(mla_store_batch_put(b, S(key), S("n")));
    }
    tu_assert_ok(mla_store_batch_put(b, S("over"), S("new")));
    tu_assert_ok(mla_store_batch_delete(b, S("gone")));
    tu_assert_ok(mla_store_batch_put(b, S("new0"), S("twice")));
    char *before = dump(s);
    long k;
    for (k = 0;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_store_write(s, b, sync);
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "store.mem: out of memory");
        char *now = dump(s);
        ck_assert_str_eq(now, before);
        mla_free(now);
        ck_assert_int_lt(k, 100);
    }
    /* prep array, 7 values, 6 nodes (new0 twice: the batch's ops are
     * prepared before any applies), and the undo log when unsynced. */
    ck_assert_int_eq(k, sync ? 14 : 15);
    mla_free(before);
    mla_store_batch_free(b);
    expect_keys(s, S(""), S(""), "keep,new0,new1,new2,new3,new4,over,pending");
    expect(s, "new0", "twice");
    expect(s, "over", "new");
    /* The failed attempts left no trace in the crash state either. */
    mla_store_mem_crash(s);
    if (sync)
        expect_keys(s, S(""), S(""), "keep,new0,new1,new2,new3,new4,over,pending");
    else
        expect_dump(s, "676f6e65=736f6f6e;6b656570=64757261626c65;6f766572=6f6c64;");
    mla_store_close(s);
}

START_TEST(test_mem_write_allocation_failures_change_nothing) { mem_write_alloc_loop(_i == 1); }
END_TEST

START_TEST(test_mem_open_and_iter_allocation_failures)
{
    mla_store *s = NULL;
    long k;
    for (k = 0;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_store_open_mem(&s);
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "store.mem");
        ck_assert_ptr_null(s);
    }
    ck_assert_int_eq(k, 2);
    put1(s, "a", "1", true);
    put1(s, "b", "2", false);
    mla_store_iter *it = NULL;
    for (k = 0;; k++) {
        mla_alloc_fail_after(k);
        mla_status rc = mla_store_iter_new(&it, s, S(""), S(""));
        mla_alloc_fail_reset();
        if (rc == MLA_OK) break;
        tu_assert_fail_with(rc, MLA_ENOMEM, "store.iter");
        ck_assert_ptr_null(it);
    }
    ck_assert_int_eq(k, 2);
    mla_store_iter_free(it);
    mla_store *f = NULL;
    mla_alloc_fail_after(0);
    tu_assert_fail_with(mla_store_open_fault(&f, s), MLA_ENOMEM, "store.fault");
    mla_alloc_fail_reset();
    ck_assert_ptr_null(f);
    /* On failure the caller still owns the inner store. */
    expect_keys(s, S(""), S(""), "a,b");
    mla_store_close(s);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------ */

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("contract");
    /* _i: 0 LevelDB, 1 memory, 2 fault wrapper over memory. */
    tcase_add_loop_test(t, test_store_get_missing_is_notfound, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_batch_put_get_delete, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_batch_is_atomic_to_readers, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_iter_ranges_in_byte_order, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_iter_many_keys_in_order, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_iter_sees_snapshot_at_creation, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_empty_batch_write_changes_nothing, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_large_values_roundtrip, 0, N_KINDS);
    tcase_add_loop_test(t, test_store_concurrent_readers_see_whole_batches, 0, N_KINDS);
    tcase_add_test(t, test_store_batch_refuses_oversized_key_and_value);
    tcase_set_timeout(t, 120);
    suite_add_tcase(s, t);
    t = tcase_create("leveldb");
    tcase_add_test(t, test_leveldb_corrupt_block_is_ecorrupt_not_skipped);
    tcase_add_test(t, test_leveldb_reopen_keeps_synced_writes);
    tcase_add_test(t, test_leveldb_second_open_of_same_dir_is_eio_naming_path);
    tcase_add_test(t, test_leveldb_open_locked_by_another_process_is_eio);
    tcase_add_test(t, test_leveldb_bad_path_is_eio);
    tcase_add_test(t, test_leveldb_full_disk_is_elimit);
    tcase_add_test(t, test_leveldb_open_survives_allocation_failures);
    suite_add_tcase(s, t);
    t = tcase_create("mem");
    tcase_add_test(t, test_mem_crash_drops_unsynced_keeps_synced);
    tcase_add_test(t, test_mem_synced_write_makes_earlier_unsynced_durable);
    tcase_add_test(t, test_mem_crash_leaves_open_iterators_intact);
    tcase_add_test(t, test_mem_100k_random_inserts);
    tcase_set_timeout(t, 120);
    suite_add_tcase(s, t);
    t = tcase_create("fault");
    tcase_add_test(t, test_fault_write_fails_exactly_the_kth_write);
    tcase_add_test(t, test_fault_sync_then_crash_loses_the_batch);
    tcase_add_test(t, test_fault_over_leveldb_passes_through);
    suite_add_tcase(s, t);
    t = tcase_create("alloc");
    tcase_add_test(t, test_batch_put_allocation_failures_change_nothing);
    tcase_add_loop_test(t, test_mem_write_allocation_failures_change_nothing, 0, 2);
    tcase_add_test(t, test_mem_open_and_iter_allocation_failures);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(store_suite()); }
