/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, TLB flush (PVKIT_F_TLB_FLUSH): one call
 * drops the TLB entries of a set of vCPUs, which the host does itself:
 * no interrupt reaches the targets, whether they run, are parked or are
 * held off by the host.  See pvkit-dispatch.h for the contract and
 * hypercall/SPEC.md section 16 for the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

#define PVKIT_PAGE_SHIFT    12

/* 0, or -PVKIT_EINVAL for a range that is not whole pages in 2^64. */
static int check_range(uint64_t va, uint64_t pages)
{
    if (!pages) {
        return va ? -PVKIT_EINVAL : 0;
    }
    if ((va & (PVKIT_PAGE_SIZE - 1)) ||
        pages > (UINT64_MAX >> PVKIT_PAGE_SHIFT) ||
        !pvkit_range_ok(va, pages << PVKIT_PAGE_SHIFT)) {
        return -PVKIT_EINVAL;
    }
    return 0;
}

/*
 * TLB_FLUSH: every vCPU of the set is checked first, so a set naming one
 * that does not exist flushes none, as VCPU_SEND_IPI interrupts none.
 */
int64_t pvkit_hc_tlb_flush(const PVKitHostOps *ops, void *opaque,
                           const uint64_t args[5])
{
    PVKitTlbStats *st = &ops->tlb(opaque)->stats;
    uint64_t first = args[0], bitmap = args[1], va = args[2];
    uint64_t pages = args[3], bits;
    int64_t n = 0;
    int ret;

    if (args[4] || first >= PVKIT_MAX_VCPUS) {
        return -PVKIT_EINVAL;
    }
    ret = check_range(va, pages);
    for (bits = bitmap; bits && !ret; bits &= bits - 1) {
        ret = pvkit_check_vcpu(ops, opaque,
                               first + (uint64_t)__builtin_ctzll(bits));
    }
    if (ret) {
        return ret;
    }
    for (bits = bitmap; bits; bits &= bits - 1) {
        ops->tlb_flush(opaque, (uint32_t)(first + __builtin_ctzll(bits)),
                       va, pages);
        n++;
    }
    if (n) {
        ops->tlb_flush_sync(opaque);
        st->flushes++;
        st->targets += (uint64_t)n;
        st->full += pages ? 0 : (uint64_t)n;
    }
    return n;
}
