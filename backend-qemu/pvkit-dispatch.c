/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher.  See pvkit-dispatch.h for the contract and
 * hypercall/SPEC.md for the ABI.  Event channels are in pvkit-evtchn.c,
 * per-vCPU operations in pvkit-vcpu.c, grant tables in pvkit-gnttab.c,
 * the clock, steal time, spinlocks and TLB flush in files of their own;
 * this file has the dispatch, the console and test hypercalls, the
 * hypercall page, MSR and CPUID.
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
    case PVKIT_HC_CLOCK_SETUP:
    case PVKIT_HC_CLOCK_WALL:
        return features & PVKIT_F_CLOCK;
    case PVKIT_HC_STEAL_SETUP:
        return features & PVKIT_F_STEAL;
    case PVKIT_HC_SPIN_WAIT:
    case PVKIT_HC_SPIN_KICK:
        return features & PVKIT_F_SPIN;
    case PVKIT_HC_TLB_FLUSH:
        return features & PVKIT_F_TLB_FLUSH;
    case PVKIT_HC_TEST_HOLD:
        return features & PVKIT_F_TEST;
    case PVKIT_HC_TEST_RUN_DELAY:
        return (features & (PVKIT_F_TEST | PVKIT_F_STEAL)) ==
               (PVKIT_F_TEST | PVKIT_F_STEAL);
    case PVKIT_HC_VCPU_INFO:
    case PVKIT_HC_VCPU_SEND_IPI:
        return (features & (PVKIT_F_VCPU | PVKIT_F_EVTCHN)) ==
               (PVKIT_F_VCPU | PVKIT_F_EVTCHN);
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
    return pvkit_range_ok(gpa, len) ? 0 : -PVKIT_EFAULT;
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

/* TEST_HOLD: any vCPU but the caller, for a bounded time, one at a time. */
static int64_t hc_test_hold(const PVKitHostOps *ops, void *opaque,
                            uint64_t vcpu, uint64_t ms)
{
    int ret = pvkit_check_vcpu(ops, opaque, vcpu);

    if (ret) {
        return ret;
    }
    if (!ms || ms > PVKIT_TEST_HOLD_MAX_MS || vcpu == ops->vcpu_self(opaque)) {
        return -PVKIT_EINVAL;
    }
    return ops->test_hold(opaque, (uint32_t)vcpu, (uint32_t)ms);
}

/* TEST_RUN_DELAY: the host's number, as it reads it now. */
static int64_t hc_test_run_delay(const PVKitHostOps *ops, void *opaque,
                                 uint64_t vcpu)
{
    int ret = pvkit_check_vcpu(ops, opaque, vcpu);
    uint64_t ns;

    if (ret) {
        return ret;
    }
    if (ops->steal_run_delay(opaque, (uint32_t)vcpu, &ns)) {
        return -PVKIT_EIO;
    }
    return (int64_t)(ns & INT64_MAX);
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
    if (features & PVKIT_F_SPIN) {
        pvkit_spin_running(ops, opaque);
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
        return pvkit_hc_evtchn(ops, opaque, nr, args);
    case PVKIT_HC_GNTTAB_SETUP:
        return pvkit_hc_gnttab_setup(ops, opaque, args[0], args[1]);
    case PVKIT_HC_GNTTAB_MAX_FRAMES:
        return PVKIT_GNTTAB_MAX_FRAMES;
    case PVKIT_HC_TEST_GRANT:
        return pvkit_hc_test_grant(ops, opaque, args);
    case PVKIT_HC_STORE_SETUP:
        return hc_store_setup(ops, opaque, args[0]);
    case PVKIT_HC_VCPU_INFO:
    case PVKIT_HC_VCPU_SEND_IPI:
        return pvkit_hc_vcpu(ops, opaque, nr, args);
    case PVKIT_HC_CLOCK_SETUP:
    case PVKIT_HC_CLOCK_WALL:
        return pvkit_hc_clock(ops, opaque, nr, args);
    case PVKIT_HC_STEAL_SETUP:
        return pvkit_hc_steal(ops, opaque, nr, args);
    case PVKIT_HC_SPIN_WAIT:
    case PVKIT_HC_SPIN_KICK:
        return pvkit_hc_spin(ops, opaque, nr, args);
    case PVKIT_HC_TLB_FLUSH:
        return pvkit_hc_tlb_flush(ops, opaque, args);
    case PVKIT_HC_TEST_HOLD:
        return hc_test_hold(ops, opaque, args[0], args[1]);
    case PVKIT_HC_TEST_RUN_DELAY:
        return hc_test_run_delay(ops, opaque, args[0]);
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
