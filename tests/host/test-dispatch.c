// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the pvkit hypercall dispatcher against a fake guest
 * memory map: two RAM ranges, one ROM range, one MMIO range, holes
 * between them and a RAM page that ends exactly at the top of the 64-bit
 * address space.  Prints TAP and ends with "N passed, N failed, 0 skipped".
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-host.h"
#include "pvkit-xs-ring.h"
#include <errno.h>

#define RAM_A    0x0000ull
#define ROM_BASE 0x20000ull
#define RAM_B    0x100000ull
#define MMIO_B   0x110000ull
#define RAM_TOP  0xffffffffffffe000ull

static struct region regions[] = {
    { "ram-a", RAM_A, 0x10000, RAM, NULL, NULL },
    /* hole 0x10000 - 0x20000 */
    { "rom", ROM_BASE, 0x1000, ROM, NULL, NULL },
    { "ram-b", RAM_B, 0x10000, RAM, NULL, NULL },
    { "mmio", MMIO_B, 0x1000, MMIO, NULL, NULL },
    { "ram-top", RAM_TOP, 0x2000, RAM, NULL, NULL },
};
#define NR_REGIONS (sizeof(regions) / sizeof(regions[0]))

/* A broken host-ops contract is a bug in the dispatcher: stop here. */
static void fail_contract(bool state, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_contract(bool state, const char *fmt, ...)
{
    va_list ap;

    (void)state;
    fprintf(stderr, "# ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

#define ALL_F (PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CONSOLE | PVKIT_F_TEST | \
               PVKIT_F_EVTCHN | PVKIT_F_GNTTAB)
/* APIC IDs 0-3 and 7 exist; 4-6 and 8-31 do not. */
#define FAKE_VCPUS 0x8fu

static void reset(void)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        memset(regions[i].mem, 0xa5 ^ (int)i, regions[i].size);
    }
    memset(&host, 0, sizeof(host));
    host.features = ALL_F;
    host.out_limit = UINT32_MAX;
    host.vcpus = FAKE_VCPUS;
}

static uint8_t *ptr(uint64_t gpa)
{
    struct region *r = fake_find(gpa, 1);

    if (!r) {
        abort();
    }
    return r->mem + (gpa - r->base);
}

static int64_t hc(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                  uint64_t a3, uint64_t a4)
{
    const uint64_t args[5] = { a0, a1, a2, a3, a4 };

    return pvkit_dispatch(&ops, &host, nr, args);
}

static unsigned int passed, failed;

static void check(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void check(int cond, const char *fmt, ...)
{
    va_list ap;

    printf("%s %u - ", cond ? "ok" : "not ok", passed + failed + 1);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (cond) {
        passed++;
    } else {
        failed++;
    }
}

#define CHECK_EQ(got, want, what) do {                                  \
        int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);              \
        check(g_ == w_, "%s (got %" PRId64 ", want %" PRId64 ")",       \
              what, g_, w_);                                            \
    } while (0)

static void test_basic(void)
{
    reset();
    CHECK_EQ(hc(PVKIT_HC_VERSION, 1, 2, 3, 4, 5), PVKIT_ABI_VERSION,
             "VERSION");
    CHECK_EQ(hc(PVKIT_HC_FEATURES, 0, 0, 0, 0, 0), ALL_F, "FEATURES");
    host.features = ALL_F | (1ull << 63);
    CHECK_EQ(hc(PVKIT_HC_FEATURES, 0, 0, 0, 0, 0), ALL_F,
             "FEATURES masks bit 63 so the result stays non-negative");
    host.features = ALL_F;
    CHECK_EQ(hc(PVKIT_HC_COUNT, 0, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "unknown nr PVKIT_HC_COUNT");
    CHECK_EQ(hc(0x80000000u, 0, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "unknown nr 0x80000000");
    CHECK_EQ(hc(0xffffffffu, 0, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "unknown nr 0xffffffff");
    check(host.mem_calls == 0, "no guest memory touched by the above");
}

static void test_console_write(void)
{
    static uint8_t big[PVKIT_HC_MAX_LEN];
    size_t i;

    reset();
    memcpy(ptr(RAM_A + 0x100), "hello", 5);
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_A + 0x100, 5, 0, 0, 0), 5,
             "CONSOLE_WRITE 5 bytes");
    check(host.out_len == 5 && !memcmp(host.out, "hello", 5),
          "CONSOLE_WRITE delivered the bytes");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_A + 0x100, 0, 0, 0, 0), 0,
             "CONSOLE_WRITE len 0");

    reset();
    for (i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 7);
    }
    memcpy(ptr(RAM_B), big, sizeof(big));
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_B, PVKIT_HC_MAX_LEN, 0, 0, 0),
             PVKIT_HC_MAX_LEN, "CONSOLE_WRITE of exactly PVKIT_HC_MAX_LEN");
    check(host.out_len == sizeof(big) && !memcmp(host.out, big, sizeof(big)),
          "CONSOLE_WRITE max-length contents");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_B, PVKIT_HC_MAX_LEN + 1, 0, 0,
                0), -PVKIT_E2BIG, "CONSOLE_WRITE len MAX+1 -> E2BIG");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_B, UINT64_MAX, 0, 0, 0),
             -PVKIT_E2BIG, "CONSOLE_WRITE len UINT64_MAX -> E2BIG");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, 1ull << 32, 0x100000000ull + 5, 0,
                0, 0), -PVKIT_E2BIG,
             "CONSOLE_WRITE len with high bits -> E2BIG, not truncated");

    reset();
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, 0x18000, 16, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_WRITE from a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, UINT64_MAX - 7, 16, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_WRITE wrapping past 2^64 -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, UINT64_MAX, 2, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_WRITE gpa UINT64_MAX len 2 -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_A + 0x10000 - 8, 16, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_WRITE crossing out of RAM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, MMIO_B, 16, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_WRITE from MMIO -> EFAULT");
    check(host.out_len == 0, "nothing reached the console on errors");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, ROM_BASE, 16, 0, 0, 0), 16,
             "CONSOLE_WRITE may read from ROM");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, UINT64_MAX - 15, 16, 0, 0, 0), 16,
             "CONSOLE_WRITE of the last 16 bytes of the address space");

    reset();
    host.out_limit = 3;
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_A, 10, 0, 0, 0), 3,
             "CONSOLE_WRITE returns the console's short count");
}

static void test_console_read(void)
{
    uint8_t before[16];

    reset();
    memcpy(before, ptr(RAM_A + 0x200), sizeof(before));
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_A + 0x200, 16, 0, 0, 0), 0,
             "CONSOLE_READ with no input -> 0");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, ROM_BASE, 16, 0, 0, 0), -PVKIT_EFAULT,
             "CONSOLE_READ into ROM with no input -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, 0x18000, 16, 0, 0, 0), -PVKIT_EFAULT,
             "CONSOLE_READ into a hole with no input -> EFAULT");
    check(!memcmp(before, ptr(RAM_A + 0x200), sizeof(before)),
          "CONSOLE_READ with no input leaves guest memory alone");

    memcpy(host.in, "abcdef", 6);
    host.in_len = 6;
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_A + 0x200, 4, 0, 0, 0), 4,
             "CONSOLE_READ 4 of 6 buffered bytes");
    check(!memcmp(ptr(RAM_A + 0x200), "abcd", 4) &&
          *ptr(RAM_A + 0x204) == before[4],
          "CONSOLE_READ copied exactly 4 bytes");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_A + 0x300, 100, 0, 0, 0), 2,
             "CONSOLE_READ returns the remaining 2");
    check(!memcmp(ptr(RAM_A + 0x300), "ef", 2), "CONSOLE_READ contents 'ef'");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_A + 0x300, 100, 0, 0, 0), 0,
             "CONSOLE_READ drained -> 0");

    memcpy(host.in, "xyz", 3);
    host.in_len = 3;
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, ROM_BASE, 3, 0, 0, 0), -PVKIT_EFAULT,
             "CONSOLE_READ into ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, MMIO_B, 3, 0, 0, 0), -PVKIT_EFAULT,
             "CONSOLE_READ into MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, 0x18000, 3, 0, 0, 0), -PVKIT_EFAULT,
             "CONSOLE_READ into a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, UINT64_MAX - 1, 3, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_READ wrapping -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_A, PVKIT_HC_MAX_LEN + 1, 0, 0, 0),
             -PVKIT_E2BIG, "CONSOLE_READ len MAX+1 -> E2BIG");
    check(host.in_len == 3, "failed CONSOLE_READs consumed no input");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_B, 0, 0, 0, 0), 0,
             "CONSOLE_READ len 0 -> 0");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_B + 0x10000 - 2, 3, 0, 0, 0),
             -PVKIT_EFAULT, "CONSOLE_READ crossing out of RAM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_B + 0x10000 - 2, 64, 0, 0, 0),
             -PVKIT_EFAULT,
             "CONSOLE_READ: whole buffer checked, not just the pending bytes");
    check(host.in_len == 3, "input still pending");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_READ, RAM_B, 3, 0, 0, 0), 3,
             "CONSOLE_READ after failures still delivers the input");
    check(!memcmp(ptr(RAM_B), "xyz", 3), "CONSOLE_READ contents 'xyz'");
}

static void test_echo(void)
{
    reset();
    CHECK_EQ(hc(PVKIT_HC_TEST_ECHO, 1, 2, 3, 4, 99), 10, "TEST_ECHO 1+2+3+4");
    CHECK_EQ(hc(PVKIT_HC_TEST_ECHO, 0xffffffff, 1, 0, 0, 0), 0,
             "TEST_ECHO wraps at 32 bits");
    CHECK_EQ(hc(PVKIT_HC_TEST_ECHO, 0xffffffff, 0xffffffff, 0xffffffff,
                0xffffffff, 0), 0xfffffffc, "TEST_ECHO 4 x 0xffffffff");
    CHECK_EQ(hc(PVKIT_HC_TEST_ECHO, UINT64_MAX, 2, 1ull << 40, 0, 0), 1,
             "TEST_ECHO with 64-bit arguments");
}

static void test_copy(void)
{
    uint8_t pattern[300];
    uint8_t rom_before[64], dst_before[64];
    size_t i;

    reset();
    for (i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (uint8_t)(i ^ 0x5a);
    }
    memcpy(ptr(RAM_A + 0x1000), pattern, sizeof(pattern));
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A + 0x1000, RAM_B + 0x10,
                sizeof(pattern), 0, 0), sizeof(pattern),
             "TEST_COPY RAM A -> RAM B");
    check(!memcmp(ptr(RAM_B + 0x10), pattern, sizeof(pattern)),
          "TEST_COPY contents");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_B + 0x10, RAM_TOP + 0x1000,
                sizeof(pattern), 0, 0), sizeof(pattern),
             "TEST_COPY round trip RAM B -> top-of-space RAM");
    check(!memcmp(ptr(RAM_TOP + 0x1000), pattern, sizeof(pattern)),
          "TEST_COPY round trip contents");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_TOP, RAM_TOP + 0x1000,
                0x1000, 0, 0), 0x1000,
             "TEST_COPY of a page ending at 2^64");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, ROM_BASE, RAM_A, 64, 0, 0), 64,
             "TEST_COPY from ROM");

    memcpy(rom_before, ptr(ROM_BASE), sizeof(rom_before));
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, ROM_BASE, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY into ROM -> EFAULT");
    check(!memcmp(rom_before, ptr(ROM_BASE), sizeof(rom_before)),
          "ROM unchanged");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, MMIO_B, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY into MMIO (confused deputy) -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, MMIO_B, RAM_A, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY from MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, 0x18000, RAM_A, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY from a hole -> EFAULT");
    memcpy(dst_before, ptr(RAM_A), sizeof(dst_before));
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_B + 0x10000 - 32, RAM_A, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY source crossing out of RAM -> EFAULT");
    check(!memcmp(dst_before, ptr(RAM_A), sizeof(dst_before)),
          "destination unchanged after a failed copy");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_A + 0x10000 - 32, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY destination crossing out -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, UINT64_MAX - 31, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY destination wrapping -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, UINT64_MAX - 31, RAM_A, 64, 0, 0),
             -PVKIT_EFAULT, "TEST_COPY source wrapping -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_B, PVKIT_HC_MAX_LEN + 1, 0,
                0), -PVKIT_E2BIG, "TEST_COPY len MAX+1 -> E2BIG");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_B, UINT64_MAX, 0, 0),
             -PVKIT_E2BIG, "TEST_COPY len UINT64_MAX -> E2BIG");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_A + 16, 32, 0, 0),
             -PVKIT_EINVAL, "TEST_COPY overlapping ranges -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A + 16, RAM_A, 32, 0, 0),
             -PVKIT_EINVAL, "TEST_COPY overlapping (dst below) -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_A, 1, 0, 0),
             -PVKIT_EINVAL, "TEST_COPY src == dst -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_A + 32, 32, 0, 0), 32,
             "TEST_COPY adjacent ranges are fine");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, 0x18000, MMIO_B, 0, 0, 0), 0,
             "TEST_COPY len 0 -> 0 without touching memory");
    check(host.mmio_touched == 2, "MMIO only ever refused (%u attempts)",
          host.mmio_touched);
}

static void test_disabled(void)
{
    reset();
    host.features = PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CONSOLE;
    CHECK_EQ(hc(PVKIT_HC_TEST_ECHO, 1, 2, 3, 4, 0), -PVKIT_ENOSYS,
             "TEST_ECHO disabled -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_B, 16, 0, 0), -PVKIT_ENOSYS,
             "TEST_COPY disabled -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_TEST_COPY, RAM_A, RAM_B, UINT64_MAX, 0, 0),
             -PVKIT_ENOSYS, "TEST_COPY disabled -> ENOSYS before E2BIG");
    CHECK_EQ(hc(PVKIT_HC_VERSION, 0, 0, 0, 0, 0), PVKIT_ABI_VERSION,
             "VERSION still works with tests disabled");
    CHECK_EQ(hc(PVKIT_HC_CONSOLE_WRITE, RAM_A, 4, 0, 0, 0), 4,
             "CONSOLE_WRITE still works with tests disabled");
    check(host.mem_calls == 1, "disabled calls touched no memory");
}

static void check_page(const uint8_t *buf, uint64_t features, uint16_t port,
                       const char *what)
{
    const struct pvkit_hcall_page *p = (const void *)buf;
    int entries_ok = 1, tail_zero = 1, rsvd_zero = 1;
    uint32_t i;
    size_t off;

    for (i = 0; i < PVKIT_HC_COUNT; i++) {
        int test = i == PVKIT_HC_TEST_ECHO || i == PVKIT_HC_TEST_COPY;
        int evtchn = i >= PVKIT_HC_SHARED_INFO &&
                     i <= PVKIT_HC_EVTCHN_BIND_VCPU;
        int gnt = i == PVKIT_HC_GNTTAB_SETUP ||
                  i == PVKIT_HC_GNTTAB_MAX_FRAMES;
        int store = i == PVKIT_HC_STORE_SETUP;
        int vcpu = i == PVKIT_HC_VCPU_INFO || i == PVKIT_HC_VCPU_SEND_IPI;
        int clock = i == PVKIT_HC_CLOCK_SETUP || i == PVKIT_HC_CLOCK_WALL;
        int steal = i == PVKIT_HC_STEAL_SETUP;
        int spin = i == PVKIT_HC_SPIN_WAIT || i == PVKIT_HC_SPIN_KICK;
        int tlb = i == PVKIT_HC_TLB_FLUSH;
        int offered = i == PVKIT_HC_TEST_HOLD ? !!(features & PVKIT_F_TEST) :
                      i == PVKIT_HC_TEST_RUN_DELAY ?
                      (features & (PVKIT_F_TEST | PVKIT_F_STEAL)) ==
                      (PVKIT_F_TEST | PVKIT_F_STEAL) :
                      spin ? !!(features & PVKIT_F_SPIN) :
                      tlb ? !!(features & PVKIT_F_TLB_FLUSH) :
                      steal ? !!(features & PVKIT_F_STEAL) :
                      clock ? !!(features & PVKIT_F_CLOCK) :
                      store ? (features & (PVKIT_F_STORE | PVKIT_F_EVTCHN)) ==
                      (PVKIT_F_STORE | PVKIT_F_EVTCHN) :
                      vcpu ? (features & (PVKIT_F_VCPU | PVKIT_F_EVTCHN)) ==
                      (PVKIT_F_VCPU | PVKIT_F_EVTCHN) :
                      test ? !!(features & PVKIT_F_TEST) :
                      evtchn ? !!(features & PVKIT_F_EVTCHN) :
                      gnt ? !!(features & PVKIT_F_GNTTAB) :
                      i == PVKIT_HC_TEST_GRANT ?
                      (features & (PVKIT_F_TEST | PVKIT_F_GNTTAB)) ==
                      (PVKIT_F_TEST | PVKIT_F_GNTTAB) : 1;

        if (p->entry[i].nr != i || p->entry[i].reserved ||
            p->entry[i].transport != (offered ? PVKIT_TRANSPORT_PIO :
                                      PVKIT_TRANSPORT_NONE) ||
            p->entry[i].port != (offered ? port : 0)) {
            entries_ok = 0;
        }
    }
    for (i = 0; i < 5; i++) {
        rsvd_zero &= p->reserved[i] == 0;
    }
    off = sizeof(*p) + PVKIT_HC_COUNT * sizeof(struct pvkit_hcall_entry);
    for (; off < PVKIT_PAGE_SIZE; off++) {
        tail_zero &= buf[off] == 0;
    }
    check(p->magic == PVKIT_HCALL_PAGE_MAGIC &&
          p->abi_version == PVKIT_ABI_VERSION &&
          p->nr_entries == PVKIT_HC_COUNT &&
          p->entry_size == sizeof(struct pvkit_hcall_entry) &&
          p->features == features, "%s: header", what);
    check(rsvd_zero, "%s: reserved header words zero", what);
    check(entries_ok, "%s: entries", what);
    check(tail_zero, "%s: rest of the page zero", what);
}

