/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher.  See pvkit-dispatch.h for the contract and
 * hypercall/SPEC.md for the ABI.
 *
 * Deliberately free of QEMU headers: tests/host/ builds this file with a
 * fake guest memory and checks every path.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pvkit-dispatch.h"

/* Features that can be reported through a non-negative 64-bit result. */
#define PVKIT_RESULT_MASK   0x7fffffffffffffffull

/* Low bits of the hypercall-page MSR other than ENABLE are reserved. */
#define PVKIT_HCALL_MSR_RSVD \
    ((uint64_t)(PVKIT_PAGE_SIZE - 1) & ~(uint64_t)PVKIT_HCALL_PAGE_ENABLE)

_Static_assert(sizeof(struct pvkit_hcall_entry) == 16, "entry layout");
_Static_assert(sizeof(struct pvkit_hcall_page) == 64, "page header layout");
_Static_assert(sizeof(PVKIT_CPUID_SIGNATURE) == 13, "signature size");
_Static_assert(PVKIT_HC_COUNT <= PVKIT_HCALL_PAGE_MAX_ENTRIES,
               "hypercall page too small");

/* True when [gpa, gpa + len) does not wrap around the address space. */
static bool range_ok(uint64_t gpa, uint64_t len)
{
    return len == 0 || gpa <= UINT64_MAX - (len - 1);
}

/* True when [a, a + len) and [b, b + len) share a byte; len > 0. */
static bool ranges_overlap(uint64_t a, uint64_t b, uint64_t len)
{
    return a >= b ? a - b < len : b - a < len;
}

