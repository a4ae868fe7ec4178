/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, per-vCPU operations (PVKIT_F_VCPU): where
 * each vCPU's event state lives, and interrupts sent to a set of vCPUs in
 * one call.  See pvkit-dispatch.h for the contract and hypercall/SPEC.md
 * section 6 for the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

_Static_assert(PVKIT_MAX_VCPUS <= 256, "vcpu fits the status encoding");
_Static_assert(PVKIT_SHARED_INFO_VCPUS <= PVKIT_MAX_VCPUS, "slots");

/* Alignment of a registered vcpu_info: one cache line, never split. */
#define PVKIT_VCPU_INFO_ALIGN   64

int pvkit_check_vcpu(const PVKitHostOps *ops, void *opaque, uint64_t vcpu)
{
    if (vcpu >= PVKIT_MAX_VCPUS) {
        return -PVKIT_EINVAL;
    }
    return ops->vcpu_exists(opaque, (uint32_t)vcpu) ? 0 : -PVKIT_ENOENT;
}

struct pvkit_vcpu_info *pvkit_vcpu_info(const PVKitHostOps *ops,
                                        void *opaque, PVKitEvtchnState *ec,
                                        struct pvkit_shared_info *si,
                                        uint32_t vcpu)
{
    if (ec->vcpu_info_gpa[vcpu]) {
        return ops->vcpu_info_area(opaque, vcpu);
    }
    if (si && vcpu < PVKIT_SHARED_INFO_VCPUS) {
        return &si->vcpu_info[vcpu];
    }
    return NULL;
}

void pvkit_vcpu_info_written(const PVKitHostOps *ops, void *opaque,
                             PVKitEvtchnState *ec, uint32_t vcpu)
{
    if (ec->vcpu_info_gpa[vcpu]) {
        ops->vcpu_info_written(opaque, vcpu);
    } else {
        ops->shared_written(opaque);
    }
}

void pvkit_vcpu_info_drop_all(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec)
{
    uint32_t v;

    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (ec->vcpu_info_gpa[v]) {
            ops->vcpu_info_set(opaque, v, 0);
            ec->vcpu_info_gpa[v] = 0;
        }
    }
}

/*
 * Carry what the old place flagged (@from: a copy taken before the move)
 * over to the new one, so that an event flagged in between is not lost
 * with the move, and raise the upcall for it.  The old place is only
 * read: after a move it may be guest memory used for something else.
 */
static void carry_flags(const PVKitHostOps *ops, void *opaque,
                        PVKitEvtchnState *ec, uint32_t vcpu,
                        const struct pvkit_vcpu_info *from,
                        struct pvkit_vcpu_info *to)
{
    uint64_t sel = from->evtchn_pending_sel;
    uint8_t pending = from->evtchn_upcall_pending;

    if (!sel && !pending) {
        return;
    }
    __atomic_fetch_or(&to->evtchn_pending_sel, sel, __ATOMIC_SEQ_CST);
    __atomic_store_n(&to->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    if (ec->upcall_vector[vcpu] &&
        !__atomic_load_n(&to->evtchn_upcall_mask, __ATOMIC_SEQ_CST)) {
        ec->stats.injections++;
        ops->inject(opaque, vcpu, ec->upcall_vector[vcpu]);
    }
}

/*
 * VCPU_INFO: move @vcpu's vcpu_info to @gpa, or back to its shared-info
 * slot (@gpa 0).  Every argument is checked before anything changes.
 */
static int64_t hc_vcpu_info(const PVKitHostOps *ops, void *opaque,
                            PVKitEvtchnState *ec, uint64_t vcpu,
                            uint64_t gpa)
{
    struct pvkit_vcpu_info old = { 0 }, *from;
    int ret = pvkit_check_vcpu(ops, opaque, vcpu);

    if (ret) {
        return ret;
    }
    if ((gpa & (PVKIT_VCPU_INFO_ALIGN - 1)) ||
        (!gpa && vcpu >= PVKIT_SHARED_INFO_VCPUS)) {
        return -PVKIT_EINVAL;
    }
    if (gpa == ec->vcpu_info_gpa[vcpu]) {
        return 0;
    }
    if (!gpa) {
        /* Back to the slot; the area is dropped, never written again. */
        ops->vcpu_info_set(opaque, (uint32_t)vcpu, 0);
        ec->vcpu_info_gpa[vcpu] = 0;
        return 0;
    }
    /*
     * Read the old place's flags before mapping the new one: the host
     * keeps a single mapping per vCPU, which the new area replaces.
     */
    from = pvkit_vcpu_info(ops, opaque, ec, ops->shared_page(opaque),
                           (uint32_t)vcpu);
    if (from) {
        old.evtchn_pending_sel =
            __atomic_load_n(&from->evtchn_pending_sel, __ATOMIC_SEQ_CST);
        old.evtchn_upcall_pending =
            __atomic_load_n(&from->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
    }
    if (ops->vcpu_info_set(opaque, (uint32_t)vcpu, gpa)) {
        return -PVKIT_EFAULT;
    }
    ec->vcpu_info_gpa[vcpu] = gpa;
    carry_flags(ops, opaque, ec, (uint32_t)vcpu, &old,
                ops->vcpu_info_area(opaque, (uint32_t)vcpu));
    ops->vcpu_info_written(opaque, (uint32_t)vcpu);
    return 0;
}

/*
 * VCPU_SEND_IPI: @vector to every vCPU first + n, n a set bit of @bitmap.
 * All of them are checked first: a set naming one vCPU that does not
 * exist interrupts none.
 */
static int64_t hc_vcpu_send_ipi(const PVKitHostOps *ops, void *opaque,
                                PVKitEvtchnState *ec, uint64_t first,
                                uint64_t bitmap, uint64_t vector)
{
    uint64_t bits;
    int64_t sent = 0;
    int ret;

    if (vector < PVKIT_UPCALL_VECTOR_MIN || vector > PVKIT_UPCALL_VECTOR_MAX ||
        first >= PVKIT_MAX_VCPUS) {
        return -PVKIT_EINVAL;
    }
    for (bits = bitmap; bits; bits &= bits - 1) {
        ret = pvkit_check_vcpu(ops, opaque,
                               first + (uint64_t)__builtin_ctzll(bits));
        if (ret) {
            return ret;
        }
    }
    for (bits = bitmap; bits; bits &= bits - 1) {
        ops->inject(opaque, (uint32_t)(first + __builtin_ctzll(bits)),
                    (uint8_t)vector);
        sent++;
    }
    ec->stats.ipis += (uint64_t)sent;
    return sent;
}

int64_t pvkit_hc_vcpu(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                      const uint64_t args[5])
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);

    switch (nr) {
    case PVKIT_HC_VCPU_INFO:
        return hc_vcpu_info(ops, opaque, ec, args[0], args[1]);
    case PVKIT_HC_VCPU_SEND_IPI:
        return hc_vcpu_send_ipi(ops, opaque, ec, args[0], args[1], args[2]);
    default:
        return -PVKIT_ENOSYS;
    }
}
