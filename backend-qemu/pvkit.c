/*
 * pvkit reference host device
 *
 * The host side of the pvkit paravirtual ABI (hypercall/pvkit.h in the
 * pvkit kit): CPUID leaves (0x40000100, or the first block above those of
 * KVM, Hyper-V or Xen emulation), the hypercall-page MSR and the
 * port-I/O hypercall transport, plus a console backed by a chardev,
 * Xen-style event channels, grant tables and a xenstore.  Argument
 * validation and hypercall semantics live in pvkit-dispatch.c, the store
 * server in pvkit-store.c (its ring's framing in pvkit-xs-ring.c), the C
 * API for device models in pvkit-api.c; this file supplies guest memory,
 * the console, the shared-info page and grant-table mappings, interrupt
 * injection, the CPU glue and migration.  With xen-bus on it also
 * creates QEMU's Xen bus, whose backends reach these services through
 * the tables of pvkit-xen-ops.c.
 *
 * Migration: the store, device-model bindings and grant mappings do not
 * migrate, so while the guest uses any of them the device holds a
 * migration blocker (pvkit_migration_update()).
 *
 * Locking: every hypercall, the MSR, the event-channel table and the
 * grant-table state run under the BQL.  The device-model APIs
 * (pvkit_evtchn_bind_backend(), pvkit_gnttab_map() and friends) take the
 * BQL when their caller does not hold it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include CONFIG_DEVICES
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qapi/qapi-builtin-visit.h"
#include "qapi/visitor.h"
#include "hw/core/cpu.h"
#include "hw/i386/apic-msidef.h"
#include "exec/address-spaces.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "system/hw_accel.h"
#include "system/kvm.h"
#include "system/runstate.h"
#include "system/tcg.h"
#include "hw/xen/xen_backend_ops.h"
#include "hw/xen/xen-bus.h"
#include "hw/i386/kvm/xenstore_impl.h"
#include "pvkit-internal.h"
#include "pvkit-xen-ops.h"
#ifdef CONFIG_KVM
#include <linux/kvm.h>
#endif

#define PVKIT_IO_SIZE       4
#define PVKIT_DEFAULT_PORT  0x560
#define PVKIT_RX_FIFO_SIZE  4096
/* MSI address window of the local APICs (Intel SDM 11.11.1). */
#define PVKIT_MSI_ADDR      0xfee00000ull

/* The CPUID leaves and the MSR are machine-wide: one device at most. */
PVKitState *pvkit_instance;

/*
 * True when [gpa, gpa + len) lies inside one guest RAM section; for
 * @write also that it is writable.  ROM, ROM devices, RAM devices (e.g.
 * assigned BARs), MMIO and holes are refused, so a guest cannot use a
 * hypercall to reach device memory.
 */
static bool pvkit_ram_section(const MemoryRegionSection *sec, uint64_t gpa,
                              uint32_t len, bool write)
{
    return memory_region_is_ram(sec->mr) &&
           !memory_region_is_ram_device(sec->mr) &&
           sec->offset_within_address_space == gpa &&
           int128_eq(sec->size, int128_make64(len)) &&
           (!write || (!sec->readonly && !memory_region_is_rom(sec->mr)));
}

static bool pvkit_ram_range(uint64_t gpa, uint32_t len, bool write)
{
    MemoryRegionSection sec;
    bool ok;

    sec = memory_region_find(get_system_memory(), gpa, len);
    if (!sec.mr) {
        return false;
    }
    ok = pvkit_ram_section(&sec, gpa, len, write);
    memory_region_unref(sec.mr);
    return ok;
}

/*
 * Map [gpa, gpa + len) of writable guest RAM into @m, replacing what it
 * held; len 0 just unmaps.  On failure @m is left as it was.
 */
int pvkit_guest_ram_map(PVKitGuestRam *m, uint64_t gpa, uint64_t len)
{
    MemoryRegionSection sec = { 0 };

    if (len) {
        sec = memory_region_find(get_system_memory(), gpa, len);
        if (!sec.mr) {
            return -PVKIT_EFAULT;
        }
        if (!pvkit_ram_section(&sec, gpa, len, true) ||
            !memory_region_get_ram_ptr(sec.mr)) {
            memory_region_unref(sec.mr);
            return -PVKIT_EFAULT;
        }
    }
    if (m->mr) {
        memory_region_unref(m->mr);
    }
    m->mr = sec.mr;
    m->offset = sec.offset_within_region;
    m->ptr = sec.mr ? (uint8_t *)memory_region_get_ram_ptr(sec.mr) +
                      sec.offset_within_region : NULL;
    return 0;
}

/* The host wrote there behind the guest's back: tell migration. */
void pvkit_guest_ram_dirty(PVKitGuestRam *m, hwaddr offset, hwaddr len)
{
    if (m->mr) {
        memory_region_set_dirty(m->mr, m->offset + offset, len);
    }
}

static int pvkit_mem_read(void *opaque, uint64_t gpa, void *buf,
                          uint32_t len)
{
    if (!pvkit_ram_range(gpa, len, false) ||
        address_space_read(&address_space_memory, gpa,
                           MEMTXATTRS_UNSPECIFIED, buf, len) != MEMTX_OK) {
        return -PVKIT_EFAULT;
    }
    return 0;
}

static int pvkit_mem_write(void *opaque, uint64_t gpa, const void *buf,
                           uint32_t len)
{
    if (!pvkit_ram_range(gpa, len, true) ||
        address_space_write(&address_space_memory, gpa,
                            MEMTXATTRS_UNSPECIFIED, buf, len) != MEMTX_OK) {
        return -PVKIT_EFAULT;
    }
    return 0;
}

static int pvkit_mem_check(void *opaque, uint64_t gpa, uint32_t len,
                           bool write)
{
    return pvkit_ram_range(gpa, len, write) ? 0 : -PVKIT_EFAULT;
}

