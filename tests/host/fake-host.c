// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fake host shared by the unit tests and the fuzzer (fake-host.h).
 */
#include <inttypes.h>
#include <string.h>

#include "fake-host.h"

struct fake_env fake_env;
struct fake_host host;

struct region *fake_find(uint64_t gpa, uint64_t len)
{
    size_t i;

    for (i = 0; i < fake_env.nr_regions; i++) {
        struct region *r = &fake_env.regions[i];

        if (gpa >= r->base && gpa - r->base < r->size &&
            len <= r->size - (gpa - r->base)) {
            return r;
        }
    }
    return NULL;
}

static uint8_t *at(struct region *r, uint64_t gpa)
{
    return r->mem + (gpa - r->base);
}

static bool readable(struct region *r)
{
    return r && r->kind != MMIO;
}

static bool writable(struct region *r)
{
    return r && r->kind == RAM;
}

static void log_access(char kind, uint64_t gpa, uint32_t len, int ret)
{
    if (fake_env.access) {
        fake_env.access(kind, gpa, len, ret);
    }
}

/* The contract of mem_*: the dispatcher has already rejected these. */
static bool contract_ok(const char *op, uint64_t gpa, uint32_t len)
{
    if (len == 0 || len > PVKIT_PAGE_SIZE) {
        fake_env.fail(false, "%s with length %u reached the host", op, len);
        return false;
    }
    if (gpa > UINT64_MAX - (len - 1)) {
        fake_env.fail(false, "%s of a wrapping range %#" PRIx64 "+%u", op,
                      gpa, len);
        return false;
    }
    return true;
}

static int fake_read(void *opaque, uint64_t gpa, void *buf, uint32_t len)
{
    struct region *r;
    int ret = -PVKIT_EFAULT;

    (void)opaque;
    host.mem_calls++;
    if (contract_ok("mem_read", gpa, len)) {
        r = fake_find(gpa, len);
        if (readable(r)) {
            memcpy(buf, at(r, gpa), len);
            ret = 0;
        } else if (r) {
            host.mmio_touched++;
        }
    }
    log_access('r', gpa, len, ret);
    return ret;
}

static int fake_write(void *opaque, uint64_t gpa, const void *buf,
                      uint32_t len)
{
    struct region *r;
    int ret = -PVKIT_EFAULT;

    (void)opaque;
    host.mem_calls++;
    if (contract_ok("mem_write", gpa, len)) {
        r = fake_find(gpa, len);
        if (writable(r)) {
            memcpy(at(r, gpa), buf, len);
            ret = 0;
            host.writes_ok++;
        } else if (r && r->kind == MMIO) {
            host.mmio_touched++;
        }
    }
    log_access('w', gpa, len, ret);
    return ret;
}

static int fake_check(void *opaque, uint64_t gpa, uint32_t len, bool write)
{
    struct region *r;
    int ret = -PVKIT_EFAULT;

    (void)opaque;
    if (contract_ok("mem_check", gpa, len)) {
        r = fake_find(gpa, len);
        ret = (write ? writable(r) : readable(r)) ? 0 : -PVKIT_EFAULT;
    }
    log_access('c', gpa, len, ret);
    return ret;
}

static uint32_t fake_console_write(void *opaque, const void *buf,
                                   uint32_t len)
{
    uint32_t n = len < host.out_limit ? len : host.out_limit;

    (void)opaque;
    if (len > PVKIT_HC_MAX_LEN) {
        fake_env.fail(false, "console_write of %u bytes", len);
    }
    if (n > sizeof(host.out) - host.out_len) {
        n = sizeof(host.out) - host.out_len;
    }
    memcpy(host.out + host.out_len, buf, n);
    host.out_len += n;
    host.out_calls++;
    return n;
}

static uint32_t fake_console_peek(void *opaque, void *buf, uint32_t len)
{
    uint32_t n = len < host.in_len ? len : host.in_len;

    (void)opaque;
    memcpy(buf, host.in, n);
    return n;
}

