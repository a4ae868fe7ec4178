// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit grant tables: the guest lets the host's backends reach single
 * pages, and nothing else of its memory.
 *
 * The table is Xen's grant_entry_v1 array in guest pages registered with
 * the host.  Granting fills in the frame and domain, then publishes the
 * flags; revoking atomically clears the flags only if the host has not
 * marked the entry in use (GTF_READING/GTF_WRITING), so a page is never
 * taken back while a backend still reads or writes it.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <asm/pvkit.h>

/*
 * Frames this kernel asks for: 16384 grants, 128 KiB of table.  A NIC
 * keeps 514 granted per queue pair for its life (a page per ring slot,
 * both rings); a disk keeps one per ring slot for indirect segments and
 * holds at most 8192 more while busy (pvkit_blkfront's default
 * parameters).  A disk that finds the table full retries later.
 */
#define PVKIT_GNTTAB_FRAMES	32

static struct pvkit_grant_entry *pvkit_gnttab __ro_after_init;
static unsigned int pvkit_gnttab_refs __ro_after_init;
static DEFINE_IDA(pvkit_gnttab_ida);
static atomic_t pvkit_gnttab_used = ATOMIC_INIT(0);

/**
 * pvkit_gnttab_grant() - let the host access one page
 * @pfn: guest frame number of the page
 * @readonly: the host may only read it
 *
 * Context: any context (allocates with GFP_ATOMIC).
 * Return: the grant reference (> 0), or a negative errno.
 */
int pvkit_gnttab_grant(unsigned long pfn, bool readonly)
{
	struct pvkit_grant_entry *e;
	int ref;

	if (!pvkit_gnttab)
		return -ENODEV;
	if (pfn > U32_MAX)
		return -ERANGE;
	/* Reference 0 is never handed out, as in Xen. */
	ref = ida_alloc_range(&pvkit_gnttab_ida, 1, pvkit_gnttab_refs - 1,
			      GFP_ATOMIC);
	if (ref < 0)
		return ref;

	e = &pvkit_gnttab[ref];
	e->domid = PVKIT_DOMID_HOST;
	e->frame = pfn;
	/*
	 * The host checks the flags, then reads frame and domid; order the
	 * stores so it never sees permission with a stale frame.  Pairs with
	 * the host's read barrier after it loads the flags.
	 */
	smp_wmb();
	WRITE_ONCE(e->flags, PVKIT_GTF_PERMIT_ACCESS |
		   (readonly ? PVKIT_GTF_READONLY : 0));
	atomic_inc(&pvkit_gnttab_used);
	return ref;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_grant);

/**
 * pvkit_gnttab_revoke() - take a page back from the host
 * @ref: reference from pvkit_gnttab_grant()
 *
 * Return: 0 when the host can no longer access the page; -EBUSY while the
 * host has it mapped (the grant stays, try again later); -EINVAL for a
 * reference that is not granted.
 */
int pvkit_gnttab_revoke(unsigned int ref)
{
	struct pvkit_grant_entry *e;
	u16 flags;

	if (!pvkit_gnttab || !ref || ref >= pvkit_gnttab_refs)
		return -EINVAL;
	e = &pvkit_gnttab[ref];
	flags = READ_ONCE(e->flags);
	do {
		if ((flags & PVKIT_GTF_TYPE_MASK) != PVKIT_GTF_PERMIT_ACCESS)
			return -EINVAL;
		if (flags & (PVKIT_GTF_READING | PVKIT_GTF_WRITING))
			return -EBUSY;
		/*
		 * cmpxchg fails if the host set READING/WRITING meanwhile;
		 * it sets them with cmpxchg too, so exactly one side wins.
		 */
	} while (!try_cmpxchg(&e->flags, &flags, 0));

	ida_free(&pvkit_gnttab_ida, ref);
	atomic_dec(&pvkit_gnttab_used);
	return 0;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_revoke);

/**
 * struct pvkit_gnttab_deferred - a revoke the host is holding up
 * @list: entry in pvkit_gnttab_deferred_list
 * @ref: the grant
 * @page: page to free once the grant is revoked, or NULL
 */
struct pvkit_gnttab_deferred {
	struct list_head list;
	unsigned int ref;
	struct page *page;
};

/* How often a held-up revoke is tried again. */
#define PVKIT_GNTTAB_RETRY	(HZ / 10)

