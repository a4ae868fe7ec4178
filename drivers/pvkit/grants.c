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
 *
 * References are handed out in three ways:
 *  - one at a time (pvkit_gnttab_grant()), from a bitmap of the whole
 *    table under one lock: for pages granted once per connection;
 *  - as a reservation (pvkit_gnttab_reserve()): a device sets aside, when
 *    it connects, every reference it can hold at once, and then claims
 *    and returns them under its own lock only.  The data path of a disk
 *    never touches the table-wide lock, and a disk that is busy cannot
 *    take references another device needs to connect;
 *  - as a range of consecutive references (pvkit_gnttab_alloc_range()).
 *
 * A device that finds too few references free either asks for less or
 * waits (pvkit_gnttab_wait_free()): it is called back when enough come
 * back, so it never fails for good while references can still return.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <linux/pvkit_gnttab.h>

/*
 * Frames this kernel asks for at most: 1 MiB of table, 131072 grants,
 * enough for four 4-ring disks at their deepest and some NICs.  The host
 * may offer fewer (GNTTAB_MAX_FRAMES; the reference host offers 256);
 * the table is then what the host offers.  The table cannot
 * grow later: GNTTAB_SETUP replaces it, and the host refuses that while
 * it maps any grant, which a busy device always has.
 */
#define PVKIT_GNTTAB_FRAMES	256

static struct pvkit_grant_entry *pvkit_gnttab __ro_after_init;
static unsigned int pvkit_gnttab_refs __ro_after_init;

/*
 * The allocator: a bit per reference, set while it is handed out (to a
 * caller, a reservation or a range).  Reference 0 is never handed out,
 * as in Xen.  @pvkit_gnttab_hint is where the next single search starts,
 * so that consecutive grants do not rescan the busy front of the table.
 */
static DEFINE_SPINLOCK(pvkit_gnttab_lock);
static unsigned long *pvkit_gnttab_map;
static unsigned int pvkit_gnttab_nr_free;
static unsigned int pvkit_gnttab_hint;
static LIST_HEAD(pvkit_gnttab_waiters);

/* For sysfs: entries granted, references reserved, revokes waiting. */
static atomic_t pvkit_gnttab_used = ATOMIC_INIT(0);
static atomic_t pvkit_gnttab_reserved = ATOMIC_INIT(0);
static atomic_t pvkit_gnttab_deferred_nr = ATOMIC_INIT(0);
static atomic_t pvkit_gnttab_nr_failed = ATOMIC_INIT(0);

/*
 * Call the waiters that the free references now satisfy; each is called
 * once and is off the list when called.  The caller holds the lock.
 */
static void pvkit_gnttab_wake(void)
{
	struct pvkit_gnttab_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &pvkit_gnttab_waiters, list) {
		if (w->want > pvkit_gnttab_nr_free)
			continue;
		list_del_init(&w->list);
		w->func(w);
	}
}

/* One free reference, marked handed out; 0 if none.  Lock held. */
static unsigned int pvkit_gnttab_take_one(void)
{
	unsigned int ref;

	if (!pvkit_gnttab_nr_free)
		return 0;
	ref = find_next_zero_bit(pvkit_gnttab_map, pvkit_gnttab_refs,
				 pvkit_gnttab_hint);
	if (ref >= pvkit_gnttab_refs)
		ref = find_first_zero_bit(pvkit_gnttab_map, pvkit_gnttab_refs);
	if (WARN_ON_ONCE(ref >= pvkit_gnttab_refs))
		return 0;
	__set_bit(ref, pvkit_gnttab_map);
	pvkit_gnttab_nr_free--;
	pvkit_gnttab_hint = ref + 1;
	return ref;
}

/* Give @ref back to the table; the caller holds the lock. */
static void pvkit_gnttab_put_one(unsigned int ref)
{
	if (WARN_ON_ONCE(!ref || ref >= pvkit_gnttab_refs ||
			 !__test_and_clear_bit(ref, pvkit_gnttab_map)))
		return;
	pvkit_gnttab_nr_free++;
}