static void test_page(void)
{
    static uint8_t buf[PVKIT_PAGE_SIZE + 16];

    memset(buf, 0xff, sizeof(buf));
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE, ALL_F, 0x560);
    check_page(buf, ALL_F, 0x560, "page fill");
    check(buf[PVKIT_PAGE_SIZE] == 0xff, "page fill stays within the page");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE, PVKIT_F_HYPERCALL_PAGE,
                          0x1234);
    check_page(buf, PVKIT_F_HYPERCALL_PAGE, 0x1234,
               "page fill, tests and event channels disabled");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_EVTCHN, 0x560);
    check_page(buf, PVKIT_F_HYPERCALL_PAGE | PVKIT_F_EVTCHN, 0x560,
               "page fill, event channels without tests");
    check(((const struct pvkit_hcall_page *)buf)->entry[15].transport ==
          PVKIT_TRANSPORT_PIO, "page: entries 6..15 present");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_GNTTAB, 0x560);
    check_page(buf, PVKIT_F_HYPERCALL_PAGE | PVKIT_F_GNTTAB, 0x560,
               "page fill, grant tables without tests");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_TEST, 0x560);
    check_page(buf, PVKIT_F_HYPERCALL_PAGE | PVKIT_F_TEST, 0x560,
               "page fill, tests without grant tables");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE, ALL_F, 0x560);
    check(PVKIT_HC_COUNT == 30 &&
          ((const struct pvkit_hcall_page *)buf)->entry[16].transport ==
          PVKIT_TRANSPORT_PIO &&
          ((const struct pvkit_hcall_page *)buf)->entry[17].transport ==
          PVKIT_TRANSPORT_PIO &&
          ((const struct pvkit_hcall_page *)buf)->entry[18].transport ==
          PVKIT_TRANSPORT_PIO &&
          ((const struct pvkit_hcall_page *)buf)->entry[19].transport ==
          PVKIT_TRANSPORT_NONE, "page: entries 16..18 present, 19 not");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE, ALL_F | PVKIT_F_STORE, 0x560);
    check_page(buf, ALL_F | PVKIT_F_STORE, 0x560, "page fill, store");
    check(((const struct pvkit_hcall_page *)buf)->entry[19].transport ==
          PVKIT_TRANSPORT_PIO, "page: entry 19 with the store");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_STORE, 0x560);
    check(((const struct pvkit_hcall_page *)buf)->entry[19].transport ==
          PVKIT_TRANSPORT_NONE, "page: no entry 19 without event channels");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE, ALL_F | PVKIT_F_VCPU, 0x560);
    check_page(buf, ALL_F | PVKIT_F_VCPU, 0x560, "page fill, vCPU ops");
    check(((const struct pvkit_hcall_page *)buf)->entry[20].transport ==
          PVKIT_TRANSPORT_PIO &&
          ((const struct pvkit_hcall_page *)buf)->entry[21].transport ==
          PVKIT_TRANSPORT_PIO, "page: entries 20..21 with vCPU ops");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_VCPU, 0x560);
    check(((const struct pvkit_hcall_page *)buf)->entry[20].transport ==
          PVKIT_TRANSPORT_NONE, "page: no entry 20 without event channels");
    check(((const struct pvkit_hcall_page *)buf)->entry[22].transport ==
          PVKIT_TRANSPORT_NONE, "page: no entry 22 without the clock");
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE,
                          PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CLOCK, 0x560);
    check_page(buf, PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CLOCK, 0x560,
               "page fill, clock");
    check(((const struct pvkit_hcall_page *)buf)->entry[22].transport ==
          PVKIT_TRANSPORT_PIO &&
          ((const struct pvkit_hcall_page *)buf)->entry[23].transport ==
          PVKIT_TRANSPORT_PIO, "page: entries 22..23 with the clock");
    memset(buf, 0xff, sizeof(buf));
    pvkit_fill_hcall_page(buf, PVKIT_PAGE_SIZE - 1, ALL_F, 0x560);
    check(buf[0] == 0xff, "page fill refuses a short buffer");
}

static void test_msr(void)
{
    uint64_t msr = 0;
    uint8_t rom_before[64];

    reset();
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   (RAM_B + 0x2000) | 1), 0,
             "MSR: enable page in RAM");
    CHECK_EQ(msr, (RAM_B + 0x2000) | 1, "MSR: reads back the value");
    check_page(ptr(RAM_B + 0x2000), ALL_F, 0x560, "MSR-filled page");

    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   (RAM_B + 0x2800) | 1), -1,
             "MSR: unaligned -> #GP");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   (RAM_B + 0x3000) | 5), -1,
             "MSR: reserved bit -> #GP");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   RAM_B + 0x3000), -1,
             "MSR: address without ENABLE -> #GP");
    memcpy(rom_before, ptr(ROM_BASE), sizeof(rom_before));
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   ROM_BASE | 1), -1, "MSR: ROM -> #GP");
    check(!memcmp(rom_before, ptr(ROM_BASE), sizeof(rom_before)),
          "MSR: ROM unchanged");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr, MMIO_B | 1),
             -1, "MSR: MMIO -> #GP");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr, 0x18000 | 1),
             -1, "MSR: hole -> #GP");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   (RAM_A + 0xf000) | 1), 0,
             "MSR: last page of RAM A");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr,
                                   0xfffffffffffff001ull), 0,
             "MSR: page ending at 2^64");
    check(msr == 0xfffffffffffff001ull, "MSR: reads back the top page");
    CHECK_EQ(pvkit_hcall_msr_write(&ops, &host, 0x560, &msr, 0), 0,
             "MSR: write 0 detaches");
    CHECK_EQ(msr, 0, "MSR: reads back 0");
}

static void test_cpuid(void)
{
    uint32_t r[4];
    char sig[13];

    check(pvkit_cpuid(PVKIT_CPUID_BASE, PVKIT_CPUID_BASE, ALL_F, r),
          "CPUID base leaf");
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    sig[12] = 0;
    check(!strcmp(sig, PVKIT_CPUID_SIGNATURE), "CPUID signature '%s'", sig);
    CHECK_EQ(r[0], PVKIT_CPUID_BASE + 1, "CPUID max leaf");
    check(pvkit_cpuid(PVKIT_CPUID_BASE, PVKIT_CPUID_BASE + 1,
                      ALL_F | (1ull << 40), r),
          "CPUID info leaf");
    check(r[0] == PVKIT_ABI_VERSION && r[1] == (uint32_t)ALL_F &&
          r[2] == 1u << 8 && r[3] == PVKIT_MSR_HYPERCALL_PAGE,
          "CPUID info leaf contents");
    check(!pvkit_cpuid(PVKIT_CPUID_BASE, PVKIT_CPUID_BASE + 2, ALL_F, r) &&
          !pvkit_cpuid(PVKIT_CPUID_BASE, 0x40000000, ALL_F, r) &&
          !pvkit_cpuid(PVKIT_CPUID_BASE, PVKIT_CPUID_BASE - 1, ALL_F, r),
          "CPUID other leaves not claimed");

    /* elsewhere: the max leaf follows the base */
    check(pvkit_cpuid(0x40000200, 0x40000200, ALL_F, r) &&
          r[0] == 0x40000201, "CPUID at 0x40000200: max leaf 0x40000201");
    check(pvkit_cpuid(0x40000200, 0x40000201, ALL_F, r) &&
          r[0] == PVKIT_ABI_VERSION, "CPUID at 0x40000200: info leaf");
    check(!pvkit_cpuid(0x40000200, PVKIT_CPUID_BASE, ALL_F, r) &&
          !pvkit_cpuid(0x40000200, PVKIT_CPUID_BASE + 1, ALL_F, r),
          "CPUID at 0x40000200: 0x40000100 is not the kit's");
}

/*
 * The CPUID base for each accelerator configuration, against QEMU's
 * layout (kvm_arch_init_vcpu(): Hyper-V at 0x40000000 when enabled, then
 * Xen or KVM; cpu_x86_cpuid(): TCG at 0x40000000).
 */
static void test_cpuid_layout(void)
{
    const PVKitCpuidLayout tcg = { 0 };
    const PVKitCpuidLayout tcg_hv = { .hyperv = true };
    const PVKitCpuidLayout kvm = { .kvm = true, .kvm_leaves = true };
    const PVKitCpuidLayout kvm_bare = { .kvm = true };
    const PVKitCpuidLayout kvm_hv = { .kvm = true, .hyperv = true,
                                      .kvm_leaves = true };
    const PVKitCpuidLayout kvm_hv_bare = { .kvm = true, .hyperv = true };
    const PVKitCpuidLayout kvm_xen = { .kvm = true, .xen = true };
    const PVKitCpuidLayout kvm_hv_xen = { .kvm = true, .hyperv = true,
                                          .xen = true, .kvm_leaves = true };

    CHECK_EQ(pvkit_cpuid_pick_base(&tcg, 0), 0x40000100, "TCG: 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&tcg_hv, 0), 0x40000100,
             "TCG ignores hv-* (no Hyper-V leaves): 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm, 0), 0x40000100,
             "KVM (leaves at 0x40000000): 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_bare, 0), 0x40000100,
             "KVM without its leaves: still 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv, 0), 0x40000200,
             "KVM + hv-* (Hyper-V 0x40000000, KVM 0x40000100): 0x40000200");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv_bare, 0), 0x40000100,
             "KVM + hv-*, expose-kvm off: 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_xen, 0), 0x40000100,
             "KVM + Xen emulation (Xen 0x40000000): 0x40000100");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv_xen, 0), 0x40000200,
             "KVM + hv-* + Xen (Xen at 0x40000100): 0x40000200");

    /* a base asked for: taken, misaligned or out of range -> 0 */
    CHECK_EQ(pvkit_cpuid_pick_base(&tcg, 0x40000000), 0,
             "TCG: 0x40000000 is TCG's -> collision");
    CHECK_EQ(pvkit_cpuid_pick_base(&tcg, 0x40000300), 0x40000300,
             "TCG: a free block is taken as asked");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv, 0x40000100), 0,
             "KVM + hv-*: 0x40000100 is KVM's -> collision");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv, 0x40000000), 0,
             "KVM + hv-*: 0x40000000 is Hyper-V's -> collision");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_hv, 0x40000200), 0x40000200,
             "KVM + hv-*: 0x40000200 is free");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm_bare, 0x40000000), 0x40000000,
             "KVM without any leaves: 0x40000000 is free");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm, 0x40000180), 0,
             "a base off the 0x100 grid -> refused");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm, 0x40010000), 0,
             "a base past the scan range -> refused");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm, 0x4000ff00), 0x4000ff00,
             "the last block of the scan range");
    CHECK_EQ(pvkit_cpuid_pick_base(&kvm, 0x3fffff00), 0,
             "below 0x40000000 -> refused");
}

/* ---- event channels ---- */

#define SI_GPA (RAM_B + 0x4000)
#define VEC 0x40

static struct pvkit_shared_info *si(void)
{
    return (struct pvkit_shared_info *)ptr(SI_GPA);
}

static uint8_t *snap_mem[NR_REGIONS];

/* Copy all of guest memory. */
static void snapshot(void)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        memcpy(snap_mem[i], regions[i].mem, regions[i].size);
    }
}

/*
 * True when guest memory equals the snapshot, except for the page at
 * @page_gpa (pass 1, never page aligned, to compare everything).
 */
static int unchanged_except(uint64_t page_gpa)
{
    size_t i;
    uint64_t off;

    for (i = 0; i < NR_REGIONS; i++) {
        for (off = 0; off < regions[i].size; off++) {
            uint64_t gpa = regions[i].base + off;

            if ((gpa & ~(uint64_t)(PVKIT_PAGE_SIZE - 1)) == page_gpa) {
                continue;
            }
            if (snap_mem[i][off] != regions[i].mem[off]) {
                return 0;
            }
        }
    }
    return 1;
}

static int test_bit64(const __u64 *words, uint32_t bit)
{
    return !!(words[bit / 64] & (1ull << (bit % 64)));
}

/* A clean event setup: page at SI_GPA zeroed, vector VEC on vCPU 0. */
static void ev_setup(void)
{
    reset();
    memset(ptr(SI_GPA), 0, PVKIT_PAGE_SIZE);
    if (hc(PVKIT_HC_SHARED_INFO, SI_GPA, 0, 0, 0, 0) ||
        hc(PVKIT_HC_VCPU_UPCALL, 0, VEC, 0, 0, 0)) {
        fprintf(stderr, "# event setup failed\n");
        abort();
    }
}

static void test_evtchn_disabled(void)
{
    uint32_t nr;
    int all = 1;

    reset();
    host.features = PVKIT_F_HYPERCALL_PAGE | PVKIT_F_TEST;
    snapshot();
    for (nr = PVKIT_HC_SHARED_INFO; nr <= PVKIT_HC_EVTCHN_BIND_VCPU; nr++) {
        all &= hc(nr, SI_GPA, 0, 0, 0, 0) == -PVKIT_ENOSYS;
    }
    check(all, "event-channel hypercalls without F_EVTCHN -> ENOSYS");
    check(host.shared_sets == 0 && host.ec.port[1].state == 0 &&
          unchanged_except(1), "... and they did nothing");
}

static void test_shared_info(void)
{
    reset();
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, SI_GPA + 8, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SHARED_INFO misaligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, SI_GPA | 1, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SHARED_INFO with bit 0 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, ROM_BASE, 0, 0, 0, 0), -PVKIT_EFAULT,
             "SHARED_INFO in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, 0x18000, 0, 0, 0, 0), -PVKIT_EFAULT,
             "SHARED_INFO in a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, MMIO_B, 0, 0, 0, 0), -PVKIT_EFAULT,
             "SHARED_INFO in MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, RAM_A + 0x10000, 0, 0, 0, 0),
             -PVKIT_EFAULT, "SHARED_INFO just past RAM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, 0xfffffffffffff000ull - 0x2000, 0, 0,
                0, 0), -PVKIT_EFAULT, "SHARED_INFO high hole -> EFAULT");
    check(!host.shared && host.ec.shared_gpa == 0 && unchanged_except(1),
          "failed SHARED_INFO mapped nothing and wrote nothing");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, SI_GPA, 0, 0, 0, 0), 0,
             "SHARED_INFO in RAM");
    check(host.shared == ptr(SI_GPA) && host.ec.shared_gpa == SI_GPA,
          "SHARED_INFO mapped the page");
    check(unchanged_except(1), "SHARED_INFO itself writes nothing");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, ROM_BASE, 0, 0, 0, 0), -PVKIT_EFAULT,
             "SHARED_INFO re-register to ROM -> EFAULT");
    check(host.shared == ptr(SI_GPA) && host.ec.shared_gpa == SI_GPA,
          "failed re-register keeps the old page");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, RAM_TOP + 0x1000, 0, 0, 0, 0), 0,
             "SHARED_INFO page ending at 2^64");
    check(host.shared == ptr(RAM_TOP + 0x1000), "re-register replaces");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, 0, 0, 0, 0, 0), 0,
             "SHARED_INFO 0 detaches");
    check(!host.shared && host.ec.shared_gpa == 0, "detached");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, 0, 0, 0, 0, 0), 0,
             "SHARED_INFO 0 again is fine");
}

static void test_vcpu_upcall(void)
{
    reset();
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 0, VEC, 0, 0, 0), 0,
             "VCPU_UPCALL vcpu 0");
    CHECK_EQ(host.ec.upcall_vector[0], VEC, "vector stored");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 7, 0x20, 0, 0, 0), 0,
             "VCPU_UPCALL vcpu 7 vector 0x20");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 7, 0xff, 0, 0, 0), 0,
             "VCPU_UPCALL vector 0xff");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 7, 0, 0, 0, 0), 0,
             "VCPU_UPCALL vector 0 disables");
    CHECK_EQ(host.ec.upcall_vector[7], 0, "vector cleared");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 0, 0x1f, 0, 0, 0), -PVKIT_EINVAL,
             "VCPU_UPCALL vector 0x1f -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 0, 0x100, 0, 0, 0), -PVKIT_EINVAL,
             "VCPU_UPCALL vector 0x100 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 0, 0x1000000040ull, 0, 0, 0),
             -PVKIT_EINVAL, "VCPU_UPCALL vector with high bits -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 4, VEC, 0, 0, 0), -PVKIT_ENOENT,
             "VCPU_UPCALL absent vcpu 4 -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 4, 1, 0, 0, 0), -PVKIT_EINVAL,
             "VCPU_UPCALL absent vcpu, bad vector -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, PVKIT_MAX_VCPUS, VEC, 0, 0, 0),
             -PVKIT_EINVAL, "VCPU_UPCALL vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 32, VEC, 0, 0, 0),
             -PVKIT_ENOENT, "VCPU_UPCALL absent vcpu 32 -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_UPCALL, 1ull << 32, VEC, 0, 0, 0),
             -PVKIT_EINVAL, "VCPU_UPCALL vcpu 2^32 -> EINVAL");
    CHECK_EQ(host.ec.upcall_vector[0], VEC, "failed calls changed nothing");
}

static void test_ports(void)
{
    static const uint64_t bad[] = { 0, PVKIT_EVTCHN_PORTS, 0xffffffffull,
                                    UINT64_MAX, 1ull << 32 | 1 };
    uint32_t i, n;
    int64_t r, last = 0;
    int seq = 1, all;

    ev_setup();
    snapshot();
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, bad[i], 0, 0, 0, 0), -PVKIT_EINVAL,
                 "SEND bad port");
        CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, bad[i], 0, 0, 0, 0),
                 -PVKIT_EINVAL, "CLOSE bad port");
        CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, bad[i], 0, 0, 0, 0),
                 -PVKIT_EINVAL, "UNMASK bad port");
        CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, bad[i], 0, 0, 0, 0),
                 -PVKIT_EINVAL, "BIND_VCPU bad port");
        CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, bad[i], 0, 0, 0, 0),
                 bad[i] == 0 ? PVKIT_EVTCHN_CLOSED : -PVKIT_EINVAL,
                 "STATUS bad port (0: CLOSED)");
    }
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, 5, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SEND on a never-opened port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, 0, 0, 0, 0, 0), -PVKIT_EINVAL,
             "BIND_HOST endpoint 0 (backend) -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, 2, 0, 0, 0, 0), -PVKIT_EINVAL,
             "BIND_HOST endpoint 2 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, 1ull << 32 | 1, 0, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_HOST endpoint 2^32+1 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_IPI, 4, 0, 0, 0, 0), -PVKIT_ENOENT,
             "BIND_IPI absent vcpu -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_IPI, PVKIT_MAX_VCPUS, 0, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_IPI vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_IPI, UINT64_MAX, 0, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_IPI vcpu ~0 -> EINVAL");
    check(host.ec.port[1].state == PVKIT_EVTCHN_CLOSED && host.injects == 0 &&
          host.kicks == 0 && unchanged_except(1),
          "failed event-channel calls changed nothing (incl. shared page)");

    for (n = 0; n < PVKIT_EVTCHN_PORTS; n++) {
        r = hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
        if (r < 0) {
            break;
        }
        seq &= r == (int64_t)n + 1;
        last = r;
    }
    CHECK_EQ(n, PVKIT_EVTCHN_PORTS - 1, "ALLOC_UNBOUND gives 4095 ports");
    check(seq && last == PVKIT_EVTCHN_PORTS - 1,
          "ALLOC_UNBOUND gives 1, 2, ... 4095 in order");
    CHECK_EQ(r, -PVKIT_ENOSPC, "ALLOC_UNBOUND when full -> ENOSPC");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0),
             -PVKIT_ENOSPC, "BIND_HOST when full -> ENOSPC");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_IPI, 1, 0, 0, 0, 0), -PVKIT_ENOSPC,
             "BIND_IPI when full -> ENOSPC");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, 4095, 0, 0, 0, 0),
             PVKIT_EVTCHN_UNBOUND, "STATUS of an unbound port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, 4095, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SEND on an unbound port -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, 77, 0, 0, 0, 0), 0, "CLOSE 77");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, 77, 0, 0, 0, 0), -PVKIT_EINVAL,
             "CLOSE 77 again -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, 77, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SEND on a closed port -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, 77, 0, 0, 0, 0), -PVKIT_EINVAL,
             "UNMASK a closed port -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, 77, 0, 0, 0, 0), PVKIT_EVTCHN_CLOSED,
             "STATUS of a closed port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, 3000, 0, 0, 0, 0), 0, "CLOSE 3000");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0),
             77, "a freed port is reused, lowest first");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, 77, 0, 0, 0, 0),
             PVKIT_EVTCHN_HOST | PVKIT_ENDPOINT_ECHO << 16,
             "STATUS of an echo port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_IPI, 7, 0, 0, 0, 0), 3000,
             "BIND_IPI takes the next free port");
    r = hc(PVKIT_HC_EVTCHN_STATUS, 3000, 0, 0, 0, 0);
    check(PVKIT_EVTCHN_STATE(r) == PVKIT_EVTCHN_IPI &&
          PVKIT_EVTCHN_VCPU(r) == 7 && PVKIT_EVTCHN_ENDPOINT(r) == 0,
          "STATUS of an IPI port: state IPI, vcpu 7 (0x%" PRIx64 ")",
          (uint64_t)r);
    all = 1;
    for (i = 1; i < PVKIT_EVTCHN_PORTS; i++) {
        all &= hc(PVKIT_HC_EVTCHN_CLOSE, i, 0, 0, 0, 0) == 0;
    }
    check(all, "CLOSE every port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0), 1,
             "after closing all, ALLOC_UNBOUND gives 1");
    check(host.injects == 0 && host.shared_writes == 0 &&
          unchanged_except(1),
          "port management never touched guest memory");
}

