/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, steal time (PVKIT_F_STEAL): each vCPU's
 * record of the time it was ready to run and the host ran something
 * else.  The host says how long its vCPU thread waited for a host CPU
 * (ops->steal_run_delay, the host scheduler's own count); this file
 * turns that into a record that only ever grows.  See pvkit-dispatch.h
 * for the contract and hypercall/SPEC.md section 14 for the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

/* A record is 64 bytes and 64-byte aligned: one cache line, one page. */
#define PVKIT_STEAL_ALIGN   64

_Static_assert(sizeof(struct pvkit_steal_time) == PVKIT_STEAL_ALIGN,
               "steal record size");

/*
 * Write @steal and @preempted into @rec as a sequence count: odd version,
 * the values, even version (whatever the guest left in the version).
 */
static void write_steal(struct pvkit_steal_time *rec, uint64_t steal,
                        uint8_t preempted)
{
    uint32_t v = __atomic_load_n(&rec->version, __ATOMIC_RELAXED);

    v = (v + 1) | 1;
    __atomic_store_n(&rec->version, v, __ATOMIC_RELAXED);
    /* The odd version is seen before the value changes. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&rec->steal, steal, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->flags, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->preempted, preempted, __ATOMIC_RELAXED);
    /* Pairs with the guest's read of the version after the value. */
    __atomic_store_n(&rec->version, v + 1, __ATOMIC_RELEASE);
}

/*
 * Add what @vcpu's thread waited since the last look.  A reading the host
 * could not take changes nothing; one below the last is a new thread (a
 * migration, a vCPU plugged again): counting goes on from it, so steal
 * never shrinks and never jumps by a whole thread's past.
 */
static uint64_t steal_now(const PVKitHostOps *ops, void *opaque,
                          PVKitStealState *st, uint32_t vcpu)
{
    uint64_t delay;

    if (ops->steal_run_delay(opaque, vcpu, &delay)) {
        return st->last[vcpu];
    }
    if (delay >= st->prev[vcpu]) {
        st->last[vcpu] += delay - st->prev[vcpu];
    }
    st->prev[vcpu] = delay;
    return st->last[vcpu];
}

/* Start counting @vcpu's waits from now (its steal so far stays). */
static void steal_start(const PVKitHostOps *ops, void *opaque,
                        PVKitStealState *st, uint32_t vcpu)
{
    uint64_t delay;

    st->prev[vcpu] = ops->steal_run_delay(opaque, vcpu, &delay) ? 0 : delay;
}

static void update_one(const PVKitHostOps *ops, void *opaque,
                       PVKitStealState *st, uint32_t vcpu)
{
    struct pvkit_steal_time *rec = ops->steal_area(opaque, vcpu);

    if (!rec) {
        return;
    }
    write_steal(rec, steal_now(ops, opaque, st, vcpu),
                ops->steal_preempted(opaque, vcpu) ? PVKIT_STEAL_PREEMPTED : 0);
    ops->steal_written(opaque, vcpu);
    st->stats.updates++;
}

void pvkit_steal_update(const PVKitHostOps *ops, void *opaque, uint32_t vcpu)
{
    PVKitStealState *st = ops->steal(opaque);

    if (vcpu < PVKIT_MAX_VCPUS && st->gpa[vcpu]) {
        update_one(ops, opaque, st, vcpu);
    }
}

unsigned int pvkit_steal_update_all(const PVKitHostOps *ops, void *opaque)
{
    PVKitStealState *st = ops->steal(opaque);
    unsigned int n = 0;
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (st->gpa[v]) {
            update_one(ops, opaque, st, v);
            n++;
        }
    }
    return n;
}

void pvkit_steal_restart(const PVKitHostOps *ops, void *opaque)
{
    PVKitStealState *st = ops->steal(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (st->gpa[v]) {
            steal_start(ops, opaque, st, v);
        }
    }
}

void pvkit_steal_reset(const PVKitHostOps *ops, void *opaque)
{
    PVKitStealState *st = ops->steal(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (st->gpa[v]) {
            ops->steal_set(opaque, v, 0);
            st->gpa[v] = 0;
        }
        st->last[v] = 0;
        st->prev[v] = 0;
    }
}

/*
 * STEAL_SETUP: keep @vcpu's record at @gpa current, or stop (@gpa 0).
 * Every argument is checked before anything changes.  The count goes on
 * from what the vCPU's last record said.
 */
static int64_t hc_steal_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t vcpu, uint64_t gpa, uint64_t flags)
{
    PVKitStealState *st = ops->steal(opaque);
    int ret = pvkit_check_record(ops, opaque, vcpu, gpa, flags,
                                 PVKIT_STEAL_ALIGN);

    if (ret) {
        return ret;
    }
    if (!gpa) {
        if (st->gpa[vcpu]) {
            steal_now(ops, opaque, st, (uint32_t)vcpu);
            ops->steal_set(opaque, (uint32_t)vcpu, 0);
            st->gpa[vcpu] = 0;
        }
        return 0;
    }
    if (ops->steal_set(opaque, (uint32_t)vcpu, gpa)) {
        return -PVKIT_EFAULT;
    }
    if (!st->gpa[vcpu]) {
        steal_start(ops, opaque, st, (uint32_t)vcpu);
    }
    st->gpa[vcpu] = gpa;
    update_one(ops, opaque, st, (uint32_t)vcpu);
    return 0;
}

int64_t pvkit_hc_steal(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5])
{
    if (nr != PVKIT_HC_STEAL_SETUP) {
        return -PVKIT_ENOSYS;
    }
    return hc_steal_setup(ops, opaque, args[0], args[1], args[2]);
}
