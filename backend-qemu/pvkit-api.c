/*
 * pvkit reference host device: the C API for device models
 *
 * The event-channel and grant functions of pvkit-dispatch.h for QEMU
 * device models (the Xen bus's tables in pvkit-xen-ops.c among them): each
 * finds the device, takes the BQL when the caller does not hold it, and
 * runs the dispatcher's host-side function.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "block/aio.h"
#include "pvkit-internal.h"

/* The C API for device models (pvkit-dispatch.h). */
int pvkit_evtchn_bind_backend(uint32_t port, AioContext *ctx,
                              void (*handler)(void *opaque), void *opaque)
{
    BQL_LOCK_GUARD();
    PVKitState *s = pvkit_instance;
    QEMUBH *bh;
    int ret;

    if (!s) {
        return -PVKIT_ENOENT;
    }
    bh = aio_bh_new(ctx ? ctx : qemu_get_aio_context(), handler, opaque);
    ret = pvkit_evtchn_backend_bind(&pvkit_host_ops, s, port, bh);
    if (ret) {
        qemu_bh_delete(bh);
    } else {
        s->nr_bindings++;
    }
    pvkit_migration_update(s);
    return ret;
}

int pvkit_evtchn_unbind_backend(uint32_t port)
{
    BQL_LOCK_GUARD();
    int ret;

    if (!pvkit_instance) {
        return -PVKIT_ENOENT;
    }
    ret = pvkit_evtchn_backend_unbind(&pvkit_host_ops, pvkit_instance,
                                      port);
    pvkit_migration_update(pvkit_instance);
    return ret;
}

int pvkit_evtchn_notify(uint32_t port)
{
    BQL_LOCK_GUARD();

    if (!pvkit_instance) {
        return -PVKIT_ENOENT;
    }
    return pvkit_evtchn_backend_notify(&pvkit_host_ops, pvkit_instance,
                                       port);
}

/* The grant API for device models (pvkit-dispatch.h). */
int pvkit_gnttab_map(uint32_t ref, bool write, void **ptr)
{
    BQL_LOCK_GUARD();
    int ret;

    if (!pvkit_instance) {
        return -PVKIT_ENOENT;
    }
    ret = pvkit_gnttab_host_map(&pvkit_host_ops, pvkit_instance, ref,
                                write, ptr);
    pvkit_migration_update(pvkit_instance);
    return ret;
}

int pvkit_gnttab_unmap(int handle)
{
    BQL_LOCK_GUARD();
    int ret;

    if (!pvkit_instance) {
        return -PVKIT_ENOENT;
    }
    ret = pvkit_gnttab_host_unmap(&pvkit_host_ops, pvkit_instance, handle);
    pvkit_migration_update(pvkit_instance);
    return ret;
}

int pvkit_gnttab_copy(uint32_t ref, uint32_t offset, uint32_t len,
                      void *buf, bool write)
{
    BQL_LOCK_GUARD();

    if (!pvkit_instance) {
        return -PVKIT_ENOENT;
    }
    return pvkit_gnttab_host_copy(&pvkit_host_ops, pvkit_instance, ref,
                                  offset, len, buf, write);
}
