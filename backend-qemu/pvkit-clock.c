/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, clock (PVKIT_F_CLOCK): the per-vCPU time
 * records the host keeps current and the real-time query.  See
 * pvkit-dispatch.h for the contract and hypercall/SPEC.md section 13 for
 * the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

/* A record is 32 bytes and 32-byte aligned: it never crosses a page. */
#define PVKIT_TIME_INFO_ALIGN   32
#define PVKIT_WALL_CLOCK_ALIGN  8

_Static_assert(sizeof(struct pvkit_time_info) == PVKIT_TIME_INFO_ALIGN,
               "time record size");
_Static_assert(sizeof(struct pvkit_wall_clock) == 24, "wall clock size");

/*
 * Rewrite @rec from @p as a sequence count (SPEC section 13): odd
 * version, fields, even version.  The guest may scribble on the version
 * too; whatever it holds, the host's first store makes it odd and its
 * last one even and different.
 */
static void write_record(struct pvkit_time_info *rec,
                         const struct pvkit_time_info *p)
{
    uint32_t v = __atomic_load_n(&rec->version, __ATOMIC_RELAXED);

    v = (v + 1) | 1;
    __atomic_store_n(&rec->version, v, __ATOMIC_RELAXED);
    /* The odd version is seen before any field changes. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&rec->pad0, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->tsc_timestamp, p->tsc_timestamp, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->system_time, p->system_time, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->tsc_to_system_mul, p->tsc_to_system_mul,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&rec->tsc_shift, p->tsc_shift, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->flags, p->flags, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->pad[0], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->pad[1], 0, __ATOMIC_RELAXED);
    /* Pairs with the guest's read of the version after the fields. */
    __atomic_store_n(&rec->version, v + 1, __ATOMIC_RELEASE);
}

static void update_one(const PVKitHostOps *ops, void *opaque,
                       PVKitClockState *cs, uint32_t vcpu,
                       const struct pvkit_time_info *p)
{
    struct pvkit_time_info *rec = ops->clock_area(opaque, vcpu);

    if (!rec) {
        return;
    }
    write_record(rec, p);
    ops->clock_written(opaque, vcpu);
    cs->stats.updates++;
}

void pvkit_clock_update_all(const PVKitHostOps *ops, void *opaque)
{
    PVKitClockState *cs = ops->clock(opaque);
    struct pvkit_time_info p = { 0 };
    uint32_t v;

    ops->clock_params(opaque, &p);
    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (cs->gpa[v]) {
            update_one(ops, opaque, cs, v, &p);
        }
    }
}

void pvkit_clock_notify(const PVKitHostOps *ops, void *opaque)
{
    PVKitClockState *cs = ops->clock(opaque);

    cs->stats.notifies += pvkit_evtchn_raise_endpoint(ops, opaque,
                                                      PVKIT_ENDPOINT_CLOCK);
}

void pvkit_clock_reset(const PVKitHostOps *ops, void *opaque)
{
    PVKitClockState *cs = ops->clock(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (cs->gpa[v]) {
            ops->clock_set(opaque, v, 0);
            cs->gpa[v] = 0;
        }
    }
}

/*
 * CLOCK_SETUP: keep @vcpu's record at @gpa current, or stop (@gpa 0).
 * Every argument is checked before anything changes.
 */
static int64_t hc_clock_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t vcpu, uint64_t gpa, uint64_t flags)
{
    PVKitClockState *cs = ops->clock(opaque);
    struct pvkit_time_info p = { 0 };
    int ret = pvkit_check_record(ops, opaque, vcpu, gpa, flags,
                                 PVKIT_TIME_INFO_ALIGN);

    if (ret) {
        return ret;
    }
    if (!gpa) {
        if (cs->gpa[vcpu]) {
            ops->clock_set(opaque, (uint32_t)vcpu, 0);
            cs->gpa[vcpu] = 0;
        }
        return 0;
    }
    if (ops->clock_set(opaque, (uint32_t)vcpu, gpa)) {
        return -PVKIT_EFAULT;
    }
    cs->gpa[vcpu] = gpa;
    ops->clock_params(opaque, &p);
    update_one(ops, opaque, cs, (uint32_t)vcpu, &p);
    return 0;
}

/* CLOCK_WALL: the host's real time and the system time read with it. */
static int64_t hc_clock_wall(const PVKitHostOps *ops, void *opaque,
                             uint64_t gpa, uint64_t flags)
{
    struct pvkit_wall_clock w = { 0 };

    if (flags || (gpa & (PVKIT_WALL_CLOCK_ALIGN - 1))) {
        return -PVKIT_EINVAL;
    }
    if (ops->mem_check(opaque, gpa, sizeof(w), true)) {
        return -PVKIT_EFAULT;
    }
    ops->clock_wall(opaque, &w);
    ops->clock(opaque)->stats.walls++;
    return ops->mem_write(opaque, gpa, &w, sizeof(w)) ? -PVKIT_EFAULT : 0;
}

int64_t pvkit_hc_clock(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5])
{
    switch (nr) {
    case PVKIT_HC_CLOCK_SETUP:
        return hc_clock_setup(ops, opaque, args[0], args[1], args[2]);
    case PVKIT_HC_CLOCK_WALL:
        return hc_clock_wall(ops, opaque, args[0], args[1]);
    default:
        return -PVKIT_ENOSYS;
    }
}
