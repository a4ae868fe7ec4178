/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit grant tables: give a backend access to one page at a time, by
 * reference; devices reserve their references when they connect.
 */
#ifndef _LINUX_PVKIT_GNTTAB_H
#define _LINUX_PVKIT_GNTTAB_H

#include <linux/list.h>
#include <linux/pvkit.h>

struct page;

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

/* For the platform's shutdown path (arch/<arch>/paravirt), not drivers. */
void pvkit_gnttab_shutdown(void);

#endif /* _LINUX_PVKIT_GNTTAB_H */
