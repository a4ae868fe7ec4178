/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, grant tables.  See pvkit-dispatch.h for the
 * contract and hypercall/SPEC.md for the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pvkit-dispatch.h"
#include "pvkit-dispatch-internal.h"

/*
 * Grant tables.  The guest writes the entries from any vCPU while the
 * host uses them, so every access to the table is atomic; the flags
 * follow Xen's grant_entry_v1 protocol (see pvkit-dispatch.h).
 */

_Static_assert(sizeof(struct pvkit_grant_entry) == 8, "grant entry layout");
_Static_assert(offsetof(struct pvkit_grant_entry, domid) == 2,
               "grant entry domid offset");
_Static_assert(offsetof(struct pvkit_grant_entry, frame) == 4,
               "grant entry frame offset");
_Static_assert(PVKIT_GNTTAB_MAX_MAPS + 1 <= UINT16_MAX,
               "per-ref counts fit 16 bits");

#define GNT_IDX_BITS    10
#define GNT_GEN_MASK    0xfffffu
_Static_assert(PVKIT_GNTTAB_MAX_MAPS <= 1u << GNT_IDX_BITS, "handle index");

/* cmpxchg attempts before giving up on a guest that keeps changing flags */
#define GNT_RETRIES     8

static uint64_t gnt_nr_refs(const PVKitGnttabState *gt)
{
    return (uint64_t)gt->nr_frames * PVKIT_GNTTAB_ENTRIES_PER_FRAME;
}

/*
 * Validate grant @ref for a host access (@write: writing) in the order
 * of pvkit_gnttab_host_map(), up to and including the frame check.
 * Returns the entry or NULL with *@err set.  Touches nothing.
 */
static struct pvkit_grant_entry *gnt_check(const PVKitHostOps *ops,
                                           void *opaque,
                                           PVKitGnttabState *gt,
                                           uint64_t ref, bool write,
                                           uint32_t *frame, int *err)
{
    struct pvkit_grant_entry *tab = ops->gnttab_table(opaque);
    struct pvkit_grant_entry *e;
    uint16_t flags, domid;

    if (!gt->nr_frames || !tab) {
        *err = -PVKIT_ENOENT;
        return NULL;
    }
    if (ref >= gnt_nr_refs(gt)) {
        *err = -PVKIT_EINVAL;
        return NULL;
    }
    e = &tab[ref];
    flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    domid = __atomic_load_n(&e->domid, __ATOMIC_RELAXED);
    *frame = __atomic_load_n(&e->frame, __ATOMIC_RELAXED);
    if ((flags & PVKIT_GTF_TYPE_MASK) != PVKIT_GTF_PERMIT_ACCESS ||
        domid != PVKIT_DOMID_HOST ||
        (write && (flags & PVKIT_GTF_READONLY))) {
        *err = -PVKIT_EPERM;
        return NULL;
    }
    if (ops->mem_check(opaque, (uint64_t)*frame * PVKIT_PAGE_SIZE,
                       PVKIT_PAGE_SIZE, write)) {
        *err = -PVKIT_EFAULT;
        return NULL;
    }
    return e;
}

/* Clear the in-use flags of @ref that no remaining mapping needs. */
static void gnt_drop_flags(const PVKitHostOps *ops, void *opaque,
                           PVKitGnttabState *gt,
                           struct pvkit_grant_entry *e, uint32_t ref)
{
    uint16_t clear = 0;

    if (!gt->ref_wmaps[ref]) {
        clear |= PVKIT_GTF_WRITING;
    }
    if (!gt->ref_maps[ref]) {
        clear |= PVKIT_GTF_READING;
    }
    if (clear) {
        __atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_SEQ_CST);
        ops->gnttab_written(opaque, ref);
    }
}

/*
 * Check @ref (and, when @len_check, [@offset, @offset + @len) within a
 * page; when @slot_check, that a handle slot is free), then map its page
 * and mark the entry in use.  Returns the host pointer, or NULL with *@err
 * set and nothing changed.
 */
