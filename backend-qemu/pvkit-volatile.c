/*
 * pvkit-volatile: a block driver that behaves like a disk's volatile
 * write cache, for power-loss tests
 *
 *   -drive if=none,id=D,driver=pvkit-volatile,node-name=N,
 *          file.driver=file,file.filename=IMG[,cache-max-bytes=SIZE]
 *   -device xen-disk,vdev=xvda,drive=D
 *
 * A write, or a write of zeroes, completes once its data sits in this
 * node's memory; nothing reaches the child ("file") until a flush.  A
 * flush writes every cached sector back to the child and then flushes the
 * child.  Reads see the cached sectors over the child's.  Losing the QEMU
 * process (SIGKILL) thus loses exactly the writes no flush covered, which
 * is what a power cut does to a disk with a write cache: a frontend that
 * forgets to flush loses data its guest was told was durable.
 *
 * The contract kept, as for a real disk: data written before a flush
 * completed survives; data not yet flushed may or may not.
 *
 * The cache is bounded (cache-max-bytes, default 32 MiB, counted in 4 KiB
 * lines).  A write that does not fit first writes the whole cache back to
 * the child (as a full disk cache evicts; no flush of the child), then is
 * cached; a write bigger than the whole cache, or one that still does not
 * fit because other writes refilled the cache meanwhile, goes straight to
 * the child once everything completed before it has been written back.
 * Early write-back only makes data durable sooner, which the contract
 * allows.  If the write-back fails, the write fails (-EIO or the child's
 * error) and the cache keeps its data for the next attempt.
 *
 * A discard goes straight to the child.  A discarded range's contents are
 * undefined until it is written again, so reads that still return cached
 * data for it, or a write-back that later rewrites it, are both allowed.
 *
 * The node is built like a filter but is not flagged as one: its data
 * differs from its child's until a flush, and generic code that skips
 * filters would read the child directly.
 *
 * Counters, readable with qom-get on /pvkit-volatile/<node-name>:
 * flushes (flush requests that reached the node), write-backs,
 * written-back-bytes, evictions (write-backs forced by a full cache),
 * write-throughs, cached-bytes (sectors held now, in bytes), cache-lines
 * and cache-max-bytes.
 *
 * The guest is hostile: every request pattern is served within the
 * memory bound, and no request is refused that a disk would take.  The
 * cache is not migrated (migration flushes before the switch-over).
 *
 * Locking: s->lock (a QemuMutex, never held across a yield) guards the
 * two line trees and the counts; s->wb_lock serialises write-backs;
 * s->drop_lock keeps a written-back set alive while a read that may have
 * missed its data in the child still looks at it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "block/block-io.h"
#include "block/block_int.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/coroutine.h"
#include "qemu/module.h"
#include "qemu/option.h"
#include "qemu/stats64.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "qom/object.h"

#define VOLATILE_LINE_SIZE      4096
#define VOLATILE_LINE_SECTORS   (VOLATILE_LINE_SIZE / BDRV_SECTOR_SIZE)
#define VOLATILE_DEFAULT_MAX    (32 * MiB)
#define VOLATILE_MAX_MAX        (4 * GiB)
/* One child write of a write-back: at most this many bytes and pieces. */
#define VOLATILE_RUN_BYTES      (1 * MiB)
#define VOLATILE_RUN_IOV        256

#define VOLATILE_OPT_MAX        "cache-max-bytes"
#define VOLATILE_QOM_ROOT       "pvkit-volatile"

QEMU_BUILD_BUG_ON(VOLATILE_LINE_SECTORS > 8);

/* 4 KiB of the disk; @valid says which of its sectors the cache holds. */
typedef struct VolatileLine {
    uint64_t index;                     /* disk offset / VOLATILE_LINE_SIZE */
    uint8_t valid;                      /* bit n: sector n is cached */
    uint8_t data[VOLATILE_LINE_SIZE];
} VolatileLine;

/* A tree of lines keyed by index, with its totals. */
typedef struct VolatileSet {
    GTree *lines;
    uint64_t nr_lines;
    uint64_t nr_sectors;
} VolatileSet;

