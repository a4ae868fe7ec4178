/*
 * pvkit reference host: the clock's parameters under TCG
 *
 * The guest's TSC under TCG is cpus_get_elapsed_ticks(): the host's cycle
 * counter plus an offset that keeps it still while the VM is stopped
 * (cpu_disable_ticks()), or icount's nanoseconds.  The kit's system time
 * is a fixed linear function of it, anchored when the device is realized,
 * so it stands still with the TSC, never goes back, and is the same on
 * every vCPU.  Only the counter's rate is unknown to QEMU: measure it
 * once against CLOCK_MONOTONIC_RAW, which no NTP slews, from the
 * tightest bracketed readings at both ends.
 *
 * The records themselves are written by pvkit-clock.c (dispatcher).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "system/cpu-timers.h"
#include "pvkit-internal.h"

/* How long to watch the host's counter against CLOCK_MONOTONIC_RAW. */
#define PVKIT_CALIBRATE_NS  (20 * SCALE_MS)
/* Readings taken at each end; the tightest pair is kept. */
#define PVKIT_CALIBRATE_TRIES   8
/* Counter rates believed: 1 MHz to 100 GHz. */
#define PVKIT_HZ_MIN        1000000ull
#define PVKIT_HZ_MAX        100000000000ull

static int64_t pvkit_raw_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

/*
 * One (counter, ns) pair: the clock read between two counter reads, the
 * pair with the fewest ticks between them kept, so that a thread
 * preempted between two reads does not skew the rate.
 */
static void pvkit_calibration_point(int64_t *ticks, int64_t *ns)
{
    int64_t best = INT64_MAX, c0, t, c1;
    int i;

    for (i = 0; i < PVKIT_CALIBRATE_TRIES; i++) {
        c0 = cpu_get_host_ticks();
        t = pvkit_raw_ns();
        c1 = cpu_get_host_ticks();
        if (c1 >= c0 && c1 - c0 < best) {
            best = c1 - c0;
            *ticks = c0 + (c1 - c0) / 2;
            *ns = t;
        }
    }
}

/*
 * The host cycle counter's rate in Hz, measured over PVKIT_CALIBRATE_NS;
 * 0 when what was measured cannot be a counter's rate.
 */
static uint64_t pvkit_host_ticks_hz(void)
{
    int64_t c0 = 0, t0 = 0, c1 = 0, t1 = 0;
    uint64_t hz;

    pvkit_calibration_point(&c0, &t0);
    while (pvkit_raw_ns() - t0 < PVKIT_CALIBRATE_NS) {
        /* wait */
    }
    pvkit_calibration_point(&c1, &t1);
    if (c1 <= c0 || t1 <= t0) {
        return 0;
    }
    hz = ((unsigned __int128)(c1 - c0) * NANOSECONDS_PER_SECOND) /
         (uint64_t)(t1 - t0);
    return hz >= PVKIT_HZ_MIN && hz <= PVKIT_HZ_MAX ? hz : 0;
}

/*
 * ns = (delta << shift or >> -shift) * mul >> 32, with mul in
 * [2^31, 2^32): the most precision a 32-bit multiplier gives.
 */
static void pvkit_clock_scale(uint64_t hz, uint32_t *mul, int8_t *shift)
{
    int s = 0;

    /* Find s with 2^31 <= 10^9 * 2^(32 - s) / hz < 2^32. */
    while (((unsigned __int128)NANOSECONDS_PER_SECOND << (32 - s)) / hz >=
           (1ull << 32)) {
        s++;
    }
    while (((unsigned __int128)NANOSECONDS_PER_SECOND << (32 - s)) / hz <
           (1ull << 31)) {
        s--;
    }
    *mul = ((unsigned __int128)NANOSECONDS_PER_SECOND << (32 - s)) / hz;
    *shift = s;
}

bool pvkit_clock_init(PVKitState *s)
{
    uint64_t hz = icount_enabled() ? NANOSECONDS_PER_SECOND :
                  pvkit_host_ticks_hz();

    if (!hz) {
        return false;
    }
    s->clock_hz = hz;
    pvkit_clock_scale(hz, &s->clock_mul, &s->clock_shift);
    s->clock_tsc0 = cpus_get_elapsed_ticks();
    s->clock_sys0 = 0;
    /*
     * Every vCPU's TSC is cpu_get_ticks(), one counter for all of them,
     * read under a lock and never let go back (cpu_get_ticks_locked()),
     * whatever the host's own TSCs do: the records are the same on
     * every vCPU and readings on two of them are ordered.
     */
    s->clock_stable = true;
    return true;
}

/* The system time at guest TSC @tsc (SPEC section 13's formula). */
static uint64_t pvkit_clock_at(PVKitState *s, uint64_t tsc)
{
    uint64_t delta = tsc - s->clock_tsc0;

    delta = s->clock_shift >= 0 ? delta << s->clock_shift :
            delta >> -s->clock_shift;
    return s->clock_sys0 + (((unsigned __int128)delta * s->clock_mul) >> 32);
}

/*
 * After loading, the anchor and scale are the source's, but the TSC now
 * runs at this host's rate: re-anchor at the current TSC with the time
 * the source's parameters give for it (so time goes on from where it
 * was), scale with this host's rate, and rewrite every record.
 */
void pvkit_clock_post_load(PVKitState *s)
{
    uint64_t tsc = cpus_get_elapsed_ticks();

    s->clock_sys0 = pvkit_clock_at(s, tsc);
    s->clock_tsc0 = tsc;
    pvkit_clock_scale(s->clock_hz, &s->clock_mul, &s->clock_shift);
    pvkit_clock_update_all(&pvkit_host_ops, s);
}

void pvkit_clock_params(void *opaque, struct pvkit_time_info *p)
{
    PVKitState *s = opaque;

    p->tsc_timestamp = s->clock_tsc0;
    p->system_time = s->clock_sys0;
    p->tsc_to_system_mul = s->clock_mul;
    p->tsc_shift = s->clock_shift;
    p->flags = s->clock_stable ? PVKIT_TIME_TSC_STABLE : 0;
}

void pvkit_clock_wall(void *opaque, struct pvkit_wall_clock *w)
{
    PVKitState *s = opaque;
    struct timespec ts;

    w->system_time = pvkit_clock_at(s, cpus_get_elapsed_ticks());
    clock_gettime(CLOCK_REALTIME, &ts);
    w->sec = ts.tv_sec;
    w->nsec = ts.tv_nsec;
    w->pad = 0;
}