/* A reference for a single grant: -ENOSPC when the table is full. */
static int pvkit_gnttab_alloc_ref(void)
{
	unsigned long flags;
	unsigned int ref;

	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	ref = pvkit_gnttab_take_one();
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
	return ref ? ref : -ENOSPC;
}

/* Give back a reference whose entry is no longer granted. */
static void pvkit_gnttab_free_ref(unsigned int ref)
{
	unsigned long flags;

	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	pvkit_gnttab_put_one(ref);
	pvkit_gnttab_wake();
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
}

/**
 * pvkit_gnttab_grant_ref() - let the host access one page through @ref
 * @ref: a reference the caller holds (claimed from a reservation or part
 *	of a range) whose entry is not granted
 * @pfn: guest frame number of the page
 * @readonly: the host may only read it
 *
 * Context: any context; takes no lock.
 * Return: 0, -ERANGE for a frame the entry cannot name, -EINVAL for a
 * reference outside the table, -EEXIST if the entry is granted already.
 */
int pvkit_gnttab_grant_ref(unsigned int ref, unsigned long pfn,
			   bool readonly)
{
	struct pvkit_grant_entry *e;

	if (!pvkit_gnttab || !ref || ref >= pvkit_gnttab_refs)
		return -EINVAL;
	if (pfn > U32_MAX)
		return -ERANGE;
	e = &pvkit_gnttab[ref];
	if (READ_ONCE(e->flags) & PVKIT_GTF_TYPE_MASK)
		return -EEXIST;
	e->domid = PVKIT_DOMID_HOST;
	e->frame = pfn;
	/*
	 * The host checks the flags, then reads frame and domid; order the
	 * stores so it never sees permission with a stale frame.  Pairs with
	 * the host's read barrier after it loads the flags.
	 */
	virt_wmb();
	WRITE_ONCE(e->flags, PVKIT_GTF_PERMIT_ACCESS |
		   (readonly ? PVKIT_GTF_READONLY : 0));
	atomic_inc(&pvkit_gnttab_used);
	return 0;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_grant_ref);

/**
 * pvkit_gnttab_end_access() - take a page back, keeping the reference
 * @ref: a reference granted with pvkit_gnttab_grant_ref()
 *
 * The reference stays the caller's, ready for the next grant.
 *
 * Context: any context; takes no lock.
 * Return: 0 when the host can no longer access the page; -EBUSY while
 * the host has it mapped (the grant stays, try again later); -EINVAL for
 * a reference that is not granted.
 */
int pvkit_gnttab_end_access(unsigned int ref)
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
	atomic_dec(&pvkit_gnttab_used);
	return 0;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_end_access);

/**
 * pvkit_gnttab_grant() - let the host access one page
 * @pfn: guest frame number of the page
 * @readonly: the host may only read it
 *
 * Takes a reference from the whole table: for pages granted once per
 * connection.  A device granting pages per request reserves its
 * references instead (pvkit_gnttab_reserve()).
 *
 * Context: any context; does not sleep.
 * Return: the grant reference (> 0), or a negative errno (-ENOSPC when
 * the table is full).
 */
int pvkit_gnttab_grant(unsigned long pfn, bool readonly)
{
	int ref, ret;

	if (!pvkit_gnttab)
		return -ENODEV;
	if (pfn > U32_MAX)
		return -ERANGE;
	ref = pvkit_gnttab_alloc_ref();
	if (ref < 0)
		return ref;
	ret = pvkit_gnttab_grant_ref(ref, pfn, readonly);
	if (ret) {
		pvkit_gnttab_free_ref(ref);
		return ret;
	}
	return ref;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_grant);

/**
 * pvkit_gnttab_revoke() - take a page back from the host
 * @ref: reference from pvkit_gnttab_grant()
 *
 * The reference goes back to the table.
 *
 * Return: 0 when the host can no longer access the page; -EBUSY while the
 * host has it mapped (the grant stays, try again later); -EINVAL for a
 * reference that is not granted.
 */
int pvkit_gnttab_revoke(unsigned int ref)
{
	int ret = pvkit_gnttab_end_access(ref);

	if (!ret)
		pvkit_gnttab_free_ref(ref);
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_revoke);