/* Bytes 4*i..4*i+3 of the signature as a little-endian register value. */
static uint32_t sig_reg(unsigned int i)
{
    static const char sig[] = PVKIT_CPUID_SIGNATURE;
    const unsigned char *p = (const unsigned char *)sig + 4 * i;

    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static bool hc_offered(uint32_t nr, uint64_t features)
{
    switch (nr) {
    case PVKIT_HC_TEST_ECHO:
    case PVKIT_HC_TEST_COPY:
        return features & PVKIT_F_TEST;
    case PVKIT_HC_SHARED_INFO:
    case PVKIT_HC_VCPU_UPCALL:
    case PVKIT_HC_EVTCHN_ALLOC_UNBOUND:
    case PVKIT_HC_EVTCHN_BIND_HOST:
    case PVKIT_HC_EVTCHN_BIND_IPI:
    case PVKIT_HC_EVTCHN_SEND:
    case PVKIT_HC_EVTCHN_CLOSE:
    case PVKIT_HC_EVTCHN_UNMASK:
    case PVKIT_HC_EVTCHN_STATUS:
    case PVKIT_HC_EVTCHN_BIND_VCPU:
        return features & PVKIT_F_EVTCHN;
    case PVKIT_HC_GNTTAB_SETUP:
    case PVKIT_HC_GNTTAB_MAX_FRAMES:
        return features & PVKIT_F_GNTTAB;
    case PVKIT_HC_TEST_GRANT:
        return (features & (PVKIT_F_TEST | PVKIT_F_GNTTAB)) ==
               (PVKIT_F_TEST | PVKIT_F_GNTTAB);
    case PVKIT_HC_STORE_SETUP:
        return (features & (PVKIT_F_STORE | PVKIT_F_EVTCHN)) ==
               (PVKIT_F_STORE | PVKIT_F_EVTCHN);
    default:
        return nr < PVKIT_HC_COUNT;
    }
}

/* The checks every buffer argument gets first: size, then wrap-around. */
static int64_t check_buffer(uint64_t gpa, uint64_t len)
{
    if (len > PVKIT_HC_MAX_LEN) {
        return -PVKIT_E2BIG;
    }
    return range_ok(gpa, len) ? 0 : -PVKIT_EFAULT;
}

static int64_t hc_console_write(const PVKitHostOps *ops, void *opaque,
                                uint64_t gpa, uint64_t len)
{
    uint8_t buf[PVKIT_HC_MAX_LEN];
    uint32_t n;
    int64_t ret = check_buffer(gpa, len);

    if (ret || len == 0) {
        return ret;
    }
    if (ops->mem_read(opaque, gpa, buf, (uint32_t)len)) {
        return -PVKIT_EFAULT;
    }
    n = ops->console_write(opaque, buf, (uint32_t)len);
    return n > len ? (int64_t)len : (int64_t)n;
}

static int64_t hc_console_read(const PVKitHostOps *ops, void *opaque,
                               uint64_t gpa, uint64_t len)
{
    uint8_t buf[PVKIT_HC_MAX_LEN];
    uint32_t n;
    int64_t ret = check_buffer(gpa, len);

    if (ret || len == 0) {
        return ret;
    }
    /* The whole buffer must be writable, whether or not input is pending. */
    if (ops->mem_check(opaque, gpa, (uint32_t)len, true)) {
        return -PVKIT_EFAULT;
    }
    n = ops->console_peek(opaque, buf, (uint32_t)len);
    if (n > len) {
        n = (uint32_t)len;
    }
    if (n == 0) {
        return 0;
    }
    /* Consume the input only once it has reached the guest. */
    if (ops->mem_write(opaque, gpa, buf, n)) {
        return -PVKIT_EFAULT;
    }
    ops->console_drop(opaque, n);
    return n;
}

static int64_t hc_test_copy(const PVKitHostOps *ops, void *opaque,
                            uint64_t src, uint64_t dst, uint64_t len)
{
    uint8_t buf[PVKIT_HC_MAX_LEN];
    int64_t ret = check_buffer(src, len);

    if (!ret) {
        ret = check_buffer(dst, len);
    }
    if (ret || len == 0) {
        return ret;
    }
    if (ranges_overlap(src, dst, len)) {
        return -PVKIT_EINVAL;
    }
    if (ops->mem_read(opaque, src, buf, (uint32_t)len) ||
        ops->mem_write(opaque, dst, buf, (uint32_t)len)) {
        return -PVKIT_EFAULT;
    }
    return (int64_t)len;
}

/*
 * Event channels.  All shared-page accesses are atomic: the guest sets
 * and clears bits in the same words from any of its vCPUs.
 */

_Static_assert(sizeof(struct pvkit_vcpu_info) == 64, "vcpu_info layout");
_Static_assert(offsetof(struct pvkit_vcpu_info, evtchn_upcall_mask) == 1,
               "vcpu_info mask offset");
_Static_assert(offsetof(struct pvkit_vcpu_info, evtchn_pending_sel) == 8,
               "vcpu_info pending_sel offset");
_Static_assert(offsetof(struct pvkit_shared_info, evtchn_pending) == 2048,
               "evtchn_pending offset");
_Static_assert(offsetof(struct pvkit_shared_info, evtchn_mask) == 2560,
               "evtchn_mask offset");
_Static_assert(sizeof(struct pvkit_shared_info) == PVKIT_PAGE_SIZE,
               "shared info size");
_Static_assert(PVKIT_EVTCHN_PORTS / 64 <= 64, "selector has 64 bits");
_Static_assert(PVKIT_MAX_VCPUS <= 256, "vcpu fits the status encoding");

/* A port the guest may name in SEND, CLOSE, UNMASK, BIND_VCPU. */
static PVKitEvtchnPort *open_port(PVKitEvtchnState *ec, uint64_t port)
{
    if (port == 0 || port >= PVKIT_EVTCHN_PORTS ||
        ec->port[port].state == PVKIT_EVTCHN_CLOSED) {
        return NULL;
    }
    return &ec->port[port];
}

/* 0, -PVKIT_EINVAL (out of range) or -PVKIT_ENOENT (no such vCPU). */
static int check_vcpu(const PVKitHostOps *ops, void *opaque, uint64_t vcpu)
{
    if (vcpu >= PVKIT_MAX_VCPUS) {
        return -PVKIT_EINVAL;
    }
    return ops->vcpu_exists(opaque, (uint32_t)vcpu) ? 0 : -PVKIT_ENOENT;
}

/*
 * Selector and upcall part of delivery, for a port that is pending and
 * unmasked: flag word @word for @vcpu, flag the vCPU, raise its vector.
 * The interrupt is raised even when evtchn_upcall_pending was already
 * set: a spurious upcall costs the guest one scan, a lost one hangs it.
 */
static void raise_upcall(const PVKitHostOps *ops, void *opaque,
                         PVKitEvtchnState *ec, struct pvkit_shared_info *si,
                         uint32_t vcpu, uint32_t word)
{
    struct pvkit_vcpu_info *vi = &si->vcpu_info[vcpu];
    uint8_t vector = ec->upcall_vector[vcpu];

    __atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word,
                      __ATOMIC_SEQ_CST);
    __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    if (vector && !__atomic_load_n(&vi->evtchn_upcall_mask,
                                   __ATOMIC_SEQ_CST)) {
        ec->stats.injections++;
        ops->inject(opaque, vcpu, vector);
    }
}