static void fake_console_drop(void *opaque, uint32_t len)
{
    (void)opaque;
    if (len > host.in_len) {
        fake_env.fail(true, "console_drop(%u) with %u buffered", len,
                      host.in_len);
        len = host.in_len;
    }
    memmove(host.in, host.in + len, host.in_len - len);
    host.in_len -= len;
}

static uint64_t fake_features(void *opaque)
{
    (void)opaque;
    return host.features;
}

static PVKitEvtchnState *fake_evtchn(void *opaque)
{
    (void)opaque;
    return &host.ec;
}

/* Only a whole page of writable RAM can be the shared-info page. */
static int fake_shared_set(void *opaque, uint64_t gpa)
{
    struct region *r;

    (void)opaque;
    host.shared_sets++;
    if (gpa == 0) {
        host.shared = NULL;
        host.shared_gpa = 0;
        return 0;
    }
    if (gpa & (PVKIT_PAGE_SIZE - 1)) {
        fake_env.fail(false, "misaligned shared page %#" PRIx64
                      " reached the host", gpa);
        return -PVKIT_EFAULT;
    }
    r = fake_find(gpa, PVKIT_PAGE_SIZE);
    if (!writable(r)) {
        return -PVKIT_EFAULT;
    }
    host.shared = at(r, gpa);
    host.shared_gpa = gpa;
    return 0;
}

static struct pvkit_shared_info *fake_shared_page(void *opaque)
{
    (void)opaque;
    return (struct pvkit_shared_info *)host.shared;
}

static void fake_shared_written(void *opaque)
{
    (void)opaque;
    if (!host.shared) {
        fake_env.fail(false, "shared_written with no shared page");
    }
    host.shared_writes++;
}

static bool fake_vcpu_exists(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS) {
        fake_env.fail(false, "vcpu_exists(%u) reached the host", vcpu);
        return false;
    }
    return fake_vcpu_present(vcpu);
}

/*
 * Map a per-vCPU record of @size bytes (@size-aligned, writable RAM) into
 * @slot[@vcpu], as the host's record ops must; @what names the op.
 */
static int fake_record_set(uint8_t **slot, unsigned int *sets,
                           const char *what, uint32_t vcpu, uint64_t gpa,
                           uint64_t size)
{
    struct region *r;

    if (vcpu >= PVKIT_MAX_VCPUS || (gpa & (size - 1))) {
        fake_env.fail(false, "%s(%u, 0x%" PRIx64 ") breaks the contract",
                      what, vcpu, gpa);
        return -PVKIT_EFAULT;
    }
    (*sets)++;
    if (gpa == 0) {
        slot[vcpu] = NULL;
        return 0;
    }
    r = fake_find(gpa, size);
    if (!writable(r)) {
        if (r && r->kind == MMIO) {
            host.mmio_touched++;
        }
        return -PVKIT_EFAULT;
    }
    slot[vcpu] = at(r, gpa);
    return 0;
}

/* A vcpu_info area: 64 bytes of writable RAM, 64-byte aligned. */
static int fake_vcpu_info_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    int ret;

    (void)opaque;
    ret = fake_record_set(host.vcpu_area, &host.vcpu_area_sets,
                          "vcpu_info_set", vcpu, gpa,
                          sizeof(struct pvkit_vcpu_info));
    if (!ret) {
        host.vcpu_area_gpa[vcpu] = gpa;
    }
    return ret;
}

static struct pvkit_vcpu_info *fake_vcpu_info_area(void *opaque,
                                                   uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS) {
        fake_env.fail(false, "vcpu_info_area(%u)", vcpu);
        return NULL;
    }
    return (struct pvkit_vcpu_info *)host.vcpu_area[vcpu];
}

static void fake_vcpu_info_written(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS || !host.vcpu_area[vcpu]) {
        fake_env.fail(false, "vcpu_info_written(%u) with no area", vcpu);
        return;
    }
    host.vcpu_area_writes++;
}

static PVKitClockState *fake_clock(void *opaque)
{
    (void)opaque;
    return &host.clock;
}

static void fake_clock_params(void *opaque, struct pvkit_time_info *p)
{
    (void)opaque;
    *p = host.clock_p;
}