static void test_echo_roundtrip(void)
{
    struct pvkit_shared_info *s;
    int64_t p;
    uint32_t i;

    ev_setup();
    s = si();
    snapshot();
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    CHECK_EQ(p, 1, "BIND_HOST echo -> port 1");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND on echo port");
    check(test_bit64(s->evtchn_pending, 1), "echo: pending bit set");
    CHECK_EQ(s->vcpu_info[0].evtchn_pending_sel, 1, "echo: selector bit 0");
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_pending, 1, "echo: upcall_pending");
    check(host.injects == 1 && host.inject_vcpu == 0 &&
          host.inject_vector == VEC, "echo: one injection of VEC on vcpu 0");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND again");
    CHECK_EQ(host.injects, 1, "coalesced: no second injection");
    CHECK_EQ(host.ec.stats.coalesced, 1, "coalesced counted");
    /* The guest handles it: clears selector, pending, upcall_pending. */
    s->vcpu_info[0].evtchn_upcall_pending = 0;
    s->vcpu_info[0].evtchn_pending_sel = 0;
    s->evtchn_pending[0] = 0;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND after ack");
    CHECK_EQ(host.injects, 2, "injected again after the guest acked");
    /* Upcall still pending from before: inject anyway (documented). */
    s->evtchn_pending[0] = 0;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "SEND with upcall_pending still 1");
    CHECK_EQ(host.injects, 3, "injects even when upcall_pending was 1");

    /* A port in word 2 (ports 128..191). */
    for (i = 2; i < 130; i++) {
        hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
    }
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    CHECK_EQ(p, 130, "echo port 130");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND 130");
    check(test_bit64(s->evtchn_pending, 130) &&
          (s->vcpu_info[0].evtchn_pending_sel & 4), "port 130: word 2 flagged");
    CHECK_EQ(host.injects, 4, "port 130 injected");
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, 2, 0, 0, 0), 0,
             "BIND_VCPU echo port to vcpu 2");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "SEND to vcpu 2 (no vector)");
    check(s->vcpu_info[2].evtchn_pending_sel == 4 &&
          s->vcpu_info[2].evtchn_upcall_pending == 1,
          "vcpu 2 selector and upcall_pending set");
    CHECK_EQ(host.injects, 4, "vcpu without vector: no injection");
    hc(PVKIT_HC_VCPU_UPCALL, 2, 0x41, 0, 0, 0);
    s->evtchn_pending[2] = 0;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "SEND to vcpu 2 with vector");
    check(host.injects == 5 && host.inject_vcpu == 2 &&
          host.inject_vector == 0x41, "injected 0x41 on vcpu 2");
    check(unchanged_except(SI_GPA), "only the shared page was written");
    check(s->vcpu_info[1].evtchn_pending_sel == 0 &&
          s->vcpu_info[1].evtchn_upcall_pending == 0,
          "other vcpu_info untouched");
    CHECK_EQ(host.ec.stats.echoes, 7, "echoes counted");
    {
        const uint8_t *pg = ptr(SI_GPA);
        int clean = 1;
        uint32_t off;

        for (off = 0; off < 2048; off++) {
            /* only upcall_pending (0) and pending_sel (8..15) per vCPU */
            clean &= (off % 64 == 0 || (off % 64 >= 8 && off % 64 < 16)) ||
                     pg[off] == 0;
        }
        for (off = 2560; off < PVKIT_PAGE_SIZE; off++) {
            clean &= pg[off] == 0;
        }
        check(clean, "delivery wrote only pending, selector, upcall_pending");
    }
}

static void test_mask(void)
{
    struct pvkit_shared_info *s;
    int64_t p;

    ev_setup();
    s = si();
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    s->evtchn_mask[0] = 1ull << p;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND masked port");
    check(test_bit64(s->evtchn_pending, (uint32_t)p),
          "masked: pending bit set");
    check(s->vcpu_info[0].evtchn_pending_sel == 0 &&
          s->vcpu_info[0].evtchn_upcall_pending == 0 && host.injects == 0,
          "masked: no selector, no upcall, no injection");
    CHECK_EQ(host.ec.stats.masked, 1, "masked counted");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, p, 0, 0, 0, 0), 0, "UNMASK");
    check(!test_bit64(s->evtchn_mask, (uint32_t)p), "UNMASK cleared the mask");
    check(s->vcpu_info[0].evtchn_pending_sel == 1 &&
          s->vcpu_info[0].evtchn_upcall_pending == 1 && host.injects == 1,
          "UNMASK of a pending port delivers");
    s->evtchn_pending[0] = 0;
    s->vcpu_info[0].evtchn_pending_sel = 0;
    s->vcpu_info[0].evtchn_upcall_pending = 0;
    s->evtchn_mask[0] = ~0ull;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, p, 0, 0, 0, 0), 0,
             "UNMASK of a non-pending port");
    check(s->evtchn_mask[0] == ~(1ull << p) && host.injects == 1 &&
          s->vcpu_info[0].evtchn_upcall_pending == 0,
          "UNMASK cleared only its bit and raised nothing");

    /* Upcall mask: pending and flagged, no interrupt. */
    s->evtchn_mask[0] = 0;
    s->vcpu_info[0].evtchn_upcall_mask = 1;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "SEND with evtchn_upcall_mask set");
    check(test_bit64(s->evtchn_pending, (uint32_t)p) &&
          s->vcpu_info[0].evtchn_pending_sel == 1 &&
          s->vcpu_info[0].evtchn_upcall_pending == 1,
          "upcall_mask: pending, selector, upcall_pending set");
    CHECK_EQ(host.injects, 1, "upcall_mask: no injection");
    CHECK_EQ(s->vcpu_info[0].evtchn_upcall_mask, 1,
             "upcall_mask left alone");
}

static void test_ipi_and_retarget(void)
{
    struct pvkit_shared_info *s;
    int64_t p;

    ev_setup();
    s = si();
    hc(PVKIT_HC_VCPU_UPCALL, 3, 0xf3, 0, 0, 0);
    p = hc(PVKIT_HC_EVTCHN_BIND_IPI, 3, 0, 0, 0, 0);
    CHECK_EQ(p, 1, "BIND_IPI vcpu 3");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND IPI");
    check(s->vcpu_info[3].evtchn_pending_sel == 1 &&
          s->vcpu_info[3].evtchn_upcall_pending == 1 &&
          s->vcpu_info[0].evtchn_upcall_pending == 0,
          "IPI flagged vcpu 3 only");
    check(host.injects == 1 && host.inject_vcpu == 3 &&
          host.inject_vector == 0xf3, "IPI injected 0xf3 on vcpu 3");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, 4, 0, 0, 0), -PVKIT_ENOENT,
             "BIND_VCPU absent vcpu -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, PVKIT_MAX_VCPUS, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_VCPU vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, 1ull << 32, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_VCPU vcpu 2^32 -> EINVAL");
    CHECK_EQ(PVKIT_EVTCHN_VCPU(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0)), 3,
             "failed BIND_VCPU kept vcpu 3");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, 7, 0, 0, 0), 0,
             "BIND_VCPU to vcpu 7");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0),
             PVKIT_EVTCHN_IPI | 7 << 8, "STATUS shows vcpu 7");
    hc(PVKIT_HC_VCPU_UPCALL, 7, 0x77, 0, 0, 0);
    s->evtchn_pending[0] = 0;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND retargeted");
    check(host.injects == 2 && host.inject_vcpu == 7 &&
          s->vcpu_info[7].evtchn_pending_sel == 1,
          "retargeted IPI went to vcpu 7");
    p = hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_VCPU, p, 1, 0, 0, 0), 0,
             "BIND_VCPU of an unbound port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0),
             PVKIT_EVTCHN_UNBOUND | 1 << 8, "STATUS unbound, vcpu 1");
}

/* vcpu_info areas for VCPU_INFO: in RAM B, apart from the shared page. */
#define AREA_GPA  (RAM_B + 0x6040)
#define AREA2_GPA (RAM_B + 0x7000)
#define AREA3_GPA (RAM_B + 0x8080)

static struct pvkit_vcpu_info *area(uint64_t gpa)
{
    return (struct pvkit_vcpu_info *)ptr(gpa);
}

/* Event setup with vCPU operations and a vCPU at APIC ID 40 (no slot). */
static void vcpu_setup(void)
{
    ev_setup();
    host.features |= PVKIT_F_VCPU;
    host.vcpus |= 1ull << 40;
    memset(ptr(AREA_GPA & ~0xfffull), 0, PVKIT_PAGE_SIZE);
    memset(ptr(AREA2_GPA), 0, PVKIT_PAGE_SIZE);
    memset(ptr(AREA3_GPA & ~0xfffull), 0, PVKIT_PAGE_SIZE);
}

static void test_vcpu_info_errors(void)
{
    vcpu_setup();
    host.features &= ~PVKIT_F_VCPU;
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, AREA_GPA, 0, 0, 0), -PVKIT_ENOSYS,
             "VCPU_INFO without F_VCPU -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 1, VEC, 0, 0), -PVKIT_ENOSYS,
             "VCPU_SEND_IPI without F_VCPU -> ENOSYS");
    host.features |= PVKIT_F_VCPU;
    host.features &= ~PVKIT_F_EVTCHN;
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, AREA_GPA, 0, 0, 0), -PVKIT_ENOSYS,
             "VCPU_INFO without F_EVTCHN -> ENOSYS");
    host.features |= PVKIT_F_EVTCHN;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, PVKIT_MAX_VCPUS, AREA_GPA, 0, 0, 0),
             -PVKIT_EINVAL, "VCPU_INFO vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 4, AREA_GPA, 0, 0, 0), -PVKIT_ENOENT,
             "VCPU_INFO absent vcpu -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, AREA_GPA + 8, 0, 0, 0), -PVKIT_EINVAL,
             "VCPU_INFO not 64-byte aligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 40, 0, 0, 0, 0), -PVKIT_EINVAL,
             "VCPU_INFO 0 for a vCPU without a slot -> EINVAL");
    check(host.vcpu_area_sets == 0, "... refused before reaching the host");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, ROM_BASE + 0x40, 0, 0, 0),
             -PVKIT_EFAULT, "VCPU_INFO in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, MMIO_B, 0, 0, 0), -PVKIT_EFAULT,
             "VCPU_INFO in MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, 0x18000, 0, 0, 0), -PVKIT_EFAULT,
             "VCPU_INFO in a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, RAM_A + 0x10000 - 0x40, 0, 0, 0), 0,
             "VCPU_INFO in the last 64 bytes of RAM");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 0, 0, 0, 0, 0), 0,
             "VCPU_INFO 0 back to the slot");
    check(host.ec.vcpu_info_gpa[0] == 0 && !host.vcpu_area[0] &&
          host.ec.vcpu_info_gpa[40] == 0 && unchanged_except(1),
          "failed VCPU_INFO calls left no area and wrote nothing");
}

/*
 * Events flagged before a move are carried to the new place, later ones
 * go only there, and the old place is never written again.
 */
static void test_vcpu_info_moves(void)
{
    struct pvkit_shared_info *s;
    int64_t p, q;

    vcpu_setup();
    s = si();
    hc(PVKIT_HC_VCPU_UPCALL, 3, 0xf3, 0, 0, 0);
    p = hc(PVKIT_HC_EVTCHN_BIND_IPI, 3, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0);
    check(s->vcpu_info[3].evtchn_pending_sel == 1 && host.injects == 1,
          "before VCPU_INFO: the event is flagged in slot 3");
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 3, AREA_GPA, 0, 0, 0), 0,
             "VCPU_INFO vcpu 3");
    check(area(AREA_GPA)->evtchn_pending_sel == 1 &&
          area(AREA_GPA)->evtchn_upcall_pending == 1 &&
          host.injects == 2 && host.inject_vcpu == 3 &&
          host.inject_vector == 0xf3 && host.vcpu_area_writes == 1,
          "the flags moved with the vCPU and the upcall was raised again");
    check(unchanged_except(AREA_GPA & ~0xfffull),
          "the move wrote only the new area (the slot is only read)");
    memset(&s->vcpu_info[3], 0, sizeof(s->vcpu_info[3]));
    s->evtchn_pending[0] = 0;
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND after move");
    check(s->vcpu_info[3].evtchn_pending_sel == 0 &&
          s->vcpu_info[3].evtchn_upcall_pending == 0 &&
          host.injects == 3, "a later event is flagged in the area only");

    area(AREA_GPA)->evtchn_pending_sel = 5;
    area(AREA_GPA)->evtchn_upcall_mask = 1;
    area(AREA3_GPA)->evtchn_upcall_mask = 1;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 3, AREA3_GPA, 0, 0, 0), 0,
             "VCPU_INFO from one area to another");
    check(area(AREA3_GPA)->evtchn_pending_sel == 5 &&
          area(AREA3_GPA)->evtchn_upcall_pending == 1 && host.injects == 3,
          "flags carried; the new area's upcall mask holds the interrupt");
    check(unchanged_except(AREA3_GPA & ~0xfffull),
          "... and the old area was not written");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 3, 0, 0, 0, 0), 0, "VCPU_INFO 0");
    s->evtchn_pending[0] = 0;
    snapshot();
    hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0);
    check(s->vcpu_info[3].evtchn_pending_sel == 1 &&
          unchanged_except(SI_GPA), "back in the slot; areas untouched");

    /* APIC ID 40 has no slot: its events wait for an area. */
    hc(PVKIT_HC_VCPU_UPCALL, 40, 0xf3, 0, 0, 0);
    q = hc(PVKIT_HC_EVTCHN_BIND_IPI, 40, 0, 0, 0, 0);
    CHECK_EQ(PVKIT_EVTCHN_VCPU(hc(PVKIT_HC_EVTCHN_STATUS, q, 0, 0, 0, 0)),
             40, "BIND_IPI vcpu 40");
    hc(PVKIT_HC_EVTCHN_SEND, q, 0, 0, 0, 0);
    check(host.ec.stats.unflagged == 1 && test_bit64(s->evtchn_pending, q) &&
          host.injects == 4, "vcpu 40 without an area: pending, not raised");
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 40, AREA2_GPA, 0, 0, 0), 0,
             "VCPU_INFO vcpu 40");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, q, 0, 0, 0, 0), 0, "UNMASK it");
    check(area(AREA2_GPA)->evtchn_pending_sel == 1 &&
          host.injects == 5 && host.inject_vcpu == 40,
          "UNMASK flags it in vcpu 40's area and raises the upcall");

    /* A new shared-info page is a new guest: every area is dropped. */
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 3, AREA_GPA, 0, 0, 0), 0, "VCPU_INFO");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, SI_GPA, 0, 0, 0, 0), 0,
             "SHARED_INFO again");
    check(!host.vcpu_area[3] && !host.vcpu_area[40] &&
          !host.ec.vcpu_info_gpa[3] && !host.ec.vcpu_info_gpa[40],
          "SHARED_INFO dropped every area");
    s->evtchn_pending[0] = 0;
    snapshot();
    hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_SEND, q, 0, 0, 0, 0);
    check(unchanged_except(SI_GPA) && host.ec.stats.unflagged == 2,
          "after it, events touch only the shared page");

    host.ec.vcpu_info_gpa[5] = AREA_GPA + 8;
    check(!pvkit_evtchn_post_load(&host.ec),
          "post_load refuses a misaligned area");
    host.ec.vcpu_info_gpa[5] = 0;
    CHECK_EQ(hc(PVKIT_HC_VCPU_INFO, 40, AREA2_GPA, 0, 0, 0), 0, "VCPU_INFO");
    pvkit_evtchn_reset(&ops, &host);
    check(!host.vcpu_area[40] && !host.ec.vcpu_info_gpa[40],
          "reset drops the areas");
}

static void test_vcpu_send_ipi(void)
{
    vcpu_setup();
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 1, 0x1f, 0, 0), -PVKIT_EINVAL,
             "SEND_IPI vector 0x1f -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 1, 0x100, 0, 0), -PVKIT_EINVAL,
             "SEND_IPI vector 0x100 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, PVKIT_MAX_VCPUS, 1, VEC, 0, 0),
             -PVKIT_EINVAL, "SEND_IPI first 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 250, 1ull << 6, VEC, 0, 0),
             -PVKIT_EINVAL, "SEND_IPI naming APIC ID 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 0x1f, VEC, 0, 0), -PVKIT_ENOENT,
             "SEND_IPI naming absent vcpu 4 -> ENOENT");
    check(host.injects == 0 && host.ec.stats.ipis == 0,
          "a refused set interrupts nobody");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 0, VEC, 0, 0), 0,
             "SEND_IPI to the empty set -> 0");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 0, 0x8f, 0xfd, 0, 0), 5,
             "SEND_IPI to vcpus 0-3 and 7");
    check(host.injects == 5 && host.inject_vcpu == 7 &&
          host.inject_vector == 0xfd && host.ec.stats.ipis == 5,
          "one injection per vCPU in the set");
    CHECK_EQ(hc(PVKIT_HC_VCPU_SEND_IPI, 3, 1ull << 37 | 1, 0xfc, 0, 0), 2,
             "SEND_IPI from first 3: vcpus 3 and 40");
    check(host.injects == 7 && host.inject_vcpu == 40 &&
          host.ec.stats.ipis == 7, "... both interrupted");
    check(unchanged_except(1), "SEND_IPI writes no guest memory");
}

