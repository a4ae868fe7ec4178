/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Interface of the pvkit hypercall test device, /dev/pvkit_test
 * (CONFIG_PVKIT_TEST).  Root only; for the kit's selftests and fuzzers.
 */
#ifndef _UAPI_LINUX_PVKIT_TEST_H
#define _UAPI_LINUX_PVKIT_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Send the number even if the hypercall page does not describe it. */
#define PVKIT_TEST_UNTABLED	(1U << 0)

/**
 * struct pvkit_test_hypercall - one hypercall with raw arguments
 * @nr: hypercall number
 * @flags: PVKIT_TEST_*
 * @args: arguments, passed unchanged (addresses are guest-physical)
 * @result: what the hypercall returned
 */
struct pvkit_test_hypercall {
	__u32 nr;
	__u32 flags;
	__u64 args[5];
	__s64 result;
};

/**
 * struct pvkit_test_copy - round trip through PVKIT_HC_TEST_COPY
 * @src: user buffer the device copies into its source page
 * @dst: user buffer that receives the device's destination page
 * @len: bytes to copy (at most one page)
 * @reserved: must be zero
 * @result: what the hypercall returned
 *
 * The device clears its destination page before the hypercall, so @dst
 * holds exactly what the host wrote.
 */
struct pvkit_test_copy {
	__u64 src;
	__u64 dst;
	__u32 len;
	__u32 reserved;
	__s64 result;
};

/**
 * struct pvkit_test_evtchn - round trips through the host's echo endpoint
 * @rounds: sends to make; each waits for its echo before the next
 * @timeout_ms: how long to wait for one echo (1..10000)
 * @sent: sends the host accepted
 * @received: events the port's interrupt handler saw
 * @lost: sends whose echo did not arrive within @timeout_ms
 * @result: 0, or the first error a send returned
 *
 * Events beyond one per send (duplicates) show as @received > @sent - @lost.
 */
struct pvkit_test_evtchn {
	__u32 rounds;
	__u32 timeout_ms;
	__u64 sent;
	__u64 received;
	__u64 lost;
	__s64 result;
};

/**
 * struct pvkit_test_evtchn_mask - events on a masked port stay pending
 * @sends: sends made while the port is masked
 * @pending_while_masked: 1 when the port's pending bit was set
 * @received_while_masked: events delivered while masked (must be 0)
 * @received_after_unmask: events delivered after unmasking (1: coalesced)
 * @result: 0, or the first error a send returned
 */
struct pvkit_test_evtchn_mask {
	__u32 sends;
	__u32 pending_while_masked;
	__u64 received_while_masked;
	__u64 received_after_unmask;
	__s64 result;
};

/**
 * struct pvkit_test_grant - grant or revoke one test page
 * @ref: out (GRANT): the reference; in (REVOKE): the reference to revoke
 * @readonly: in (GRANT): grant read-only access
 * @fill: in (GRANT): byte the fresh page is filled with
 * @result: out (REVOKE): 0, -EBUSY while the host has it mapped, ...
 * @sum: out (REVOKE): byte sum of the page when revoked, to see what the
 *       host wrote (or did not)
 * @in_use: out: grants of the whole kernel still live afterwards
 * @reserved: must be zero
 *
 * The device owns the pages; closing the device revokes what is left.
 */
struct pvkit_test_grant {
	__s32 ref;
	__u32 readonly;
	__u32 fill;
	__s32 result;
	__u64 sum;
	__u32 in_use;
	__u32 reserved;
};

/* PVKIT_TEST_IOC_BENCH operations */
#define PVKIT_BENCH_VERSION	0	/* VERSION hypercall: a bare exit */
#define PVKIT_BENCH_SEND	1	/* SEND on a masked echo port */
#define PVKIT_BENCH_ROUNDTRIP	2	/* SEND, wait for the echo's upcall */

/**
 * struct pvkit_test_bench - time a hypercall loop inside the kernel
 * @op: PVKIT_BENCH_*
 * @iterations: loop count (1..10000000)
 * @elapsed_ns: time the loop took
 * @hypercalls: hypercalls issued by the loop
 * @events: events delivered to the loop's port
 * @result: 0, or the first error the host returned
 */
struct pvkit_test_bench {
	__u32 op;
	__u32 iterations;
	__u64 elapsed_ns;
	__u64 hypercalls;
	__u64 events;
	__s64 result;
};

#define PVKIT_TEST_IOC_MAGIC	0xb7
#define PVKIT_TEST_IOC_HYPERCALL \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 1, struct pvkit_test_hypercall)
#define PVKIT_TEST_IOC_COPY \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 2, struct pvkit_test_copy)
#define PVKIT_TEST_IOC_EVTCHN_ECHO \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 3, struct pvkit_test_evtchn)
#define PVKIT_TEST_IOC_EVTCHN_MASK \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 4, struct pvkit_test_evtchn_mask)
#define PVKIT_TEST_IOC_BENCH \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 5, struct pvkit_test_bench)
#define PVKIT_TEST_IOC_GRANT \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 6, struct pvkit_test_grant)
#define PVKIT_TEST_IOC_REVOKE \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 7, struct pvkit_test_grant)

#endif /* _UAPI_LINUX_PVKIT_TEST_H */