static LIST_HEAD(pvkit_gnttab_deferred_list);
static DEFINE_SPINLOCK(pvkit_gnttab_deferred_lock);
static void pvkit_gnttab_retry(struct work_struct *work);
static DECLARE_DELAYED_WORK(pvkit_gnttab_retry_work, pvkit_gnttab_retry);

/*
 * Try the held-up revokes again; free the pages of those that went
 * through.  Anything but -EBUSY ends the wait: the entry is no longer a
 * grant the host can use.
 */
static void pvkit_gnttab_retry(struct work_struct *work)
{
	struct pvkit_gnttab_deferred *d, *tmp;
	unsigned long flags;
	LIST_HEAD(done);
	bool more;

	spin_lock_irqsave(&pvkit_gnttab_deferred_lock, flags);
	list_for_each_entry_safe(d, tmp, &pvkit_gnttab_deferred_list, list)
		if (pvkit_gnttab_revoke(d->ref) != -EBUSY)
			list_move(&d->list, &done);
	more = !list_empty(&pvkit_gnttab_deferred_list);
	spin_unlock_irqrestore(&pvkit_gnttab_deferred_lock, flags);

	list_for_each_entry_safe(d, tmp, &done, list) {
		if (d->page)
			__free_page(d->page);
		kfree(d);
	}
	if (more)
		schedule_delayed_work(&pvkit_gnttab_retry_work,
				      PVKIT_GNTTAB_RETRY);
}

/**
 * pvkit_gnttab_revoke_deferred() - revoke now or as soon as the host lets go
 * @ref: a reference pvkit_gnttab_grant() returned
 * @page: the granted page, freed (__free_page()) once revoked; or NULL
 *
 * For a frontend closing a connection: the backend unmaps its pages only
 * after the frontend says it is closed, so the revoke may have to wait.
 * The grant counts as in use (pvkit_gnttab_in_use()) until it is revoked;
 * if the host never lets go, the page is never freed, so it is never
 * reused while the host can reach it.
 *
 * Context: any; does not sleep.
 */
void pvkit_gnttab_revoke_deferred(unsigned int ref, struct page *page)
{
	struct pvkit_gnttab_deferred *d;
	unsigned long flags;

	if (pvkit_gnttab_revoke(ref) != -EBUSY) {
		if (page)
			__free_page(page);
		return;
	}
	d = kmalloc(sizeof(*d), GFP_ATOMIC);
	if (!d)
		return;	/* the page stays out of circulation: leaked */
	d->ref = ref;
	d->page = page;
	spin_lock_irqsave(&pvkit_gnttab_deferred_lock, flags);
	list_add_tail(&d->list, &pvkit_gnttab_deferred_list);
	spin_unlock_irqrestore(&pvkit_gnttab_deferred_lock, flags);
	schedule_delayed_work(&pvkit_gnttab_retry_work, PVKIT_GNTTAB_RETRY);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_revoke_deferred);

/**
 * pvkit_gnttab_in_use() - grants not yet revoked
 *
 * Return: the number of live grant references (for leak checks).
 */
unsigned int pvkit_gnttab_in_use(void)
{
	return atomic_read(&pvkit_gnttab_used);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_in_use);

/* Before kexec: the next kernel owns the table's frames. */
void pvkit_gnttab_shutdown(void)
{
	if (pvkit_gnttab)
		pvkit_hypercall(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0);
}

static int __init pvkit_gnttab_init(void)
{
	unsigned int frames = PVKIT_GNTTAB_FRAMES;
	struct page *pages;
	long max, ret;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_GNTTAB))
		return 0;
	max = pvkit_hypercall(PVKIT_HC_GNTTAB_MAX_FRAMES, 0, 0, 0, 0, 0);
	if (max <= 0) {
		pr_err("grant tables: host offers no frames (%ld)\n", max);
		return -EIO;
	}
	frames = min_t(unsigned long, frames, max);

	pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(frames * PAGE_SIZE));
	if (!pages)
		return -ENOMEM;
	ret = pvkit_hypercall(PVKIT_HC_GNTTAB_SETUP, page_to_phys(pages),
			      frames, 0, 0, 0);
	if (ret) {
		pr_err("grant tables: setup refused (%ld)\n", ret);
		__free_pages(pages, get_order(frames * PAGE_SIZE));
		return -EIO;
	}
	pvkit_gnttab = page_address(pages);
	pvkit_gnttab_refs = frames * PVKIT_GNTTAB_ENTRIES_PER_FRAME;
	pr_info("grant tables: %u frames, %u references\n", frames,
		pvkit_gnttab_refs);
	return 0;
}
arch_initcall(pvkit_gnttab_init);