static void test_detach(void)
{
    int64_t p;

    ev_setup();
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, 0, 0, 0, 0, 0), 0, "detach");
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "SEND with no shared page succeeds");
    check(host.injects == 0 && host.ec.stats.dropped == 1 &&
          unchanged_except(1), "... and the event is dropped, memory alone");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_UNMASK, p, 0, 0, 0, 0), -PVKIT_EFAULT,
             "UNMASK with no shared page -> EFAULT");
    check(unchanged_except(1), "nothing written after detach");
    CHECK_EQ(hc(PVKIT_HC_SHARED_INFO, SI_GPA, 0, 0, 0, 0), 0, "re-attach");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "SEND");
    check(host.injects == 1 && test_bit64(si()->evtchn_pending, 1),
          "delivery resumes after re-attaching");
}

static void test_backend(void)
{
    struct pvkit_shared_info *s;
    int tok1, tok2;
    int64_t p, q;

    ev_setup();
    s = si();
    p = hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
    q = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    CHECK_EQ(pvkit_evtchn_backend_notify(&ops, &host, (uint32_t)p),
             -PVKIT_EINVAL, "backend notify on an unbound port -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, (uint32_t)q, &tok1),
             -PVKIT_EINVAL, "backend bind of an echo port -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, 0, &tok1), -PVKIT_EINVAL,
             "backend bind of port 0 -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, 4096, &tok1),
             -PVKIT_EINVAL, "backend bind of port 4096 -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, 9, &tok1), -PVKIT_EINVAL,
             "backend bind of a closed port -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, (uint32_t)p, &tok1), 0,
             "backend bind of an unbound port");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, (uint32_t)p, &tok2),
             -PVKIT_EINVAL, "second backend bind -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0),
             PVKIT_EVTCHN_HOST | PVKIT_ENDPOINT_BACKEND << 16,
             "STATUS: host, endpoint 0");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0,
             "guest SEND to the backend");
    check(host.kicks == 1 && host.kick_port == p && host.kick_backend == &tok1,
          "backend kicked once with its handle");
    check(host.injects == 0 && s->evtchn_pending[0] == 0,
          "SEND to a backend raises nothing in the guest");
    CHECK_EQ(pvkit_evtchn_backend_notify(&ops, &host, (uint32_t)p), 0,
             "backend notify");
    check(host.injects == 1 && test_bit64(s->evtchn_pending, (uint32_t)p),
          "backend notify delivered");
    CHECK_EQ(pvkit_evtchn_backend_notify(&ops, &host, (uint32_t)p), 0,
             "backend notify again");
    CHECK_EQ(host.injects, 1, "backend notify coalesced");
    CHECK_EQ(pvkit_evtchn_backend_unbind(&ops, &host, (uint32_t)q),
             -PVKIT_EINVAL, "unbind of an echo port -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_unbind(&ops, &host, (uint32_t)p), 0,
             "backend unbind");
    check(host.releases == 1 && host.release_backend == &tok1,
          "unbind released the binding");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0), PVKIT_EVTCHN_UNBOUND,
             "unbound again");
    CHECK_EQ(pvkit_evtchn_backend_notify(&ops, &host, (uint32_t)p),
             -PVKIT_EINVAL, "notify after unbind -> EINVAL");
    CHECK_EQ(pvkit_evtchn_backend_bind(&ops, &host, (uint32_t)p, &tok2), 0,
             "rebind");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, p, 0, 0, 0, 0), 0,
             "guest closes the backend's port");
    check(host.releases == 2 && host.release_backend == &tok2,
          "guest close released the binding");
    CHECK_EQ(pvkit_evtchn_backend_notify(&ops, &host, (uint32_t)p),
             -PVKIT_EINVAL, "notify after guest close -> EINVAL");
    CHECK_EQ(host.kicks, 1, "no further kicks");
}

static void test_store_setup(void)
{
    int64_t p, q;
    unsigned int calls;

    ev_setup();
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "STORE_SETUP without PVKIT_F_STORE -> ENOSYS");
    host.features = PVKIT_F_HYPERCALL_PAGE | PVKIT_F_STORE;
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "STORE_SETUP without PVKIT_F_EVTCHN -> ENOSYS");
    host.features = ALL_F | PVKIT_F_STORE;
    CHECK_EQ(host.store_calls, 0, "host not reached so far");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, RAM_B + 8, 0, 0, 0, 0), -PVKIT_EINVAL,
             "STORE_SETUP unaligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, ROM_BASE, 0, 0, 0, 0), -PVKIT_EFAULT,
             "STORE_SETUP on ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, MMIO_B, 0, 0, 0, 0), -PVKIT_EFAULT,
             "STORE_SETUP on MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, 0x10000, 0, 0, 0, 0), -PVKIT_EFAULT,
             "STORE_SETUP on a hole -> EFAULT");
    p = hc(PVKIT_HC_STORE_SETUP, 0xfffffffffffff000ull, 0, 0, 0, 0);
    check(p > 0 && p == host.store_port && host.store_ring ==
          ptr(0xfffffffffffff000ull), "STORE_SETUP on the last RAM page");
    check(host.store_calls == 1 && host.mmio_touched == 0,
          "only the valid page reached the host");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0),
             PVKIT_EVTCHN_HOST | PVKIT_ENDPOINT_BACKEND << 16,
             "store port: HOST, endpoint 0, vCPU 0");
    calls = host.store_calls;
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0), -PVKIT_EBUSY,
             "second STORE_SETUP -> EBUSY");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0), 0, "guest kicks store");
    check(host.kicks == 1 && host.kick_backend == &host.store_token,
          "the store's handler was scheduled");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0), 0, "disconnect");
    check(host.store_calls == calls + 2 && !host.store_ring &&
          host.release_backend == &host.store_token,
          "disconnect closed the port and unmapped");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0), PVKIT_EVTCHN_CLOSED,
             "store port closed");
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0), 0,
             "disconnect while disconnected");
    q = hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0);
    CHECK_EQ(q, p, "reconnect reuses the lowest free port");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_CLOSE, q, 0, 0, 0, 0), 0,
             "guest closes the store port");
    check(!host.store_ring, "closing the port disconnected the store");
    q = hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0);
    check(q > 0, "connect after the guest closed the port");
    pvkit_evtchn_reset(&ops, &host);
    check(!host.store_ring && host.store_port == 0,
          "reset disconnects the store");
    CHECK_EQ(pvkit_evtchn_backend_alloc(&ops, &host, NULL), -PVKIT_EINVAL,
             "backend alloc without a handle -> EINVAL");
    while (hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0) > 0) {
    }
    CHECK_EQ(hc(PVKIT_HC_STORE_SETUP, RAM_B, 0, 0, 0, 0), -PVKIT_ENOSPC,
             "STORE_SETUP with every port taken -> ENOSPC");
    check(!host.store_ring && host.store_port == 0,
          "... and nothing connected");
    CHECK_EQ(pvkit_evtchn_backend_close(&ops, &host, 5), -PVKIT_EINVAL,
             "backend close of a closed port -> EINVAL");
}


/* ---- store ring framing (pvkit-xs-ring.c) ---- */

static struct pvkit_xs_ring xr;
static PVKitXsConn xc;

/* The guest writes @len bytes to the request ring and publishes them. */
static void xs_guest_put(const void *buf, uint32_t len)
{
    uint32_t i;

    for (i = 0; i < len; i++) {
        xr.req[(xr.req_prod + i) % PVKIT_XS_RING_SIZE] =
            ((const char *)buf)[i];
    }
    xr.req_prod += len;
}

/* The guest reads up to @max reply bytes. */
static uint32_t xs_guest_get(void *buf, uint32_t max)
{
    uint32_t n = 0;

    while (n < max && xr.rsp_cons != xr.rsp_prod) {
        ((char *)buf)[n++] = xr.rsp[xr.rsp_cons % PVKIT_XS_RING_SIZE];
        xr.rsp_cons++;
    }
    return n;
}

static void xs_reset(uint32_t start)
{
    memset(&xr, 0, sizeof(xr));
    pvkit_xs_conn_reset(&xc);
    memset(&xc.stats, 0, sizeof(xc.stats));
    pvkit_xs_ring_init(&xr);
    xr.req_cons = xr.req_prod = xr.rsp_cons = xr.rsp_prod = start;
}

/* Send a message as a guest would: as much as the ring has room for. */
static int xs_parse_msg(uint32_t type, const void *payload, uint32_t len,
                        PVKitXsArgs *a)
{
    static uint8_t msg[PVKIT_XS_MSG_MAX];
    struct pvkit_xs_hdr h = { type, 7, 0, len };
    uint32_t sent = 0, total = PVKIT_XS_HDR_SIZE + len, room;
    int r = PVKIT_XS_NONE;

    memset(a, 0, sizeof(*a));
    memcpy(msg, &h, sizeof(h));
    memcpy(msg + sizeof(h), payload, len);
    while (r == PVKIT_XS_NONE && sent < total) {
        room = PVKIT_XS_RING_SIZE - (xr.req_prod - xr.req_cons);
        if (room > total - sent) {
            room = total - sent;
        }
        xs_guest_put(msg + sent, room);
        sent += room;
        r = pvkit_xs_pull(&xc, &xr);
    }
    if (r != PVKIT_XS_MSG) {
        return -1;
    }
    return pvkit_xs_parse(&xc, a);
}

static void test_xs_framing(void)
{
    PVKitXsArgs a;
    struct pvkit_xs_hdr h = { PVKIT_XS_WRITE, 9, 3, 8 };
    static char big[PVKIT_XS_PAYLOAD_MAX + 1];
    int ret;

    xs_reset(0);
    check(xr.server_features == PVKIT_XS_SERVER_FEATURE_ERROR &&
          xr.error == 0 && xr.connection == 0, "ring init");
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "empty ring: none");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "/a", 3, &a), 0, "READ parsed");
    check(a.nargs == 1 && a.arg[0] && !strcmp(a.arg[0], "/a") &&
          a.req_id == 7 &&
          xr.req_cons == xr.req_prod, "READ: path, id; ring consumed");
    CHECK_EQ(xc.stats.requests, 1, "one request counted");

    /* a message split in every possible place, across the ring's wrap */
    xs_reset(0xfffffff0u);
    xs_guest_put(&h, 5);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "partial header");
    xs_guest_put((char *)&h + 5, sizeof(h) - 5);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "header, no payload");
    xs_guest_put("/x\0val", 6);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "partial payload");
    xs_guest_put("ue", 2);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_MSG,
             "whole message across the index wrap");
    ret = pvkit_xs_parse(&xc, &a);
    check(ret == 0 && a.req_id == 9 && a.tx_id == 3 && a.arg[0] &&
          !strcmp(a.arg[0], "/x") && a.value_len == 5 &&
          !memcmp(a.value, "value", 5), "WRITE: path and raw value");
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "then nothing");

    /* a message longer than the ring, fed as the host consumes */
    xs_reset(1000);
    memset(big, 'a', sizeof(big));
    big[0] = '/';
    big[PVKIT_XS_PAYLOAD_MAX - 1] = '\0';
    h = (struct pvkit_xs_hdr){ PVKIT_XS_WRITE, 1, 0, PVKIT_XS_PAYLOAD_MAX };
    xs_guest_put(&h, sizeof(h));
    {
        uint32_t sent = 0, room;
        int r = PVKIT_XS_NONE, rounds = 0;

        while (r == PVKIT_XS_NONE && rounds++ < 20) {
            room = PVKIT_XS_RING_SIZE - (xr.req_prod - xr.req_cons);
            if (room > PVKIT_XS_PAYLOAD_MAX - sent) {
                room = PVKIT_XS_PAYLOAD_MAX - sent;
            }
            xs_guest_put(big + sent, room);
            sent += room;
            r = pvkit_xs_pull(&xc, &xr);
        }
        CHECK_EQ(r, PVKIT_XS_MSG, "4096-byte payload through a 1 KiB ring");
        CHECK_EQ(pvkit_xs_parse(&xc, &a), E2BIG,
                 "path longer than XENSTORE_ABS_PATH_MAX -> E2BIG");
    }

    /* oversized len: E2BIG, payload discarded, the next message is fine */
    xs_reset(0);
    h = (struct pvkit_xs_hdr){ PVKIT_XS_READ, 2, 0, PVKIT_XS_PAYLOAD_MAX + 1 };
    xs_guest_put(&h, sizeof(h));
    xs_guest_put(big, 500);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_TOOBIG, "len 4097: too big");
    CHECK_EQ(pvkit_xs_parse(&xc, &a), EINVAL, "an oversized message never"
             " parses");
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE, "payload discarded");
    {
        uint32_t left = PVKIT_XS_PAYLOAD_MAX + 1 - 500, chunk;

        while (left) {
            chunk = left < 1000 ? left : 1000;
            xs_guest_put(big, chunk);
            left -= chunk;
            if (pvkit_xs_pull(&xc, &xr) != PVKIT_XS_NONE) {
                break;
            }
        }
        CHECK_EQ(left, 0, "discarding while the guest sends");
    }
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "/b", 3, &a), 0,
             "after the discarded payload the next message parses");
    check(a.arg[0] && !strcmp(a.arg[0], "/b"), "... and is the right one");
    xs_reset(0);
    h = (struct pvkit_xs_hdr){ PVKIT_XS_READ, 2, 0, 0xffffffffu };
    xs_guest_put(&h, sizeof(h));
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_TOOBIG, "len 2^32-1: too big");
    xs_guest_put(big, 1000);
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_NONE,
             "huge discard: bounded by what the ring holds");
    check(xr.req_cons == xr.req_prod && xr.error == 0, "discarding goes on");

    /* corrupt indexes */
    xs_reset(0);
    xr.req_prod = xr.req_cons + PVKIT_XS_RING_SIZE + 1;
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_CORRUPT,
             "req_prod - req_cons > 1024: corrupt");
    check(xr.error == PVKIT_XS_ERROR_RINGIDX && xc.broken &&
          xc.stats.corrupt == 1, "error field RINGIDX, connection stopped");
    xr.req_prod = xr.req_cons;
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_CORRUPT, "stays stopped");
    CHECK_EQ(pvkit_xs_push(&xc, &xr), PVKIT_XS_CORRUPT, "no replies either");
    check(!pvkit_xs_can_take(&xc), "takes nothing");
    xs_reset(0);
    xr.req_cons = 5;    /* guest moved our consumer index backwards */
    xr.req_prod = 4;
    CHECK_EQ(pvkit_xs_pull(&xc, &xr), PVKIT_XS_CORRUPT,
             "req_cons ahead of req_prod: corrupt");
    xs_reset(0);
    xr.rsp_prod = 2000;
    pvkit_xs_queue_error(&xc, 1, 0, EINVAL);
    CHECK_EQ(pvkit_xs_push(&xc, &xr), PVKIT_XS_CORRUPT,
             "rsp_prod - rsp_cons > 1024: corrupt");
    check(xr.error == PVKIT_XS_ERROR_RINGIDX, "rsp corruption sets error");
}

static void test_xs_parse(void)
{
    PVKitXsArgs a;
    static char path[3100];

    xs_reset(0);
    CHECK_EQ(xs_parse_msg(99, "/a", 3, &a), EINVAL, "unknown type -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_TYPE_COUNT, "", 0, &a), EINVAL,
             "type XS_TYPE_COUNT -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_INTRODUCE, "1\0002\0", 4, &a), ENOSYS,
             "INTRODUCE -> ENOSYS");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WATCH_EVENT, "a\0b", 4, &a), ENOSYS,
             "guest-sent WATCH_EVENT -> ENOSYS");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "/a", 2, &a), EINVAL,
             "READ path not NUL-terminated -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "", 0, &a), EINVAL,
             "READ without payload -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "", 1, &a), EINVAL,
             "READ empty path -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, "/a\0/b", 6, &a), EINVAL,
             "READ with two strings -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_DIRECTORY, "device", 7, &a), 0,
             "DIRECTORY relative path");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WRITE, "/a", 2, &a), EINVAL,
             "WRITE without NUL after the path -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WRITE, "/a", 3, &a), 0,
             "WRITE with an empty value");
    CHECK_EQ(a.value_len, 0, "... value length 0");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WRITE, "/a\0x\0y", 6, &a), 0,
             "WRITE value may hold NULs");
    CHECK_EQ(a.value_len, 3, "... raw value of 3 bytes");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WATCH, "/a", 3, &a), EINVAL,
             "WATCH without token -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WATCH, "/a\0tok", 6, &a), EINVAL,
             "WATCH token not terminated -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_WATCH, "/a\0tok", 7, &a), 0, "WATCH");
    check(a.nargs == 2 && a.arg[1] && !strcmp(a.arg[1], "tok"),
          "... path and token");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_TRANSACTION_START, "", 1, &a), 0,
             "TRANSACTION_START \"\"");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_TRANSACTION_START, "", 0, &a), 0,
             "TRANSACTION_START, no payload");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_TRANSACTION_END, "T", 2, &a), 0,
             "TRANSACTION_END T");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_TRANSACTION_END, "X", 2, &a), EINVAL,
             "TRANSACTION_END X -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_SET_PERMS, "/a", 3, &a), EINVAL,
             "SET_PERMS without permissions -> EINVAL");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_SET_PERMS, "/a\0n1\0r0", 9, &a), 0,
             "SET_PERMS");
    CHECK_EQ(a.nargs, 3, "... path and two permissions");
    CHECK_EQ(xs_parse_msg(PVKIT_XS_SET_PERMS,
                          "/a\0a\0b\0c\0d\0e\0f\0g\0h", 19, &a), EINVAL,
             "SET_PERMS with too many permissions -> EINVAL");
    memset(path, 'p', sizeof(path));
    path[3072] = '\0';
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, path, 3073, &a), 0,
             "path of XENSTORE_ABS_PATH_MAX bytes");
    path[3072] = 'p';
    path[3073] = '\0';
    CHECK_EQ(xs_parse_msg(PVKIT_XS_READ, path, 3074, &a), E2BIG,
             "longer path -> E2BIG");
    check(xr.error == 0 && !xc.broken, "parse errors keep the connection");
}