/*
 * The whole buffer goes to the chardev (like debugcon), so the result is
 * always @len as the ABI promises.  Without a chardev the output is
 * discarded and reported as written.
 */
static uint32_t pvkit_console_write(void *opaque, const void *buf,
                                    uint32_t len)
{
    PVKitState *s = opaque;
    int ret;

    if (!qemu_chr_fe_backend_connected(&s->chr)) {
        return len;
    }
    ret = qemu_chr_fe_write_all(&s->chr, buf, len);
    return ret < 0 ? 0 : ret;
}

static uint32_t pvkit_console_peek(void *opaque, void *buf, uint32_t len)
{
    PVKitState *s = opaque;

    /* fifo8_peek_buf() asserts that it is never asked for more than is there */
    return fifo8_peek_buf(&s->rx, buf, MIN(len, fifo8_num_used(&s->rx)));
}

static void pvkit_console_drop(void *opaque, uint32_t len)
{
    PVKitState *s = opaque;

    fifo8_drop(&s->rx, len);
    qemu_chr_fe_accept_input(&s->chr);
}

static uint64_t pvkit_features(void *opaque)
{
    PVKitState *s = opaque;

    return s->features;
}

static PVKitEvtchnState *pvkit_evtchn(void *opaque)
{
    PVKitState *s = opaque;

    return &s->ec;
}

/*
 * Map the shared-info page: keep a reference on the RAM region and its
 * host pointer, so delivery needs no address translation and can use
 * atomic operations on the words the guest shares.
 */
static int pvkit_shared_set(void *opaque, uint64_t gpa)
{
    PVKitState *s = opaque;

    return pvkit_guest_ram_map(&s->shared_ram, gpa, gpa ? PVKIT_PAGE_SIZE : 0);
}

static struct pvkit_shared_info *pvkit_shared_page(void *opaque)
{
    PVKitState *s = opaque;

    return s->shared_ram.ptr;
}

/* The host wrote the page behind the guest's back: tell migration. */
static void pvkit_shared_written(void *opaque)
{
    PVKitState *s = opaque;

    pvkit_guest_ram_dirty(&s->shared_ram, 0, PVKIT_PAGE_SIZE);
}

static bool pvkit_vcpu_exists(void *opaque, uint32_t vcpu)
{
    return cpu_by_arch_id(vcpu) != NULL;
}

/* A vCPU's own vcpu_info, kept mapped as the shared-info page is. */
static int pvkit_vcpu_info_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    PVKitState *s = opaque;

    return pvkit_guest_ram_map(&s->vcpu_ram[vcpu], gpa,
                               gpa ? sizeof(struct pvkit_vcpu_info) : 0);
}

static struct pvkit_vcpu_info *pvkit_vcpu_info_area(void *opaque,
                                                    uint32_t vcpu)
{
    PVKitState *s = opaque;

    return s->vcpu_ram[vcpu].ptr;
}

static void pvkit_vcpu_info_written(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;

    pvkit_guest_ram_dirty(&s->vcpu_ram[vcpu], 0,
                          sizeof(struct pvkit_vcpu_info));
}

static PVKitClockState *pvkit_clock(void *opaque)
{
    PVKitState *s = opaque;

    return &s->clk;
}

/* A vCPU's time record, kept mapped as its vcpu_info is. */
static int pvkit_clock_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    PVKitState *s = opaque;

    return pvkit_guest_ram_map(&s->clock_ram[vcpu], gpa,
                               gpa ? sizeof(struct pvkit_time_info) : 0);
}

static struct pvkit_time_info *pvkit_clock_area(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;

    return s->clock_ram[vcpu].ptr;
}

static void pvkit_clock_written(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;

    pvkit_guest_ram_dirty(&s->clock_ram[vcpu], 0,
                          sizeof(struct pvkit_time_info));
}

static PVKitStealState *pvkit_steal(void *opaque)
{
    PVKitState *s = opaque;

    return &s->st;
}

/* A vCPU's steal record, kept mapped; its updates start with it. */
static int pvkit_steal_set(void *opaque, uint32_t vcpu, uint64_t gpa)
{
    PVKitState *s = opaque;
    int ret = pvkit_guest_ram_map(&s->steal_ram[vcpu], gpa,
                                  gpa ? sizeof(struct pvkit_steal_time) : 0);

    if (!ret && gpa) {
        pvkit_steal_kick(s);
    }
    return ret;
}

static struct pvkit_steal_time *pvkit_steal_area(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;

    return s->steal_ram[vcpu].ptr;
}

static void pvkit_steal_written(void *opaque, uint32_t vcpu)
{
    PVKitState *s = opaque;

    pvkit_guest_ram_dirty(&s->steal_ram[vcpu], 0,
                          sizeof(struct pvkit_steal_time));
}

static PVKitSpinState *pvkit_spin(void *opaque)
{
    PVKitState *s = opaque;

    return &s->spin;
}

static PVKitTlbState *pvkit_tlb(void *opaque)
{
    PVKitState *s = opaque;

    return &s->tlb;
}

/*
 * A fixed, edge-triggered interrupt to one APIC ID, as an MSI write into
 * the APIC window of system memory: TCG's "apic-msi" region delivers it
 * with apic_deliver_irq(), KVM's "kvm-apic-msi" region with
 * KVM_SIGNAL_MSI, so the same code serves both.  Dispatch takes the BQL
 * itself when a caller does not hold it.
 */
static void pvkit_inject(void *opaque, uint32_t vcpu, uint8_t vector)
{
    uint64_t addr = PVKIT_MSI_ADDR |
                    ((uint64_t)vcpu << MSI_ADDR_DEST_ID_SHIFT);
    uint32_t data = vector | (1u << MSI_DATA_LEVEL_SHIFT);

    address_space_stl_le(&address_space_memory, addr, data,
                         MEMTXATTRS_UNSPECIFIED, NULL);
}

