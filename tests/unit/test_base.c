/* Unit suite for ledger/base: errors, buffers, reader, encodings, UTF-8 and
 * the allocation fault hook. */
#include <string.h>

#include "testutil.h"

START_TEST(test_error_names_field_and_location)
{
    mla_status rc = mla_err(MLA_EINVAL, "change.reason: empty");
    ck_assert_int_eq(rc, MLA_EINVAL);
    ck_assert_str_eq(mla_error_last()->msg, "change.reason: empty");
    ck_assert_int_eq(mla_error_last()->code, MLA_EINVAL);
    ck_assert_ptr_nonnull(strstr(mla_error_last()->file, "test_base.c"));
    mla_error_clear();
    ck_assert_int_eq(mla_error_last()->code, MLA_OK);
    ck_assert_str_eq(mla_status_name(MLA_ECORRUPT), "ECORRUPT");
}
END_TEST

START_TEST(test_buf_refuses_growth_past_max)
{
    mla_buf b;
    mla_buf_init(&b, 10);
    tu_assert_ok(mla_buf_append(&b, "0123456789", 10));
    tu_assert_fail_with(mla_buf_append_byte(&b, 'x'), MLA_ELIMIT, "exceeds limit 10");
    ck_assert_uint_eq(b.len, 10);
    tu_assert_ok(mla_buf_set(&b, mla_slice_cstr("ab")));
    tu_assert_ok(mla_buf_printf(&b, "%d-%s", 42, "z"));
    ck_assert_uint_eq(b.len, 6);
    ck_assert_int_eq(memcmp(b.ptr, "ab42-z", 6), 0);
    mla_buf_dispose(&b);
    ck_assert_ptr_null(b.ptr);
}
END_TEST

START_TEST(test_reader_rejects_short_and_trailing_input)
{
    uint8_t in[9] = {0, 0, 0, 0, 0, 0, 1, 2, 7};
    mla_reader r;
    uint64_t v;
    uint8_t c;
    mla_reader_init(&r, mla_slice_make(in, sizeof in));
    tu_assert_ok(mla_reader_be64(&r, &v, "x"));
    ck_assert_uint_eq(v, 0x102);
    tu_assert_fail_with(mla_reader_end(&r, "thing"), MLA_EINVAL, "thing: 1 trailing");
    tu_assert_ok(mla_reader_u8(&r, &c, "y"));
    ck_assert_uint_eq(c, 7);
    tu_assert_fail_with(mla_reader_u8(&r, &c, "tail.byte"), MLA_EINVAL, "tail.byte: truncated");
    tu_assert_ok(mla_reader_end(&r, "thing"));
}
END_TEST

START_TEST(test_hex_roundtrip_and_errors)
{
    mla_buf b, h;
    mla_buf_init(&b, 64);
    mla_buf_init(&h, 64);
    tu_assert_ok(mla_hex_decode(&b, mla_slice_cstr("00Ff10"), "k"));
    ck_assert_uint_eq(b.len, 3);
    tu_assert_ok(mla_hex_encode(&h, mla_buf_slice(&b)));
    ck_assert_int_eq(memcmp(h.ptr, "00ff10", 6), 0);
    tu_assert_fail_with(mla_hex_decode(&b, mla_slice_cstr("abc"), "keyid"), MLA_EINVAL,
                        "keyid: odd");
    tu_assert_fail_with(mla_hex_decode(&b, mla_slice_cstr("zz"), "keyid"), MLA_EINVAL,
                        "keyid: non-hex");
    mla_hash hash;
    tu_assert_fail_with(mla_hash_from_hex(&hash, mla_slice_cstr("00"), "root"), MLA_EINVAL, "root");
    mla_buf_dispose(&b);
    mla_buf_dispose(&h);
}
END_TEST

/* RFC 4648 §10 test vectors. */
START_TEST(test_base64_rfc4648_vectors)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        mla_buf b, d;
        mla_buf_init(&b, 64);
        mla_buf_init(&d, 64);
        tu_assert_ok(mla_base64_encode(&b, mla_slice_cstr(plain[i])));
        ck_assert(mla_slice_eq(mla_buf_slice(&b), mla_slice_cstr(enc[i])));
        tu_assert_ok(mla_base64_decode(&d, mla_slice_cstr(enc[i]), "v"));
        ck_assert(mla_slice_eq(mla_buf_slice(&d), mla_slice_cstr(plain[i])));
        mla_buf_dispose(&b);
        mla_buf_dispose(&d);
    }
}
END_TEST