static void test_xs_replies(void)
{
    static uint8_t out[3 * PVKIT_XS_MSG_MAX], pl[PVKIT_XS_PAYLOAD_MAX];
    struct pvkit_xs_hdr h;
    uint32_t got = 0, i;
    int n, rounds = 0, ok = 1;

    xs_reset(0xfffffc00u);
    CHECK_EQ(pvkit_xs_push(&xc, &xr), 0, "nothing to push");
    CHECK_EQ(pvkit_xs_queue_error(&xc, 5, 6, ENOENT), 0, "queue ENOENT");
    CHECK_EQ(xc.stats.errors, 1, "error counted");
    for (i = 0; i < sizeof(pl); i++) {
        pl[i] = (uint8_t)(i * 7);
    }
    CHECK_EQ(pvkit_xs_queue(&xc, PVKIT_XS_READ, 8, 0, pl, sizeof(pl), 0), 0,
             "queue a 4096-byte reply");
    CHECK_EQ(pvkit_xs_queue(&xc, PVKIT_XS_READ, 8, 0, pl, sizeof(pl) + 1, 0),
             -PVKIT_E2BIG, "payload > 4096 refused");
    while (rounds++ < 20) {
        n = pvkit_xs_push(&xc, &xr);
        if (n < 0) {
            break;
        }
        if (xr.rsp_prod - xr.rsp_cons > PVKIT_XS_RING_SIZE) {
            ok = 0;
        }
        got += xs_guest_get(out + got, sizeof(out) - got);
        if (!xc.q_used) {
            break;
        }
    }
    check(ok && xc.q_used == 0, "replies moved through the 1 KiB ring");
    CHECK_EQ(got, 2 * PVKIT_XS_HDR_SIZE + 7 + PVKIT_XS_PAYLOAD_MAX,
             "all bytes arrived");
    memcpy(&h, out, sizeof(h));
    check(h.type == PVKIT_XS_ERROR && h.req_id == 5 && h.tx_id == 6 &&
          h.len == 7 && !memcmp(out + 16, "ENOENT", 7), "error reply");
    memcpy(&h, out + 23, sizeof(h));
    check(h.type == PVKIT_XS_READ && h.len == PVKIT_XS_PAYLOAD_MAX &&
          !memcmp(out + 39, pl, sizeof(pl)), "read reply intact");

    /* the guest does not read: the queue fills, events are dropped */
    xs_reset(0);
    for (i = 0; i < 2000; i++) {
        pvkit_xs_queue_watch(&xc, "/local/domain/1/x", "tok");
        pvkit_xs_push(&xc, &xr);
    }
    check(xc.stats.watch_events > 0 && xc.stats.watch_dropped > 0 &&
          xc.stats.watch_events + xc.stats.watch_dropped == 2000,
          "watch events queued until full, then dropped");
    check(PVKIT_XS_QUEUE_SIZE - xc.q_used >= PVKIT_XS_MSG_MAX,
          "events leave room for a reply");
    CHECK_EQ(pvkit_xs_queue(&xc, PVKIT_XS_READ, 1, 0, pl, sizeof(pl), 0), 0,
             "a reply still fits");
    check(!pvkit_xs_can_take(&xc), "no new request while replies back up");
    got = xs_guest_get(out, sizeof(out));
    memcpy(&h, out, sizeof(h));
    check(got == PVKIT_XS_RING_SIZE && h.type == PVKIT_XS_WATCH_EVENT &&
          !memcmp(out + 16, "/local/domain/1/x\0tok\0", 22),
          "watch event format");
    CHECK_EQ(strcmp(pvkit_xs_errname(EAGAIN), "EAGAIN"), 0, "EAGAIN name");
    CHECK_EQ(strcmp(pvkit_xs_errname(12345), "EINVAL"), 0,
             "unknown errno -> EINVAL");
}

static void test_xs_hostile(void)
{
    uint32_t seed = 1, i, j;
    int r, bad = 0;
    PVKitXsArgs a;

    /* random bytes and indexes: every call returns, the ring stays sane */
    xs_reset(0);
    for (i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        for (j = 0; j < 64; j++) {
            xr.req[(seed + j * 13) % PVKIT_XS_RING_SIZE] = (char)(seed >> (j & 31));
        }
        switch (seed >> 28) {
        case 0:
            xr.req_prod = seed;
            break;
        case 1:
            xr.rsp_cons = xr.rsp_prod - (seed >> 16) % 1100;
            break;
        case 2:
            pvkit_xs_conn_reset(&xc);
            xr.error = 0;
            break;
        default:
            if (xr.req_prod - xr.req_cons <= PVKIT_XS_RING_SIZE - 64) {
                xr.req_prod += (seed >> 8) % 64;
            }
        }
        r = pvkit_xs_pull(&xc, &xr);
        if (r == PVKIT_XS_MSG) {
            if (pvkit_xs_parse(&xc, &a)) {
                pvkit_xs_queue_error(&xc, a.req_id, a.tx_id, EINVAL);
            } else {
                pvkit_xs_queue(&xc, a.type, a.req_id, a.tx_id, "OK", 3, 0);
            }
        }
        if (pvkit_xs_push(&xc, &xr) >= 0 &&
            xr.rsp_prod - xr.rsp_cons > PVKIT_XS_RING_SIZE) {
            bad++;
        }
        if (xc.q_used > PVKIT_XS_QUEUE_SIZE ||
            xc.req_len > PVKIT_XS_MSG_MAX) {
            bad++;
        }
        if (xc.broken) {
            xr.rsp_cons = xr.rsp_prod;
        }
    }
    check(!bad, "20000 rounds of random ring contents: bounded, no overrun");
}

static void test_reset_and_load(void)
{
    static PVKitEvtchnState saved;
    int tok;
    int64_t p;

    ev_setup();
    p = hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
    pvkit_evtchn_backend_bind(&ops, &host, (uint32_t)p, &tok);
    hc(PVKIT_HC_EVTCHN_BIND_IPI, 1, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    hc(PVKIT_HC_VCPU_UPCALL, 1, 0x50, 0, 0, 0);

    /* migration: the table travels without backend pointers */
    saved = host.ec;
    check(pvkit_evtchn_post_load(&saved), "post_load accepts a live table");
    check(saved.port[p].backend == NULL &&
          saved.port[p].state == PVKIT_EVTCHN_HOST,
          "post_load drops backend pointers, keeps the port");
    saved.port[0].state = PVKIT_EVTCHN_IPI;
    check(!pvkit_evtchn_post_load(&saved), "post_load: port 0 open -> bad");
    saved.port[0].state = 0;
    saved.port[5].state = 4;
    check(!pvkit_evtchn_post_load(&saved), "post_load: bad state -> bad");
    saved.port[5].state = PVKIT_EVTCHN_IPI;
    saved.port[5].vcpu = 255;
    check(pvkit_evtchn_post_load(&saved),
          "post_load: vcpu 255 (any 8-bit APIC ID) -> good");
    saved.port[5].vcpu = 0;
    saved.port[5].endpoint = 1;
    check(!pvkit_evtchn_post_load(&saved), "post_load: IPI endpoint -> bad");
    saved.port[5].endpoint = 0;
    saved.upcall_vector[3] = 0x10;
    check(!pvkit_evtchn_post_load(&saved), "post_load: bad vector -> bad");
    saved.upcall_vector[3] = 0;
    saved.shared_gpa = SI_GPA + 4;
    check(!pvkit_evtchn_post_load(&saved), "post_load: misaligned page");

    pvkit_evtchn_reset(&ops, &host);
    check(host.releases == 1 && host.release_backend == &tok,
          "reset released the backend binding");
    check(!host.shared && host.ec.shared_gpa == 0, "reset detached the page");
    check(host.ec.upcall_vector[0] == 0 && host.ec.upcall_vector[1] == 0,
          "reset cleared the vectors");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_STATUS, p, 0, 0, 0, 0), PVKIT_EVTCHN_CLOSED,
             "reset closed the ports");
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0), 1,
             "after reset, ports start at 1 again");
}

static void test_counters(void)
{
    int64_t p;

    ev_setup();
    p = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_SEND, p, 0, 0, 0, 0);
    hc(PVKIT_HC_EVTCHN_SEND, 0, 0, 0, 0, 0);
    hc(PVKIT_HC_COUNT, 0, 0, 0, 0, 0);
    CHECK_EQ(host.ec.stats.hypercalls[PVKIT_HC_EVTCHN_SEND], 3,
             "hypercalls[SEND] counts every call");
    CHECK_EQ(host.ec.stats.hypercalls[PVKIT_HC_SHARED_INFO], 1,
             "hypercalls[SHARED_INFO]");
    CHECK_EQ(host.ec.stats.sends, 2, "sends counts successful SENDs");
    CHECK_EQ(host.ec.stats.deliveries, 2, "deliveries");
    CHECK_EQ(host.ec.stats.injections, 1, "injections");
    CHECK_EQ(host.ec.stats.coalesced, 1, "coalesced");
    CHECK_EQ(host.ec.stats.injections, host.injects,
             "injections counter matches the fake");
}

/* ---- grant tables ---- */

#define GT_GPA   (RAM_B + 0x8000)        /* 2 frames: refs 0..1023 */
#define GT_NR    2
#define GT_REFS  (GT_NR * PVKIT_GNTTAB_ENTRIES_PER_FRAME)
#define G_PAGE   (RAM_A + 0x3000)        /* a granted RAM page */
#define G_PAGE2  (RAM_A + 0x5000)

static struct pvkit_grant_entry *gent(uint32_t ref)
{
    return (struct pvkit_grant_entry *)ptr(GT_GPA) + ref;
}

static void grant(uint32_t ref, uint16_t flags, uint16_t domid,
                  uint64_t gpa)
{
    gent(ref)->domid = domid;
    gent(ref)->frame = (uint32_t)(gpa / PVKIT_PAGE_SIZE);
    gent(ref)->flags = flags;
}

/*
 * The guest's revoke (Linux gnttab_end_foreign_access_ref_v1): succeeds
 * only when the host holds neither READING nor WRITING.
 */
static int guest_revoke(uint32_t ref)
{
    uint16_t flags = __atomic_load_n(&gent(ref)->flags, __ATOMIC_SEQ_CST);

    if (flags & (PVKIT_GTF_READING | PVKIT_GTF_WRITING)) {
        return 0;
    }
    return __atomic_compare_exchange_n(&gent(ref)->flags, &flags, 0, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* A clean grant setup: table at GT_GPA zeroed and registered. */
static void gt_setup(void)
{
    reset();
    memset(ptr(GT_GPA), 0, GT_NR * PVKIT_PAGE_SIZE);
    if (hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, GT_NR, 0, 0, 0)) {
        fprintf(stderr, "# grant setup failed\n");
        abort();
    }
}

static int64_t tg(uint64_t ref, uint64_t op, uint64_t off, uint64_t len,
                  uint64_t val)
{
    return hc(PVKIT_HC_TEST_GRANT, ref, op, off, len, val);
}

static int no_pages_held(void)
{
    return host.page_maps == host.page_unmaps;
}

static void test_gnttab_disabled(void)
{
    reset();
    host.features = ALL_F & ~PVKIT_F_GNTTAB;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, 1, 0, 0, 0), -PVKIT_ENOSYS,
             "GNTTAB_SETUP without F_GNTTAB -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_MAX_FRAMES, 0, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "GNTTAB_MAX_FRAMES without F_GNTTAB -> ENOSYS");
    CHECK_EQ(tg(0, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_ENOSYS,
             "TEST_GRANT without F_GNTTAB -> ENOSYS");
    check(host.gnttab_sets == 0 && unchanged_except(1),
          "... and they did nothing");
    host.features = ALL_F & ~PVKIT_F_TEST;
    CHECK_EQ(tg(0, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_ENOSYS,
             "TEST_GRANT without F_TEST -> ENOSYS");
    CHECK_EQ(tg(0, 99, 0, 1, 0), -PVKIT_ENOSYS,
             "TEST_GRANT without F_TEST, bad op -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_MAX_FRAMES, 0, 0, 0, 0, 0),
             PVKIT_GNTTAB_MAX_FRAMES, "MAX_FRAMES works without F_TEST");
    CHECK_EQ(PVKIT_GNTTAB_MAX_FRAMES, 256, "max frames is 256");
}

static void test_gnttab_setup(void)
{
    reset();
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA + 8, 1, 0, 0, 0),
             -PVKIT_EINVAL, "SETUP misaligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, 0, 0, 0, 0), -PVKIT_EINVAL,
             "SETUP nr 0 with gpa -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, PVKIT_GNTTAB_MAX_FRAMES + 1,
                0, 0, 0), -PVKIT_EINVAL, "SETUP nr max + 1 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, 1ull << 32 | 1, 0, 0, 0),
             -PVKIT_EINVAL, "SETUP nr 2^32+1 (no truncation) -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA + 1, 40, 0, 0, 0),
             -PVKIT_EINVAL, "SETUP misaligned and too many -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0xfffffffffffff000ull, 2, 0, 0, 0),
             -PVKIT_EFAULT, "SETUP range wraps -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, ROM_BASE, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SETUP in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, MMIO_B, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SETUP in MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0x18000, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SETUP in a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, RAM_A + 0xf000, 2, 0, 0, 0),
             -PVKIT_EFAULT, "SETUP running past the end of RAM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, RAM_A, 32, 0, 0, 0), -PVKIT_EFAULT,
             "SETUP 32 frames where only 16 are RAM -> EFAULT");
    check(!host.gnttab && host.gt.nr_frames == 0 && host.gt.gpa == 0 &&
          unchanged_except(1), "failed SETUPs changed nothing");
    CHECK_EQ(tg(0, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_ENOENT,
             "no table: TEST_GRANT READ -> ENOENT");

    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, RAM_A, 16, 0, 0, 0), 0,
             "SETUP 16 frames at GPA 0");
    check(host.gnttab == ptr(RAM_A) && host.gt.nr_frames == 16,
          "table mapped at GPA 0");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, GT_NR, 0, 0, 0), 0,
             "SETUP again (nothing mapped) replaces the table");
    check(host.gnttab == ptr(GT_GPA) && host.gt.gpa == GT_GPA &&
          host.gt.nr_frames == GT_NR, "new table mapped");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, MMIO_B, 1, 0, 0, 0), -PVKIT_EFAULT,
             "bad re-SETUP -> EFAULT");
    check(host.gnttab == ptr(GT_GPA) && host.gt.gpa == GT_GPA &&
          host.gt.nr_frames == GT_NR, "... the old table stays");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0), 0,
             "SETUP (0, 0) detaches");
    check(!host.gnttab && host.gt.nr_frames == 0, "table detached");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0), 0,
             "detach without a table -> 0");
    check(unchanged_except(1), "SETUP never writes guest memory");
}

/* Each check in order, each failing with nothing changed. */
static void test_gnttab_errors(void)
{
    uint8_t buf[16] = { 0 };
    void *p = NULL;
    unsigned int writes;

    reset();
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 0, false, &p),
             -PVKIT_ENOENT, "map without a table -> ENOENT");
    CHECK_EQ(pvkit_gnttab_host_copy(&ops, &host, 0, 0, 1, buf, false),
             -PVKIT_ENOENT, "copy without a table -> ENOENT");
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, UINT32_MAX, true, &p),
             -PVKIT_ENOENT, "no table beats a bad ref");

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    snapshot();
    writes = host.gnttab_writes;
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, GT_REFS, false, &p),
             -PVKIT_EINVAL, "ref == nr_frames * 512 -> EINVAL");
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, UINT32_MAX, false, &p),
             -PVKIT_EINVAL, "ref 2^32-1 -> EINVAL");
    CHECK_EQ(tg(1ull << 63 | 5, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_EINVAL,
             "TEST_GRANT ref 2^63+5 (no truncation) -> EINVAL");
    CHECK_EQ(tg(1ull << 32 | 5, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_EINVAL,
             "TEST_GRANT MAP ref 2^32+5 -> EINVAL");

    grant(6, PVKIT_GTF_INVALID, PVKIT_DOMID_HOST, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "INVALID entry -> EPERM");
    grant(6, 2, PVKIT_DOMID_HOST, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "entry type 2 (Xen accept_transfer) -> EPERM");
    grant(6, 3, PVKIT_DOMID_HOST, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "entry type 3 -> EPERM");
    grant(6, PVKIT_GTF_READING, PVKIT_DOMID_HOST, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "INVALID with a stale READING -> EPERM");
    grant(6, PVKIT_GTF_PERMIT_ACCESS, 1, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "wrong domid -> EPERM");
    grant(6, PVKIT_GTF_PERMIT_ACCESS, 0xffff, 0x18000);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "wrong domid beats a bad frame");
    grant(6, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, true, &p), -PVKIT_EPERM,
             "write map of a READONLY grant -> EPERM");
    CHECK_EQ(pvkit_gnttab_host_copy(&ops, &host, 6, 0, 1, buf, true),
             -PVKIT_EPERM, "copy into a READONLY grant -> EPERM");
    CHECK_EQ(tg(6, PVKIT_GNTTEST_WRITE, 0, 1, 0x11), -PVKIT_EPERM,
             "TEST_GRANT WRITE to a READONLY grant -> EPERM");
    grant(6, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          MMIO_B);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, true, &p), -PVKIT_EPERM,
             "READONLY beats a bad frame");

    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, 0x18000);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 7, false, &p), -PVKIT_EFAULT,
             "frame in a hole -> EFAULT");
    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, MMIO_B);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 7, false, &p), -PVKIT_EFAULT,
             "frame in MMIO -> EFAULT");
    CHECK_EQ(tg(7, PVKIT_GNTTEST_WRITE, 0, 4, 1), -PVKIT_EFAULT,
             "TEST_GRANT WRITE to MMIO -> EFAULT");
    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, ROM_BASE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 7, true, &p), -PVKIT_EFAULT,
             "write map of a ROM frame -> EFAULT");
    CHECK_EQ(tg(7, PVKIT_GNTTEST_WRITE, 0, 4, 1), -PVKIT_EFAULT,
             "TEST_GRANT WRITE to ROM -> EFAULT");
    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, 0xffffffffull << 12);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 7, false, &p), -PVKIT_EFAULT,
             "frame 2^32-1 (not RAM) -> EFAULT");
    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, 0x18000);
    CHECK_EQ(tg(7, PVKIT_GNTTEST_READ, 4096, 1, 0), -PVKIT_EFAULT,
             "bad frame beats a bad range");

    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 4096, 1, 0), -PVKIT_EINVAL,
             "offset 4096 len 1 -> EINVAL");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 0, 4097, 0), -PVKIT_EINVAL,
             "len 4097 -> EINVAL");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_WRITE, 4000, 97, 0), -PVKIT_EINVAL,
             "offset 4000 len 97 -> EINVAL");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_WRITE, UINT64_MAX, 2, 0), -PVKIT_EINVAL,
             "offset + len overflows -> EINVAL");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 2, UINT64_MAX, 0), -PVKIT_EINVAL,
             "len 2^64-1 -> EINVAL");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 1ull << 32, 0, 0), -PVKIT_EINVAL,
             "offset 2^32, len 0 (no truncation) -> EINVAL");
    CHECK_EQ(pvkit_gnttab_host_copy(&ops, &host, 5, UINT32_MAX, 2, buf,
                                    false), -PVKIT_EINVAL,
             "copy: offset + len overflows 32 bits -> EINVAL");
    CHECK_EQ(tg(5, 5, 0, 1, 0), -PVKIT_EINVAL, "unknown op 5 -> EINVAL");
    CHECK_EQ(tg(5, 1ull << 32 | PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_EINVAL,
             "op 2^32 (no truncation) -> EINVAL");
    CHECK_EQ(tg(UINT64_MAX, 77, 0, 0, 0), -PVKIT_EINVAL,
             "unknown op with a bad ref -> EINVAL");

    check(unchanged_except(GT_GPA),
          "failed grant calls changed no guest memory");
    check(host.gnttab_writes == writes && no_pages_held() &&
          host.page_maps == 0,
          "... mapped nothing and wrote no flags (%u maps)", host.page_maps);
    check(host.mmio_touched == 0, "MMIO never touched");
    CHECK_EQ(host.gt.stats.refused, 28, "stat refused counts them");
    CHECK_EQ(host.gt.stats.maps + host.gt.stats.mapped, 0,
             "no successful maps counted");

    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, ROM_BASE);
    CHECK_EQ(tg(7, PVKIT_GNTTEST_READ, 0, 4, 0),
             4 * (0xa5 ^ 1), "reading a ROM frame is allowed");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 4096, 0, 0), 0,
             "offset 4096 len 0 -> 0");
}