/* Raise an event on open port @port towards its target vCPU. */
static void deliver(const PVKitHostOps *ops, void *opaque,
                    PVKitEvtchnState *ec, uint32_t port)
{
    struct pvkit_shared_info *si = ops->shared_page(opaque);
    uint32_t word = port / 64;
    uint64_t bit = 1ull << (port % 64);
    uint64_t old;

    ec->stats.deliveries++;
    if (!si) {
        ec->stats.dropped++;
        return;
    }
    old = __atomic_fetch_or(&si->evtchn_pending[word], bit,
                            __ATOMIC_SEQ_CST);
    if (old & bit) {
        ec->stats.coalesced++;
    } else if (__atomic_load_n(&si->evtchn_mask[word], __ATOMIC_SEQ_CST) &
               bit) {
        ec->stats.masked++;
    } else {
        raise_upcall(ops, opaque, ec, si, ec->port[port].vcpu, word);
    }
    ops->shared_written(opaque);
}

/* Lowest closed port >= 1, or 0 when the table is full. */
static uint32_t free_port(PVKitEvtchnState *ec)
{
    uint32_t p;

    for (p = 1; p < PVKIT_EVTCHN_PORTS; p++) {
        if (ec->port[p].state == PVKIT_EVTCHN_CLOSED) {
            return p;
        }
    }
    return 0;
}

static int64_t new_port(PVKitEvtchnState *ec, uint8_t state, uint8_t vcpu,
                        uint16_t endpoint)
{
    uint32_t p = free_port(ec);

    if (!p) {
        return -PVKIT_ENOSPC;
    }
    ec->port[p].state = state;
    ec->port[p].vcpu = vcpu;
    ec->port[p].endpoint = endpoint;
    ec->port[p].backend = NULL;
    return p;
}

static void close_port(const PVKitHostOps *ops, void *opaque,
                       PVKitEvtchnState *ec, uint32_t port)
{
    PVKitEvtchnPort *p = &ec->port[port];
    void *backend = p->backend;

    p->state = PVKIT_EVTCHN_CLOSED;
    p->vcpu = 0;
    p->endpoint = 0;
    p->backend = NULL;
    if (backend) {
        ops->backend_release(opaque, port, backend);
    }
}

static bool is_backend_port(const PVKitEvtchnPort *p)
{
    return p->state == PVKIT_EVTCHN_HOST &&
           p->endpoint == PVKIT_ENDPOINT_BACKEND;
}

static int64_t hc_shared_info(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec, uint64_t gpa)
{
    int ret;

    if (gpa & (PVKIT_PAGE_SIZE - 1)) {
        return -PVKIT_EINVAL;
    }
    ret = ops->shared_set(opaque, gpa);
    if (ret) {
        return -PVKIT_EFAULT;
    }
    ec->shared_gpa = gpa;
    return 0;
}

