/* base_alloc: the allocator every ledger module uses, with a fault-injection
 * hook that fails the k-th allocation (SQLite test_malloc.c, curl torture). */
#include "base/base.h"

#include <stdatomic.h>
#include <string.h>

/* < 0: disabled; otherwise the number of allocations still allowed. */
static atomic_long fail_countdown = -1;
static atomic_long failed_count = 0;

static bool should_fail(void)
{
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (c >= 0) {
        if (c == 0) {
            atomic_fetch_add(&failed_count, 1);
            return true;
        }
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1)) return false;
    }
    return false;
}

void mla_alloc_fail_after(long k)
{
    atomic_store(&failed_count, 0);
    atomic_store(&fail_countdown, k);
}

void mla_alloc_fail_reset(void) { atomic_store(&fail_countdown, -1); }

long mla_alloc_failed_count(void) { return atomic_load(&failed_count); }

void *mla_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *mla_calloc(size_t count, size_t size)
{
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *mla_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void mla_free(void *p) { free(p); }

char *mla_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n), total;
    if (!mla_add_size(&total, len, 1)) return NULL;
    char *out = mla_malloc(total);
    if (!out) return NULL;
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}
