/* crypto_int.h: private to ledger/crypto. */
#ifndef MLA_CRYPTO_INT_H
#define MLA_CRYPTO_INT_H

#include <gcrypt.h>

#include "crypto/crypto.h"

/* Initialise libgcrypt if nobody has; aborts if it cannot (hashing has no
 * error path, so the library must be usable before any hash is taken). */
void mla_crypto__require_init(void);

/* The key's 32-byte seed, in libgcrypt secure memory; borrowed until the key
 * is freed. For crypto_keyfile.c, which writes it; never copy it elsewhere. */
const uint8_t *mla_crypto__key_seed(const mla_privkey *k);

#endif