static int64_t hc_vcpu_upcall(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec, uint64_t vcpu,
                              uint64_t vector)
{
    int ret;

    if (vcpu >= PVKIT_MAX_VCPUS ||
        (vector != 0 && (vector < PVKIT_UPCALL_VECTOR_MIN ||
                         vector > PVKIT_UPCALL_VECTOR_MAX))) {
        return -PVKIT_EINVAL;
    }
    ret = check_vcpu(ops, opaque, vcpu);
    if (ret) {
        return ret;
    }
    ec->upcall_vector[vcpu] = (uint8_t)vector;
    return 0;
}

static int64_t hc_evtchn_send(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec, uint64_t port)
{
    PVKitEvtchnPort *p = open_port(ec, port);

    if (!p || p->state == PVKIT_EVTCHN_UNBOUND) {
        return -PVKIT_EINVAL;
    }
    ec->stats.sends++;
    switch (p->state) {
    case PVKIT_EVTCHN_HOST:
        if (p->endpoint == PVKIT_ENDPOINT_ECHO) {
            ec->stats.echoes++;
            deliver(ops, opaque, ec, (uint32_t)port);
        } else if (p->backend) {
            ec->stats.backend_kicks++;
            ops->backend_kick(opaque, (uint32_t)port, p->backend);
        }
        /* else: a device model binding lost in migration, not yet back */
        break;
    case PVKIT_EVTCHN_IPI:
        deliver(ops, opaque, ec, (uint32_t)port);
        break;
    }
    return 0;
}

static int64_t hc_evtchn_unmask(const PVKitHostOps *ops, void *opaque,
                                PVKitEvtchnState *ec, uint64_t port)
{
    PVKitEvtchnPort *p = open_port(ec, port);
    struct pvkit_shared_info *si;
    uint32_t word = (uint32_t)port / 64;
    uint64_t bit = 1ull << (port % 64);

    if (!p) {
        return -PVKIT_EINVAL;
    }
    si = ops->shared_page(opaque);
    if (!si) {
        return -PVKIT_EFAULT;
    }
    __atomic_fetch_and(&si->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&si->evtchn_pending[word], __ATOMIC_SEQ_CST) & bit) {
        raise_upcall(ops, opaque, ec, si, p->vcpu, word);
    }
    ops->shared_written(opaque);
    return 0;
}

static int64_t hc_evtchn_status(PVKitEvtchnState *ec, uint64_t port)
{
    const PVKitEvtchnPort *p;

    if (port >= PVKIT_EVTCHN_PORTS) {
        return -PVKIT_EINVAL;
    }
    p = &ec->port[port];
    if (p->state == PVKIT_EVTCHN_CLOSED) {
        return PVKIT_EVTCHN_CLOSED;
    }
    return (int64_t)p->state | (int64_t)p->vcpu << 8 |
           (int64_t)(p->state == PVKIT_EVTCHN_HOST ? p->endpoint : 0) << 16;
}