/* A device model's binding is a bottom half: scheduling it never waits. */
static void pvkit_backend_kick(void *opaque, uint32_t port, void *backend)
{
    qemu_bh_schedule(backend);
}

static void pvkit_backend_release(void *opaque, uint32_t port, void *backend)
{
    PVKitState *s = opaque;

    assert(s->nr_bindings);
    s->nr_bindings--;
    if (backend == s->xs_bh) {
        /* the store's port went away (guest close, reset): disconnect */
        s->xs_port = 0;
        pvkit_store_unmap(s);
        return;
    }
    qemu_bh_delete(backend);
}

static PVKitGnttabState *pvkit_gnttab(void *opaque)
{
    PVKitState *s = opaque;

    return &s->gt;
}

/*
 * Map the grant table like the shared-info page: all @nr_frames pages
 * must lie in one writable RAM section; keep a reference on the region.
 */
static int pvkit_gnttab_set(void *opaque, uint64_t gpa, uint32_t nr_frames)
{
    PVKitState *s = opaque;

    return pvkit_guest_ram_map(&s->gnttab_ram, gpa,
                               (uint64_t)nr_frames * PVKIT_PAGE_SIZE);
}

static struct pvkit_grant_entry *pvkit_gnttab_table(void *opaque)
{
    PVKitState *s = opaque;

    return s->gnttab_ram.ptr;
}

static void pvkit_gnttab_written(void *opaque, uint32_t ref)
{
    PVKitState *s = opaque;

    pvkit_guest_ram_dirty(&s->gnttab_ram,
                          (hwaddr)ref * sizeof(struct pvkit_grant_entry),
                          sizeof(struct pvkit_grant_entry));
}

/*
 * A granted page, through address_space_map(): it holds a reference on
 * the RAM region until address_space_unmap(), which also marks the page
 * dirty and, under TCG, invalidates translated code on it after writes.
 * Only RAM is accepted, so the result is never a bounce buffer.
 */
static void *pvkit_page_map(void *opaque, uint64_t gpa, bool write)
{
    hwaddr len = PVKIT_PAGE_SIZE;
    void *p;

    if (!pvkit_ram_range(gpa, PVKIT_PAGE_SIZE, write)) {
        return NULL;
    }
    p = address_space_map(&address_space_memory, gpa, &len, write,
                          MEMTXATTRS_UNSPECIFIED);
    if (p && len < PVKIT_PAGE_SIZE) {
        address_space_unmap(&address_space_memory, p, len, false, 0);
        p = NULL;
    }
    return p;
}

static void pvkit_page_unmap(void *opaque, void *ptr, bool write)
{
    address_space_unmap(&address_space_memory, ptr, PVKIT_PAGE_SIZE, write,
                        write ? PVKIT_PAGE_SIZE : 0);
}

/* ---- migration ---- */

/*
 * What the device cannot carry across a migration: the store (its tree and
 * the guest's connection live only in this QEMU), event channels bound to
 * device models and grant mappings (device-model pointers into guest RAM).
 * The rest (the port table, vectors, the shared-info page and grant table
 * addresses) is in vmstate_pvkit.
 */
static bool pvkit_in_use(PVKitState *s)
{
    return s->xs_ram.mr || s->nr_bindings || s->gt.nr_maps;
}

/*
 * Hold a migration blocker exactly while pvkit_in_use().  Called after
 * everything that can change it: each hypercall, the device-model API,
 * reset and loading.  Adding the blocker fails while a migration is
 * running or with -only-migratable; pvkit_pre_save() then still fails
 * the migration.
 */
void pvkit_migration_update(PVKitState *s)
{
    bool use = pvkit_in_use(s);
    Error *err = NULL;

    if (use == s->in_use) {
        return;
    }
    s->in_use = use;
    if (!use) {
        if (s->migration_blocker) {
            migrate_del_blocker(&s->migration_blocker);
        }
        return;
    }
    error_setg(&s->migration_blocker, "pvkit: the guest uses the store, "
               "event channels bound to device models or grant mappings, "
               "which do not migrate");
    if (migrate_add_blocker(&s->migration_blocker, &err) < 0) {
        warn_report_err(err);
    }
}

/* The backstop for a kit put in use when the blocker could not be added. */
static int pvkit_pre_save(void *opaque)
{
    PVKitState *s = opaque;

    if (pvkit_in_use(s)) {
        error_report("pvkit: cannot migrate: the guest uses the store, "
                     "device-model event channels or grant mappings");
        return -EBUSY;
    }
    return 0;
}

const PVKitHostOps pvkit_host_ops = {
    .mem_read = pvkit_mem_read,
    .mem_write = pvkit_mem_write,
    .mem_check = pvkit_mem_check,
    .console_write = pvkit_console_write,
    .console_peek = pvkit_console_peek,
    .console_drop = pvkit_console_drop,
    .features = pvkit_features,
    .evtchn = pvkit_evtchn,
    .shared_set = pvkit_shared_set,
    .shared_page = pvkit_shared_page,
    .shared_written = pvkit_shared_written,
    .vcpu_exists = pvkit_vcpu_exists,
    .vcpu_info_set = pvkit_vcpu_info_set,
    .vcpu_info_area = pvkit_vcpu_info_area,
    .vcpu_info_written = pvkit_vcpu_info_written,
    .inject = pvkit_inject,
    .backend_kick = pvkit_backend_kick,
    .backend_release = pvkit_backend_release,
    .gnttab = pvkit_gnttab,
    .gnttab_set = pvkit_gnttab_set,
    .gnttab_table = pvkit_gnttab_table,
    .gnttab_written = pvkit_gnttab_written,
    .page_map = pvkit_page_map,
    .page_unmap = pvkit_page_unmap,
    .store_setup = pvkit_store_setup,
    .clock = pvkit_clock,
    .clock_params = pvkit_clock_params,
    .clock_set = pvkit_clock_set,
    .clock_area = pvkit_clock_area,
    .clock_written = pvkit_clock_written,
    .clock_wall = pvkit_clock_wall,
    .steal = pvkit_steal,
    .steal_run_delay = pvkit_steal_run_delay,
    .steal_set = pvkit_steal_set,
    .steal_area = pvkit_steal_area,
    .steal_written = pvkit_steal_written,
    .steal_preempted = pvkit_steal_preempted,
    .vcpu_self = pvkit_vcpu_self,
    .spin = pvkit_spin,
    .vcpu_block = pvkit_vcpu_block,
    .vcpu_unblock = pvkit_vcpu_unblock,
    .tlb = pvkit_tlb,
    .tlb_flush = pvkit_tlb_flush,
    .tlb_flush_sync = pvkit_tlb_flush_sync,
    .test_hold = pvkit_test_hold,
};

