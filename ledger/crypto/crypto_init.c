/* crypto_init: libgcrypt's one-time initialisation (version check, secure
 * memory for private keys), shared by every crypto file. */
#include "crypto/crypto_int.h"

#include <pthread.h>

/* libgcrypt 1.10 is Debian 12's; it has Ed25519 with (flags eddsa). */
#define MLA_GCRYPT_MIN_VERSION "1.10.0"
/* Secure memory pool for private key seeds; each key needs well under 1 KiB. */
#define MLA_SECMEM_BYTES (64 * 1024)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static mla_status init_status = MLA_EIO;

static void init_gcrypt(void)
{
    if (!gcry_check_version(MLA_GCRYPT_MIN_VERSION)) return;
    /* Another library in the process may have initialised libgcrypt already;
     * then its configuration stands. */
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
        if (gcry_control(GCRYCTL_INIT_SECMEM, MLA_SECMEM_BYTES, 0)) return;
        /* gcry_pk_sign copies the message into secure memory next to a
         * secure key; a fixed pool aborts the process ("Ohhhh jeeee") on a
         * large payload. Let the pool grow in steps instead. */
        if (gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, MLA_SECMEM_BYTES * 16, 0)) return;
        gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    init_status = MLA_OK;
}

mla_status mla_crypto_init(void)
{
    MLA_ASSERT(pthread_once(&init_once, init_gcrypt) == 0);
    if (init_status != MLA_OK)
        return mla_err(MLA_EIO, "crypto: libgcrypt %s or newer could not be initialised",
                       MLA_GCRYPT_MIN_VERSION);
    return MLA_OK;
}

void mla_crypto__require_init(void)
{
    MLA_ASSERT(pthread_once(&init_once, init_gcrypt) == 0);
    MLA_ASSERT(init_status == MLA_OK);
}
