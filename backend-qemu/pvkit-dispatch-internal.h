/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher: what pvkit-dispatch.c, pvkit-evtchn.c,
 * pvkit-vcpu.c, pvkit-clock.c, pvkit-steal.c, pvkit-spin.c, pvkit-tlb.c
 * and pvkit-gnttab.c share.  Not for the host
 * (pvkit-dispatch.h is its API).
 */
#ifndef HW_PVKIT_DISPATCH_INTERNAL_H
#define HW_PVKIT_DISPATCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pvkit-dispatch.h"

/* True when [gpa, gpa + len) does not wrap around the address space. */
static inline bool pvkit_range_ok(uint64_t gpa, uint64_t len)
{
    return len == 0 || gpa <= UINT64_MAX - (len - 1);
}

/* Event-channel hypercalls (PVKIT_HC_SHARED_INFO..EVTCHN_BIND_VCPU). */
int64_t pvkit_hc_evtchn(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                        const uint64_t args[5]);

/* 0, -PVKIT_EINVAL (out of range) or -PVKIT_ENOENT (no such vCPU). */
int pvkit_check_vcpu(const PVKitHostOps *ops, void *opaque, uint64_t vcpu);

/*
 * Where @vcpu's event state is: its registered area, else its slot in
 * the shared-info page @si; NULL when it has neither.
 */
struct pvkit_vcpu_info *pvkit_vcpu_info(const PVKitHostOps *ops,
                                        void *opaque, PVKitEvtchnState *ec,
                                        struct pvkit_shared_info *si,
                                        uint32_t vcpu);
/* The dispatcher wrote @vcpu's vcpu_info: mark that memory dirty. */
void pvkit_vcpu_info_written(const PVKitHostOps *ops, void *opaque,
                             PVKitEvtchnState *ec, uint32_t vcpu);
/* Every vCPU back to its slot; registered areas are never written again. */
void pvkit_vcpu_info_drop_all(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec);

/* PVKIT_HC_VCPU_INFO and PVKIT_HC_VCPU_SEND_IPI (pvkit-vcpu.c). */
int64_t pvkit_hc_vcpu(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                      const uint64_t args[5]);

/*
 * Raise an event on every port bound to host @endpoint (a
 * PVKIT_ENDPOINT_* the host itself drives); returns how many.
 */
unsigned int pvkit_evtchn_raise_endpoint(const PVKitHostOps *ops,
                                         void *opaque, uint16_t endpoint);

/*
 * The checks every per-vCPU record registration (CLOCK_SETUP,
 * STEAL_SETUP) makes before anything changes: 0, or -PVKIT_EINVAL /
 * -PVKIT_ENOENT for the vCPU, -PVKIT_EINVAL for flags or a @gpa not
 * @align-aligned (a power of two: the record never crosses a page).
 */
static inline int pvkit_check_record(const PVKitHostOps *ops, void *opaque,
                                     uint64_t vcpu, uint64_t gpa,
                                     uint64_t flags, uint64_t align)
{
    int ret = pvkit_check_vcpu(ops, opaque, vcpu);

    if (ret) {
        return ret;
    }
    return flags || (gpa & (align - 1)) ? -PVKIT_EINVAL : 0;
}

/* PVKIT_HC_CLOCK_SETUP and PVKIT_HC_CLOCK_WALL (pvkit-clock.c). */
int64_t pvkit_hc_clock(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5]);

/* PVKIT_HC_STEAL_SETUP (pvkit-steal.c). */
int64_t pvkit_hc_steal(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5]);

/* PVKIT_HC_SPIN_WAIT and PVKIT_HC_SPIN_KICK (pvkit-spin.c). */
int64_t pvkit_hc_spin(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                      const uint64_t args[5]);

/*
 * The calling vCPU runs: a wait it was parked in has ended (woken by an
 * interrupt, not a kick), so a kick from now on is for its next wait.
 */
void pvkit_spin_running(const PVKitHostOps *ops, void *opaque);

/* PVKIT_HC_TLB_FLUSH (pvkit-tlb.c). */
int64_t pvkit_hc_tlb_flush(const PVKitHostOps *ops, void *opaque,
                           const uint64_t args[5]);

/* PVKIT_HC_GNTTAB_SETUP and PVKIT_HC_TEST_GRANT. */
int64_t pvkit_hc_gnttab_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t gpa, uint64_t nr);
int64_t pvkit_hc_test_grant(const PVKitHostOps *ops, void *opaque,
                            const uint64_t args[5]);

#endif /* HW_PVKIT_DISPATCH_INTERNAL_H */
