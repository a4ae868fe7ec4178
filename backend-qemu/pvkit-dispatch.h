/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit hypercall dispatcher: argument validation and the semantics of
 * every hypercall, the hypercall-page MSR and the CPUID leaves, written
 * against a small table of host operations so that it carries no QEMU
 * dependency and can be unit tested on its own (tests/host/).
 *
 * The guest is hostile: every length, address and number it passes is
 * checked here before any host operation sees it.
 */
#ifndef HW_PVKIT_DISPATCH_H
#define HW_PVKIT_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/pvkit/pvkit-abi.h"

/* Where the host places its CPUID leaves (see PVKIT_CPUID_LEAVES). */
#define PVKIT_CPUID_BASE        0x40000100u

/*
 * Services the embedding host provides.  All callbacks are mandatory.
 *
 * @mem_read: copy @len bytes of guest physical memory at @gpa into @buf.
 *   Must refuse (return -PVKIT_EFAULT) unless the whole range is guest
 *   RAM.  The dispatcher has already rejected @len == 0, @len larger than
 *   PVKIT_HC_MAX_LEN (or PVKIT_PAGE_SIZE) and ranges that wrap around.
 * @mem_write: the same for writes; must also refuse read-only memory
 *   (ROM) and anything that is not RAM (device MMIO).
 * @mem_check: 0 when @mem_write (@write true) or @mem_read would accept
 *   the range, else -PVKIT_EFAULT; touches nothing.
 * @console_write: hand @len bytes to the console.  Returns the number of
 *   bytes accepted (0..@len); a host without a console returns @len.
 * @console_peek: copy up to @len bytes of buffered console input to @buf
 *   without consuming them; returns the count (0 when none is buffered).
 * @console_drop: consume @len bytes previously returned by @console_peek.
 * @features: PVKIT_F_* currently offered.
 */
typedef struct PVKitHostOps {
    int (*mem_read)(void *opaque, uint64_t gpa, void *buf, uint32_t len);
    int (*mem_write)(void *opaque, uint64_t gpa, const void *buf,
                     uint32_t len);
    int (*mem_check)(void *opaque, uint64_t gpa, uint32_t len, bool write);
    uint32_t (*console_write)(void *opaque, const void *buf, uint32_t len);
    uint32_t (*console_peek)(void *opaque, void *buf, uint32_t len);
    void (*console_drop)(void *opaque, uint32_t len);
    uint64_t (*features)(void *opaque);
} PVKitHostOps;

/*
 * Run hypercall @nr with arguments @args (arg0..arg4 = rdi, rsi, r10, r8,
 * r9).  Returns the value for the guest's rax: >= 0 on success, a negated
 * PVKIT_E* value on failure.
 */
int64_t pvkit_dispatch(const PVKitHostOps *ops, void *opaque, uint32_t nr,
                       const uint64_t args[5]);

/*
 * Fill @buf (@size bytes, at least PVKIT_PAGE_SIZE) with the contents of
 * the hypercall page for a host offering @features whose hypercall port
 * is @port.  Hypercalls the host does not offer get PVKIT_TRANSPORT_NONE.
 */
void pvkit_fill_hcall_page(void *buf, size_t size, uint64_t features,
                           uint16_t port);

/*
 * A guest write of @val to PVKIT_MSR_HYPERCALL_PAGE.  On success stores
 * the new MSR value in *@msr and returns 0 (the page has been written
 * when @val enables it).  Returns -1 when the write must raise #GP:
 * reserved bits set, not page aligned, or not writable guest RAM.
 */
int pvkit_hcall_msr_write(const PVKitHostOps *ops, void *opaque,
                          uint16_t port, uint64_t *msr, uint64_t val);

/*
 * CPUID leaf @index for a host offering @features.  Returns true and
 * fills @regs (eax, ebx, ecx, edx) when @index is one of the pvkit
 * leaves, false otherwise.
 */
bool pvkit_cpuid(uint32_t index, uint64_t features, uint32_t regs[4]);

#endif /* HW_PVKIT_DISPATCH_H */