static void test_gnttab_copy(void)
{
    uint8_t buf[64];
    int64_t sum = 0;
    int i;

    gt_setup();
    for (i = 0; i < 100; i++) {
        ptr(G_PAGE)[100 + i] = (uint8_t)i;
        sum += i;
    }
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    grant(6, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          G_PAGE);
    snapshot();
    host.unmap_ref = 5;
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 100, 100, 0), sum, "READ sums bytes");
    CHECK_EQ(host.unmap_flags,
             PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING,
             "READING set while reading");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "READING cleared afterwards");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 0, 4096, 0), sum + 3996 * (0xa5 ^ 0),
             "READ of the whole page");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 0, 0, 0), 0, "READ len 0 -> 0");
    host.unmap_ref = 6;
    CHECK_EQ(tg(6, PVKIT_GNTTEST_READ, 100, 100, 0), sum,
             "READ through a READONLY grant");
    CHECK_EQ(host.unmap_flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY |
             PVKIT_GTF_READING, "READONLY grant: READING while reading");
    check(unchanged_except(GT_GPA), "reads changed no guest memory");

    host.unmap_ref = 5;
    CHECK_EQ(tg(5, PVKIT_GNTTEST_WRITE, 4000, 96, 0x1234), 96,
             "WRITE returns len");
    check(ptr(G_PAGE)[3999] == (0xa5 ^ 0) && ptr(G_PAGE)[4000] == 0x34 &&
          ptr(G_PAGE)[4095] == 0x34 && ptr(G_PAGE + 4096)[0] == (0xa5 ^ 0),
          "WRITE filled exactly [4000, 4096) with value & 0xff");
    CHECK_EQ(host.unmap_flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING |
             PVKIT_GTF_WRITING, "READING|WRITING set while writing");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "flags cleared afterwards");
    CHECK_EQ(host.page_unmaps_w, 1, "the page was unmapped as written");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_WRITE, 0, 0, 0x77), 0, "WRITE len 0 -> 0");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 4000, 96, 0), 96 * 0x34,
             "READ back");

    memcpy(buf, "grant copy test", 16);
    CHECK_EQ(pvkit_gnttab_host_copy(&ops, &host, 5, 10, 16, buf, true), 0,
             "host copy into the guest");
    check(!memcmp(ptr(G_PAGE) + 10, "grant copy test", 16), "copied in");
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(pvkit_gnttab_host_copy(&ops, &host, 6, 10, 16, buf, false), 0,
             "host copy out of a READONLY grant");
    check(!memcmp(buf, "grant copy test", 16), "copied out");
    check(no_pages_held() && host.gt.stats.mapped == 0 &&
          host.gt.stats.maps == host.gt.stats.unmaps &&
          host.gt.stats.maps == 9, "copies leave nothing mapped (%" PRIu64
          " maps)", host.gt.stats.maps);
    check(guest_revoke(5) && guest_revoke(6) && gent(5)->flags == 0,
          "the guest can revoke after copies");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_EPERM,
             "revoked grant -> EPERM");
}

static void test_gnttab_map(void)
{
    void *pw = NULL, *pr = NULL, *p = NULL;
    int hw, hr, h;

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    grant(9, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          G_PAGE2);
    hw = pvkit_gnttab_host_map(&ops, &host, 5, true, &pw);
    check(hw >= 0 && pw == ptr(G_PAGE), "write map -> handle, page pointer");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING |
             PVKIT_GTF_WRITING, "write map sets READING|WRITING");
    hr = pvkit_gnttab_host_map(&ops, &host, 5, false, &pr);
    check(hr >= 0 && hr != hw && pr == pw, "read map of the same ref");
    CHECK_EQ(host.gt.ref_maps[5], 2, "ref 5 mapped twice");
    CHECK_EQ(host.gt.ref_wmaps[5], 1, "once writable");
    CHECK_EQ(host.gt.stats.mapped, 2, "stat mapped 2");
    check(!guest_revoke(5), "guest cannot revoke while mapped");
    CHECK_EQ(gent(5)->flags & PVKIT_GTF_TYPE_MASK, PVKIT_GTF_PERMIT_ACCESS,
             "... the grant still stands");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, MMIO_B, 1, 0, 0, 0), -PVKIT_EFAULT,
             "a bad new table while mapped -> EFAULT");
    check(host.gnttab == ptr(GT_GPA) && host.gt.nr_frames == GT_NR &&
          host.gt.stats.revoked == 0 && host.gt.ref_maps[5] == 2,
          "... revokes nothing, the table stays");

    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hw), 0,
             "unmap the write map");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING,
             "WRITING cleared, READING kept for the read map");
    check(!guest_revoke(5), "still no revoke");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hw), -PVKIT_EINVAL,
             "double unmap -> EINVAL");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, -1), -PVKIT_EINVAL,
             "handle -1 -> EINVAL");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, 0x7fffffff), -PVKIT_EINVAL,
             "handle 0x7fffffff -> EINVAL");
    h = pvkit_gnttab_host_map(&ops, &host, 9, false, &p);
    check(h >= 0 && p == ptr(G_PAGE2), "read map of a READONLY grant");
    CHECK_EQ(gent(9)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY |
             PVKIT_GTF_READING, "READONLY grant: READING only");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hw), -PVKIT_EINVAL,
             "stale handle whose slot was reused -> EINVAL");
    CHECK_EQ(gent(9)->flags & PVKIT_GTF_READING, PVKIT_GTF_READING,
             "... and it did not release the new mapping");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hr), 0, "unmap the read map");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS, "flags clear");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, h), 0, "unmap ref 9");
    CHECK_EQ(gent(9)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY,
             "ref 9 flags clear");
    check(no_pages_held() && host.gt.stats.mapped == 0 &&
          host.gt.stats.maps == 3 && host.gt.stats.unmaps == 3,
          "counts: 3 maps, 3 unmaps, 0 mapped");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0), 0,
             "detach once unmapped");
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, false, &p), -PVKIT_ENOENT,
             "map after detach -> ENOENT");

    /* the mapping limit */
    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    for (h = 0; h < PVKIT_GNTTAB_MAX_MAPS; h++) {
        if (pvkit_gnttab_host_map(&ops, &host, 5, h & 1, &p) < 0) {
            break;
        }
    }
    CHECK_EQ(h, PVKIT_GNTTAB_MAX_MAPS, "1024 concurrent mappings");
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, false, &p), -PVKIT_ENOSPC,
             "the 1025th -> ENOSPC");
    grant(6, PVKIT_GTF_PERMIT_ACCESS, 1, G_PAGE);
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 6, false, &p), -PVKIT_EPERM,
             "grant checks come before ENOSPC");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_READ, 0, 1, 0), 0xa5,
             "copies still work at the limit");
    CHECK_EQ(tg(5, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_ENOSPC,
             "TEST_GRANT MAP at the limit -> ENOSPC");
    CHECK_EQ(host.gt.ref_maps[5], PVKIT_GNTTAB_MAX_MAPS, "per-ref count");
    CHECK_EQ(host.gt.ref_wmaps[5], PVKIT_GNTTAB_MAX_MAPS / 2,
             "per-ref writable count");
    pvkit_gnttab_reset(&ops, &host);
    check(no_pages_held() && host.gt.stats.mapped == 0 &&
          gent(5)->flags == PVKIT_GTF_PERMIT_ACCESS,
          "reset released all 1024 and cleared the flags");
}

/*
 * The guest drops its table (detach, a new table, kexec) while device
 * models and the guest's own test hypercall hold mappings: the host
 * revokes them instead of refusing with EBUSY.
 */
static void test_gnttab_revoke(void)
{
    void *pw = NULL, *pr = NULL, *p = NULL;
    unsigned int unmaps;
    int hw, hr, h;

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    grant(6, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE2);
    grant(7, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hw = pvkit_gnttab_host_map(&ops, &host, 5, true, &pw);
    hr = pvkit_gnttab_host_map(&ops, &host, 6, false, &pr);
    check(hw >= 0 && hr >= 0, "two device model mappings");
    CHECK_EQ(tg(7, PVKIT_GNTTEST_MAP, 0, 0, 0), 0, "and a test mapping");
    unmaps = host.page_unmaps;

    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0), 0,
             "detach while mapped -> 0 (revoked), not EBUSY");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "revoke cleared READING|WRITING of the write map");
    CHECK_EQ(gent(6)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "... and READING of the read map");
    CHECK_EQ(gent(7)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "... and of the test mapping");
    check(guest_revoke(5) && guest_revoke(6),
          "the guest can end its grants after the revoke");
    check(!host.gnttab && host.gt.nr_frames == 0, "the table is gone");
    CHECK_EQ(host.page_unmaps, unmaps + 1,
             "the test mapping's page was released at once");
    CHECK_EQ(host.gt.stats.revoked, 2, "stat revoked 2");
    CHECK_EQ(host.gt.stats.mapped, 2, "the orphans still hold their pages");
    CHECK_EQ(host.gt.nr_maps, 2, "... and their handle slots");
    CHECK_EQ(host.gt.ref_maps[5] + host.gt.ref_maps[6] + host.gt.ref_maps[7],
             0, "no ref counts any mapping");
    CHECK_EQ(tg(7, PVKIT_GNTTEST_UNMAP, 0, 0, 0), -PVKIT_EINVAL,
             "the test mapping is gone");

    /* a new kernel sets up a table again: the orphans stay orphans */
    memset(ptr(GT_GPA), 0, GT_NR * PVKIT_PAGE_SIZE);
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, GT_NR, 0, 0, 0), 0,
             "a new table while orphans are held");
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    h = pvkit_gnttab_host_map(&ops, &host, 5, false, &p);
    check(h >= 0 && p == ptr(G_PAGE), "a mapping of the new table");
    CHECK_EQ(host.gt.ref_maps[5], 1, "counted once on ref 5");
    unmaps = host.page_unmaps_w;
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hw), 0,
             "unmapping an orphan succeeds");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING,
             "... without touching the new table's ref 5");
    CHECK_EQ(host.page_unmaps_w, unmaps + 1,
             "... and released the page writable");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hw), -PVKIT_EINVAL,
             "a second unmap of the orphan -> EINVAL");

    /* a new table replaces the old one: its mappings are revoked too */
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, 1, 0, 0, 0), 0,
             "re-setup while mapped -> 0 (revoked)");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "the old table's flags were cleared");
    CHECK_EQ(host.gt.nr_frames, 1, "the new table is in place");
    CHECK_EQ(host.gt.stats.revoked, 3, "stat revoked 3");

    /* reset releases orphans as well */
    pvkit_gnttab_reset(&ops, &host);
    check(no_pages_held() && host.gt.stats.mapped == 0 &&
          host.gt.nr_maps == 0, "reset released the orphans");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, hr), -PVKIT_EINVAL,
             "an orphan's handle is stale after reset");
    CHECK_EQ(pvkit_gnttab_host_unmap(&ops, &host, h), -PVKIT_EINVAL,
             "and so is the other");
}

/* Hypercalls on registers: rdi, rsi, r10, r8, r9 in, rax out, nothing else. */
static void test_dispatch_regs(void)
{
    PVKitHcallRegs r = { .rax = 0x1111, .rdi = 1, .rsi = 2, .r10 = 3,
                         .r8 = 4, .r9 = 5 };

    reset();
    CHECK_EQ(pvkit_dispatch_regs(&ops, &host, PVKIT_HC_TEST_ECHO, &r), 10,
             "TEST_ECHO on registers: rdi + rsi + r10 + r8");
    check(r.rax == 10 && r.rdi == 1 && r.rsi == 2 && r.r10 == 3 &&
          r.r8 == 4 && r.r9 == 5, "only rax changed");
    r.r9 = 0x40;
    CHECK_EQ(pvkit_dispatch_regs(&ops, &host, PVKIT_HC_VERSION, &r),
             PVKIT_ABI_VERSION, "VERSION on registers");
    CHECK_EQ(r.rax, PVKIT_ABI_VERSION, "... lands in rax");
    CHECK_EQ(pvkit_dispatch_regs(&ops, &host, PVKIT_HC_COUNT + 7, &r),
             -PVKIT_ENOSYS, "unknown number on registers");
    CHECK_EQ(r.rax, (uint64_t)-PVKIT_ENOSYS, "... -ENOSYS in rax");
    r = (PVKitHcallRegs){ .rdi = 0, .rsi = 0, .r10 = 0, .r8 = 0,
                          .r9 = 0xffffffff };
    CHECK_EQ(pvkit_dispatch_regs(&ops, &host, PVKIT_HC_TEST_ECHO, &r), 0,
             "r9 is not part of TEST_ECHO's sum");

    /* all five, each distinct: TEST_GRANT(ref, op, offset, len, value) */
    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    memset(ptr(G_PAGE), 0, PVKIT_PAGE_SIZE);
    r = (PVKitHcallRegs){ .rdi = 5, .rsi = PVKIT_GNTTEST_WRITE, .r10 = 16,
                          .r8 = 4, .r9 = 0x77 };
    CHECK_EQ(pvkit_dispatch_regs(&ops, &host, PVKIT_HC_TEST_GRANT, &r), 4,
             "TEST_GRANT WRITE on registers -> len (r8)");
    check(ptr(G_PAGE)[15] == 0 && ptr(G_PAGE)[16] == 0x77 &&
          ptr(G_PAGE)[19] == 0x77 && ptr(G_PAGE)[20] == 0,
          "ref rdi, op rsi, offset r10, len r8, value r9");
}

/* Racing guests, run inside page_map between the checks and the cmpxchg. */
static int hook_runs;

static void hook_revoke(void)
{
    hook_runs++;
    check(guest_revoke(5), "racing guest revokes before the host marks");
}

static void hook_flip_readonly(void)
{
    /* a guest that changes the flags (still granting read) once */
    if (hook_runs++ == 0) {
        __atomic_fetch_or(&gent(5)->flags, PVKIT_GTF_READONLY,
                          __ATOMIC_SEQ_CST);
    }
}

static void hook_new_frame_once(void)
{
    if (hook_runs++ == 0) {
        gent(5)->frame = (uint32_t)(G_PAGE2 / PVKIT_PAGE_SIZE);
    }
}

static void hook_new_frame_always(void)
{
    hook_runs++;
    gent(5)->frame ^= 1;
}

static void test_gnttab_race(void)
{
    void *p = NULL;
    int h;

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    check(guest_revoke(5), "unmapped grant: guest revoke succeeds");
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, false, &p), -PVKIT_EPERM,
             "guest revoked before the host map -> EPERM");
    CHECK_EQ(gent(5)->flags, 0, "... flags stay 0");

    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hook_runs = 0;
    host.map_hook = hook_revoke;
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, true, &p), -PVKIT_EPERM,
             "revoked between check and mark -> EPERM");
    host.map_hook = NULL;
    check(gent(5)->flags == 0 && no_pages_held() &&
          host.gt.ref_maps[5] == 0, "... no flag set, page released");

    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hook_runs = 0;
    host.map_hook = hook_flip_readonly;
    h = pvkit_gnttab_host_map(&ops, &host, 5, false, &p);
    host.map_hook = NULL;
    check(h >= 0, "flags changed under the read map: cmpxchg retried");
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY |
             PVKIT_GTF_READING, "... READING set on the new flags");
    pvkit_gnttab_host_unmap(&ops, &host, h);

    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hook_runs = 0;
    host.map_hook = hook_flip_readonly;
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, true, &p), -PVKIT_EPERM,
             "READONLY appears under a write map -> EPERM");
    host.map_hook = NULL;
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY,
             "... no flag set");

    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hook_runs = 0;
    host.map_hook = hook_new_frame_once;
    h = pvkit_gnttab_host_map(&ops, &host, 5, true, &p);
    host.map_hook = NULL;
    check(h >= 0 && p == ptr(G_PAGE2) && hook_runs == 2,
          "frame changed under the map: retried, maps the new frame");
    pvkit_gnttab_host_unmap(&ops, &host, h);
    CHECK_EQ(gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS, "flags clear again");

    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    hook_runs = 0;
    host.map_hook = hook_new_frame_always;
    CHECK_EQ(pvkit_gnttab_host_map(&ops, &host, 5, true, &p), -PVKIT_EBUSY,
             "a guest that never stops changing the frame -> EBUSY");
    host.map_hook = NULL;
    check(gent(5)->flags == PVKIT_GTF_PERMIT_ACCESS && no_pages_held() &&
          host.gt.ref_maps[5] == 0 && host.gt.stats.mapped == 0,
          "... nothing left marked or mapped (%d tries)", hook_runs);
}

/*
 * A real racing guest: a thread grants ref 5 and revokes it as Linux does
 * (spinning while the host holds it), while the host maps and unmaps it.
 * The guest may never revoke a grant the host holds.
 */
#define RACE_ROUNDS 2000      /* each: host maps and guest revokes */
#define RACE_MAX_ITER 5000000
static int race_revoked, race_stop;
static unsigned int race_revokes;