static int fake_clock_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    (void)opaque;
    return fake_record_set(host.clock_rec, &host.clock_sets, "clock_set",
                           vcpu, gpa, sizeof(struct pvkit_time_info));
}

static struct pvkit_time_info *fake_clock_area(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS) {
        fake_env.fail(false, "clock_area(%u)", vcpu);
        return NULL;
    }
    return (struct pvkit_time_info *)host.clock_rec[vcpu];
}

static void fake_clock_written(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS || !host.clock_rec[vcpu]) {
        fake_env.fail(false, "clock_written(%u) with no record", vcpu);
        return;
    }
    host.clock_writes++;
}

static void fake_clock_wall(void *opaque, struct pvkit_wall_clock *w)
{
    (void)opaque;
    *w = host.wall;
}

static PVKitStealState *fake_steal(void *opaque)
{
    (void)opaque;
    return &host.steal;
}

static int fake_steal_run_delay(void *opaque, uint32_t vcpu, uint64_t *ns)
{
    (void)opaque;
    if (!fake_vcpu_present(vcpu)) {
        fake_env.fail(false, "steal_run_delay(%u) of no vCPU", vcpu);
        return -1;
    }
    if (host.run_delay_fails) {
        return -1;
    }
    *ns = host.run_delay[vcpu];
    return 0;
}

static int fake_steal_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    (void)opaque;
    return fake_record_set(host.steal_rec, &host.steal_sets, "steal_set",
                           vcpu, gpa, sizeof(struct pvkit_steal_time));
}

static struct pvkit_steal_time *fake_steal_area(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS) {
        fake_env.fail(false, "steal_area(%u)", vcpu);
        return NULL;
    }
    return (struct pvkit_steal_time *)host.steal_rec[vcpu];
}

static void fake_steal_written(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (vcpu >= PVKIT_MAX_VCPUS || !host.steal_rec[vcpu]) {
        fake_env.fail(false, "steal_written(%u) with no record", vcpu);
        return;
    }
    host.steal_writes++;
}

static bool fake_steal_preempted(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    if (!fake_vcpu_present(vcpu)) {
        fake_env.fail(false, "steal_preempted(%u) of no vCPU", vcpu);
        return false;
    }
    return host.preempted[vcpu];
}

static uint32_t fake_vcpu_self(void *opaque)
{
    (void)opaque;
    return host.self;
}

static PVKitSpinState *fake_spin(void *opaque)
{
    (void)opaque;
    return &host.spin;
}

/* Only the calling vCPU parks itself, and only once per wait. */
static void fake_vcpu_block(void *opaque, uint32_t vcpu)
{
    (void)opaque;
    host.block_calls++;
    if (vcpu != host.self || !fake_vcpu_present(vcpu) || host.parked[vcpu]) {
        fake_env.fail(vcpu != host.self, "vcpu_block(%u) from vCPU %u",
                      vcpu, host.self);
        return;
    }
    host.parked[vcpu] = true;
}

static bool fake_vcpu_unblock(void *opaque, uint32_t vcpu)
{
    bool was = false;

    (void)opaque;
    host.unblock_calls++;
    if (!fake_vcpu_present(vcpu)) {
        fake_env.fail(false, "vcpu_unblock(%u) of no vCPU", vcpu);
        return false;
    }
    was = host.parked[vcpu];
    host.parked[vcpu] = false;
    return was;
}

static PVKitTlbState *fake_tlb(void *opaque)
{
    (void)opaque;
    return &host.tlb;
}

static void fake_tlb_flush(void *opaque, uint32_t vcpu, uint64_t va,
                           uint64_t pages)
{
    (void)opaque;
    if (!fake_vcpu_present(vcpu) || (va & (PVKIT_PAGE_SIZE - 1)) ||
        (!pages && va)) {
        fake_env.fail(false, "tlb_flush(vcpu %u, va 0x%llx, pages %llu)",
                      vcpu, (unsigned long long)va,
                      (unsigned long long)pages);
        return;
    }
    host.tlb_queued[vcpu]++;
    host.tlb_unsynced++;
    host.tlb_va = va;
    host.tlb_pages = pages;
}

