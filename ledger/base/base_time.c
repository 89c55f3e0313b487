/* base_time: wall and monotonic clocks in nanoseconds. */
#include "base/base.h"

#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    MLA_ASSERT(clock_gettime(id, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mla_time_now_ns(void) { return read_clock(CLOCK_REALTIME); }

int64_t mla_time_mono_ns(void) { return read_clock(CLOCK_MONOTONIC); }
