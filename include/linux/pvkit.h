/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit guest interface, the core: is the kit there, what does the host
 * offer, and the hypercall itself.  Event channels, grant tables and the
 * store have headers of their own (<linux/pvkit_evtchn.h>,
 * <linux/pvkit_gnttab.h>, <linux/pvkit_store.h>); the ABI is in
 * <uapi/linux/pvkit.h>.
 */
#ifndef _LINUX_PVKIT_H
#define _LINUX_PVKIT_H

#include <linux/types.h>
#include <uapi/linux/pvkit.h>

/*
 * Memory shared with the host's device models (rings, event-channel
 * bitmaps, grant entries) is ordered with the kernel's virt_*() barriers,
 * as any paravirtual frontend does: each says which host-side access it
 * pairs with.
 */

#ifdef CONFIG_PVKIT_GUEST

bool pvkit_available(void);
u32 pvkit_abi_version(void);
u64 pvkit_features(void);
u32 pvkit_cpuid_base(void);
bool pvkit_is_layered(void);

long pvkit_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		     unsigned long a2, unsigned long a3, unsigned long a4);
/* Test-only (symbol namespace PVKIT_TEST). */
long pvkit_hypercall_untabled(unsigned int nr, unsigned long a0,
			      unsigned long a1, unsigned long a2,
			      unsigned long a3, unsigned long a4);

#else /* !CONFIG_PVKIT_GUEST */

static inline bool pvkit_available(void)
{
	return false;
}

#endif /* CONFIG_PVKIT_GUEST */

#endif /* _LINUX_PVKIT_H */