/**
 * pvkit_gnttab_reserve() - set aside references for one device
 * @resv: the reservation, zeroed or unreserved
 * @count: references to set aside, at least 1
 *
 * All or nothing: on success @count references belong to @resv until
 * pvkit_gnttab_unreserve(), and no other device can take them.
 *
 * Context: process context; may sleep.
 * Return: 0; -ENOSPC if the table has fewer free (pvkit_gnttab_wait_free()
 * says when it has); -ENOMEM; -ENODEV without grant tables.
 */
int pvkit_gnttab_reserve(struct pvkit_gnttab_resv *resv, unsigned int count)
{
	unsigned long flags;
	unsigned int *refs, i;

	if (!pvkit_gnttab)
		return -ENODEV;
	if (!count || count >= pvkit_gnttab_refs)
		return count ? -ENOSPC : -EINVAL;
	refs = kvmalloc_array(count, sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return -ENOMEM;
	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	if (pvkit_gnttab_nr_free < count) {
		spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
		kvfree(refs);
		return -ENOSPC;
	}
	for (i = 0; i < count; i++)
		refs[i] = pvkit_gnttab_take_one();
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
	resv->refs = refs;
	resv->size = count;
	resv->count = count;
	atomic_add(count, &pvkit_gnttab_reserved);
	return 0;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_reserve);

/**
 * pvkit_gnttab_unreserve() - give a reservation's unused references back
 * @resv: the reservation
 *
 * References still claimed from @resv stay their holder's: each goes
 * back to the table when it is revoked (pvkit_gnttab_revoke(),
 * pvkit_gnttab_revoke_deferred()) or unclaimed.  Unreserving an empty
 * reservation does nothing.
 *
 * Context: process context; the caller serialises it with every other
 * use of @resv.
 */
void pvkit_gnttab_unreserve(struct pvkit_gnttab_resv *resv)
{
	unsigned long flags;
	unsigned int i;

	if (!resv->refs)
		return;
	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	for (i = 0; i < resv->count; i++)
		pvkit_gnttab_put_one(resv->refs[i]);
	pvkit_gnttab_wake();
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
	atomic_sub(resv->size, &pvkit_gnttab_reserved);
	kvfree(resv->refs);
	resv->refs = NULL;
	resv->size = 0;
	resv->count = 0;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_unreserve);

/**
 * pvkit_gnttab_claim() - take a reference from a reservation
 * @resv: the reservation
 *
 * Context: any context; takes no lock: the caller serialises the uses
 * of @resv (a ring's lock, say).
 * Return: a reference, not granted; -ENOSPC once @resv is used up.
 */
int pvkit_gnttab_claim(struct pvkit_gnttab_resv *resv)
{
	if (!resv->count)
		return -ENOSPC;
	return resv->refs[--resv->count];
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_claim);

/**
 * pvkit_gnttab_unclaim() - return a reference to a reservation
 * @resv: the reservation it came from
 * @ref: the reference, no longer granted (pvkit_gnttab_end_access())
 *
 * A reference @resv has no room for (it was unreserved meanwhile) goes
 * back to the table.
 *
 * Context: any context; as pvkit_gnttab_claim().
 */
void pvkit_gnttab_unclaim(struct pvkit_gnttab_resv *resv, unsigned int ref)
{
	if (resv->count < resv->size)
		resv->refs[resv->count++] = ref;
	else
		pvkit_gnttab_free_ref(ref);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_unclaim);

/**
 * pvkit_gnttab_alloc_range() - take consecutive references
 * @count: how many, at least 1
 *
 * For a device that names its pages by a first reference and a count.
 * The entries are not granted: grant each with pvkit_gnttab_grant_ref(),
 * end each with pvkit_gnttab_end_access() and give the range back with
 * pvkit_gnttab_free_range().
 *
 * Context: any context; does not sleep.
 * Return: the first reference of the range; -ENOSPC if no @count free
 * references are consecutive; -EINVAL for a count of 0.
 */
int pvkit_gnttab_alloc_range(unsigned int count)
{
	unsigned long flags, first;

	if (!count)
		return -EINVAL;
	if (!pvkit_gnttab || count >= pvkit_gnttab_refs)
		return -ENOSPC;
	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	first = bitmap_find_next_zero_area(pvkit_gnttab_map, pvkit_gnttab_refs,
					   1, count, 0);
	if (first >= pvkit_gnttab_refs) {
		spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
		return -ENOSPC;
	}
	bitmap_set(pvkit_gnttab_map, first, count);
	pvkit_gnttab_nr_free -= count;
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
	return first;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_alloc_range);

/**
 * pvkit_gnttab_free_range() - give consecutive references back
 * @first: what pvkit_gnttab_alloc_range() returned
 * @count: the count it was given
 *
 * Every entry of the range must be ungranted (pvkit_gnttab_end_access()
 * returned 0, or it was never granted).
 *
 * Context: any context; does not sleep.
 */
void pvkit_gnttab_free_range(unsigned int first, unsigned int count)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	for (i = 0; i < count; i++)
		pvkit_gnttab_put_one(first + i);
	pvkit_gnttab_wake();
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_free_range);

