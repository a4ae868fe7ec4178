/*
 * pvkit reference host device
 *
 * The host side of the pvkit paravirtual ABI (hypercall/pvkit.h in the
 * pvkit kit): CPUID leaves at 0x40000100, the hypercall-page MSR and the
 * port-I/O hypercall transport, plus a console backed by a chardev.
 * Argument validation and hypercall semantics live in pvkit-dispatch.c;
 * this file supplies guest memory, the console and the CPU glue.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/fifo8.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "chardev/char-fe.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/isa/isa.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "system/hw_accel.h"
#include "qom/object.h"
#include "cpu.h"
#include "target/i386/pv-hooks.h"
#include "pvkit-dispatch.h"

#define TYPE_PVKIT "pvkit"
OBJECT_DECLARE_SIMPLE_TYPE(PVKitState, PVKIT)

#define PVKIT_IO_SIZE       4
#define PVKIT_DEFAULT_PORT  0x560
#define PVKIT_RX_FIFO_SIZE  4096

struct PVKitState {
    ISADevice parent_obj;

    MemoryRegion io;
    CharBackend chr;
    Fifo8 rx;
    uint32_t iobase;
    bool test_hypercalls;

    /* PVKIT_F_* offered; fixed at realize (read by CPUID without BQL). */
    uint64_t features;
    /* Last accepted value of PVKIT_MSR_HYPERCALL_PAGE. */
    uint64_t hcall_msr;
};

/* The CPUID leaves and the MSR are machine-wide: one device at most. */
static PVKitState *pvkit_instance;

/*
 * True when [gpa, gpa + len) lies inside one guest RAM section; for
 * @write also that it is writable.  ROM, ROM devices, RAM devices (e.g.
 * assigned BARs), MMIO and holes are refused, so a guest cannot use a
 * hypercall to reach device memory.
 */
static bool pvkit_ram_range(uint64_t gpa, uint32_t len, bool write)
{
    MemoryRegionSection sec;
    bool ok;

    sec = memory_region_find(get_system_memory(), gpa, len);
    if (!sec.mr) {
        return false;
    }
    ok = memory_region_is_ram(sec.mr) &&
         !memory_region_is_ram_device(sec.mr) &&
         sec.offset_within_address_space == gpa &&
         int128_eq(sec.size, int128_make64(len)) &&
         (!write || (!sec.readonly && !memory_region_is_rom(sec.mr)));
    memory_region_unref(sec.mr);
    return ok;
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

static const PVKitHostOps pvkit_host_ops = {
    .mem_read = pvkit_mem_read,
    .mem_write = pvkit_mem_write,
    .mem_check = pvkit_mem_check,
    .console_write = pvkit_console_write,
    .console_peek = pvkit_console_peek,
    .console_drop = pvkit_console_drop,
    .features = pvkit_features,
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

/* Hypercall: a 32-bit OUT of the number; arguments in rdi, rsi, r10, r8, r9 */
static void pvkit_io_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    PVKitState *s = opaque;
    CPUState *cs = current_cpu;
    CPUX86State *env;
    uint64_t args[5] = { 0 };

    if (addr != 0 || size != 4 || !cs) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "pvkit: ignoring %u-byte write at port offset %"
                      HWADDR_PRIx "\n", size, addr);
        return;
    }

    cpu_synchronize_state(cs);
    env = &X86_CPU(cs)->env;
    args[0] = env->regs[R_EDI];
    args[1] = env->regs[R_ESI];
#ifdef TARGET_X86_64
    args[2] = env->regs[10];
    args[3] = env->regs[8];
    args[4] = env->regs[9];
#endif
    env->regs[R_EAX] = pvkit_dispatch(&pvkit_host_ops, s, (uint32_t)val,
                                      args);
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

    return pvkit_cpuid(index, s->features, regs);
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

static const X86PVHooks pvkit_pv_hooks = {
    .cpuid_base = PVKIT_CPUID_BASE,
    .cpuid_count = PVKIT_CPUID_LEAVES,
    .msr = PVKIT_MSR_HYPERCALL_PAGE,
    .cpuid = pvkit_hook_cpuid,
    .rdmsr = pvkit_hook_rdmsr,
    .wrmsr = pvkit_hook_wrmsr,
};

static void pvkit_realize(DeviceState *dev, Error **errp)
{
    PVKitState *s = PVKIT(dev);

    if (pvkit_instance) {
        error_setg(errp, "only one pvkit device is supported per machine");
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

    if (!x86_pv_hooks_register(&pvkit_pv_hooks, s, errp)) {
        return;
    }

    memory_region_init_io(&s->io, OBJECT(s), &pvkit_io_ops, s, "pvkit",
                          PVKIT_IO_SIZE);
    isa_register_ioport(ISA_DEVICE(dev), &s->io, s->iobase);
    fifo8_create(&s->rx, PVKIT_RX_FIFO_SIZE);
    qemu_chr_fe_set_handlers(&s->chr, pvkit_can_receive, pvkit_receive,
                             NULL, NULL, s, NULL, true);
    pvkit_instance = s;
}

static void pvkit_unrealize(DeviceState *dev)
{
    PVKitState *s = PVKIT(dev);

    x86_pv_hooks_unregister(&pvkit_pv_hooks);
    qemu_chr_fe_set_handlers(&s->chr, NULL, NULL, NULL, NULL, NULL, NULL,
                             true);
    fifo8_destroy(&s->rx);
    pvkit_instance = NULL;
}

static void pvkit_reset_hold(Object *obj, ResetType type)
{
    PVKitState *s = PVKIT(obj);

    s->hcall_msr = 0;
    fifo8_reset(&s->rx);
}

static const VMStateDescription vmstate_pvkit = {
    .name = TYPE_PVKIT,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(hcall_msr, PVKitState),
        VMSTATE_FIFO8(rx, PVKitState),
        VMSTATE_END_OF_LIST()
    },
};

static const Property pvkit_properties[] = {
    DEFINE_PROP_UINT32("iobase", PVKitState, iobase, PVKIT_DEFAULT_PORT),
    DEFINE_PROP_CHR("chardev", PVKitState, chr),
    DEFINE_PROP_BOOL("test-hypercalls", PVKitState, test_hypercalls, true),
};

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
    .class_init = pvkit_class_init,
};

static void pvkit_register_types(void)
{
    type_register_static(&pvkit_info);
}

type_init(pvkit_register_types)