static int pvkit_can_receive(void *opaque)
{
    PVKitState *s = opaque;

    return fifo8_num_free(&s->rx);
}

static void pvkit_receive(void *opaque, const uint8_t *buf, int size)
{
    PVKitState *s = opaque;
    uint32_t n = MIN((uint32_t)size, fifo8_num_free(&s->rx));

    fifo8_push_all(&s->rx, buf, n);
}

#ifdef CONFIG_KVM
/*
 * Under KVM, fetch and store only the registers a hypercall uses
 * (KVM_GET_REGS/KVM_SET_REGS) instead of cpu_synchronize_state(), which
 * also reads the segment and control registers, MSRs, FPU/xsave state
 * and more, and writes all of it back before the vCPU runs again.  False
 * when the caller must fall back: not KVM, or QEMU holds the vCPU's state
 * already (vcpu_dirty: then env is the truth and KVM's copy is stale).
 */
static bool pvkit_kvm_hypercall(PVKitState *s, CPUState *cs, uint32_t nr)
{
    struct kvm_regs kr;
    PVKitHcallRegs r;
    int64_t ret;

    if (!kvm_enabled() || cs->vcpu_dirty ||
        kvm_vcpu_ioctl(cs, KVM_GET_REGS, &kr) < 0) {
        return false;
    }
    r = (PVKitHcallRegs){ .rdi = kr.rdi, .rsi = kr.rsi, .r10 = kr.r10,
                          .r8 = kr.r8, .r9 = kr.r9 };
    ret = pvkit_dispatch_regs(&pvkit_host_ops, s, nr, &r);
    if (cs->vcpu_dirty) {
        /* something synchronized the vCPU meanwhile: env goes back */
        X86_CPU(cs)->env.regs[R_EAX] = ret;
        return true;
    }
    kr.rax = r.rax;
    if (kvm_vcpu_ioctl(cs, KVM_SET_REGS, &kr) < 0) {
        /* cannot happen for a stopped vCPU's own thread; keep the result */
        cpu_synchronize_state(cs);
        X86_CPU(cs)->env.regs[R_EAX] = ret;
    }
    return true;
}
#endif

/*
 * Hypercall: a 32-bit OUT of the number; arguments in rdi, rsi, r10, r8,
 * r9, the result in rax (pvkit_dispatch_regs()).
 */
static void pvkit_io_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    PVKitState *s = opaque;
    CPUState *cs = current_cpu;
    CPUX86State *env;
    PVKitHcallRegs r = { 0 };

    if (addr != 0 || size != 4 || !cs) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "pvkit: ignoring %u-byte write at port offset %"
                      HWADDR_PRIx "\n", size, addr);
        return;
    }

#ifdef CONFIG_KVM
    if (pvkit_kvm_hypercall(s, cs, (uint32_t)val)) {
        pvkit_migration_update(s);
        return;
    }
#endif
    /* TCG: a no-op, the registers are in env already */
    cpu_synchronize_state(cs);
    env = &X86_CPU(cs)->env;
    r.rdi = env->regs[R_EDI];
    r.rsi = env->regs[R_ESI];
#ifdef TARGET_X86_64
    r.r10 = env->regs[10];
    r.r8 = env->regs[8];
    r.r9 = env->regs[9];
#endif
    pvkit_dispatch_regs(&pvkit_host_ops, s, (uint32_t)val, &r);
    env->regs[R_EAX] = r.rax;
    pvkit_migration_update(s);
}

static uint64_t pvkit_io_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static const MemoryRegionOps pvkit_io_ops = {
    .read = pvkit_io_read,
    .write = pvkit_io_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
};

static bool pvkit_hook_cpuid(void *opaque, uint32_t index, uint32_t count,
                             uint32_t regs[4])
{
    PVKitState *s = opaque;

    return pvkit_cpuid(s->pv_hooks.cpuid_base, index, s->features, regs);
}

static X86PVMsrResult pvkit_hook_rdmsr(void *opaque, X86CPU *cpu,
                                       uint32_t msr, uint64_t *val)
{
    PVKitState *s = opaque;

    *val = s->hcall_msr;
    return X86_PV_MSR_DONE;
}

static X86PVMsrResult pvkit_hook_wrmsr(void *opaque, X86CPU *cpu,
                                       uint32_t msr, uint64_t val)
{
    PVKitState *s = opaque;

    if (pvkit_hcall_msr_write(&pvkit_host_ops, s, s->iobase,
                              &s->hcall_msr, val)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "pvkit: refused hypercall page MSR value 0x%" PRIx64
                      "\n", val);
        return X86_PV_MSR_GP;
    }
    return X86_PV_MSR_DONE;
}

