// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the pvkit hypercall dispatcher against a fake guest
 * memory map: two RAM ranges, one ROM range, one MMIO range, holes
 * between them and a RAM page that ends exactly at the top of the 64-bit
 * address space.  Prints TAP and ends with "N passed, N failed, 0 skipped".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvkit-dispatch.h"

enum region_kind { RAM, ROM, MMIO };

struct region {
    const char *name;
    uint64_t base;
    uint64_t size;
    enum region_kind kind;
    uint8_t *mem;
};

#define RAM_A    0x0000ull
#define ROM_BASE 0x20000ull
#define RAM_B    0x100000ull
#define MMIO_B   0x110000ull
#define RAM_TOP  0xffffffffffffe000ull

static struct region regions[] = {
    { "ram-a", RAM_A, 0x10000, RAM, NULL },
    /* hole 0x10000 - 0x20000 */
    { "rom", ROM_BASE, 0x1000, ROM, NULL },
    { "ram-b", RAM_B, 0x10000, RAM, NULL },
    { "mmio", MMIO_B, 0x1000, MMIO, NULL },
    { "ram-top", RAM_TOP, 0x2000, RAM, NULL },
};
#define NR_REGIONS (sizeof(regions) / sizeof(regions[0]))

struct fake_host {
    uint64_t features;
    uint8_t out[2 * PVKIT_HC_MAX_LEN];
    uint32_t out_len;
    uint32_t out_limit;         /* console accepts at most this per call */
    uint8_t in[256];
    uint32_t in_len;
    unsigned int mmio_touched;
    unsigned int mem_calls;
};

static struct fake_host host;

/* The region holding all of [gpa, gpa + len), or NULL. */
static struct region *find(uint64_t gpa, uint32_t len)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        struct region *r = &regions[i];

        if (gpa >= r->base && gpa - r->base < r->size &&
            len <= r->size - (gpa - r->base)) {
            return r;
        }
    }
    return NULL;
}

static int fake_read(void *opaque, uint64_t gpa, void *buf, uint32_t len)
{
    struct fake_host *h = opaque;
    struct region *r = find(gpa, len);

    h->mem_calls++;
    if (len == 0 || len > PVKIT_PAGE_SIZE) {
        fprintf(stderr, "# bad length %u reached the host\n", len);
        abort();
    }
    if (!r || r->kind == MMIO) {
        if (r) {
            h->mmio_touched++;
        }
        return -PVKIT_EFAULT;
    }
    memcpy(buf, r->mem + (gpa - r->base), len);
    return 0;
}

static int fake_write(void *opaque, uint64_t gpa, const void *buf,
                      uint32_t len)
{
    struct fake_host *h = opaque;
    struct region *r = find(gpa, len);

    h->mem_calls++;
    if (len == 0 || len > PVKIT_PAGE_SIZE) {
        fprintf(stderr, "# bad length %u reached the host\n", len);
        abort();
    }
    if (!r || r->kind != RAM) {
        if (r && r->kind == MMIO) {
            h->mmio_touched++;
        }
        return -PVKIT_EFAULT;
    }
    memcpy(r->mem + (gpa - r->base), buf, len);
    return 0;
}

static int fake_check(void *opaque, uint64_t gpa, uint32_t len, bool write)
{
    struct region *r = find(gpa, len);

    (void)opaque;
    if (len == 0 || len > PVKIT_PAGE_SIZE) {
        fprintf(stderr, "# bad length %u reached the host\n", len);
        abort();
    }
    if (!r || r->kind == MMIO || (write && r->kind != RAM)) {
        return -PVKIT_EFAULT;
    }
    return 0;
}

static uint32_t fake_console_write(void *opaque, const void *buf,
                                   uint32_t len)
{
    struct fake_host *h = opaque;
    uint32_t n = len < h->out_limit ? len : h->out_limit;

    if (n > sizeof(h->out) - h->out_len) {
        n = sizeof(h->out) - h->out_len;
    }
    memcpy(h->out + h->out_len, buf, n);
    h->out_len += n;
    return n;
}

static uint32_t fake_console_peek(void *opaque, void *buf, uint32_t len)
{
    struct fake_host *h = opaque;
    uint32_t n = len < h->in_len ? len : h->in_len;

    memcpy(buf, h->in, n);
    return n;
}

static void fake_console_drop(void *opaque, uint32_t len)
{
    struct fake_host *h = opaque;

    if (len > h->in_len) {
        fprintf(stderr, "# dropped more than was peeked\n");
        abort();
    }
    memmove(h->in, h->in + len, h->in_len - len);
    h->in_len -= len;
}

static uint64_t fake_features(void *opaque)
{
    return ((struct fake_host *)opaque)->features;
}

static const PVKitHostOps ops = {
    .mem_read = fake_read,
    .mem_write = fake_write,
    .mem_check = fake_check,
    .console_write = fake_console_write,
    .console_peek = fake_console_peek,
    .console_drop = fake_console_drop,
    .features = fake_features,
};

#define ALL_F (PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CONSOLE | PVKIT_F_TEST)

static void reset(void)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        memset(regions[i].mem, 0xa5 ^ (int)i, regions[i].size);
    }
    memset(&host, 0, sizeof(host));
    host.features = ALL_F;
    host.out_limit = UINT32_MAX;
}

static uint8_t *ptr(uint64_t gpa)
{
    struct region *r = find(gpa, 1);

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
        int offered = !test || (features & PVKIT_F_TEST);

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
               "page fill, tests disabled");
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

    check(pvkit_cpuid(PVKIT_CPUID_BASE, ALL_F, r), "CPUID base leaf");
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    sig[12] = 0;
    check(!strcmp(sig, PVKIT_CPUID_SIGNATURE), "CPUID signature '%s'", sig);
    CHECK_EQ(r[0], PVKIT_CPUID_BASE + 1, "CPUID max leaf");
    check(pvkit_cpuid(PVKIT_CPUID_BASE + 1, ALL_F | (1ull << 40), r),
          "CPUID info leaf");
    check(r[0] == PVKIT_ABI_VERSION && r[1] == (uint32_t)ALL_F &&
          r[2] == 1u << 8 && r[3] == PVKIT_MSR_HYPERCALL_PAGE,
          "CPUID info leaf contents");
    check(!pvkit_cpuid(PVKIT_CPUID_BASE + 2, ALL_F, r) &&
          !pvkit_cpuid(0x40000000, ALL_F, r) &&
          !pvkit_cpuid(PVKIT_CPUID_BASE - 1, ALL_F, r),
          "CPUID other leaves not claimed");
}

int main(void)
{
    size_t i;

    for (i = 0; i < NR_REGIONS; i++) {
        regions[i].mem = malloc(regions[i].size);
        if (!regions[i].mem) {
            return 2;
        }
    }
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
    printf("1..%u\n", passed + failed);
    for (i = 0; i < NR_REGIONS; i++) {
        free(regions[i].mem);
    }
    printf("%u passed, %u failed, 0 skipped\n", passed, failed);
    return failed ? 1 : 0;
}
