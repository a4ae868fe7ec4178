/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher, event channels.  See pvkit-dispatch.h for the
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

/* A port the guest may name in SEND, CLOSE, UNMASK, BIND_VCPU. */
static PVKitEvtchnPort *open_port(PVKitEvtchnState *ec, uint64_t port)
{
    if (port == 0 || port >= PVKIT_EVTCHN_PORTS ||
        ec->port[port].state == PVKIT_EVTCHN_CLOSED) {
        return NULL;
    }
    return &ec->port[port];
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
    struct pvkit_vcpu_info *vi = pvkit_vcpu_info(ops, opaque, ec, si, vcpu);
    uint8_t vector = ec->upcall_vector[vcpu];

    /* No place to flag it: the port stays pending for a later UNMASK. */
    if (!vi) {
        ec->stats.unflagged++;
        return;
    }
    __atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word,
                      __ATOMIC_SEQ_CST);
    __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    if (vector && !__atomic_load_n(&vi->evtchn_upcall_mask,
                                   __ATOMIC_SEQ_CST)) {
        ec->stats.injections++;
        ops->inject(opaque, vcpu, vector);
    }
    pvkit_vcpu_info_written(ops, opaque, ec, vcpu);
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
    /*
     * A new page (or none) is a new guest, or one going away: the areas
     * the old one registered may be memory someone else owns now.
     */
    pvkit_vcpu_info_drop_all(ops, opaque, ec);
    return 0;
}

static int64_t hc_vcpu_upcall(const PVKitHostOps *ops, void *opaque,
                              PVKitEvtchnState *ec, uint64_t vcpu,
                              uint64_t vector)
{
    int ret;

    if (vector != 0 && (vector < PVKIT_UPCALL_VECTOR_MIN ||
                        vector > PVKIT_UPCALL_VECTOR_MAX)) {
        return -PVKIT_EINVAL;
    }
    ret = pvkit_check_vcpu(ops, opaque, vcpu);
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
        } else if (p->endpoint == PVKIT_ENDPOINT_CLOCK) {
            /* The host raises these; the guest has nothing to say. */
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

int64_t pvkit_hc_evtchn(const PVKitHostOps *ops, void *opaque, uint32_t nr,
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
        if (args[0] != PVKIT_ENDPOINT_ECHO &&
            (args[0] != PVKIT_ENDPOINT_CLOCK ||
             !(ops->features(opaque) & PVKIT_F_CLOCK))) {
            return -PVKIT_EINVAL;
        }
        return new_port(ec, PVKIT_EVTCHN_HOST, 0, (uint16_t)args[0]);
    case PVKIT_HC_EVTCHN_BIND_IPI:
        ret = pvkit_check_vcpu(ops, opaque, args[0]);
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
        ret = pvkit_check_vcpu(ops, opaque, args[1]);
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
    pvkit_vcpu_info_drop_all(ops, opaque, ec);
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
        /* p->vcpu: any uint8_t is below PVKIT_MAX_VCPUS (pvkit-vcpu.c) */
        ok &= p->state <= PVKIT_EVTCHN_IPI &&
              (p->state == PVKIT_EVTCHN_HOST ?
               p->endpoint == PVKIT_ENDPOINT_ECHO ||
               p->endpoint == PVKIT_ENDPOINT_CLOCK ||
               p->endpoint == PVKIT_ENDPOINT_BACKEND : p->endpoint == 0);
    }
    for (i = 0; i < PVKIT_MAX_VCPUS; i++) {
        ok &= ec->upcall_vector[i] == 0 ||
              ec->upcall_vector[i] >= PVKIT_UPCALL_VECTOR_MIN;
        ok &= !(ec->vcpu_info_gpa[i] & 63);
    }
    return ok;
}

unsigned int pvkit_evtchn_raise_endpoint(const PVKitHostOps *ops,
                                         void *opaque, uint16_t endpoint)
{
    PVKitEvtchnState *ec = ops->evtchn(opaque);
    unsigned int n = 0;
    uint32_t port;

    for (port = 1; port < PVKIT_EVTCHN_PORTS; port++) {
        if (ec->port[port].state == PVKIT_EVTCHN_HOST &&
            ec->port[port].endpoint == endpoint) {
            deliver(ops, opaque, ec, port);
            n++;
        }
    }
    return n;
}