/**
 * pvkit_gnttab_wait_free() - be called back once references are free
 * @w: the waiter, with @w->func set and @w->list initialised
 *	(INIT_LIST_HEAD()) before its first use
 * @want: free references to wait for
 *
 * For a device that could not reserve what it needs: it is called back
 * (once) when at least @want references are free, and tries again; other
 * devices may take them first, so the call is a hint, not a promise.
 * @w->func runs under the allocator's lock with interrupts off: it must
 * not sleep or call into the grant tables (schedule work instead).
 *
 * Context: any context; does not sleep.
 * Return: true if @want references are free now (@w is not queued: try
 * again at once), false once @w is queued.
 */
bool pvkit_gnttab_wait_free(struct pvkit_gnttab_waiter *w, unsigned int want)
{
	unsigned long flags;
	bool now;

	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	now = pvkit_gnttab_nr_free >= want;
	if (!now && list_empty(&w->list)) {
		w->want = want;
		list_add_tail(&w->list, &pvkit_gnttab_waiters);
	}
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
	return now;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_wait_free);

/**
 * pvkit_gnttab_cancel_wait() - stop waiting
 * @w: a waiter passed to pvkit_gnttab_wait_free(), or never queued
 *
 * Once this returns, @w->func is not running and will not be called.
 *
 * Context: any context; does not sleep.
 */
void pvkit_gnttab_cancel_wait(struct pvkit_gnttab_waiter *w)
{
	unsigned long flags;

	spin_lock_irqsave(&pvkit_gnttab_lock, flags);
	list_del_init(&w->list);
	spin_unlock_irqrestore(&pvkit_gnttab_lock, flags);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_cancel_wait);

/**
 * struct pvkit_gnttab_deferred - a revoke the host is holding up
 * @list: entry in pvkit_gnttab_deferred_list
 * @ref: the grant
 * @page: page to free once the grant is revoked, or NULL
 * @since: jiffies when it was deferred
 * @reported: counted in revoke_failed already
 */
struct pvkit_gnttab_deferred {
	struct list_head list;
	unsigned int ref;
	struct page *page;
	unsigned long since;
	bool reported;
};

/* How often a held-up revoke is tried again. */
#define PVKIT_GNTTAB_RETRY	(HZ / 10)
/* A revoke held up this long is counted as failed (and still tried). */
#define PVKIT_GNTTAB_STUCK	(60 * HZ)

static LIST_HEAD(pvkit_gnttab_deferred_list);
static DEFINE_SPINLOCK(pvkit_gnttab_deferred_lock);
static void pvkit_gnttab_retry(struct work_struct *work);
static DECLARE_DELAYED_WORK(pvkit_gnttab_retry_work, pvkit_gnttab_retry);

/*
 * A revoke that cannot go through as asked: the page (and the reference)
 * stay out of circulation for good, since the host may still reach
 * them.  Counted in sysfs and logged once per cause, never silent.
 */
static void pvkit_gnttab_revoke_failed(unsigned int ref, const char *why)
{
	atomic_inc(&pvkit_gnttab_nr_failed);
	pr_warn_ratelimited("grant %u: deferred revoke failed (%s): page and reference leaked\n",
			    ref, why);
}

