/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher: what pvkit-dispatch.c, pvkit-evtchn.c and
 * pvkit-gnttab.c share.  Not for the host (pvkit-dispatch.h is its API).
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

/* PVKIT_HC_GNTTAB_SETUP and PVKIT_HC_TEST_GRANT. */
int64_t pvkit_hc_gnttab_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t gpa, uint64_t nr);
int64_t pvkit_hc_test_grant(const PVKitHostOps *ops, void *opaque,
                            const uint64_t args[5]);

#endif /* HW_PVKIT_DISPATCH_INTERNAL_H */