/*
 * Choose the CPUID base: the first block above what the accelerator puts
 * at 0x40000000 (pvkit_cpuid_pick_base()), or the cpuid-base property.
 * Under KVM the vCPUs' tables exist already and keep any leaf they have:
 * on a collision the kit's leaves would silently not be there, so refuse.
 * Hyper-V counts when any hv-* property is set (as kvm.c's
 * hyperv_enabled(), less the KVM_CAP_HYPERV check: assuming its leaves
 * when the kernel cannot offer them only moves the kit one block up).
 */
static bool pvkit_cpuid_setup(PVKitState *s, Error **errp)
{
    PVKitCpuidLayout l = { .kvm = kvm_enabled() };
    X86CPU *cpu = first_cpu ? X86_CPU(first_cpu) : NULL;
    uint32_t base;

    if (l.kvm && cpu) {
        l.hyperv = cpu->hyperv_features || cpu->hyperv_passthrough ||
                   cpu->hyperv_spinlock_attempts !=
                   HYPERV_SPINLOCK_NEVER_NOTIFY;
        l.xen = xen_mode == XEN_EMULATE;
        l.kvm_leaves = cpu->expose_kvm;
    }
    base = pvkit_cpuid_pick_base(&l, s->cpuid_base_prop);
    if (!base) {
        error_setg(errp, "pvkit: cpuid-base 0x%" PRIx32 " collides with the "
                   "CPUID leaves of %s or is not a 0x100-aligned block in "
                   "0x%x-0x%x", s->cpuid_base_prop,
                   !l.kvm ? "TCG" : l.hyperv ? "Hyper-V/KVM/Xen" :
                   "KVM/Xen", PVKIT_CPUID_RANGE_MIN, PVKIT_CPUID_RANGE_MAX);
        return false;
    }
    s->pv_hooks = (X86PVHooks) {
        .cpuid_base = base,
        .cpuid_count = PVKIT_CPUID_LEAVES,
        .msr = PVKIT_MSR_HYPERCALL_PAGE,
        .cpuid = pvkit_hook_cpuid,
        .rdmsr = pvkit_hook_rdmsr,
        .wrmsr = pvkit_hook_wrmsr,
    };
    return true;
}

/*
 * xen-bus=auto serves QEMU's Xen backends when the device offers all
 * they need and no Xen (real or KVM-emulated) does already.
 */
static bool pvkit_xen_bus_check(PVKitState *s, Error **errp)
{
    bool complete = s->evtchn && s->gnttab && s->store;
    bool taken = xen_evtchn_ops || xen_gnttab_ops || xen_foreignmem_ops ||
                 xen_xenstore_ops;

    s->xen_bus = false;
    if (s->xen_bus_prop == ON_OFF_AUTO_OFF) {
        return true;
    }
    if (s->xen_bus_prop == ON_OFF_AUTO_AUTO) {
#ifdef CONFIG_XEN_BUS
        s->xen_bus = complete && xen_mode == XEN_DISABLED && !taken;
#endif
        return true;
    }
#ifndef CONFIG_XEN_BUS
    error_setg(errp, "pvkit: xen-bus=on: this QEMU is built without the "
               "Xen bus (CONFIG_XEN_BUS)");
    return false;
#endif
    if (!complete) {
        error_setg(errp, "pvkit: xen-bus=on needs evtchn, gnttab and store");
        return false;
    }
    if (xen_mode != XEN_DISABLED || taken) {
        error_setg(errp, "pvkit: xen-bus=on conflicts with Xen (mode '%s')",
                   xen_mode == XEN_EMULATE ? "emulate" :
                   xen_mode == XEN_ATTACH ? "attach" : "none");
        return false;
    }
    s->xen_bus = true;
    return true;
}

/*
 * The tables must be in place before xen_bus_init(): realizing the bus
 * opens the store and starts the legacy backend core (xen_be_init()),
 * which exits QEMU when there are none.  Devices on the bus default to
 * frontend domain xen_domid.  (Installing does not fail in practice:
 * pvkit_xen_bus_check() made sure the tables were free.)
 */
static bool pvkit_xen_bus_start(PVKitState *s, Error **errp)
{
#ifdef CONFIG_XEN_BUS
    if (!pvkit_xen_ops_install(s->xs, PVKIT_DOMID_GUEST, errp)) {
        return false;
    }
    xen_domid = PVKIT_DOMID_GUEST;
    xen_bus_init();
#endif
    return true;
}

static void pvkit_xen_bus_stop(PVKitState *s)
{
#ifdef CONFIG_XEN_BUS
    pvkit_xen_ops_uninstall();
    xen_domid = 0;
#endif
}

/*
 * While the VM was stopped the guest's TSC, and with it system time,
 * stood still, but real time went on: tell the guest, which reads the
 * host's real time again (PVKIT_ENDPOINT_CLOCK).  A stop also ends every
 * parked SPIN_WAIT: the vCPUs must not be saved halted in a wait whose
 * state does not migrate (they wait again when they run).  Runs with the
 * BQL.
 */
static void pvkit_vm_state_change(void *opaque, bool running,
                                  RunState state)
{
    PVKitState *s = opaque;

    if (running) {
        pvkit_clock_notify(&pvkit_host_ops, s);
    } else if (s->features & PVKIT_F_SPIN) {
        pvkit_spin_wake_all(&pvkit_host_ops, s);
    }
}

static void pvkit_unrealize(DeviceState *dev);