typedef struct BDRVVolatileState {
    QemuMutex lock;
    VolatileSet *cur;           /* writes go here */
    VolatileSet *wb;            /* being written back, or a failed attempt */
    uint64_t max_lines;         /* bound on cur + wb lines */

    CoMutex wb_lock;
    CoRwlock drop_lock;

    Object *qom;                /* /pvkit-volatile/<node-name> */
    uint64_t max_bytes;
    Stat64 flushes;
    Stat64 writebacks;
    Stat64 written_back_bytes;
    Stat64 evictions;
    Stat64 write_throughs;
} BDRVVolatileState;

static QemuOptsList volatile_runtime_opts = {
    .name = "pvkit-volatile",
    .head = QTAILQ_HEAD_INITIALIZER(volatile_runtime_opts.head),
    .desc = {
        {
            .name = VOLATILE_OPT_MAX,
            .type = QEMU_OPT_SIZE,
            .help = "bound on the cached data (default 32M, 4K to 4G)",
        },
        { /* end of list */ }
    },
};

static gint volatile_line_cmp(gconstpointer a, gconstpointer b,
                              gpointer opaque)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static VolatileSet *volatile_set_new(void)
{
    VolatileSet *set = g_new0(VolatileSet, 1);

    /* The key lives in the line, so only the value is freed. */
    set->lines = g_tree_new_full(volatile_line_cmp, NULL, NULL, g_free);
    return set;
}

static void volatile_set_free(VolatileSet *set)
{
    if (set) {
        g_tree_destroy(set->lines);
        g_free(set);
    }
}

static VolatileLine *volatile_set_find(VolatileSet *set, uint64_t index)
{
    return set ? g_tree_lookup(set->lines, &index) : NULL;
}

/* Lines the range [offset, offset + bytes) touches; bytes > 0. */
static uint64_t volatile_span(int64_t offset, int64_t bytes)
{
    return (offset + bytes - 1) / VOLATILE_LINE_SIZE -
           offset / VOLATILE_LINE_SIZE + 1;
}

/*
 * Whether a write of [offset, offset + bytes) fits in s->cur when it may
 * add at most @room lines.  Called with s->lock held.
 */
static bool volatile_fits(BDRVVolatileState *s, int64_t offset,
                          int64_t bytes, uint64_t room)
{
    uint64_t first = offset / VOLATILE_LINE_SIZE;
    uint64_t n = volatile_span(offset, bytes), i, need = 0;

    if (n <= room) {
        return true;            /* even if every line is new */
    }
    if (n > room + s->cur->nr_lines) {
        return false;           /* even if s->cur has all it can */
    }
    for (i = 0; i < n; i++) {
        if (!volatile_set_find(s->cur, first + i) && ++need > room) {
            return false;
        }
    }
    return true;
}

/*
 * Copy [offset, offset + bytes) of @qiov (from @qiov_offset), or zeroes if
 * @qiov is NULL, into s->cur.  The caller has checked that the new lines
 * fit.  Called with s->lock held.
 */
static void volatile_store(BDRVVolatileState *s, int64_t offset,
                           int64_t bytes, QEMUIOVector *qiov,
                           size_t qiov_offset)
{
    int64_t pos = offset, end = offset + bytes;

    while (pos < end) {
        uint64_t index = pos / VOLATILE_LINE_SIZE;
        int64_t line_start = index * VOLATILE_LINE_SIZE;
        int64_t n = MIN(end, line_start + VOLATILE_LINE_SIZE) - pos;
        unsigned first = (pos - line_start) / BDRV_SECTOR_SIZE;
        unsigned count = n / BDRV_SECTOR_SIZE;
        uint8_t bits = ((1u << count) - 1) << first;
        VolatileLine *line = volatile_set_find(s->cur, index);

        if (!line) {
            line = g_new(VolatileLine, 1);
            line->index = index;
            line->valid = 0;
            g_tree_insert(s->cur->lines, &line->index, line);
            s->cur->nr_lines++;
        }
        if (qiov) {
            qemu_iovec_to_buf(qiov, qiov_offset + (pos - offset),
                              line->data + (pos - line_start), n);
        } else {
            memset(line->data + (pos - line_start), 0, n);
        }
        s->cur->nr_sectors += ctpop8(bits & ~line->valid);
        line->valid |= bits;
        pos += n;
    }
}