START_TEST(test_base64_rejects_noncanonical_and_unpadded)
{
    mla_buf d;
    mla_buf_init(&d, 64);
    tu_assert_fail_with(mla_base64_decode(&d, mla_slice_cstr("Zh=="), "sig"), MLA_EINVAL,
                        "sig: non-canonical");
    tu_assert_fail_with(mla_base64_decode(&d, mla_slice_cstr("Zm9="), "sig"), MLA_EINVAL,
                        "sig: non-canonical");
    tu_assert_fail_with(mla_base64_decode(&d, mla_slice_cstr("Zg"), "sig"), MLA_EINVAL,
                        "sig: base64 length");
    tu_assert_fail_with(mla_base64_decode(&d, mla_slice_cstr("Z g="), "sig"), MLA_EINVAL,
                        "sig: invalid");
    tu_assert_fail_with(mla_base64_decode(&d, mla_slice_cstr("Zg==Zg=="), "sig"), MLA_EINVAL,
                        "sig: invalid");
    ck_assert_uint_eq(d.len, 0);
    mla_buf_dispose(&d);
}
END_TEST

START_TEST(test_utf8_validation)
{
    ck_assert(mla_utf8_valid(mla_slice_cstr("plain ascii")));
    ck_assert(mla_utf8_valid(mla_slice_cstr("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80")));
    ck_assert(!mla_utf8_valid(mla_slice_cstr("\xc0\xaf"))); /* overlong '/' */
    ck_assert(!mla_utf8_valid(mla_slice_cstr("\xed\xa0\x80"))); /* surrogate */
    ck_assert(!mla_utf8_valid(mla_slice_cstr("\xf4\x90\x80\x80"))); /* > U+10FFFF */
    ck_assert(!mla_utf8_valid(mla_slice_cstr("\xe2\x80"))); /* truncated */
    ck_assert(!mla_utf8_valid(mla_slice_cstr("\xff")));
}
END_TEST

START_TEST(test_alloc_fail_after_k)
{
    mla_alloc_fail_after(1);
    void *a = mla_malloc(8);
    void *b = mla_malloc(8);
    mla_alloc_fail_reset();
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(mla_alloc_failed_count(), 1);
    void *c = mla_malloc(8);
    ck_assert_ptr_nonnull(c);
    mla_free(a);
    mla_free(c);
    mla_free(NULL);
}
END_TEST

START_TEST(test_checked_math_and_ct_equal)
{
    size_t out;
    ck_assert(!mla_add_size(&out, SIZE_MAX, 1));
    ck_assert(!mla_mul_size(&out, SIZE_MAX / 2 + 1, 2));
    ck_assert(mla_mul_size(&out, 3, 4) && out == 12);
    ck_assert(mla_ct_equal("abc", "abc", 3));
    ck_assert(!mla_ct_equal("abc", "abd", 3));
}
END_TEST

static Suite *base_suite(void)
{
    Suite *s = suite_create("base");
    TCase *t = tcase_create("error");
    tcase_add_test(t, test_error_names_field_and_location);
    suite_add_tcase(s, t);
    t = tcase_create("bytes");
    tcase_add_test(t, test_buf_refuses_growth_past_max);
    tcase_add_test(t, test_reader_rejects_short_and_trailing_input);
    tcase_add_test(t, test_checked_math_and_ct_equal);
    suite_add_tcase(s, t);
    t = tcase_create("encoding");
    tcase_add_test(t, test_hex_roundtrip_and_errors);
    tcase_add_test(t, test_base64_rfc4648_vectors);
    tcase_add_test(t, test_base64_rejects_noncanonical_and_unpadded);
    tcase_add_test(t, test_utf8_validation);
    suite_add_tcase(s, t);
    t = tcase_create("alloc");
    tcase_add_test(t, test_alloc_fail_after_k);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return tu_run(base_suite()); }
