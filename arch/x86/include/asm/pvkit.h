/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit guest interface: what the rest of the kernel may call.
 */
#ifndef _ASM_X86_PVKIT_H
#define _ASM_X86_PVKIT_H

#include <linux/types.h>
#include <uapi/linux/pvkit.h>
#include <asm/barrier.h>

/*
 * Memory shared with the host's device models (rings, event-channel
 * bitmaps, grant entries) is ordered with the kernel's virt_*() barriers,
 * as any paravirtual frontend does: each says which host-side access it
 * pairs with.
 */

#ifdef CONFIG_PVKIT_GUEST

struct page;

bool pvkit_available(void);
u32 pvkit_abi_version(void);
u64 pvkit_features(void);
u32 pvkit_cpuid_base(void);
bool pvkit_is_layered(void);

long pvkit_hypercall(unsigned int nr, unsigned long a0, unsigned long a1,
		     unsigned long a2, unsigned long a3, unsigned long a4);
long pvkit_hypercall_untabled(unsigned int nr, unsigned long a0,
			      unsigned long a1, unsigned long a2,
			      unsigned long a3, unsigned long a4);

int pvkit_evtchn_bind_host(unsigned int endpoint);
int pvkit_evtchn_bind_ipi(unsigned int cpu);
int pvkit_evtchn_bind_existing(unsigned int port);
int pvkit_evtchn_send(unsigned int port);
unsigned int pvkit_evtchn_port(unsigned int irq);
int pvkit_evtchn_notify(unsigned int irq);
bool pvkit_evtchn_is_pending(unsigned int irq);
bool pvkit_evtchn_is_masked(unsigned int irq);
int pvkit_evtchn_cpu(unsigned int irq);

int pvkit_gnttab_grant(unsigned long pfn, bool readonly);
int pvkit_gnttab_revoke(unsigned int ref);
void pvkit_gnttab_revoke_deferred(unsigned int ref, struct page *page);
unsigned int pvkit_gnttab_in_use(void);
unsigned int pvkit_gnttab_free_count(void);
unsigned int pvkit_gnttab_nr_refs(void);

/* Granting through a reference the caller already holds. */
int pvkit_gnttab_grant_ref(unsigned int ref, unsigned long pfn,
			   bool readonly);
int pvkit_gnttab_end_access(unsigned int ref);

/**
 * struct pvkit_gnttab_resv - references set aside for one device
 * @refs: the unused ones, a stack
 * @size: references reserved (room in @refs)
 * @count: entries of @refs
 *
 * Zeroed before pvkit_gnttab_reserve(); the owner serialises its uses.
 */
struct pvkit_gnttab_resv {
	unsigned int *refs;
	unsigned int size;
	unsigned int count;
};

int pvkit_gnttab_reserve(struct pvkit_gnttab_resv *resv, unsigned int count);
void pvkit_gnttab_unreserve(struct pvkit_gnttab_resv *resv);
int pvkit_gnttab_claim(struct pvkit_gnttab_resv *resv);
void pvkit_gnttab_unclaim(struct pvkit_gnttab_resv *resv, unsigned int ref);

int pvkit_gnttab_alloc_range(unsigned int count);
void pvkit_gnttab_free_range(unsigned int first, unsigned int count);

/**
 * struct pvkit_gnttab_waiter - a device waiting for free references
 * @list: on the allocator's list while waiting; INIT_LIST_HEAD() first
 * @want: references it waits for
 * @func: called once that many are free (see pvkit_gnttab_wait_free())
 */
struct pvkit_gnttab_waiter {
	struct list_head list;
	unsigned int want;
	void (*func)(struct pvkit_gnttab_waiter *w);
};

bool pvkit_gnttab_wait_free(struct pvkit_gnttab_waiter *w, unsigned int want);
void pvkit_gnttab_cancel_wait(struct pvkit_gnttab_waiter *w);
void pvkit_evtchn_unbind(unsigned int irq);
void pvkit_evtchn_unbind_many(const unsigned int *irqs, unsigned int n);

int pvkit_store_read(const char *path, char *buf, size_t len);
int pvkit_store_write(const char *path, const char *value);
int pvkit_store_directory(const char *path, char *buf, size_t len);
int pvkit_store_rm(const char *path);

/*
 * Transactions: a transaction id from pvkit_store_transaction_start(),
 * or PVKIT_XBT_NULL for no transaction (what the calls above use).
 */
#define PVKIT_XBT_NULL	0U

int pvkit_store_transaction_start(u32 *tx);
int pvkit_store_transaction_end(u32 tx, bool commit);
int pvkit_store_tx_read(u32 tx, const char *path, char *buf, size_t len);
int pvkit_store_tx_write(u32 tx, const char *path, const char *value);
int pvkit_store_tx_directory(u32 tx, const char *path, char *buf, size_t len);
int pvkit_store_tx_rm(u32 tx, const char *path);

/**
 * struct pvkit_store_watch - a store watch (see pvkit_store_watch())
 * @path: node to watch, with its subtree
 * @callback: called with the path that changed
 * @list: private
 * @token: private
 */
struct pvkit_store_watch {
	const char *path;
	void (*callback)(struct pvkit_store_watch *watch, const char *path);
	struct list_head list;
	u32 token;
};

int pvkit_store_watch(struct pvkit_store_watch *watch);
void pvkit_store_unwatch(struct pvkit_store_watch *watch);

/* Internal to arch/x86/paravirt: boot-time setup steps. */
int __init pvkit_hypercall_init(void);
void __init pvkit_events_init_platform(void);
#ifdef CONFIG_SMP
void __init pvkit_ipi_init(void);
#else
static inline void pvkit_ipi_init(void) { }
#endif
void pvkit_events_shutdown(void);
void pvkit_gnttab_shutdown(void);
void __init pvkit_earlycon_init(void);

#else /* !CONFIG_PVKIT_GUEST */

static inline bool pvkit_available(void)
{
	return false;
}

#endif /* CONFIG_PVKIT_GUEST */

#endif /* _ASM_X86_PVKIT_H */