static void *gnt_acquire(const PVKitHostOps *ops, void *opaque,
                         PVKitGnttabState *gt, uint64_t ref, bool write,
                         bool len_check, uint64_t offset, uint64_t len,
                         bool slot_check, int *err)
{
    uint16_t want = PVKIT_GTF_READING | (write ? PVKIT_GTF_WRITING : 0);
    int attempt, tries;

    for (attempt = 0; attempt < GNT_RETRIES; attempt++) {
        struct pvkit_grant_entry *e;
        uint32_t frame;
        uint16_t old;
        bool marked = false;
        void *p;

        e = gnt_check(ops, opaque, gt, ref, write, &frame, err);
        if (!e) {
            goto refused;
        }
        if (len_check && (offset > PVKIT_PAGE_SIZE ||
                          len > PVKIT_PAGE_SIZE - offset)) {
            *err = -PVKIT_EINVAL;
            goto refused;
        }
        if (slot_check && gt->nr_maps >= PVKIT_GNTTAB_MAX_MAPS) {
            *err = -PVKIT_ENOSPC;
            goto refused;
        }
        p = ops->page_map(opaque, (uint64_t)frame * PVKIT_PAGE_SIZE, write);
        if (!p) {
            *err = -PVKIT_EFAULT;
            goto refused;
        }

        /*
         * Set the flags only while the entry still grants the access:
         * the guest may revoke it (cmpxchg of the flags to 0) until then.
         */
        old = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
        for (tries = 0; tries < GNT_RETRIES; tries++) {
            if ((old & PVKIT_GTF_TYPE_MASK) != PVKIT_GTF_PERMIT_ACCESS ||
                (write && (old & PVKIT_GTF_READONLY))) {
                break;
            }
            if (__atomic_compare_exchange_n(&e->flags, &old, old | want,
                                            false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_ACQUIRE)) {
                marked = true;
                break;
            }
        }
        if (!marked) {
            ops->page_unmap(opaque, p, write);
            *err = tries < GNT_RETRIES ? -PVKIT_EPERM : -PVKIT_EBUSY;
            goto refused;
        }
        ops->gnttab_written(opaque, (uint32_t)ref);

        /* The entry is ours now; make sure it still names that frame. */
        if (__atomic_load_n(&e->domid, __ATOMIC_SEQ_CST) ==
            PVKIT_DOMID_HOST &&
            __atomic_load_n(&e->frame, __ATOMIC_SEQ_CST) == frame) {
            gt->ref_maps[ref]++;
            if (write) {
                gt->ref_wmaps[ref]++;
            }
            gt->stats.maps++;
            gt->stats.mapped++;
            return p;
        }
        /* The guest changed the entry behind our back: undo and retry. */
        gnt_drop_flags(ops, opaque, gt, e, (uint32_t)ref);
        ops->page_unmap(opaque, p, write);
    }
    *err = -PVKIT_EBUSY;
refused:
    gt->stats.refused++;
    return NULL;
}

/* Undo gnt_acquire(): unmap the page, then let the guest revoke. */
static void gnt_release(const PVKitHostOps *ops, void *opaque,
                        PVKitGnttabState *gt, uint32_t ref, bool write,
                        void *p)
{
    struct pvkit_grant_entry *tab = ops->gnttab_table(opaque);

    ops->page_unmap(opaque, p, write);
    gt->ref_maps[ref]--;
    if (write) {
        gt->ref_wmaps[ref]--;
    }
    gt->stats.unmaps++;
    gt->stats.mapped--;
    if (tab) {
        gnt_drop_flags(ops, opaque, gt, &tab[ref], ref);
    }
}

static int gnt_map(const PVKitHostOps *ops, void *opaque, uint64_t ref,
                   bool write, void **ptr)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    PVKitGrantMap *m;
    uint32_t i;
    int err;
    void *p;

    p = gnt_acquire(ops, opaque, gt, ref, write, false, 0, 0, true, &err);
    if (!p) {
        return err;
    }
    for (i = 0; gt->map[i].ptr; i++) {
        /* a free slot exists: gnt_acquire() checked nr_maps */
    }
    m = &gt->map[i];
    m->ptr = p;
    m->ref = (uint32_t)ref;
    m->write = write;
    m->orphan = false;
    m->gen = (m->gen + 1) & GNT_GEN_MASK;
    gt->nr_maps++;
    *ptr = p;
    return (int)(m->gen << GNT_IDX_BITS | i);
}

int pvkit_gnttab_host_map(const PVKitHostOps *ops, void *opaque,
                          uint32_t ref, bool write, void **ptr)
{
    return gnt_map(ops, opaque, ref, write, ptr);
}

int pvkit_gnttab_host_unmap(const PVKitHostOps *ops, void *opaque,
                            int handle)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    PVKitGrantMap *m;
    uint32_t i;

    if (handle < 0) {
        return -PVKIT_EINVAL;
    }
    i = (uint32_t)handle & ((1u << GNT_IDX_BITS) - 1);
    if (i >= PVKIT_GNTTAB_MAX_MAPS) {
        return -PVKIT_EINVAL;
    }
    m = &gt->map[i];
    if (!m->ptr || m->gen != (uint32_t)handle >> GNT_IDX_BITS) {
        return -PVKIT_EINVAL;
    }
    if (m->orphan) {
        /* revoked: the table it came from is gone, only the page is held */
        ops->page_unmap(opaque, m->ptr, m->write);
        gt->stats.unmaps++;
        gt->stats.mapped--;
        m->orphan = false;
    } else {
        gnt_release(ops, opaque, gt, m->ref, m->write, m->ptr);
    }
    m->ptr = NULL;
    gt->nr_maps--;
    return 0;
}