static int64_t hc_evtchn(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                         const uint64_t args[5])
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    PVKitEvtchnPort *p;
    int ret;

    switch (nr) {
    case PVKIT_HC_SHARED_INFO:
        return hc_shared_info(ops, opaque, ec, args[0]);
    case PVKIT_HC_VCPU_UPCALL:
        return hc_vcpu_upcall(ops, opaque, ec, args[0], args[1]);
    case PVKIT_HC_EVTCHN_ALLOC_UNBOUND:
        return new_port(ec, PVKIT_EVTCHN_UNBOUND, 0, 0);
    case PVKIT_HC_EVTCHN_BIND_HOST:
        if (args[0] != PVKIT_ENDPOINT_ECHO) {
            return -PVKIT_EINVAL;
        }
        return new_port(ec, PVKIT_EVTCHN_HOST, 0, PVKIT_ENDPOINT_ECHO);
    case PVKIT_HC_EVTCHN_BIND_IPI:
        ret = check_vcpu(ops, opaque, args[0]);
        if (ret) {
            return ret;
        }
        return new_port(ec, PVKIT_EVTCHN_IPI, (uint8_t)args[0], 0);
    case PVKIT_HC_EVTCHN_SEND:
        return hc_evtchn_send(ops, opaque, ec, args[0]);
    case PVKIT_HC_EVTCHN_CLOSE:
        if (!open_port(ec, args[0])) {
            return -PVKIT_EINVAL;
        }
        close_port(ops, opaque, ec, (uint32_t)args[0]);
        return 0;
    case PVKIT_HC_EVTCHN_UNMASK:
        return hc_evtchn_unmask(ops, opaque, ec, args[0]);
    case PVKIT_HC_EVTCHN_STATUS:
        return hc_evtchn_status(ec, args[0]);
    case PVKIT_HC_EVTCHN_BIND_VCPU:
        p = open_port(ec, args[0]);
        if (!p) {
            return -PVKIT_EINVAL;
        }
        ret = check_vcpu(ops, opaque, args[1]);
        if (ret) {
            return ret;
        }
        p->vcpu = (uint8_t)args[1];
        return 0;
    default:
        return -PVKIT_ENOSYS;
    }
}

void pvkit_evtchn_reset(const PVKitHostOps *ops, void *opaque)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    uint32_t port;

    for (port = 0; port < PVKIT_EVTCHN_PORTS; port++) {
        close_port(ops, opaque, ec, port);
    }
    memset(ec->upcall_vector, 0, sizeof(ec->upcall_vector));
    ops->shared_set(opaque, 0);
    ec->shared_gpa = 0;
}

int pvkit_evtchn_backend_bind(const PVKitHostOps *ops, void *opaque,
                              uint32_t port, void *backend)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    PVKitEvtchnPort *p = open_port(ec, port);

    if (!p || !backend ||
        (p->state != PVKIT_EVTCHN_UNBOUND &&
         !(is_backend_port(p) && !p->backend))) {
        return -PVKIT_EINVAL;
    }
    p->state = PVKIT_EVTCHN_HOST;
    p->endpoint = PVKIT_ENDPOINT_BACKEND;
    p->backend = backend;
    return 0;
}

int pvkit_evtchn_backend_unbind(const PVKitHostOps *ops, void *opaque,
                                uint32_t port)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    PVKitEvtchnPort *p = open_port(ec, port);
    void *backend;

    if (!p || !is_backend_port(p)) {
        return -PVKIT_EINVAL;
    }
    backend = p->backend;
    p->state = PVKIT_EVTCHN_UNBOUND;
    p->endpoint = 0;
    p->backend = NULL;
    if (backend) {
        ops->backend_release(opaque, port, backend);
    }
    return 0;
}

int pvkit_evtchn_backend_notify(const PVKitHostOps *ops, void *opaque,
                                uint32_t port)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    PVKitEvtchnPort *p = open_port(ec, port);

    if (!p || !is_backend_port(p) || !p->backend) {
        return -PVKIT_EINVAL;
    }
    deliver(ops, opaque, ec, port);
    return 0;
}

int64_t pvkit_evtchn_backend_alloc(const PVKitHostOps *ops, void *opaque,
                                   void *backend)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    int64_t port;

    if (!backend) {
        return -PVKIT_EINVAL;
    }
    port = new_port(ec, PVKIT_EVTCHN_HOST, 0, PVKIT_ENDPOINT_BACKEND);
    if (port > 0) {
        ec->port[port].backend = backend;
    }
    return port;
}

int pvkit_evtchn_backend_close(const PVKitHostOps *ops, void *opaque,
                               uint32_t port)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    PVKitEvtchnPort *p = open_port(ec, port);

    if (!p || !is_backend_port(p)) {
        return -PVKIT_EINVAL;
    }
    close_port(ops, opaque, ec, port);
    return 0;
}

