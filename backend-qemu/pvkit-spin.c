/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, spinlocks (PVKIT_F_SPIN): a lock waiter
 * parks its vCPU instead of spinning on a holder the host may not be
 * running, and whoever hands the lock on kicks it awake.  See
 * pvkit-dispatch.h for the contract and hypercall/SPEC.md section 15 for
 * the ABI.
 *
 * The wait and the kick race only through state kept here under the
 * host's lock: a kick that finds its target parked wakes it, any other
 * is kept for the target's next wait.  The lock byte is read under the
 * same lock before parking, so a holder that changed it before kicking
 * can never leave the waiter parked.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

void pvkit_spin_running(const PVKitHostOps *ops, void *opaque)
{
    uint32_t self = ops->vcpu_self(opaque);

    if (self < PVKIT_MAX_VCPUS) {
        ops->spin(opaque)->waiting[self] = 0;
    }
}

/*
 * SPIN_WAIT: park the caller while the byte at @gpa holds @value.  A kick
 * kept for it ends this wait before it starts.
 */
static int64_t hc_spin_wait(const PVKitHostOps *ops, void *opaque,
                            uint64_t gpa, uint64_t value, uint64_t flags)
{
    PVKitSpinState *sp = ops->spin(opaque);
    uint32_t self = ops->vcpu_self(opaque);
    uint8_t byte;

    if (flags || value > UINT8_MAX || self >= PVKIT_MAX_VCPUS) {
        return -PVKIT_EINVAL;
    }
    if (ops->mem_read(opaque, gpa, &byte, 1)) {
        return -PVKIT_EFAULT;
    }
    sp->stats.waits++;
    if (sp->kick_pending[self]) {
        sp->kick_pending[self] = 0;
        return PVKIT_SPIN_WAIT_KICKED;
    }
    if (byte != value) {
        return PVKIT_SPIN_WAIT_CHANGED;
    }
    sp->waiting[self] = 1;
    sp->stats.blocks++;
    ops->vcpu_block(opaque, self);
    return PVKIT_SPIN_WAIT_WOKEN;
}

/* SPIN_KICK: wake @vcpu's wait, or keep the kick for its next one. */
static int64_t hc_spin_kick(const PVKitHostOps *ops, void *opaque,
                            uint64_t vcpu, uint64_t flags)
{
    PVKitSpinState *sp = ops->spin(opaque);
    int ret = pvkit_check_vcpu(ops, opaque, vcpu);

    if (ret) {
        return ret;
    }
    if (flags) {
        return -PVKIT_EINVAL;
    }
    sp->stats.kicks++;
    if (sp->waiting[vcpu]) {
        sp->waiting[vcpu] = 0;
        if (ops->vcpu_unblock(opaque, (uint32_t)vcpu)) {
            sp->stats.wakes++;
            return PVKIT_SPIN_KICK_WOKE;
        }
        /* It ran already (an interrupt woke it): keep the kick. */
    }
    sp->kick_pending[vcpu] = 1;
    return PVKIT_SPIN_KICK_PENDING;
}

int64_t pvkit_hc_spin(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                      const uint64_t args[5])
{
    switch (nr) {
    case PVKIT_HC_SPIN_WAIT:
        return hc_spin_wait(ops, opaque, args[0], args[1], args[2]);
    case PVKIT_HC_SPIN_KICK:
        return hc_spin_kick(ops, opaque, args[0], args[1]);
    default:
        return -PVKIT_ENOSYS;
    }
}

void pvkit_spin_wake_all(const PVKitHostOps *ops, void *opaque)
{
    PVKitSpinState *sp = ops->spin(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (sp->waiting[v]) {
            sp->waiting[v] = 0;
            ops->vcpu_unblock(opaque, v);
        }
    }
}

void pvkit_spin_kick_all(const PVKitHostOps *ops, void *opaque)
{
    PVKitSpinState *sp = ops->spin(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        sp->waiting[v] = 0;
        sp->kick_pending[v] = 1;
    }
}

void pvkit_spin_reset(const PVKitHostOps *ops, void *opaque)
{
    PVKitSpinState *sp = ops->spin(opaque);
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        sp->waiting[v] = 0;
        sp->kick_pending[v] = 0;
    }
}