static void *race_guest(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&race_stop, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&race_revoked, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&gent(5)->flags, PVKIT_GTF_PERMIT_ACCESS,
                         __ATOMIC_SEQ_CST);
        while (!guest_revoke(5)) {
            if (__atomic_load_n(&race_stop, __ATOMIC_SEQ_CST)) {
                return NULL;
            }
        }
        __atomic_store_n(&race_revoked, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&race_revokes, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void test_gnttab_threads(void)
{
    unsigned int i, mapped = 0, refused = 0, bad = 0, bad_err = 0;
    pthread_t t;
    void *p;
    int h;

    gt_setup();
    grant(5, 0, PVKIT_DOMID_HOST, G_PAGE);
    race_stop = 0;
    if (pthread_create(&t, NULL, race_guest, NULL)) {
        check(0, "thread start");
        return;
    }
    for (i = 0; i < RACE_MAX_ITER &&
         (mapped < RACE_ROUNDS ||
          __atomic_load_n(&race_revokes, __ATOMIC_SEQ_CST) < RACE_ROUNDS);
         i++) {
        h = pvkit_gnttab_host_map(&ops, &host, 5, i & 1, &p);
        if (h < 0) {
            refused++;
            bad_err += h != -PVKIT_EPERM && h != -PVKIT_EBUSY;
            continue;
        }
        mapped++;
        /* while held: marked, still granted, never revoked */
        bad += (__atomic_load_n(&gent(5)->flags, __ATOMIC_SEQ_CST) &
                (PVKIT_GTF_TYPE_MASK | PVKIT_GTF_READING)) !=
               (PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING);
        bad += __atomic_load_n(&race_revoked, __ATOMIC_SEQ_CST);
        pvkit_gnttab_host_unmap(&ops, &host, h);
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    check(bad == 0, "threads: the guest never revoked a held grant "
          "(%u maps, %u refused, %u guest revokes)", mapped, refused,
          race_revokes);
    check(mapped >= RACE_ROUNDS && race_revokes >= RACE_ROUNDS,
          "threads: both sides made progress");
    check(bad_err == 0, "threads: refusals were EPERM or EBUSY only");
    check(no_pages_held() && host.gt.stats.mapped == 0 &&
          host.gt.ref_maps[5] == 0 &&
          !(gent(5)->flags & (PVKIT_GTF_READING | PVKIT_GTF_WRITING)),
          "threads: nothing left held or marked");
}

static void test_gnttab_test_ops(void)
{
    uint32_t r;
    int ok = 1;

    gt_setup();
    for (r = 0; r < 70; r++) {
        grant(r, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    }
    CHECK_EQ(tg(1, PVKIT_GNTTEST_MAP, 0, 0, 0), 0, "TEST MAP -> 0");
    CHECK_EQ(gent(1)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING |
             PVKIT_GTF_WRITING, "TEST MAP: READING|WRITING held");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_EBUSY,
             "TEST MAP of a ref already mapped -> EBUSY");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_MAP_RO, 0, 0, 0), -PVKIT_EBUSY,
             "TEST MAP_RO of a ref already mapped -> EBUSY");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_WRITE, 0, 8, 0x5a), 8,
             "WRITE to a ref the test holds");
    CHECK_EQ(gent(1)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING |
             PVKIT_GTF_WRITING, "... the held flags survive the copy");
    CHECK_EQ(tg(2, PVKIT_GNTTEST_MAP_RO, 0, 0, 0), 0, "TEST MAP_RO -> 0");
    CHECK_EQ(gent(2)->flags, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READING,
             "TEST MAP_RO: READING only");
    CHECK_EQ(tg(3, PVKIT_GNTTEST_UNMAP, 0, 0, 0), -PVKIT_EINVAL,
             "UNMAP of a ref without a test mapping -> EINVAL");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_UNMAP, 0, 0, 0), 0, "UNMAP -> 0");
    CHECK_EQ(gent(1)->flags, PVKIT_GTF_PERMIT_ACCESS, "UNMAP cleared flags");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_UNMAP, 0, 0, 0), -PVKIT_EINVAL,
             "second UNMAP -> EINVAL");
    CHECK_EQ(tg(2, PVKIT_GNTTEST_UNMAP, 0, 0, 0), 0, "UNMAP ref 2");
    CHECK_EQ(tg(2, PVKIT_GNTTEST_MAP, 0, 0, 0), 0, "ref 2 can be mapped again");
    CHECK_EQ(tg(2, PVKIT_GNTTEST_UNMAP, 0, 0, 0), 0, "and unmapped");
    grant(3, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          G_PAGE);
    CHECK_EQ(tg(3, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_EPERM,
             "TEST MAP of a READONLY grant -> EPERM");
    CHECK_EQ(tg(3, PVKIT_GNTTEST_MAP_RO, 0, 0, 0), 0,
             "TEST MAP_RO of a READONLY grant -> 0");
    CHECK_EQ(tg(3, PVKIT_GNTTEST_UNMAP, 0, 0, 0), 0, "unmapped");
    CHECK_EQ(tg(GT_REFS, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_EINVAL,
             "TEST MAP of a bad ref -> EINVAL");
    CHECK_EQ(tg(GT_REFS, PVKIT_GNTTEST_UNMAP, 0, 0, 0), -PVKIT_EINVAL,
             "TEST UNMAP of a bad ref -> EINVAL");

    grant(3, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    for (r = 0; r < PVKIT_GNTTAB_TEST_MAPS; r++) {
        ok &= tg(r, r & 1 ? PVKIT_GNTTEST_MAP : PVKIT_GNTTEST_MAP_RO,
                 0, 0, 0) == 0;
    }
    check(ok, "64 test mappings");
    CHECK_EQ(tg(64, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_ENOSPC,
             "the 65th -> ENOSPC");
    CHECK_EQ(tg(63, PVKIT_GNTTEST_MAP, 0, 0, 0), -PVKIT_EBUSY,
             "a held ref is still EBUSY when full");
    CHECK_EQ(gent(64)->flags, PVKIT_GTF_PERMIT_ACCESS,
             "refused test map set no flag");
    CHECK_EQ(tg(10, PVKIT_GNTTEST_UNMAP, 0, 0, 0), 0, "free one");
    CHECK_EQ(tg(64, PVKIT_GNTTEST_MAP, 0, 0, 0), 0, "then ref 64 maps");
    CHECK_EQ(host.gt.stats.mapped, 64, "stat mapped 64");

    pvkit_gnttab_reset(&ops, &host);
    ok = 1;
    for (r = 0; r < 70; r++) {
        ok &= gent(r)->flags == PVKIT_GTF_PERMIT_ACCESS;
    }
    check(ok, "reset cleared every flag the host set");
    check(!host.gnttab && host.gt.nr_frames == 0 && host.gt.gpa == 0 &&
          no_pages_held() && host.gt.stats.mapped == 0 &&
          host.gt.nr_maps == 0, "reset forgot the table and the mappings");
    CHECK_EQ(tg(64, PVKIT_GNTTEST_UNMAP, 0, 0, 0), -PVKIT_EINVAL,
             "test mappings are gone after reset");
    CHECK_EQ(tg(1, PVKIT_GNTTEST_READ, 0, 1, 0), -PVKIT_ENOENT,
             "no table after reset -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_GNTTAB_SETUP, GT_GPA, GT_NR, 0, 0, 0), 0,
             "setup again after reset");
    CHECK_EQ(tg(64, PVKIT_GNTTEST_MAP, 0, 0, 0), 0,
             "the test table is free again");
}

static void test_gnttab_post_load(void)
{
    void *p;
    int h;

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    grant(6, PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY, PVKIT_DOMID_HOST,
          G_PAGE);
    h = pvkit_gnttab_host_map(&ops, &host, 5, true, &p);
    pvkit_gnttab_host_map(&ops, &host, 6, false, &p);
    check(h >= 0, "source holds two mappings");

    /* the destination: fresh state, then the migrated gpa/nr_frames */
    host.gnttab = NULL;
    memset(&host.gt, 0, sizeof(host.gt));
    host.page_maps = host.page_unmaps = 0;
    host.gt.gpa = GT_GPA;
    host.gt.nr_frames = GT_NR;
    check(pvkit_gnttab_post_load(&ops, &host), "post_load accepts the table");
    check(host.gnttab == ptr(GT_GPA), "post_load mapped the table");
    check(gent(5)->flags == PVKIT_GTF_PERMIT_ACCESS &&
          gent(6)->flags == (PVKIT_GTF_PERMIT_ACCESS | PVKIT_GTF_READONLY),
          "post_load cleared the source's stale READING/WRITING");
    check(guest_revoke(5) && guest_revoke(6),
          "the guest can revoke on the destination");

    memset(&host.gt, 0, sizeof(host.gt));
    check(pvkit_gnttab_post_load(&ops, &host), "post_load: no table is fine");
    host.gt.nr_frames = 33;
    host.gt.gpa = GT_GPA;
    check(!pvkit_gnttab_post_load(&ops, &host), "post_load: 33 frames -> bad");
    host.gt.nr_frames = 1;
    host.gt.gpa = GT_GPA + 8;
    check(!pvkit_gnttab_post_load(&ops, &host), "post_load: misaligned");
    host.gt.nr_frames = 0;
    host.gt.gpa = GT_GPA;
    check(!pvkit_gnttab_post_load(&ops, &host), "post_load: gpa without nr");
    host.gt.nr_frames = 2;
    host.gt.gpa = 0xfffffffffffff000ull;
    check(!pvkit_gnttab_post_load(&ops, &host), "post_load: wraps");
    host.gt.gpa = MMIO_B;
    check(!pvkit_gnttab_post_load(&ops, &host), "post_load: not RAM");
}

static void test_gnttab_counters(void)
{
    void *p;
    int h;

    gt_setup();
    grant(5, PVKIT_GTF_PERMIT_ACCESS, PVKIT_DOMID_HOST, G_PAGE);
    h = pvkit_gnttab_host_map(&ops, &host, 5, false, &p);
    tg(5, PVKIT_GNTTEST_READ, 0, 8, 0);
    tg(6, PVKIT_GNTTEST_READ, 0, 8, 0);
    tg(GT_REFS, PVKIT_GNTTEST_READ, 0, 8, 0);
    CHECK_EQ(host.gt.stats.maps, 2, "stat maps (map + copy)");
    CHECK_EQ(host.gt.stats.unmaps, 1, "stat unmaps (end of copy)");
    CHECK_EQ(host.gt.stats.mapped, 1, "stat mapped (current)");
    CHECK_EQ(host.gt.stats.refused, 2, "stat refused");
    pvkit_gnttab_host_unmap(&ops, &host, h);
    CHECK_EQ(host.gt.stats.mapped, 0, "stat mapped back to 0");
    CHECK_EQ(host.ec.stats.hypercalls[PVKIT_HC_TEST_GRANT], 3,
             "hypercalls[TEST_GRANT]");
}

/* Time records for CLOCK_SETUP: in RAM B, apart from everything else. */
#define CLOCK_GPA  (RAM_B + 0x9020)
#define CLOCK2_GPA (RAM_B + 0x9040)
#define WALL_GPA   (RAM_B + 0x9ff0)     /* 24 bytes: crosses a page */

static struct pvkit_time_info *rec(uint64_t gpa)
{
    return (struct pvkit_time_info *)ptr(gpa);
}

static void clock_setup(void)
{
    reset();
    host.features |= PVKIT_F_CLOCK;
    host.clock_p = (struct pvkit_time_info){
        .tsc_timestamp = 0x123456789ull, .system_time = 987654321ull,
        .tsc_to_system_mul = 0x80000000u, .tsc_shift = -1,
        .flags = PVKIT_TIME_TSC_STABLE,
        /* what the host hands out here must not reach the record */
        .version = 77, .pad0 = 5, .pad = { 1, 2 },
    };
    memset(ptr(CLOCK_GPA & ~0xfffull), 0xee, 2 * PVKIT_PAGE_SIZE);
}

static bool record_is(uint64_t gpa, const struct pvkit_time_info *p)
{
    const struct pvkit_time_info *r = rec(gpa);

    return !(r->version & 1) && r->pad0 == 0 &&
           r->tsc_timestamp == p->tsc_timestamp &&
           r->system_time == p->system_time &&
           r->tsc_to_system_mul == p->tsc_to_system_mul &&
           r->tsc_shift == p->tsc_shift && r->flags == p->flags &&
           r->pad[0] == 0 && r->pad[1] == 0;
}

static void test_clock_errors(void)
{
    clock_setup();
    host.features &= ~PVKIT_F_CLOCK;
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, CLOCK_GPA, 0, 0, 0), -PVKIT_ENOSYS,
             "CLOCK_SETUP without F_CLOCK -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, WALL_GPA, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "CLOCK_WALL without F_CLOCK -> ENOSYS");
    host.features |= PVKIT_F_CLOCK;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, PVKIT_MAX_VCPUS, CLOCK_GPA, 0, 0, 0),
             -PVKIT_EINVAL, "CLOCK_SETUP vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 4, CLOCK_GPA, 0, 0, 0), -PVKIT_ENOENT,
             "CLOCK_SETUP absent vcpu -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, CLOCK_GPA + 8, 0, 0, 0),
             -PVKIT_EINVAL, "CLOCK_SETUP not 32-byte aligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, RAM_B + 0x9ff0, 0, 0, 0),
             -PVKIT_EINVAL, "CLOCK_SETUP crossing a page -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, CLOCK_GPA, 1, 0, 0), -PVKIT_EINVAL,
             "CLOCK_SETUP unknown flags -> EINVAL");
    check(host.clock_sets == 0, "... refused before reaching the host");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, ROM_BASE + 0x20, 0, 0, 0),
             -PVKIT_EFAULT, "CLOCK_SETUP in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, MMIO_B, 0, 0, 0), -PVKIT_EFAULT,
             "CLOCK_SETUP in MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, 0x18000, 0, 0, 0), -PVKIT_EFAULT,
             "CLOCK_SETUP in a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, WALL_GPA + 4, 0, 0, 0, 0),
             -PVKIT_EINVAL, "CLOCK_WALL not 8-byte aligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, WALL_GPA, 2, 0, 0, 0), -PVKIT_EINVAL,
             "CLOCK_WALL unknown flags -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, ROM_BASE, 0, 0, 0, 0), -PVKIT_EFAULT,
             "CLOCK_WALL in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, RAM_A + 0x10000 - 16, 0, 0, 0, 0),
             -PVKIT_EFAULT, "CLOCK_WALL running off RAM -> EFAULT");
    check(host.clock.gpa[0] == 0 && !host.clock_rec[0] &&
          host.clock_writes == 0 && unchanged_except(0),
          "failed clock calls registered nothing and wrote nothing");
}

static void test_clock_records(void)
{
    struct pvkit_wall_clock w;
    uint32_t v0;

    clock_setup();
    rec(CLOCK_GPA)->version = 6;
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 0, CLOCK_GPA, 0, 0, 0), 0,
             "CLOCK_SETUP vcpu 0");
    check(record_is(CLOCK_GPA, &host.clock_p) && rec(CLOCK_GPA)->version == 8,
          "the record is written at once, version 6 -> 8 (even)");
    /* A guest that made the version odd still ends up with an even one. */
    rec(CLOCK2_GPA)->version = 9;
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 7, CLOCK2_GPA, 0, 0, 0), 0,
             "CLOCK_SETUP vcpu 7");
    check(record_is(CLOCK2_GPA, &host.clock_p) &&
          rec(CLOCK2_GPA)->version == 12, "odd version 9 -> 12");
    host.clock_p.system_time += 1000;
    host.clock_p.tsc_timestamp += 2000;
    v0 = rec(CLOCK_GPA)->version;
    pvkit_clock_update_all(&ops, &host);
    check(record_is(CLOCK_GPA, &host.clock_p) &&
          record_is(CLOCK2_GPA, &host.clock_p) &&
          rec(CLOCK_GPA)->version == v0 + 2,
          "update_all rewrites every registered record");
    CHECK_EQ(host.clock.stats.updates, 4, "updates counted");
    /* Moving a record: the old place is never written again. */
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 7, CLOCK2_GPA + 0x20, 0, 0, 0), 0,
             "CLOCK_SETUP moves vcpu 7's record");
    memset(rec(CLOCK2_GPA), 0x5a, sizeof(struct pvkit_time_info));
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 7, 0, 0, 0, 0), 0,
             "CLOCK_SETUP 0 stops vcpu 7's record");
    memset(rec(CLOCK2_GPA + 0x20), 0x5a, sizeof(struct pvkit_time_info));
    pvkit_clock_update_all(&ops, &host);
    check(rec(CLOCK2_GPA)->version == 0x5a5a5a5a &&
          rec(CLOCK2_GPA + 0x20)->version == 0x5a5a5a5a &&
          record_is(CLOCK_GPA, &host.clock_p),
          "stopped and moved records are not written");
    CHECK_EQ(hc(PVKIT_HC_CLOCK_SETUP, 7, 0, 0, 0, 0), 0,
             "CLOCK_SETUP 0 again: nothing to stop");
    /* The wall clock lands whole, across a page boundary. */
    host.wall = (struct pvkit_wall_clock){ .system_time = 42,
                                           .sec = 1796688000ull,
                                           .nsec = 999999999u };
    CHECK_EQ(hc(PVKIT_HC_CLOCK_WALL, WALL_GPA, 0, 0, 0, 0), 0,
             "CLOCK_WALL across a page boundary");
    memcpy(&w, ptr(WALL_GPA), sizeof(w));
    check(w.system_time == 42 && w.sec == 1796688000ull &&
          w.nsec == 999999999u && w.pad == 0, "wall clock written whole");
    CHECK_EQ(host.clock.stats.walls, 1, "walls counted");
    /* A reset drops every record: nothing is written after it. */
    pvkit_clock_reset(&ops, &host);
    memset(rec(CLOCK_GPA), 0x5a, sizeof(struct pvkit_time_info));
    pvkit_clock_update_all(&ops, &host);
    check(!host.clock.gpa[0] && !host.clock_rec[0] &&
          rec(CLOCK_GPA)->version == 0x5a5a5a5a,
          "reset drops every record");
}

/* The clock's endpoint: an event on every CLOCK port when time moved. */
static void test_clock_endpoint(void)
{
    struct pvkit_shared_info *s;
    int64_t echo, clk, clk2;

    ev_setup();
    s = (struct pvkit_shared_info *)ptr(SI_GPA);
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_CLOCK, 0, 0, 0, 0),
             -PVKIT_EINVAL, "BIND_HOST CLOCK without F_CLOCK -> EINVAL");
    host.features |= PVKIT_F_CLOCK;
    echo = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
    clk = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_CLOCK, 0, 0, 0, 0);
    clk2 = hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_CLOCK, 0, 0, 0, 0);
    check(echo > 0 && clk > 0 && clk2 > 0, "BIND_HOST CLOCK with F_CLOCK");
    CHECK_EQ(PVKIT_EVTCHN_ENDPOINT(hc(PVKIT_HC_EVTCHN_STATUS, clk, 0, 0, 0,
                                      0)), PVKIT_ENDPOINT_CLOCK,
             "STATUS names the CLOCK endpoint");
    hc(PVKIT_HC_EVTCHN_UNMASK, clk, 0, 0, 0, 0);
    CHECK_EQ(hc(PVKIT_HC_EVTCHN_SEND, clk, 0, 0, 0, 0), 0,
             "SEND on a CLOCK port");
    check(!(s->evtchn_pending[0] & (1ull << clk)) && host.injects == 0 &&
          host.kicks == 0, "... does nothing");
    pvkit_clock_notify(&ops, &host);
    check((s->evtchn_pending[0] & (1ull << clk)) &&
          (s->evtchn_pending[0] & (1ull << clk2)) &&
          !(s->evtchn_pending[0] & (1ull << echo)) && host.injects >= 1,
          "notify raises every CLOCK port, only those");
    CHECK_EQ(host.clock.stats.notifies, 2, "notifies counted");
}