static void pvkit_realize(DeviceState *dev, Error **errp)
{
    PVKitState *s = PVKIT(dev);

    if (pvkit_instance) {
        error_setg(errp, "only one pvkit device is supported per machine");
        return;
    }
    if (!pvkit_xen_bus_check(s, errp)) {
        return;
    }
    if (s->iobase > 0x10000 - PVKIT_IO_SIZE) {
        error_setg(errp, "pvkit: iobase 0x%" PRIx32 " is out of range",
                   s->iobase);
        return;
    }

    s->features = PVKIT_F_HYPERCALL_PAGE;
    if (qemu_chr_fe_backend_connected(&s->chr)) {
        s->features |= PVKIT_F_CONSOLE;
    }
    if (s->test_hypercalls) {
        s->features |= PVKIT_F_TEST;
    }
    if (s->evtchn) {
        s->features |= PVKIT_F_EVTCHN;
    }
    if (s->gnttab) {
        s->features |= PVKIT_F_GNTTAB;
    }
    if (s->store && s->evtchn) {
        s->features |= PVKIT_F_STORE;
    }
    if (s->vcpu_ops && s->evtchn) {
        s->features |= PVKIT_F_VCPU;
    }
    /*
     * Under KVM the guest's TSC is the kernel's to scale and offset, and
     * the kit runs layered on KVM, whose kvmclock the guest uses.
     */
    if (s->clock && tcg_enabled()) {
        if (pvkit_clock_init(s)) {
            s->features |= PVKIT_F_CLOCK;
        } else {
            warn_report("pvkit: the host's cycle counter rate could not be "
                        "measured: no clock for the guest");
        }
    }
    /* Only a thread per vCPU tells one vCPU's waits from another's. */
    if (s->steal_prop && tcg_enabled() && pvkit_steal_available()) {
        s->features |= PVKIT_F_STEAL;
    }
    /*
     * Parking a vCPU and flushing another's TLB are TCG's to do: under
     * KVM the halt state and the TLBs are the kernel's (the kit is
     * layered there, and KVM's PV spinlocks and TLB flush serve).
     */
    if (s->spin_prop && tcg_enabled()) {
        s->features |= PVKIT_F_SPIN;
    }
    if (s->tlb_flush_prop && tcg_enabled()) {
        s->features |= PVKIT_F_TLB_FLUSH;
    }

    if (!pvkit_cpuid_setup(s, errp) ||
        !x86_pv_hooks_register(&s->pv_hooks, s, errp)) {
        return;
    }

    /* Nothing below fails: the device is there from here on. */
    if (s->features & (PVKIT_F_CLOCK | PVKIT_F_SPIN)) {
        s->vm_state = qemu_add_vm_change_state_handler(pvkit_vm_state_change,
                                                       s);
    }
    if (s->features & PVKIT_F_STEAL) {
        pvkit_steal_init(s);
    }
    memory_region_init_io(&s->io, OBJECT(s), &pvkit_io_ops, s, "pvkit",
                          PVKIT_IO_SIZE);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, s->iobase);
    fifo8_create(&s->rx, PVKIT_RX_FIFO_SIZE);
    qemu_chr_fe_set_handlers(&s->chr, pvkit_can_receive, pvkit_receive,
                             NULL, NULL, s, NULL, true);
    s->xs = xs_impl_create(PVKIT_DOMID_GUEST);
    s->xs_bh = qemu_bh_new(pvkit_xs_bh, s);
    pvkit_store_populate(s);
    pvkit_instance = s;
    if (s->xen_bus && !pvkit_xen_bus_start(s, errp)) {
        s->xen_bus = false;
        pvkit_unrealize(dev);
    }
}

static void pvkit_unrealize(DeviceState *dev)
{
    PVKitState *s = PVKIT(dev);

    /*
     * The Xen bus and its devices stay (a bus cannot be removed); their
     * handles fail from now on instead of reaching a device that is gone.
     */
    if (s->xen_bus) {
        pvkit_xen_bus_stop(s);
    }
    x86_pv_hooks_unregister(&s->pv_hooks);
    if (s->vm_state) {
        qemu_del_vm_change_state_handler(s->vm_state);
        s->vm_state = NULL;
    }
    pvkit_hold_fini(s, true);
    pvkit_spin_reset(&pvkit_host_ops, s);
    pvkit_steal_reset(&pvkit_host_ops, s);
    pvkit_steal_fini(s);
    pvkit_evtchn_reset(&pvkit_host_ops, s);
    pvkit_gnttab_reset(&pvkit_host_ops, s);
    pvkit_clock_reset(&pvkit_host_ops, s);
    pvkit_store_setup(s, 0);
    pvkit_migration_update(s);
    qemu_bh_delete(s->xs_bh);
    s->xs_bh = NULL;
    qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    fifo8_destroy(&s->rx);
    pvkit_instance = NULL;
}

static void pvkit_reset_hold(Object *obj, ResetType type)
{
    PVKitState *s = PVKIT(obj);

    /*
     * Waking from suspend to RAM resets the machine's devices, but the
     * kit is the hypervisor's side of the guest, not a device the guest
     * powers down: like the guest's RAM, its page, vectors, ports, grant
     * mappings and store connection stay (SPEC section 6).  The
     * guest resumes where it suspended; its backends never noticed.
     */
    if (type == RESET_TYPE_WAKEUP) {
        return;
    }
    s->hcall_msr = 0;
    fifo8_reset(&s->rx);
    pvkit_evtchn_reset(&pvkit_host_ops, s);     /* disconnects the store */
    pvkit_gnttab_reset(&pvkit_host_ops, s);
    pvkit_clock_reset(&pvkit_host_ops, s);
    pvkit_hold_fini(s, false);
    pvkit_spin_reset(&pvkit_host_ops, s);
    pvkit_steal_reset(&pvkit_host_ops, s);
    pvkit_store_setup(s, 0);
    pvkit_store_populate(s);
    pvkit_migration_update(s);      /* nothing is in use any more */
}

/*
 * Device model bindings and grant mappings do not migrate: drop them
 * before loading.
 */
static int pvkit_pre_load(void *opaque)
{
    PVKitState *s = opaque;

    pvkit_evtchn_reset(&pvkit_host_ops, s);
    pvkit_gnttab_reset(&pvkit_host_ops, s);
    pvkit_clock_reset(&pvkit_host_ops, s);
    pvkit_steal_reset(&pvkit_host_ops, s);
    pvkit_store_setup(s, 0);
    pvkit_migration_update(s);
    return 0;
}