static void fake_tlb_flush_sync(void *opaque)
{
    (void)opaque;
    if (!host.tlb_unsynced) {
        fake_env.fail(true, "tlb_flush_sync with nothing queued");
    }
    host.tlb_unsynced = 0;
    host.tlb_syncs++;
}

static int fake_test_hold(void *opaque, uint32_t vcpu, uint32_t ms)
{
    (void)opaque;
    if (!fake_vcpu_present(vcpu) || vcpu == host.self || !ms ||
        ms > PVKIT_TEST_HOLD_MAX_MS) {
        fake_env.fail(false, "test_hold(%u, %u ms) from vCPU %u", vcpu, ms,
                      host.self);
        return -PVKIT_EINVAL;
    }
    if (host.hold_busy) {
        return -PVKIT_EBUSY;
    }
    host.holds++;
    host.hold_vcpu = vcpu;
    host.hold_ms = ms;
    return 0;
}

static void fake_inject(void *opaque, uint32_t vcpu, uint8_t vector)
{
    (void)opaque;
    if (!fake_vcpu_present(vcpu) || vector < PVKIT_UPCALL_VECTOR_MIN) {
        fake_env.fail(false, "inject(vcpu %u, vector %#x)", vcpu, vector);
    }
    host.injects++;
    host.inject_vcpu = vcpu;
    host.inject_vector = vector;
}

static void fake_backend_kick(void *opaque, uint32_t port, void *backend)
{
    (void)opaque;
    host.kicks++;
    host.kick_port = port;
    host.kick_backend = backend;
}

static void fake_backend_release(void *opaque, uint32_t port, void *backend)
{
    (void)opaque;
    if (host.releases < 8) {
        host.release_ports[host.releases] = port;
        host.release_backends[host.releases] = backend;
    }
    host.releases++;
    host.release_port = port;
    host.release_backend = backend;
    if (backend == &host.store_token) {
        /* as pvkit.c: losing the port disconnects the store */
        host.store_ring = NULL;
        host.store_port = 0;
    }
}

/* The store as pvkit.c implements it, with a fake mapping. */
static int64_t fake_store_setup(void *opaque, uint64_t gpa)
{
    struct region *r;
    int64_t port;

    host.store_calls++;
    if (!gpa) {
        if (host.store_port) {
            pvkit_evtchn_backend_close(&ops, opaque, host.store_port);
        }
        host.store_ring = NULL;
        host.store_port = 0;
        return 0;
    }
    r = fake_find(gpa, PVKIT_PAGE_SIZE);
    if ((gpa & (PVKIT_PAGE_SIZE - 1)) || !writable(r)) {
        fake_env.fail(false, "store_setup(%#" PRIx64 ") breaks the contract",
                      gpa);
        return -PVKIT_EFAULT;
    }
    if (host.store_refuse) {
        return -PVKIT_ENOSPC;
    }
    if (host.store_ring) {
        return -PVKIT_EBUSY;
    }
    port = pvkit_evtchn_backend_alloc(&ops, opaque, &host.store_token);
    if (port < 0) {
        return port;
    }
    host.store_ring = at(r, gpa);
    host.store_port = (uint32_t)port;
    return port;
}

static PVKitGnttabState *fake_gnttab(void *opaque)
{
    (void)opaque;
    return &host.gt;
}

/* The table must be whole pages of writable RAM, in one region. */
static int fake_gnttab_set(void *opaque, uint64_t gpa, uint32_t nr)
{
    struct region *r;

    (void)opaque;
    host.gnttab_sets++;
    if (nr == 0) {
        host.gnttab = NULL;
        host.gnttab_nr = 0;
        return 0;
    }
    if ((gpa & (PVKIT_PAGE_SIZE - 1)) || nr > PVKIT_GNTTAB_MAX_FRAMES ||
        gpa > UINT64_MAX - ((uint64_t)nr * PVKIT_PAGE_SIZE - 1)) {
        fake_env.fail(false, "gnttab_set(%#" PRIx64 ", %u) breaks the"
                      " contract", gpa, nr);
        return -PVKIT_EFAULT;
    }
    r = fake_find(gpa, (uint64_t)nr * PVKIT_PAGE_SIZE);
    if (!writable(r)) {
        return -PVKIT_EFAULT;
    }
    host.gnttab = at(r, gpa);
    host.gnttab_nr = nr;
    return 0;
}