/*
 * Copy the cached sectors of [offset, offset + bytes) into @qiov (from
 * @qiov_offset): s->cur's over s->wb's.  Called with s->lock held.
 */
static void volatile_overlay(BDRVVolatileState *s, int64_t offset,
                             int64_t bytes, QEMUIOVector *qiov,
                             size_t qiov_offset)
{
    int64_t pos = offset, end = offset + bytes;

    while (pos < end) {
        uint64_t index = pos / VOLATILE_LINE_SIZE;
        int64_t line_start = index * VOLATILE_LINE_SIZE;
        int64_t next = MIN(end, line_start + VOLATILE_LINE_SIZE);
        VolatileLine *c = volatile_set_find(s->cur, index);
        VolatileLine *w = volatile_set_find(s->wb, index);

        for (; (c || w) && pos < next; pos += BDRV_SECTOR_SIZE) {
            uint8_t bit = 1u << ((pos - line_start) / BDRV_SECTOR_SIZE);
            VolatileLine *src = c && (c->valid & bit) ? c :
                                w && (w->valid & bit) ? w : NULL;

            if (src) {
                qemu_iovec_from_buf(qiov, qiov_offset + (pos - offset),
                                    src->data + (pos - line_start),
                                    BDRV_SECTOR_SIZE);
            }
        }
        pos = next;
    }
}

static gboolean volatile_collect(gpointer key, gpointer value, gpointer opaque)
{
    g_ptr_array_add(opaque, value);
    return FALSE;
}

static int coroutine_fn GRAPH_RDLOCK
volatile_write_run(BlockDriverState *bs, int64_t offset, QEMUIOVector *qiov)
{
    BDRVVolatileState *s = bs->opaque;
    int ret;

    if (!qiov->size) {
        return 0;
    }
    ret = bdrv_co_pwritev(bs->file, offset, qiov->size, qiov, 0);
    if (ret == 0) {
        stat64_add(&s->written_back_bytes, qiov->size);
    }
    qemu_iovec_reset(qiov);
    return ret;
}

/*
 * Write every sector of @set to the child, in disk order, contiguous
 * sectors merged into one request.  The set is not changed by anyone
 * while this runs (only s->cur takes writes; write-backs are serialised).
 */
static int coroutine_fn GRAPH_RDLOCK
volatile_write_set(BlockDriverState *bs, VolatileSet *set)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new();
    QEMUIOVector qiov;
    int64_t run_start = 0;
    int ret = 0;
    guint i;

    g_tree_foreach(set->lines, volatile_collect, lines);
    qemu_iovec_init(&qiov, VOLATILE_RUN_IOV);
    for (i = 0; i < lines->len && ret == 0; i++) {
        VolatileLine *line = g_ptr_array_index(lines, i);
        unsigned a = 0, b;

        while (ret == 0 && a < VOLATILE_LINE_SECTORS) {
            int64_t pos;

            if (!(line->valid & (1u << a))) {
                a++;
                continue;
            }
            for (b = a + 1; b < VOLATILE_LINE_SECTORS &&
                 (line->valid & (1u << b)); b++) {
                /* find the end of this piece */
            }
            pos = line->index * VOLATILE_LINE_SIZE + a * BDRV_SECTOR_SIZE;
            if (qiov.size && (run_start + qiov.size != pos ||
                              qiov.niov >= VOLATILE_RUN_IOV ||
                              qiov.size >= VOLATILE_RUN_BYTES)) {
                ret = volatile_write_run(bs, run_start, &qiov);
            }
            if (!qiov.size) {
                run_start = pos;
            }
            qemu_iovec_add(&qiov, line->data + a * BDRV_SECTOR_SIZE,
                           (b - a) * BDRV_SECTOR_SIZE);
            a = b;
        }
    }
    if (ret == 0) {
        ret = volatile_write_run(bs, run_start, &qiov);
    }
    qemu_iovec_destroy(&qiov);
    return ret;
}