/* Steal records for STEAL_SETUP: in RAM B, apart from everything else. */
#define STEAL_GPA  (RAM_B + 0xa040)
#define STEAL2_GPA (RAM_B + 0xa080)

static struct pvkit_steal_time *srec(uint64_t gpa)
{
    return (struct pvkit_steal_time *)ptr(gpa);
}

static void steal_setup(void)
{
    reset();
    host.features |= PVKIT_F_STEAL;
    memset(ptr(STEAL_GPA & ~0xfffull), 0xee, PVKIT_PAGE_SIZE);
}

static void test_steal_errors(void)
{
    steal_setup();
    host.features &= ~PVKIT_F_STEAL;
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, STEAL_GPA, 0, 0, 0), -PVKIT_ENOSYS,
             "STEAL_SETUP without F_STEAL -> ENOSYS");
    host.features |= PVKIT_F_STEAL;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, PVKIT_MAX_VCPUS, STEAL_GPA, 0, 0, 0),
             -PVKIT_EINVAL, "STEAL_SETUP vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 4, STEAL_GPA, 0, 0, 0), -PVKIT_ENOENT,
             "STEAL_SETUP absent vcpu -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, STEAL_GPA + 32, 0, 0, 0),
             -PVKIT_EINVAL, "STEAL_SETUP not 64-byte aligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, STEAL_GPA, 4, 0, 0), -PVKIT_EINVAL,
             "STEAL_SETUP unknown flags -> EINVAL");
    check(host.steal_sets == 0, "... refused before reaching the host");
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, ROM_BASE + 0x40, 0, 0, 0),
             -PVKIT_EFAULT, "STEAL_SETUP in ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, MMIO_B, 0, 0, 0), -PVKIT_EFAULT,
             "STEAL_SETUP in MMIO -> EFAULT");
    check(!host.steal.gpa[0] && host.steal_writes == 0 &&
          unchanged_except(0), "failed calls registered and wrote nothing");
}

static void test_steal_counts(void)
{
    steal_setup();
    host.run_delay[0] = 5000;
    srec(STEAL_GPA)->version = 3;
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, STEAL_GPA, 0, 0, 0), 0,
             "STEAL_SETUP vcpu 0");
    check(srec(STEAL_GPA)->steal == 0 && srec(STEAL_GPA)->version == 6 &&
          srec(STEAL_GPA)->flags == 0 && srec(STEAL_GPA)->preempted == 0,
          "written at once: 0 ns stolen so far, version 3 -> 6");
    host.run_delay[0] = 12000;
    CHECK_EQ(pvkit_steal_update_all(&ops, &host), 1, "one record updated");
    CHECK_EQ(srec(STEAL_GPA)->steal, 7000, "steal = run delay since setup");
    /* A new record for the vCPU goes on from the old one's count. */
    host.run_delay[0] = 15000;
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, 0, 0, 0, 0), 0, "STEAL_SETUP 0");
    memset(srec(STEAL_GPA), 0x5a, sizeof(struct pvkit_steal_time));
    host.run_delay[0] = 40000;
    pvkit_steal_update_all(&ops, &host);
    check(srec(STEAL_GPA)->version == 0x5a5a5a5a,
          "a stopped record is not written");
    host.run_delay[0] = 41000;
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 0, STEAL2_GPA, 0, 0, 0), 0,
             "STEAL_SETUP again, elsewhere");
    CHECK_EQ(srec(STEAL2_GPA)->steal, 10000,
             "steal goes on (time unregistered is not counted)");
    /* New host threads (a migration): the count never goes back. */
    host.run_delay[0] = 100;
    pvkit_steal_update_all(&ops, &host);
    CHECK_EQ(srec(STEAL2_GPA)->steal, 10000, "run delay went back: steal kept");
    host.run_delay[0] = 600;
    pvkit_steal_update_all(&ops, &host);
    CHECK_EQ(srec(STEAL2_GPA)->steal, 10500, "... and grows from there");
    /* A reading the host could not take changes nothing, then or later. */
    host.run_delay_fails = true;
    host.run_delay[0] = 900;
    pvkit_steal_update_all(&ops, &host);
    CHECK_EQ(srec(STEAL2_GPA)->steal, 10500, "unreadable run delay: kept");
    host.run_delay_fails = false;
    host.run_delay[0] = 1000;
    pvkit_steal_update_all(&ops, &host);
    CHECK_EQ(srec(STEAL2_GPA)->steal, 10900, "... then on, without a jump");
    pvkit_steal_reset(&ops, &host);
    memset(srec(STEAL2_GPA), 0x5a, sizeof(struct pvkit_steal_time));
    CHECK_EQ(pvkit_steal_update_all(&ops, &host), 0, "reset drops records");
    check(srec(STEAL2_GPA)->version == 0x5a5a5a5a, "... none written");
}

static void test_steal_preempted(void)
{
    steal_setup();
    CHECK_EQ(hc(PVKIT_HC_STEAL_SETUP, 1, STEAL_GPA, 0, 0, 0), 0,
             "STEAL_SETUP vcpu 1");
    CHECK_EQ(srec(STEAL_GPA)->preempted, 0, "running: not preempted");
    host.preempted[1] = true;
    pvkit_steal_update(&ops, &host, 1);
    CHECK_EQ(srec(STEAL_GPA)->preempted, PVKIT_STEAL_PREEMPTED,
             "held off by the host: preempted, written at once");
    check(srec(STEAL_GPA)->version % 2 == 0, "... with an even version");
    host.preempted[1] = false;
    pvkit_steal_update_all(&ops, &host);
    CHECK_EQ(srec(STEAL_GPA)->preempted, 0, "running again: cleared");
    pvkit_steal_update(&ops, &host, 2);
    pvkit_steal_update(&ops, &host, PVKIT_MAX_VCPUS);
    CHECK_EQ(host.steal_writes, 3, "no record, no write (and no out of range)");
}

/* The lock byte SPIN_WAIT looks at: in RAM B, apart from everything else. */
#define LOCK_GPA   (RAM_B + 0xb003)

static void spin_setup(void)
{
    reset();
    host.features |= PVKIT_F_SPIN;
    *ptr(LOCK_GPA) = 1;
}

static void test_spin_errors(void)
{
    spin_setup();
    host.features &= ~PVKIT_F_SPIN;
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0), -PVKIT_ENOSYS,
             "SPIN_WAIT without F_SPIN -> ENOSYS");
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 1, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "SPIN_KICK without F_SPIN -> ENOSYS");
    host.features |= PVKIT_F_SPIN;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 1, 0, 0), -PVKIT_EINVAL,
             "SPIN_WAIT unknown flags -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 0x101, 0, 0, 0), -PVKIT_EINVAL,
             "SPIN_WAIT value above a byte -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, 0x10000, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SPIN_WAIT byte in a hole -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, MMIO_B, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SPIN_WAIT byte in MMIO -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, 0x30000, 1, 0, 0, 0), -PVKIT_EFAULT,
             "SPIN_WAIT byte past the ROM -> EFAULT");
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, PVKIT_MAX_VCPUS, 0, 0, 0, 0),
             -PVKIT_EINVAL, "SPIN_KICK vcpu 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 5, 0, 0, 0, 0), -PVKIT_ENOENT,
             "SPIN_KICK of a vCPU that does not exist -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 1, 2, 0, 0, 0), -PVKIT_EINVAL,
             "SPIN_KICK unknown flags -> EINVAL");
    host.self = PVKIT_MAX_VCPUS;
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0), -PVKIT_EINVAL,
             "SPIN_WAIT from a caller with no vCPU number -> EINVAL");
    check(host.block_calls == 0 && host.unblock_calls == 0 &&
          host.spin.stats.waits == 0 && host.spin.stats.kicks == 0 &&
          unchanged_except(0), "failed calls parked, woke and wrote nothing");
}

static void test_spin_wait_kick(void)
{
    spin_setup();
    host.self = 2;
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 0, 0, 0, 0),
             PVKIT_SPIN_WAIT_CHANGED, "byte no longer the value: no wait");
    check(!host.parked[2], "... not parked");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_WOKEN, "byte holds the value: parked");
    check(host.parked[2] && host.spin.waiting[2], "... vCPU 2 parked");
    host.self = 0;
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 2, 0, 0, 0, 0), PVKIT_SPIN_KICK_WOKE,
             "kick of the parked vCPU wakes it");
    check(!host.parked[2] && !host.spin.waiting[2] &&
          !host.spin.kick_pending[2], "... and keeps nothing pending");
    /* Kick first, wait later: the wait ends before it starts. */
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 3, 0, 0, 0, 0), PVKIT_SPIN_KICK_PENDING,
             "kick of a running vCPU is kept");
    host.self = 3;
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_KICKED, "its next wait returns at once");
    check(!host.parked[3], "... unparked");
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_WOKEN, "the kick was used up: the next parks");
    /* Woken by an interrupt, the vCPU runs on: a kick now is kept. */
    host.parked[3] = false;
    host.self = 0;
    CHECK_EQ(hc(PVKIT_HC_SPIN_KICK, 3, 0, 0, 0, 0), PVKIT_SPIN_KICK_PENDING,
             "kick after an interrupt ended the wait is kept");
    host.self = 3;
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_KICKED, "... for the next wait");
    /* Any hypercall of a vCPU says it runs: a parked flag goes stale. */
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_WOKEN, "parked again");
    host.parked[3] = false;
    CHECK_EQ(hc(PVKIT_HC_VERSION, 0, 0, 0, 0, 0), PVKIT_ABI_VERSION,
             "vCPU 3 makes another hypercall");
    check(!host.spin.waiting[3], "... so it no longer counts as waiting");
    CHECK_EQ(host.spin.stats.waits, 6, "waits counted");
    CHECK_EQ(host.spin.stats.blocks, 3, "blocks counted");
    CHECK_EQ(host.spin.stats.kicks, 3, "kicks counted");
    CHECK_EQ(host.spin.stats.wakes, 1, "wakes counted");
    /* A stop ends every wait; after a load every next wait returns. */
    host.self = 1;
    hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0);
    pvkit_spin_wake_all(&ops, &host);
    check(!host.parked[1] && !host.spin.waiting[1], "stop: parked vCPU woken");
    pvkit_spin_kick_all(&ops, &host);
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_KICKED, "after a load the next wait returns");
    pvkit_spin_kick_all(&ops, &host);
    pvkit_spin_reset(&ops, &host);
    CHECK_EQ(hc(PVKIT_HC_SPIN_WAIT, LOCK_GPA, 1, 0, 0, 0),
             PVKIT_SPIN_WAIT_WOKEN, "reset drops kept kicks");
}

static void test_tlb_errors(void)
{
    reset();
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0, 0, 0), -PVKIT_ENOSYS,
             "TLB_FLUSH without F_TLB_FLUSH -> ENOSYS");
    host.features |= PVKIT_F_TLB_FLUSH;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0, 0, 1), -PVKIT_EINVAL,
             "TLB_FLUSH unknown flags -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, PVKIT_MAX_VCPUS, 1, 0, 0, 0),
             -PVKIT_EINVAL, "TLB_FLUSH first 256 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 0x1f, 0, 0, 0), -PVKIT_ENOENT,
             "TLB_FLUSH set naming a vCPU that does not exist -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1ull << 63, 0, 0, 0), -PVKIT_ENOENT,
             "TLB_FLUSH bit past the last vCPU -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 200, 1ull << 60, 0, 0, 0), -PVKIT_EINVAL,
             "TLB_FLUSH bit past APIC ID 255 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0x1000, 0, 0), -PVKIT_EINVAL,
             "TLB_FLUSH everything with a va -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0x1234, 1, 0), -PVKIT_EINVAL,
             "TLB_FLUSH va not page aligned -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0xfffffffffffff000ull, 2, 0),
             -PVKIT_EINVAL, "TLB_FLUSH range past 2^64 -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0, 1ull << 52, 0), -PVKIT_EINVAL,
             "TLB_FLUSH 2^52 pages -> EINVAL");
    check(host.tlb_syncs == 0 && host.tlb.stats.targets == 0 &&
          unchanged_except(0), "failed calls flushed nothing");
}

static void test_tlb_flush(void)
{
    reset();
    host.features |= PVKIT_F_TLB_FLUSH;
    host.self = 0;
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 0x8e, 0, 0, 0), 4,
             "TLB_FLUSH of APIC IDs 1-3 and 7, everything -> 4");
    check(host.tlb_queued[1] == 1 && host.tlb_queued[2] == 1 &&
          host.tlb_queued[3] == 1 && host.tlb_queued[7] == 1 &&
          host.tlb_queued[0] == 0, "exactly the set was flushed");
    check(host.tlb_syncs == 1 && host.tlb_unsynced == 0,
          "the caller waits for them, once");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 1, 0x3, 0x7f0000001000ull, 3, 0), 2,
             "TLB_FLUSH of 3 pages on APIC IDs 1-2 -> 2");
    check(host.tlb_va == 0x7f0000001000ull && host.tlb_pages == 3,
          "... the range reached the host");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 0, 0, 0, 0), 0,
             "TLB_FLUSH of no vCPU -> 0");
    CHECK_EQ(host.tlb_syncs, 2, "... and no wait");
    CHECK_EQ(hc(PVKIT_HC_TLB_FLUSH, 0, 1, 0xfffffffffffff000ull, 1, 0), 1,
             "TLB_FLUSH of the last page of the address space");
    CHECK_EQ(host.tlb.stats.flushes, 3, "flush calls counted");
    CHECK_EQ(host.tlb.stats.targets, 7, "vCPU flushes counted");
    CHECK_EQ(host.tlb.stats.full, 4, "whole-TLB flushes counted");
}

static void test_hold_and_run_delay(void)
{
    reset();
    host.self = 1;
    snapshot();
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 1, 100, 0, 0, 0), -PVKIT_EINVAL,
             "TEST_HOLD of the caller -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 2, 0, 0, 0, 0), -PVKIT_EINVAL,
             "TEST_HOLD for 0 ms -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 2, PVKIT_TEST_HOLD_MAX_MS + 1, 0, 0, 0),
             -PVKIT_EINVAL, "TEST_HOLD too long -> EINVAL");
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 5, 100, 0, 0, 0), -PVKIT_ENOENT,
             "TEST_HOLD of no vCPU -> ENOENT");
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 300, 100, 0, 0, 0), -PVKIT_EINVAL,
             "TEST_HOLD of vCPU 300 -> EINVAL");
    check(host.holds == 0 && unchanged_except(0), "... none reached the host");
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 2, 100, 0, 0, 0), 0, "TEST_HOLD vCPU 2");
    check(host.holds == 1 && host.hold_vcpu == 2 && host.hold_ms == 100,
          "... the host holds it for 100 ms");
    host.hold_busy = true;
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 3, 100, 0, 0, 0), -PVKIT_EBUSY,
             "a second hold meanwhile -> EBUSY");
    host.features &= ~PVKIT_F_TEST;
    CHECK_EQ(hc(PVKIT_HC_TEST_HOLD, 2, 100, 0, 0, 0), -PVKIT_ENOSYS,
             "TEST_HOLD without F_TEST -> ENOSYS");
    host.features |= PVKIT_F_TEST;
    CHECK_EQ(hc(PVKIT_HC_TEST_RUN_DELAY, 2, 0, 0, 0, 0), -PVKIT_ENOSYS,
             "TEST_RUN_DELAY without F_STEAL -> ENOSYS");
    host.features |= PVKIT_F_STEAL;
    host.run_delay[2] = 123456789;
    CHECK_EQ(hc(PVKIT_HC_TEST_RUN_DELAY, 2, 0, 0, 0, 0), 123456789,
             "TEST_RUN_DELAY: the host's number");
    CHECK_EQ(hc(PVKIT_HC_TEST_RUN_DELAY, 4, 0, 0, 0, 0), -PVKIT_ENOENT,
             "TEST_RUN_DELAY of no vCPU -> ENOENT");
    host.run_delay_fails = true;
    CHECK_EQ(hc(PVKIT_HC_TEST_RUN_DELAY, 2, 0, 0, 0, 0), -PVKIT_EIO,
             "TEST_RUN_DELAY the host cannot read -> EIO");
}

int main(void)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        regions[i].mem = malloc(regions[i].size);
        snap_mem[i] = malloc(regions[i].size);
        if (!regions[i].mem || !snap_mem[i]) {
            return 2;
        }
    }
    fake_env = (struct fake_env){ .regions = regions,
                                  .nr_regions = NR_REGIONS,
                                  .fail = fail_contract };
    printf("TAP version 13\n");
    test_basic();
    test_console_write();
    test_console_read();
    test_echo();
    test_copy();
    test_disabled();
    test_page();
    test_msr();
    test_cpuid();
    test_cpuid_layout();
    test_dispatch_regs();
    test_evtchn_disabled();
    test_shared_info();
    test_vcpu_upcall();
    test_ports();
    test_echo_roundtrip();
    test_mask();
    test_ipi_and_retarget();
    test_vcpu_info_errors();
    test_vcpu_info_moves();
    test_vcpu_send_ipi();
    test_clock_errors();
    test_clock_records();
    test_clock_endpoint();
    test_steal_errors();
    test_steal_counts();
    test_steal_preempted();
    test_spin_errors();
    test_spin_wait_kick();
    test_tlb_errors();
    test_tlb_flush();
    test_hold_and_run_delay();
    test_detach();
    test_backend();
    test_store_setup();
    test_reset_and_load();
    test_counters();
    test_gnttab_disabled();
    test_gnttab_setup();
    test_gnttab_errors();
    test_gnttab_copy();
    test_gnttab_map();
    test_gnttab_revoke();
    test_gnttab_race();
    test_gnttab_threads();
    test_gnttab_test_ops();
    test_gnttab_post_load();
    test_gnttab_counters();
    test_xs_framing();
    test_xs_parse();
    test_xs_replies();
    test_xs_hostile();
    printf("1..%u\n", passed + failed);
    for (i = 0; i < NR_REGIONS; i++) {
        free(regions[i].mem);
        free(snap_mem[i]);
    }
    printf("%u passed, %u failed, 0 skipped\n", passed, failed);
    return failed ? 1 : 0;
}