/*
 * Try the held-up revokes again; free the pages and references of those
 * that went through.  -EINVAL means the entry is no longer the grant we
 * made: something else rewrote it, so neither page nor reference is
 * safe to reuse.
 */
static void pvkit_gnttab_retry(struct work_struct *work)
{
	struct pvkit_gnttab_deferred *d, *tmp;
	unsigned long flags;
	LIST_HEAD(done);
	LIST_HEAD(bad);
	bool more;
	int ret;

	spin_lock_irqsave(&pvkit_gnttab_deferred_lock, flags);
	list_for_each_entry_safe(d, tmp, &pvkit_gnttab_deferred_list, list) {
		ret = pvkit_gnttab_end_access(d->ref);
		if (!ret) {
			list_move(&d->list, &done);
		} else if (ret != -EBUSY) {
			list_move(&d->list, &bad);
		} else if (!d->reported &&
			   time_after(jiffies, d->since + PVKIT_GNTTAB_STUCK)) {
			d->reported = true;
			atomic_inc(&pvkit_gnttab_nr_failed);
			pr_warn("grant %u: the host has held it for %us after its revoke; still trying\n",
				d->ref, PVKIT_GNTTAB_STUCK / HZ);
		}
	}
	more = !list_empty(&pvkit_gnttab_deferred_list);
	spin_unlock_irqrestore(&pvkit_gnttab_deferred_lock, flags);

	list_for_each_entry_safe(d, tmp, &done, list) {
		pvkit_gnttab_free_ref(d->ref);
		if (d->page)
			__free_page(d->page);
		atomic_dec(&pvkit_gnttab_deferred_nr);
		kfree(d);
	}
	list_for_each_entry_safe(d, tmp, &bad, list) {
		pvkit_gnttab_revoke_failed(d->ref, "entry rewritten");
		atomic_dec(&pvkit_gnttab_deferred_nr);
		kfree(d);
	}
	if (more)
		schedule_delayed_work(&pvkit_gnttab_retry_work,
				      PVKIT_GNTTAB_RETRY);
}

/**
 * pvkit_gnttab_revoke_deferred() - revoke now or as soon as the host lets go
 * @ref: a granted reference, from pvkit_gnttab_grant() or claimed from a
 *	reservation (it goes back to the table, not to the reservation)
 * @page: the granted page, freed (__free_page()) once revoked; or NULL
 *
 * For a frontend closing a connection: the backend unmaps its pages only
 * after the frontend says it is closed, so the revoke may have to wait.
 * The grant counts as in use (pvkit_gnttab_in_use()) until it is revoked;
 * if the host never lets go, the page is never freed, so it is never
 * reused while the host can reach it.  A revoke that cannot be queued, or
 * is held up for a minute, is counted in
 * /sys/hypervisor/pvkit/grants_revoke_failed and logged.
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
	if (!d) {
		pvkit_gnttab_revoke_failed(ref, "no memory to wait");
		return;
	}
	d->ref = ref;
	d->page = page;
	d->since = jiffies;
	d->reported = false;
	atomic_inc(&pvkit_gnttab_deferred_nr);
	spin_lock_irqsave(&pvkit_gnttab_deferred_lock, flags);
	list_add_tail(&d->list, &pvkit_gnttab_deferred_list);
	spin_unlock_irqrestore(&pvkit_gnttab_deferred_lock, flags);
	schedule_delayed_work(&pvkit_gnttab_retry_work, PVKIT_GNTTAB_RETRY);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_revoke_deferred);

/**
 * pvkit_gnttab_in_use() - grants not yet revoked
 *
 * Return: the number of granted entries (for leak checks).
 */
unsigned int pvkit_gnttab_in_use(void)
{
	return atomic_read(&pvkit_gnttab_used);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_in_use);

/**
 * pvkit_gnttab_free_count() - references neither granted nor set aside
 *
 * Return: how many references a reservation could take now.
 */
unsigned int pvkit_gnttab_free_count(void)
{
	return READ_ONCE(pvkit_gnttab_nr_free);
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_free_count);

/**
 * pvkit_gnttab_nr_refs() - size of the table
 *
 * Return: references in the table, reference 0 (never used) included.
 */