/* Write s->wb back and drop it.  Called with s->wb_lock held. */
static int coroutine_fn GRAPH_RDLOCK volatile_write_wb(BlockDriverState *bs)
{
    BDRVVolatileState *s = bs->opaque;
    VolatileSet *done;
    int ret;

    ret = volatile_write_set(bs, s->wb);
    if (ret < 0) {
        /* Keep it: reads still need it, the next write-back retries it. */
        return ret;
    }
    stat64_add(&s->writebacks, 1);
    /* Wait for reads that may have fetched stale data from the child. */
    qemu_co_rwlock_wrlock(&s->drop_lock);
    qemu_mutex_lock(&s->lock);
    done = s->wb;
    s->wb = NULL;
    qemu_mutex_unlock(&s->lock);
    qemu_co_rwlock_unlock(&s->drop_lock);
    volatile_set_free(done);
    return 0;
}

/*
 * Write back everything cached now: a set left by a failed attempt, then
 * s->cur.  Every write completed before the call is in the child when
 * this returns 0.
 */
static int coroutine_fn GRAPH_RDLOCK volatile_writeback(BlockDriverState *bs)
{
    BDRVVolatileState *s = bs->opaque;
    int ret = 0;

    qemu_co_mutex_lock(&s->wb_lock);
    if (s->wb) {
        ret = volatile_write_wb(bs);
    }
    if (ret == 0) {
        qemu_mutex_lock(&s->lock);
        if (s->cur->nr_lines) {
            s->wb = s->cur;
            s->cur = volatile_set_new();
        }
        qemu_mutex_unlock(&s->lock);
        if (s->wb) {
            ret = volatile_write_wb(bs);
        }
    }
    qemu_co_mutex_unlock(&s->wb_lock);
    return ret;
}

/* Cache a write (of zeroes if @qiov is NULL), evicting once if needed. */
static int coroutine_fn GRAPH_RDLOCK
volatile_co_write(BlockDriverState *bs, int64_t offset, int64_t bytes,
                  QEMUIOVector *qiov, size_t qiov_offset,
                  BdrvRequestFlags zero_flags)
{
    BDRVVolatileState *s = bs->opaque;
    bool evicted = false;
    int ret;

    for (;;) {
        uint64_t used;

        qemu_mutex_lock(&s->lock);
        used = s->cur->nr_lines + (s->wb ? s->wb->nr_lines : 0);
        if (volatile_fits(s, offset, bytes,
                          s->max_lines - MIN(s->max_lines, used))) {
            volatile_store(s, offset, bytes, qiov, qiov_offset);
            qemu_mutex_unlock(&s->lock);
            return 0;
        }
        qemu_mutex_unlock(&s->lock);
        if (evicted || volatile_span(offset, bytes) > s->max_lines) {
            break;
        }
        stat64_add(&s->evictions, 1);
        ret = volatile_writeback(bs);
        if (ret < 0) {
            return ret;
        }
        evicted = true;
    }

    /*
     * Too big, or the cache refilled while it was written back.  Make
     * sure everything completed before this write is in the child first,
     * so that the child never gets older data over this write's.
     */
    if (!evicted) {
        stat64_add(&s->evictions, 1);
        ret = volatile_writeback(bs);
        if (ret < 0) {
            return ret;
        }
    }
    stat64_add(&s->write_throughs, 1);
    if (!qiov) {
        return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, zero_flags);
    }
    return bdrv_co_pwritev_part(bs->file, offset, bytes, qiov, qiov_offset, 0);
}

static int coroutine_fn GRAPH_RDLOCK
volatile_co_pwritev_part(BlockDriverState *bs, int64_t offset, int64_t bytes,
                         QEMUIOVector *qiov, size_t qiov_offset,
                         BdrvRequestFlags flags)
{
    /* FUA is not in supported_write_flags: the block layer flushes after. */
    return volatile_co_write(bs, offset, bytes, qiov, qiov_offset, 0);
}

static int coroutine_fn GRAPH_RDLOCK
volatile_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
                          BdrvRequestFlags flags)
{
    return volatile_co_write(bs, offset, bytes, NULL, 0,
                             flags & BDRV_REQ_MAY_UNMAP);
}

static int coroutine_fn GRAPH_RDLOCK
volatile_co_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