static int gnt_copy(const PVKitHostOps *ops, void *opaque, uint64_t ref,
                    uint64_t offset, uint64_t len, void *buf, bool write)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    int err;
    uint8_t *p;

    p = gnt_acquire(ops, opaque, gt, ref, write, true, offset, len, false,
                    &err);
    if (!p) {
        return err;
    }
    if (len) {
        if (write) {
            memcpy(p + offset, buf, len);
        } else {
            memcpy(buf, p + offset, len);
        }
    }
    gnt_release(ops, opaque, gt, (uint32_t)ref, write, p);
    return 0;
}

int pvkit_gnttab_host_copy(const PVKitHostOps *ops, void *opaque,
                           uint32_t ref, uint32_t offset, uint32_t len,
                           void *buf, bool write)
{
    return gnt_copy(ops, opaque, ref, offset, len, buf, write);
}

/*
 * The guest drops its table (detach, a new table, a new kernel after
 * kexec) while host mappings are held: revoke them.  The guest's own test
 * mappings are released like an UNMAP.  A device model's mapping becomes
 * an orphan: its entry's READING/WRITING flags are cleared (the guest owns
 * the old table's pages again) and it no longer counts against any ref,
 * but the slot keeps the page mapped (the host pointer stays valid host
 * memory) until the device model unmaps its handle, which then succeeds
 * without touching any table.  Returns the number of orphans made.
 */
static uint32_t gnt_revoke(const PVKitHostOps *ops, void *opaque,
                           PVKitGnttabState *gt)
{
    struct pvkit_grant_entry *tab = ops->gnttab_table(opaque);
    uint32_t i, n = 0;

    for (i = 0; i < PVKIT_GNTTAB_TEST_MAPS; i++) {
        if (gt->test[i].used) {
            pvkit_gnttab_host_unmap(ops, opaque, gt->test[i].handle);
            gt->test[i].used = false;
        }
    }
    for (i = 0; i < PVKIT_GNTTAB_MAX_MAPS; i++) {
        PVKitGrantMap *m = &gt->map[i];

        if (!m->ptr || m->orphan) {
            continue;
        }
        m->orphan = true;
        gt->ref_maps[m->ref] = 0;
        gt->ref_wmaps[m->ref] = 0;
        if (tab) {
            gnt_drop_flags(ops, opaque, gt, &tab[m->ref], m->ref);
        }
        n++;
    }
    gt->stats.revoked += n;
    return n;
}

void pvkit_gnttab_reset(const PVKitHostOps *ops, void *opaque)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    uint32_t i;

    for (i = 0; i < PVKIT_GNTTAB_MAX_MAPS; i++) {
        PVKitGrantMap *m = &gt->map[i];

        if (!m->ptr) {
            continue;
        }
        if (m->orphan) {
            ops->page_unmap(opaque, m->ptr, m->write);
            gt->stats.unmaps++;
            gt->stats.mapped--;
        } else {
            gnt_release(ops, opaque, gt, m->ref, m->write, m->ptr);
        }
        m->ptr = NULL;
        m->orphan = false;
    }
    for (i = 0; i < PVKIT_GNTTAB_TEST_MAPS; i++) {
        gt->test[i].used = false;
    }
    gt->nr_maps = 0;
    memset(gt->ref_maps, 0, sizeof(gt->ref_maps));
    memset(gt->ref_wmaps, 0, sizeof(gt->ref_wmaps));
    ops->gnttab_set(opaque, 0, 0);
    gt->gpa = 0;
    gt->nr_frames = 0;
}

bool pvkit_gnttab_post_load(const PVKitHostOps *ops, void *opaque)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    struct pvkit_grant_entry *tab;
    uint64_t i;

    if (gt->nr_frames > PVKIT_GNTTAB_MAX_FRAMES ||
        (gt->gpa & (PVKIT_PAGE_SIZE - 1)) ||
        (!gt->nr_frames && gt->gpa) ||
        !pvkit_range_ok(gt->gpa, (uint64_t)gt->nr_frames * PVKIT_PAGE_SIZE)) {
        return false;
    }
    if (!gt->nr_frames) {
        return true;
    }
    if (ops->gnttab_set(opaque, gt->gpa, gt->nr_frames)) {
        return false;
    }
    tab = ops->gnttab_table(opaque);
    for (i = 0; tab && i < gnt_nr_refs(gt); i++) {
        if (__atomic_load_n(&tab[i].flags, __ATOMIC_RELAXED) &
            (PVKIT_GTF_READING | PVKIT_GTF_WRITING)) {
            __atomic_fetch_and(&tab[i].flags,
                               (uint16_t)~(PVKIT_GTF_READING |
                                           PVKIT_GTF_WRITING),
                               __ATOMIC_SEQ_CST);
            ops->gnttab_written(opaque, (uint32_t)i);
        }
    }
    return true;
}

