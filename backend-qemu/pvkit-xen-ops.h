/*
 * QEMU's Xen backend operations over the pvkit device
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_PVKIT_XEN_OPS_H
#define HW_PVKIT_XEN_OPS_H

struct XenstoreImplState;

/*
 * Fill in xen_evtchn_ops, xen_gnttab_ops, xen_foreignmem_ops and
 * xen_xenstore_ops with implementations over the pvkit device's event
 * channels, grant tables and the store @xs, for a guest that is domain
 * @guest_domid.  Fails (false, @errp set) when any table is already
 * taken, e.g. by KVM's Xen emulation.
 */
bool pvkit_xen_ops_install(struct XenstoreImplState *xs,
                           unsigned int guest_domid, Error **errp);

/*
 * Clear the tables again.  Handles that Xen devices still hold stay
 * valid memory; their operations fail with ENOENT from then on.
 */
void pvkit_xen_ops_uninstall(void);

#endif /* HW_PVKIT_XEN_OPS_H */
