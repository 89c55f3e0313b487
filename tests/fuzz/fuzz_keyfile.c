/* fuzz_keyfile: the key-file parser (crypto_keyfile.c) on arbitrary bytes.
 * The parser reads from a path, so each input goes through one private
 * temporary file (0600, as a private key file must be). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        if (mla_crypto_init() != MLA_OK) abort();
        snprintf(path, sizeof path, "/tmp/mla-fuzz-keyfile-%ld", (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    if (chmod(path, 0600) != 0) abort();
    mla_pubkey pub;
    mla_privkey *k = NULL;
    mla_status pub_rc = mla_crypto_keyfile_read_public(&pub, path);
    mla_status priv_rc = mla_crypto_keyfile_read_private(&k, path);
    /* A valid private file also reads as a public one, with the same key. */
    if (priv_rc == MLA_OK) {
        if (pub_rc != MLA_OK) abort();
        if (!mla_ct_equal(pub.b, mla_crypto_key_public(k)->b, 32)) abort();
    }
    mla_crypto_key_free(k);
    unlink(path);
    return 0;
}