static int coroutine_fn GRAPH_RDLOCK
volatile_co_preadv_part(BlockDriverState *bs, int64_t offset, int64_t bytes,
                        QEMUIOVector *qiov, size_t qiov_offset,
                        BdrvRequestFlags flags)
{
    BDRVVolatileState *s = bs->opaque;
    int ret;

    /*
     * Read the child, then lay the cache over it.  A line written back
     * while the child read runs may or may not be in what it returned;
     * the read lock keeps that line in s->wb until the overlay is done.
     */
    qemu_co_rwlock_rdlock(&s->drop_lock);
    ret = bdrv_co_preadv_part(bs->file, offset, bytes, qiov, qiov_offset,
                              flags);
    if (ret == 0) {
        qemu_mutex_lock(&s->lock);
        if (s->cur->nr_lines || s->wb) {
            volatile_overlay(s, offset, bytes, qiov, qiov_offset);
        }
        qemu_mutex_unlock(&s->lock);
    }
    qemu_co_rwlock_unlock(&s->drop_lock);
    return ret;
}

/*
 * Called on every flush before the child is flushed (even with
 * cache.no-flush): the write-back is what makes the cached data durable.
 */
static int coroutine_fn GRAPH_RDLOCK
volatile_co_flush_to_os(BlockDriverState *bs)
{
    BDRVVolatileState *s = bs->opaque;

    stat64_add(&s->flushes, 1);
    return volatile_writeback(bs);
}

static int64_t coroutine_fn GRAPH_RDLOCK
volatile_co_getlength(BlockDriverState *bs)
{
    return bdrv_co_getlength(bs->file->bs);
}

static void GRAPH_RDLOCK
volatile_refresh_limits(BlockDriverState *bs, Error **errp)
{
    /* Whole sectors only: the cache keeps one valid bit per sector. */
    bs->bl.request_alignment = MAX(bs->bl.request_alignment,
                                   BDRV_SECTOR_SIZE);
}

static void volatile_get_stat(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    uint64_t value = stat64_get(opaque);

    visit_type_uint64(v, name, &value, errp);
}

static void volatile_get_cached(Object *obj, Visitor *v, const char *name,
                                void *opaque, Error **errp)
{
    BDRVVolatileState *s = opaque;
    bool lines = !strcmp(name, "cache-lines");
    uint64_t value;

    qemu_mutex_lock(&s->lock);
    value = lines ? s->cur->nr_lines : s->cur->nr_sectors;
    if (s->wb) {
        value += lines ? s->wb->nr_lines : s->wb->nr_sectors;
    }
    qemu_mutex_unlock(&s->lock);
    if (!lines) {
        value *= BDRV_SECTOR_SIZE;
    }
    visit_type_uint64(v, name, &value, errp);
}

static void volatile_get_max(Object *obj, Visitor *v, const char *name,
                             void *opaque, Error **errp)
{
    BDRVVolatileState *s = opaque;

    visit_type_uint64(v, name, &s->max_bytes, errp);
}

/* /pvkit-volatile/<node-name>, a container holding the counters. */
static bool volatile_add_qom(BlockDriverState *bs, Error **errp)
{
    BDRVVolatileState *s = bs->opaque;
    static const struct {
        const char *name;
        size_t offset;
    } stats[] = {
        { "flushes", offsetof(BDRVVolatileState, flushes) },
        { "write-backs", offsetof(BDRVVolatileState, writebacks) },
        { "written-back-bytes",
          offsetof(BDRVVolatileState, written_back_bytes) },
        { "evictions", offsetof(BDRVVolatileState, evictions) },
        { "write-throughs", offsetof(BDRVVolatileState, write_throughs) },
    };
    Object *root = object_resolve_path_component(object_get_root(),
                                                  VOLATILE_QOM_ROOT);
    Object *obj;
    size_t i;

    if (!root) {
        root = object_property_add_new_container(object_get_root(),
                                                 VOLATILE_QOM_ROOT);
    }
    obj = object_new(TYPE_CONTAINER);
    for (i = 0; i < ARRAY_SIZE(stats); i++) {
        object_property_add(obj, stats[i].name, "uint64", volatile_get_stat,
                            NULL, NULL, (char *)s + stats[i].offset);
    }
    object_property_add(obj, "cached-bytes", "uint64", volatile_get_cached,
                        NULL, NULL, s);
    object_property_add(obj, "cache-lines", "uint64", volatile_get_cached,
                        NULL, NULL, s);
    object_property_add(obj, "cache-max-bytes", "uint64", volatile_get_max,
                        NULL, NULL, s);
    if (!object_property_try_add_child(root, bs->node_name, obj, errp)) {
        object_unref(obj);
        return false;
    }
    object_unref(obj);          /* the container holds it now */
    s->qom = obj;
    return true;
}