static int pvkit_clock_load(PVKitState *s);
static int pvkit_steal_load(PVKitState *s);

static int pvkit_post_load(void *opaque, int version_id)
{
    PVKitState *s = opaque;
    uint64_t gpa = s->ec.shared_gpa;
    uint32_t v;

    if (!pvkit_evtchn_post_load(&s->ec)) {
        return -EINVAL;
    }
    if (pvkit_shared_set(s, gpa)) {
        error_report("pvkit: shared-info page 0x%" PRIx64 " is not RAM",
                     gpa);
        return -EINVAL;
    }
    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        gpa = s->ec.vcpu_info_gpa[v];
        if (pvkit_vcpu_info_set(s, v, gpa)) {
            error_report("pvkit: vcpu_info of APIC ID %u at 0x%" PRIx64
                         " is not RAM", v, gpa);
            return -EINVAL;
        }
    }
    /* Also clears READING/WRITING the source's mappings left behind. */
    if (!pvkit_gnttab_post_load(&pvkit_host_ops, s)) {
        error_report("pvkit: bad grant table 0x%" PRIx64 " (%" PRIu32
                     " frames)", s->gt.gpa, s->gt.nr_frames);
        return -EINVAL;
    }
    /* Last: these write guest RAM and start the steal updates. */
    if (pvkit_clock_load(s) || pvkit_steal_load(s)) {
        return -EINVAL;
    }
    /* A kick may have been on its way on the source: no wait may miss it. */
    pvkit_spin_kick_all(&pvkit_host_ops, s);
    return 0;
}

static const VMStateDescription vmstate_pvkit_evtchn_port = {
    .name = "pvkit/evtchn-port",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(state, PVKitEvtchnPort),
        VMSTATE_UINT8(vcpu, PVKitEvtchnPort),
        VMSTATE_UINT16(endpoint, PVKitEvtchnPort),
        VMSTATE_END_OF_LIST()
    },
};

/* True when any of @n guest addresses is set (a record registered). */
static bool pvkit_any_gpa(const uint64_t *gpa, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++) {
        if (gpa[i]) {
            return true;
        }
    }
    return false;
}

/*
 * The subsections go only with a guest that registered a record, so a
 * guest that never did migrates to a host without the feature.
 */
static bool pvkit_clock_needed(void *opaque)
{
    PVKitState *s = opaque;

    return pvkit_any_gpa(s->clk.gpa, PVKIT_MAX_VCPUS);
}

/*
 * Map the clock records again and carry the time on (pvkit-clock-tcg.c);
 * from the main post_load, once everything else checked out.
 */
static int pvkit_clock_load(PVKitState *s)
{
    uint32_t v;

    if (!pvkit_any_gpa(s->clk.gpa, PVKIT_MAX_VCPUS)) {
        return 0;
    }
    if (!(s->features & PVKIT_F_CLOCK)) {
        error_report("pvkit: the source's guest has the clock: clock=on");
        return -EINVAL;
    }
    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (pvkit_clock_set(s, v, s->clk.gpa[v])) {
            error_report("pvkit: time record of APIC ID %u at 0x%" PRIx64
                         " is not RAM", v, s->clk.gpa[v]);
            return -EINVAL;
        }
    }
    pvkit_clock_post_load(s);
    return 0;
}

/*
 * The clock's anchor and each vCPU's record (ABI 1.5), a subsection sent
 * when the device offers the clock.  The source's scale comes along so
 * that the time goes on from where the source left it.
 */
static const VMStateDescription vmstate_pvkit_clock = {
    .name = "pvkit/clock",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = pvkit_clock_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(clock_tsc0, PVKitState),
        VMSTATE_UINT64(clock_sys0, PVKitState),
        VMSTATE_UINT32(clock_mul, PVKitState),
        VMSTATE_INT8(clock_shift, PVKitState),
        VMSTATE_UINT64_ARRAY(clk.gpa, PVKitState, PVKIT_MAX_VCPUS),
        VMSTATE_END_OF_LIST()
    },
};

static bool pvkit_steal_needed(void *opaque)
{
    PVKitState *s = opaque;

    return pvkit_any_gpa(s->st.gpa, PVKIT_MAX_VCPUS);
}

/*
 * Map the steal records again; the new threads count on from each
 * vCPU's old steal.  From the main post_load, like pvkit_clock_load().
 */
static int pvkit_steal_load(PVKitState *s)
{
    uint32_t v;

    if (!pvkit_any_gpa(s->st.gpa, PVKIT_MAX_VCPUS)) {
        return 0;
    }
    if (!(s->features & PVKIT_F_STEAL)) {
        error_report("pvkit: the source's guest has steal time: this "
                     "host cannot count it (steal=on, MTTCG, schedstat)");
        return -EINVAL;
    }
    for (v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (pvkit_steal_set(s, v, s->st.gpa[v])) {
            error_report("pvkit: steal record of APIC ID %u at 0x%" PRIx64
                         " is not RAM", v, s->st.gpa[v]);
            return -EINVAL;
        }
    }
    pvkit_steal_restart(&pvkit_host_ops, s);
    return 0;
}