bool pvkit_evtchn_post_load(PVKitEvtchnState *ec)
{
    uint32_t i;
    bool ok = ec->port[0].state == PVKIT_EVTCHN_CLOSED &&
              !(ec->shared_gpa & (PVKIT_PAGE_SIZE - 1));

    for (i = 0; i < PVKIT_EVTCHN_PORTS; i++) {
        PVKitEvtchnPort *p = &ec->port[i];

        p->backend = NULL;
        ok &= p->state <= PVKIT_EVTCHN_IPI && p->vcpu < PVKIT_MAX_VCPUS &&
              (p->state == PVKIT_EVTCHN_HOST ?
               p->endpoint == PVKIT_ENDPOINT_ECHO ||
               p->endpoint == PVKIT_ENDPOINT_BACKEND : p->endpoint == 0);
    }
    for (i = 0; i < PVKIT_MAX_VCPUS; i++) {
        ok &= ec->upcall_vector[i] == 0 ||
              ec->upcall_vector[i] >= PVKIT_UPCALL_VECTOR_MIN;
    }
    return ok;
}

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
        !range_ok(gt->gpa, (uint64_t)gt->nr_frames * PVKIT_PAGE_SIZE)) {
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
static int64_t hc_gnttab_setup(const PVKitHostOps *ops, void *opaque,
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
    if (!range_ok(gpa, nr * PVKIT_PAGE_SIZE)) {
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

static int64_t hc_test_grant(const PVKitHostOps *ops, void *opaque,
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

/*
 * STORE_SETUP: the dispatcher checks the page; the host maps it, binds a
 * port to its store (pvkit_evtchn_backend_alloc()) and refuses a second
 * connection.
 */
static int64_t hc_store_setup(const PVKitHostOps *ops, void *opaque,
                              uint64_t gpa)
{
    if (gpa & (PVKIT_PAGE_SIZE - 1)) {
        return -PVKIT_EINVAL;
    }
    if (gpa && ops->mem_check(opaque, gpa, PVKIT_PAGE_SIZE, true)) {
        return -PVKIT_EFAULT;
    }
    return ops->store_setup(opaque, gpa);
}

int64_t pvkit_dispatch(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5])
{
    uint64_t features = ops->features(opaque);

    if (nr < PVKIT_HC_COUNT) {
        ops->evtchn(opaque)->stats.hypercalls[nr]++;
    }
    if (!hc_offered(nr, features)) {
        return -PVKIT_ENOSYS;
    }

    switch (nr) {
    case PVKIT_HC_VERSION:
        return PVKIT_ABI_VERSION;
    case PVKIT_HC_FEATURES:
        return (int64_t)(features & PVKIT_RESULT_MASK);
    case PVKIT_HC_CONSOLE_WRITE:
        return hc_console_write(ops, opaque, args[0], args[1]);
    case PVKIT_HC_CONSOLE_READ:
        return hc_console_read(ops, opaque, args[0], args[1]);
    case PVKIT_HC_TEST_ECHO:
        return (int64_t)((args[0] + args[1] + args[2] + args[3]) &
                         0xffffffffull);
    case PVKIT_HC_TEST_COPY:
        return hc_test_copy(ops, opaque, args[0], args[1], args[2]);
    case PVKIT_HC_SHARED_INFO ... PVKIT_HC_EVTCHN_BIND_VCPU:
        return hc_evtchn(ops, opaque, nr, args);
    case PVKIT_HC_GNTTAB_SETUP:
        return hc_gnttab_setup(ops, opaque, args[0], args[1]);
    case PVKIT_HC_GNTTAB_MAX_FRAMES:
        return PVKIT_GNTTAB_MAX_FRAMES;
    case PVKIT_HC_TEST_GRANT:
        return hc_test_grant(ops, opaque, args);
    case PVKIT_HC_STORE_SETUP:
        return hc_store_setup(ops, opaque, args[0]);
    default:
        return -PVKIT_ENOSYS;
    }
}

void pvkit_fill_hcall_page(void *buf, size_t size, uint64_t features,
                           uint16_t port)
{
    struct pvkit_hcall_page *page = buf;
    uint32_t i;

    if (size < PVKIT_PAGE_SIZE) {
        return;
    }
    memset(buf, 0, PVKIT_PAGE_SIZE);
    page->magic = PVKIT_HCALL_PAGE_MAGIC;
    page->abi_version = PVKIT_ABI_VERSION;
    page->nr_entries = PVKIT_HC_COUNT;
    page->entry_size = sizeof(struct pvkit_hcall_entry);
    page->features = features;
    for (i = 0; i < PVKIT_HC_COUNT; i++) {
        page->entry[i].nr = i;
        if (hc_offered(i, features)) {
            page->entry[i].transport = PVKIT_TRANSPORT_PIO;
            page->entry[i].port = port;
        } else {
            page->entry[i].transport = PVKIT_TRANSPORT_NONE;
        }
    }
}

int pvkit_hcall_msr_write(const PVKitHostOps *ops, void *opaque,
                          uint16_t port, uint64_t *msr, uint64_t val)
{
    uint8_t page[PVKIT_PAGE_SIZE];
    uint64_t gpa = val & ~(uint64_t)(PVKIT_PAGE_SIZE - 1);

    if (val == 0) {
        *msr = 0;
        return 0;
    }
    if (!(val & PVKIT_HCALL_PAGE_ENABLE) || (val & PVKIT_HCALL_MSR_RSVD)) {
        return -1;
    }
    pvkit_fill_hcall_page(page, sizeof(page), ops->features(opaque), port);
    if (ops->mem_write(opaque, gpa, page, sizeof(page))) {
        return -1;
    }
    *msr = val;
    return 0;
}

bool pvkit_cpuid(uint32_t base, uint32_t index, uint64_t features,
                 uint32_t regs[4])
{
    if (index == base) {
        regs[0] = base + PVKIT_CPUID_LEAVES - 1;
        regs[1] = sig_reg(0);
        regs[2] = sig_reg(1);
        regs[3] = sig_reg(2);
        return true;
    }
    if (index == base + PVKIT_CPUID_INFO) {
        regs[0] = PVKIT_ABI_VERSION;
        regs[1] = (uint32_t)features;
        regs[2] = (uint32_t)(features >> 32);
        regs[3] = PVKIT_MSR_HYPERCALL_PAGE;
        return true;
    }
    return false;
}

/*
 * The blocks QEMU fills below the kit: under TCG, TCG's own at
 * 0x40000000 (its signature, or zeros); under KVM, Hyper-V's at
 * 0x40000000 when enlightenments are on, then either Xen's (Xen
 * emulation) or KVM's (expose-kvm), in that order (kvm_arch_init_vcpu()).
 */
static uint32_t cpuid_blocks_taken(const PVKitCpuidLayout *l)
{
    if (!l->kvm) {
        return 1;
    }
    return (l->hyperv ? 1 : 0) + (l->xen || l->kvm_leaves ? 1 : 0);
}

uint32_t pvkit_cpuid_pick_base(const PVKitCpuidLayout *l, uint32_t want)
{
    uint32_t taken = cpuid_blocks_taken(l);
    uint32_t first_free = PVKIT_CPUID_RANGE_MIN + taken * PVKIT_CPUID_STEP;

    if (!want) {
        /* 0x40000100 unless more than one block is taken */
        return taken > 1 ? first_free : PVKIT_CPUID_BASE;
    }
    if ((want & (PVKIT_CPUID_STEP - 1)) || want < first_free ||
        want > PVKIT_CPUID_RANGE_MAX) {
        return 0;
    }
    return want;
}

int64_t pvkit_dispatch_regs(const PVKitHostOps *ops, void *opaque,
                            uint32_t nr, PVKitHcallRegs *r)
{
    const uint64_t args[5] = { r->rdi, r->rsi, r->r10, r->r8, r->r9 };

    r->rax = (uint64_t)pvkit_dispatch(ops, opaque, nr, args);
    return (int64_t)r->rax;
}