static int GRAPH_UNLOCKED
volatile_open(BlockDriverState *bs, QDict *options, int flags, Error **errp)
{
    BDRVVolatileState *s = bs->opaque;
    QemuOpts *opts;
    int ret;

    GLOBAL_STATE_CODE();

    opts = qemu_opts_create(&volatile_runtime_opts, NULL, 0, &error_abort);
    if (!qemu_opts_absorb_qdict(opts, options, errp)) {
        qemu_opts_del(opts);
        return -EINVAL;
    }
    s->max_bytes = qemu_opt_get_size(opts, VOLATILE_OPT_MAX,
                                     VOLATILE_DEFAULT_MAX);
    qemu_opts_del(opts);
    if (s->max_bytes < VOLATILE_LINE_SIZE ||
        s->max_bytes > VOLATILE_MAX_MAX) {
        error_setg(errp, "%s must be between 4K and 4G", VOLATILE_OPT_MAX);
        return -EINVAL;
    }
    s->max_lines = s->max_bytes / VOLATILE_LINE_SIZE;

    /* Data, not a filtered child: see the top of the file. */
    bdrv_open_child(NULL, options, "file", bs, &child_of_bds,
                    BDRV_CHILD_DATA | BDRV_CHILD_PRIMARY, false, errp);
    bdrv_graph_rdlock_main_loop();
    ret = bs->file ? 0 : -EINVAL;
    bdrv_graph_rdunlock_main_loop();
    if (ret < 0) {
        return ret;
    }

    qemu_mutex_init(&s->lock);
    qemu_co_mutex_init(&s->wb_lock);
    qemu_co_rwlock_init(&s->drop_lock);
    s->cur = volatile_set_new();

    if (!volatile_add_qom(bs, errp)) {
        volatile_set_free(s->cur);
        qemu_mutex_destroy(&s->lock);
        return -EEXIST;
    }

    /* FUA and unmapping zero writes are emulated or dropped above us. */
    bs->supported_write_flags = 0;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP;
    return 0;
}

/*
 * The block layer flushes before it closes a node, so nothing is left
 * here but after a failed write-back; that data is lost, as when a disk
 * with a dead medium is pulled.
 */
static void volatile_close(BlockDriverState *bs)
{
    BDRVVolatileState *s = bs->opaque;

    if (s->qom) {
        object_unparent(s->qom);
        s->qom = NULL;
    }
    volatile_set_free(s->wb);
    volatile_set_free(s->cur);
    s->wb = s->cur = NULL;
    qemu_mutex_destroy(&s->lock);
}

static const char *const volatile_strong_runtime_opts[] = {
    VOLATILE_OPT_MAX,
    NULL
};

static BlockDriver bdrv_pvkit_volatile = {
    .format_name                = "pvkit-volatile",
    .instance_size              = sizeof(BDRVVolatileState),
    .strong_runtime_opts        = volatile_strong_runtime_opts,

    .bdrv_open                  = volatile_open,
    .bdrv_close                 = volatile_close,
    .bdrv_child_perm            = bdrv_default_perms,
    .bdrv_refresh_limits        = volatile_refresh_limits,

    .bdrv_co_getlength          = volatile_co_getlength,
    .bdrv_co_preadv_part        = volatile_co_preadv_part,
    .bdrv_co_pwritev_part       = volatile_co_pwritev_part,
    .bdrv_co_pwrite_zeroes      = volatile_co_pwrite_zeroes,
    .bdrv_co_pdiscard           = volatile_co_pdiscard,
    .bdrv_co_flush_to_os        = volatile_co_flush_to_os,
};

static void bdrv_pvkit_volatile_init(void)
{
    bdrv_register(&bdrv_pvkit_volatile);
}

block_init(bdrv_pvkit_volatile_init);