/* Each vCPU's record and the steal it last saw (ABI 1.5). */
static const VMStateDescription vmstate_pvkit_steal = {
    .name = "pvkit/steal",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = pvkit_steal_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64_ARRAY(st.gpa, PVKitState, PVKIT_MAX_VCPUS),
        VMSTATE_UINT64_ARRAY(st.last, PVKitState, PVKIT_MAX_VCPUS),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * Version 4 (ABI 1.4) has a vector and an area per APIC ID below 256;
 * older streams, with 32 vectors, are refused.
 */
static const VMStateDescription vmstate_pvkit = {
    .name = TYPE_PVKIT,
    .version_id = 4,
    .minimum_version_id = 4,
    .pre_load = pvkit_pre_load,
    .post_load = pvkit_post_load,
    .pre_save = pvkit_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(hcall_msr, PVKitState),
        VMSTATE_FIFO8(rx, PVKitState),
        VMSTATE_UINT64_V(ec.shared_gpa, PVKitState, 2),
        VMSTATE_UINT8_ARRAY_V(ec.upcall_vector, PVKitState, PVKIT_MAX_VCPUS,
                              4),
        VMSTATE_UINT64_ARRAY_V(ec.vcpu_info_gpa, PVKitState, PVKIT_MAX_VCPUS,
                               4),
        VMSTATE_STRUCT_ARRAY(ec.port, PVKitState, PVKIT_EVTCHN_PORTS, 2,
                             vmstate_pvkit_evtchn_port, PVKitEvtchnPort),
        VMSTATE_UINT64_V(gt.gpa, PVKitState, 3),
        VMSTATE_UINT32_V(gt.nr_frames, PVKitState, 3),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_pvkit_clock,
        &vmstate_pvkit_steal,
        NULL
    },
};

static const Property pvkit_properties[] = {
    DEFINE_PROP_UINT32("iobase", PVKitState, iobase, PVKIT_DEFAULT_PORT),
    DEFINE_PROP_CHR("chardev", PVKitState, chr),
    DEFINE_PROP_BOOL("test-hypercalls", PVKitState, test_hypercalls, false),
    DEFINE_PROP_BOOL("evtchn", PVKitState, evtchn, true),
    DEFINE_PROP_BOOL("gnttab", PVKitState, gnttab, true),
    DEFINE_PROP_BOOL("store", PVKitState, store, true),
    DEFINE_PROP_BOOL("vcpu-ops", PVKitState, vcpu_ops, true),
    DEFINE_PROP_BOOL("clock", PVKitState, clock, true),
    DEFINE_PROP_BOOL("steal", PVKitState, steal_prop, true),
    DEFINE_PROP_BOOL("spin", PVKitState, spin_prop, true),
    DEFINE_PROP_BOOL("tlb-flush", PVKitState, tlb_flush_prop, true),
    DEFINE_PROP_UINT32("cpuid-base", PVKitState, cpuid_base_prop, 0),
    DEFINE_PROP_ON_OFF_AUTO("xen-bus", PVKitState, xen_bus_prop,
                            ON_OFF_AUTO_AUTO),
};

static void pvkit_get_stat_hypercalls(Object *obj, Visitor *v,
                                      const char *name, void *opaque,
                                      Error **errp)
{
    PVKitState *s = PVKIT(obj);
    uint64List *list = NULL;
    int i;

    for (i = PVKIT_HC_COUNT - 1; i >= 0; i--) {
        QAPI_LIST_PREPEND(list, s->ec.stats.hypercalls[i]);
    }
    visit_type_uint64List(v, name, &list, errp);
    qapi_free_uint64List(list);
}

/* Read-only counters for tests and benchmarks (qom-get). */
static void pvkit_instance_init(Object *obj)
{
    PVKitState *s = PVKIT(obj);
    PVKitEvtchnStats *st = &s->ec.stats;

    object_property_add(obj, "stat-hypercalls", "uint64List",
                        pvkit_get_stat_hypercalls, NULL, NULL, NULL);
    object_property_add_uint64_ptr(obj, "stat-sends", &st->sends,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-echoes", &st->echoes,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-backend-kicks",
                                   &st->backend_kicks, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-deliveries", &st->deliveries,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-dropped", &st->dropped,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-coalesced", &st->coalesced,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-masked", &st->masked,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-injections", &st->injections,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-unflagged", &st->unflagged,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-ipis", &st->ipis,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-clock-updates",
                                   &s->clk.stats.updates, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-clock-walls",
                                   &s->clk.stats.walls, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-clock-notifies",
                                   &s->clk.stats.notifies, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-steal-updates",
                                   &s->st.stats.updates, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-spin-waits",
                                   &s->spin.stats.waits, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-spin-blocks",
                                   &s->spin.stats.blocks, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-spin-kicks",
                                   &s->spin.stats.kicks, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-spin-wakes",
                                   &s->spin.stats.wakes, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-tlb-flushes",
                                   &s->tlb.stats.flushes, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-tlb-targets",
                                   &s->tlb.stats.targets, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-tlb-full",
                                   &s->tlb.stats.full, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-grant-maps",
                                   &s->gt.stats.maps, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-grant-unmaps",
                                   &s->gt.stats.unmaps, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-grants-mapped",
                                   &s->gt.stats.mapped, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-grant-refused",
                                   &s->gt.stats.refused, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-grant-revoked",
                                   &s->gt.stats.revoked, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-store-requests",
                                   &s->xs_conn.stats.requests,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-store-errors",
                                   &s->xs_conn.stats.errors,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "stat-store-watch-events",
                                   &s->xs_conn.stats.watch_events,
                                   OBJ_PROP_FLAG_READ);
}

static void pvkit_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->desc = "pvkit paravirtual host interface";
    dc->realize = pvkit_realize;
    dc->unrealize = pvkit_unrealize;
    dc->vmsd = &vmstate_pvkit;
    rc->phases.hold = pvkit_reset_hold;
    device_class_set_props(dc, pvkit_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo pvkit_info = {
    .name = TYPE_PVKIT,
    .parent = TYPE_ISA_DEVICE,
    .instance_size = sizeof(PVKitState),
    .instance_init = pvkit_instance_init,
    .class_init = pvkit_class_init,
};

static void pvkit_register_types(void)
{
    type_register_static(&pvkit_info);
}

type_init(pvkit_register_types)
