/* testutil: shared helpers for the Check suites. */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

const char *tu_vector_path(const char *name)
{
    static _Thread_local char path[4096];
    const char *dir = getenv("MLA_VECTORS");
    ck_assert_msg(dir != NULL, "MLA_VECTORS is not set");
    ck_assert(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    return path;
}

void tu_read_file(mla_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    mla_buf_init(out, 64u << 20);
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) tu_assert_ok(mla_buf_append(out, chunk, n));
    fclose(f);
}

char *tu_tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    ck_assert(snprintf(tmpl, sizeof tmpl, "%s/mlaudit-test-XXXXXX", base ? base : "/tmp") <
              (int)sizeof tmpl);
    ck_assert(mkdtemp(tmpl) != NULL);
    return strdup(tmpl);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

void tu_rmtree(const char *path)
{
    if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_hex(mla_buf *out, const char *hex)
{
    mla_buf_init(out, 1u << 20);
    tu_assert_ok(mla_hex_decode(out, mla_slice_cstr(hex), "hex"));
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1du;
}

void tu_rand_bytes(uint64_t *state, void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(tu_rand(state) >> 56);
}