unsigned int pvkit_gnttab_nr_refs(void)
{
	return pvkit_gnttab_refs;
}
EXPORT_SYMBOL_GPL(pvkit_gnttab_nr_refs);

/* Before kexec: the next kernel owns the table's frames. */
void pvkit_gnttab_shutdown(void)
{
	long ret;

	if (!pvkit_gnttab)
		return;
	ret = pvkit_hypercall(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0);
	if (ret)
		pr_err("shutdown: the host kept the grant table (%ld)\n", ret);
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
	frames = rounddown_pow_of_two(min_t(unsigned long, frames, max));

	/* The table is one run of frames: settle for less if memory is. */
	for (;;) {
		pages = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN,
				    get_order(frames * PAGE_SIZE));
		if (pages || frames == 1)
			break;
		frames /= 2;
	}
	if (!pages)
		return -ENOMEM;
	pvkit_gnttab_map = bitmap_zalloc(frames * PVKIT_GNTTAB_ENTRIES_PER_FRAME,
					 GFP_KERNEL);
	if (!pvkit_gnttab_map) {
		__free_pages(pages, get_order(frames * PAGE_SIZE));
		return -ENOMEM;
	}
	ret = pvkit_hypercall(PVKIT_HC_GNTTAB_SETUP, page_to_phys(pages),
			      frames, 0, 0, 0);
	if (ret) {
		pr_err("grant tables: setup refused (%ld)\n", ret);
		bitmap_free(pvkit_gnttab_map);
		pvkit_gnttab_map = NULL;
		__free_pages(pages, get_order(frames * PAGE_SIZE));
		return -EIO;
	}
	pvkit_gnttab_refs = frames * PVKIT_GNTTAB_ENTRIES_PER_FRAME;
	__set_bit(0, pvkit_gnttab_map);
	pvkit_gnttab_nr_free = pvkit_gnttab_refs - 1;
	pvkit_gnttab_hint = 1;
	pvkit_gnttab = page_address(pages);
	pr_info("grant tables: %u frames, %u references\n", frames,
		pvkit_gnttab_refs);
	return 0;
}
arch_initcall(pvkit_gnttab_init);

/*
 * /sys/hypervisor/pvkit/grants_*, beside grants_in_use: the table's
 * size, what is free and reserved, revokes waiting for the host and
 * revokes that failed (each a page and a reference lost for good).
 */
#define PVKIT_GNTTAB_ATTR(_name, _expr)					\
static ssize_t grants_##_name##_show(struct kobject *kobj,		\
				     struct kobj_attribute *attr,	\
				     char *buf)				\
{									\
	return sysfs_emit(buf, "%u\n", (unsigned int)(_expr));		\
}									\
static struct kobj_attribute grants_##_name##_attr =			\
	__ATTR_RO(grants_##_name)

PVKIT_GNTTAB_ATTR(total, pvkit_gnttab_refs);
PVKIT_GNTTAB_ATTR(free, READ_ONCE(pvkit_gnttab_nr_free));
PVKIT_GNTTAB_ATTR(reserved, atomic_read(&pvkit_gnttab_reserved));
PVKIT_GNTTAB_ATTR(deferred_pending, atomic_read(&pvkit_gnttab_deferred_nr));
PVKIT_GNTTAB_ATTR(revoke_failed, atomic_read(&pvkit_gnttab_nr_failed));

static struct attribute *pvkit_gnttab_attrs[] = {
	&grants_total_attr.attr,
	&grants_free_attr.attr,
	&grants_reserved_attr.attr,
	&grants_deferred_pending_attr.attr,
	&grants_revoke_failed_attr.attr,
	NULL,
};

/* Merged into the "pvkit" directory sysfs.c makes at device_initcall. */
static const struct attribute_group pvkit_gnttab_group = {
	.name	= "pvkit",
	.attrs	= pvkit_gnttab_attrs,
};

static int __init pvkit_gnttab_sysfs_init(void)
{
	if (!pvkit_gnttab)
		return 0;
	return sysfs_merge_group(hypervisor_kobj, &pvkit_gnttab_group);
}
late_initcall(pvkit_gnttab_sysfs_init);
