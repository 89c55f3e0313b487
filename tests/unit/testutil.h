/* testutil: helpers shared by the Check suites: vectors, temp dirs, hex,
 * and asserting a status together with the field its message names. */
#ifndef MLA_TESTUTIL_H
#define MLA_TESTUTIL_H

#include <check.h>

#include "base/base.h"

/** Run a suite with Check's summary line; returns the process exit code. */
int tu_run(Suite *s);
/** Path of tests/vectors/<name> (from $MLA_VECTORS); static storage. */
const char *tu_vector_path(const char *name);
/** Read a whole file into out (max 64 MiB); aborts the test on failure. */
void tu_read_file(mla_buf *out, const char *path);
/** A new empty directory under $TMPDIR; caller frees the string. */
char *tu_tmpdir_new(void);
/** Remove a directory tree (best effort). */
void tu_rmtree(const char *path);
/** Decode hex, aborting the test on bad hex; out is replaced. */
void tu_hex(mla_buf *out, const char *hex);
/** Fill with deterministic pseudo-random bytes from *state (xorshift64*). */
void tu_rand_bytes(uint64_t *state, void *p, size_t n);
uint64_t tu_rand(uint64_t *state);

/* Assert rc == want and that the error message contains `field`. */
#define tu_assert_fail_with(rc, want, field)                                                       \
    do {                                                                                           \
        mla_status tu__rc = (rc);                                                                  \
        ck_assert_msg(tu__rc == (want), "status %s, want %s (%s)", mla_status_name(tu__rc),        \
                      mla_status_name(want), mla_error_last()->msg);                               \
        ck_assert_msg(strstr(mla_error_last()->msg, (field)) != NULL,                              \
                      "message \"%s\" does not name \"%s\"", mla_error_last()->msg, (field));      \
    } while (0)

#define tu_assert_ok(rc)                                                                           \
    do {                                                                                           \
        mla_status tu__rc = (rc);                                                                  \
        ck_assert_msg(tu__rc == MLA_OK, "status %s: %s (%s:%d)", mla_status_name(tu__rc),          \
                      mla_error_last()->msg, mla_error_last()->file ? mla_error_last()->file : "", \
                      mla_error_last()->line);                                                     \
    } while (0)

#endif