/*
 * GNTTAB_SETUP.  Dropping the table or replacing it revokes the host's
 * mappings of the old one (gnt_revoke()) instead of waiting for device
 * models that may never unmap: a guest that detaches, or a new kernel
 * after kexec, always gets its table.  A request that fails its checks
 * changes nothing.
 */
int64_t pvkit_hc_gnttab_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t gpa, uint64_t nr)
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    uint64_t i;

    if (gpa == 0 && nr == 0) {
        gnt_revoke(ops, opaque, gt);
        ops->gnttab_set(opaque, 0, 0);
        gt->gpa = 0;
        gt->nr_frames = 0;
        return 0;
    }
    if ((gpa & (PVKIT_PAGE_SIZE - 1)) || nr == 0 ||
        nr > PVKIT_GNTTAB_MAX_FRAMES) {
        return -PVKIT_EINVAL;
    }
    if (!pvkit_range_ok(gpa, nr * PVKIT_PAGE_SIZE)) {
        return -PVKIT_EFAULT;
    }
    for (i = 0; i < nr; i++) {
        if (ops->mem_check(opaque, gpa + i * PVKIT_PAGE_SIZE,
                           PVKIT_PAGE_SIZE, true)) {
            return -PVKIT_EFAULT;
        }
    }
    /*
     * Revoke while the old table is still mapped, so its flags get
     * cleared.  (gnttab_set() may still refuse pages that are RAM but not
     * one section; the mappings are revoked by then, the old table stays.)
     */
    gnt_revoke(ops, opaque, gt);
    if (ops->gnttab_set(opaque, gpa, (uint32_t)nr)) {
        return -PVKIT_EFAULT;
    }
    gt->gpa = gpa;
    gt->nr_frames = (uint32_t)nr;
    return 0;
}

static PVKitGrantTestMap *gnt_test_find(PVKitGnttabState *gt, uint64_t ref)
{
    uint32_t i;

    for (i = 0; i < PVKIT_GNTTAB_TEST_MAPS; i++) {
        if (gt->test[i].used && gt->test[i].ref == ref) {
            return &gt->test[i];
        }
    }
    return NULL;
}

int64_t pvkit_hc_test_grant(const PVKitHostOps *ops, void *opaque,
                            const uint64_t args[5])
{
    PVKitGnttabState *gt = ops->gnttab(opaque);
    uint64_t ref = args[0], op = args[1], offset = args[2], len = args[3];
    uint8_t buf[PVKIT_PAGE_SIZE];
    PVKitGrantTestMap *t;
    int64_t sum = 0;
    uint64_t i;
    void *p;
    int ret;

    switch (op) {
    case PVKIT_GNTTEST_READ:
        ret = gnt_copy(ops, opaque, ref, offset, len, buf, false);
        if (ret) {
            return ret;
        }
        for (i = 0; i < len; i++) {
            sum += buf[i];
        }
        return sum;
    case PVKIT_GNTTEST_WRITE:
        if (len <= sizeof(buf)) {
            memset(buf, (int)(args[4] & 0xff), len);
        }
        ret = gnt_copy(ops, opaque, ref, offset, len, buf, true);
        return ret ? ret : (int64_t)len;
    case PVKIT_GNTTEST_MAP:
    case PVKIT_GNTTEST_MAP_RO:
        if (gnt_test_find(gt, ref)) {
            return -PVKIT_EBUSY;
        }
        for (i = 0; i < PVKIT_GNTTAB_TEST_MAPS; i++) {
            if (!gt->test[i].used) {
                break;
            }
        }
        if (i == PVKIT_GNTTAB_TEST_MAPS) {
            return -PVKIT_ENOSPC;
        }
        ret = gnt_map(ops, opaque, ref, op == PVKIT_GNTTEST_MAP, &p);
        if (ret < 0) {
            return ret;
        }
        gt->test[i].used = true;
        gt->test[i].handle = ret;
        gt->test[i].ref = (uint32_t)ref;
        return 0;
    case PVKIT_GNTTEST_UNMAP:
        t = gnt_test_find(gt, ref);
        if (!t) {
            return -PVKIT_EINVAL;
        }
        pvkit_gnttab_host_unmap(ops, opaque, t->handle);
        t->used = false;
        return 0;
    default:
        return -PVKIT_EINVAL;
    }
}
