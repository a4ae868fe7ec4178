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
    default:
        return nr < PVKIT_HC_COUNT;
    }
}

static int64_t hc_console_write(const PVKitHostOps *ops, void *opaque,
                                uint64_t gpa, uint64_t len)
{
    uint8_t buf[PVKIT_HC_MAX_LEN];
    uint32_t n;
    int ret;

    if (len > PVKIT_HC_MAX_LEN) {
        return -PVKIT_E2BIG;
    }
    if (!range_ok(gpa, len)) {
        return -PVKIT_EFAULT;
    }
    if (len == 0) {
        return 0;
    }
    ret = ops->mem_read(opaque, gpa, buf, (uint32_t)len);
    if (ret) {
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

    if (len > PVKIT_HC_MAX_LEN) {
        return -PVKIT_E2BIG;
    }
    if (!range_ok(gpa, len)) {
        return -PVKIT_EFAULT;
    }
    if (len == 0) {
        return 0;
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

    if (len > PVKIT_HC_MAX_LEN) {
        return -PVKIT_E2BIG;
    }
    if (!range_ok(src, len) || !range_ok(dst, len)) {
        return -PVKIT_EFAULT;
    }
    if (len == 0) {
        return 0;
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

int64_t pvkit_dispatch(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5])
{
    uint64_t features = ops->features(opaque);

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

bool pvkit_cpuid(uint32_t index, uint64_t features, uint32_t regs[4])
{
    switch (index) {
    case PVKIT_CPUID_BASE:
        regs[0] = PVKIT_CPUID_BASE + PVKIT_CPUID_LEAVES - 1;
        regs[1] = sig_reg(0);
        regs[2] = sig_reg(1);
        regs[3] = sig_reg(2);
        return true;
    case PVKIT_CPUID_BASE + PVKIT_CPUID_INFO:
        regs[0] = PVKIT_ABI_VERSION;
        regs[1] = (uint32_t)features;
        regs[2] = (uint32_t)(features >> 32);
        regs[3] = PVKIT_MSR_HYPERCALL_PAGE;
        return true;
    default:
        return false;
    }
}
