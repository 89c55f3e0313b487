/* fuzz_report_json: arbitrary bytes as the JSON form of a report
 * (mla_report__json_read), against a fixed log key so the checkpoint's
 * signature is checked. Must never crash or leak; aborts when an invariant
 * breaks: a refusal leaves no report, an accepted report passes the offline
 * checks or fails them with MLA_ECORRUPT / MLA_EDENIED, and writing it, reading
 * that back and writing again gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "reports/report_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mla_note_verifier log_key;

static void init_once(void)
{
    static bool done;
    if (done) return;
    if (mla_crypto_init() != MLA_OK) abort();
    /* The key tests/fuzz/corpus/report_json/ checkpoints are signed with
     * (as the note corpus: seed 0x42, name example.com/mlaudit). */
    uint8_t seed[MLA_ED25519_SEED_LEN];
    mla_privkey *k = NULL;
    memset(seed, 0x42, sizeof seed);
    if (mla_crypto_key_from_seed(&k, seed) != MLA_OK) abort();
    if (mla_note_verifier_init(&log_key, mla_slice_cstr("example.com/mlaudit"),
                               mla_crypto_key_public(k)) != MLA_OK)
        abort();
    mla_crypto_key_free(k);
    done = true;
}

/* The JSON form of r in a malloc'd buffer. */
static char *write_json(const mla_report *r, size_t *len)
{
    char *mem = NULL;
    FILE *f = open_memstream(&mem, len);
    if (!f) abort();
    if (mla_report__json_write(r, f, false) != MLA_OK) abort();
    if (fclose(f) != 0) abort();
    return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    mla_report *r = NULL, *back = NULL;
    void *stated = NULL, *stated2 = NULL;
    mla_status rc = mla_report__json_read(&r, &stated, mla_slice_make(data, size), &log_key, NULL);
    if (rc != MLA_OK) {
        if (r || stated) abort();
        return 0;
    }
    mla_report_check_result res;
    rc = mla_report__check(&res, r, r->ev.admin_keys, r->ev.n_admin_keys);
    if (rc != MLA_OK && rc != MLA_ECORRUPT && rc != MLA_EDENIED) abort();

    /* What was read (its model left empty) writes the same bytes after one
     * more round through the reader. */
    size_t len1, len2;
    char *j1 = write_json(r, &len1);
    if (mla_report__json_read(&back, &stated2, mla_slice_make(j1, len1), &log_key, NULL) != MLA_OK)
        abort();
    char *j2 = write_json(back, &len2);
    if (len1 != len2 || memcmp(j1, j2, len1) != 0) abort();
    free(j1);
    free(j2);
    json_decref(stated2);
    mla_report_free(back);
    json_decref(stated);
    mla_report_free(r);
    return 0;
}