static struct pvkit_grant_entry *fake_gnttab_table(void *opaque)
{
    (void)opaque;
    return (struct pvkit_grant_entry *)host.gnttab;
}

static void fake_gnttab_written(void *opaque, uint32_t ref)
{
    (void)opaque;
    if (!host.gnttab ||
        ref >= host.gnttab_nr * PVKIT_GNTTAB_ENTRIES_PER_FRAME) {
        fake_env.fail(false, "gnttab_written(%u) outside the table", ref);
    }
    host.gnttab_writes++;
}

static void *fake_page_map(void *opaque, uint64_t gpa, bool write)
{
    struct region *r;

    (void)opaque;
    if ((gpa & (PVKIT_PAGE_SIZE - 1)) || gpa >> 44) {
        fake_env.fail(false, "page_map(%#" PRIx64 ") breaks the contract",
                      gpa);
        return NULL;
    }
    if (host.map_hook) {
        host.map_hook();
    }
    r = fake_find(gpa, PVKIT_PAGE_SIZE);
    if (!(write ? writable(r) : readable(r))) {
        if (r && r->kind == MMIO) {
            host.mmio_touched++;
        }
        return NULL;
    }
    host.page_maps++;
    return at(r, gpa);
}

static void fake_page_unmap(void *opaque, void *ptr, bool write)
{
    (void)opaque;
    if (!ptr || host.page_unmaps >= host.page_maps) {
        fake_env.fail(true, "page_unmap(%p) without a mapping", ptr);
        return;
    }
    host.page_unmaps++;
    host.page_unmaps_w += write;
    if (host.gnttab &&
        host.unmap_ref < host.gnttab_nr * PVKIT_GNTTAB_ENTRIES_PER_FRAME) {
        host.unmap_flags = ((struct pvkit_grant_entry *)host.gnttab)
                           [host.unmap_ref].flags;
    }
}

const PVKitHostOps ops = {
    .mem_read = fake_read,
    .mem_write = fake_write,
    .mem_check = fake_check,
    .console_write = fake_console_write,
    .console_peek = fake_console_peek,
    .console_drop = fake_console_drop,
    .features = fake_features,
    .evtchn = fake_evtchn,
    .shared_set = fake_shared_set,
    .shared_page = fake_shared_page,
    .shared_written = fake_shared_written,
    .vcpu_exists = fake_vcpu_exists,
    .vcpu_info_set = fake_vcpu_info_set,
    .vcpu_info_area = fake_vcpu_info_area,
    .vcpu_info_written = fake_vcpu_info_written,
    .inject = fake_inject,
    .backend_kick = fake_backend_kick,
    .backend_release = fake_backend_release,
    .gnttab = fake_gnttab,
    .gnttab_set = fake_gnttab_set,
    .gnttab_table = fake_gnttab_table,
    .gnttab_written = fake_gnttab_written,
    .page_map = fake_page_map,
    .page_unmap = fake_page_unmap,
    .store_setup = fake_store_setup,
    .clock = fake_clock,
    .clock_params = fake_clock_params,
    .clock_set = fake_clock_set,
    .clock_area = fake_clock_area,
    .clock_written = fake_clock_written,
    .clock_wall = fake_clock_wall,
    .steal = fake_steal,
    .steal_run_delay = fake_steal_run_delay,
    .steal_set = fake_steal_set,
    .steal_area = fake_steal_area,
    .steal_written = fake_steal_written,
    .steal_preempted = fake_steal_preempted,
    .vcpu_self = fake_vcpu_self,
    .spin = fake_spin,
    .vcpu_block = fake_vcpu_block,
    .vcpu_unblock = fake_vcpu_unblock,
    .tlb = fake_tlb,
    .tlb_flush = fake_tlb_flush,
    .tlb_flush_sync = fake_tlb_flush_sync,
    .test_hold = fake_test_hold,
};
