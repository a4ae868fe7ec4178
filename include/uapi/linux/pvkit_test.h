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

/**
 * struct pvkit_test_echo_port - an echo port held by the open file
 * @irq: out (ECHO_BIND, ECHO_REBIND): its interrupt, listed in
 *     /proc/interrupts as "pvkit_test_echo"; move it through
 *     /proc/irq/<irq>/smp_affinity_list
 * @port: out (ECHO_BIND, ECHO_REBIND): its event-channel port; in
 *     (ECHO_REBIND): 0 to move the channel onto a new echo port the
 *     module binds, else the port number to hand pvkit_evtchn_rebind()
 *     as if the host had returned it
 * @result: out (ECHO_REBIND): what pvkit_evtchn_rebind() returned
 * @rounds: in (ECHO_SEND): sends, each waiting for its echo (at most 1 s)
 * @cpu: out (ECHO_SEND): the CPU the port is delivered to afterwards
 * @received: out (ECHO_SEND): events the handler saw during the call
 * @lost: out (ECHO_SEND): sends whose echo did not come
 * @result: out (ECHO_SEND): 0, or the first error a send returned
 *
 * One port per open file; ECHO_UNBIND or closing the file closes it.
 * ECHO_REBIND keeps the interrupt and moves it to another port.
 */
struct pvkit_test_echo_port {
	__u32 irq;
	__u32 port;
	__u32 rounds;
	__s32 cpu;
	__u64 received;
	__u64 lost;
	__s64 result;
};

/**
 * struct pvkit_test_affinity - irq_set_affinity() on an event channel
 * @irq: in: an interrupt of the pvkit-evtchn irq_chip (any, IPIs too)
 * @cpu: in: the CPU to move it to
 * @result: out: what irq_set_affinity() returned
 * @reserved: must be zero
 */
struct pvkit_test_affinity {
	__u32 irq;
	__u32 cpu;
	__s32 result;
	__u32 reserved;
};

/**
 * struct pvkit_test_page_io - read or write a page GRANT gave the host
 * @ref: the page's reference (from PVKIT_TEST_IOC_GRANT)
 * @write: 1: copy @len bytes from @buf into the page; 0: the other way
 * @offset: where in the page
 * @len: bytes; @offset + @len at most 4096
 * @buf: user address of the bytes
 *
 * Lets a test play a frontend by hand: lay out a ring in a granted page,
 * and read what the backend answered in it.
 */
struct pvkit_test_page_io {
	__s32 ref;
	__u32 write;
	__u32 offset;
	__u32 len;
	__u64 buf;
};

/* PVKIT_TEST_IOC_ECHO_GATE operations */
#define PVKIT_GATE_DISABLE	0	/* disable_irq() the file's echo port */
#define PVKIT_GATE_ENABLE	1	/* enable_irq() it */
#define PVKIT_GATE_CYCLES	2	/* @rounds disable/send/enable cycles */
#define PVKIT_GATE_TOGGLES	3	/* @rounds disable/enable, no sends */

/**
 * struct pvkit_test_echo_gate - disable_irq()/enable_irq() the echo port
 * @op: in: PVKIT_GATE_*
 * @rounds: in (CYCLES, TOGGLES): cycles to make (1..100000)
 * @hold_us: in (CYCLES, TOGGLES): how long the port stays disabled
 *     before and after the send of each cycle (0..1000); TOGGLES: how
 *     long it stays disabled, and then enabled, in each cycle
 * @reserved: must be zero
 * @sent: out (CYCLES): sends the host accepted, one per cycle
 * @received: out (CYCLES): handler runs during the call
 * @unmasked_while_disabled: out (CYCLES, TOGGLES): cycles whose port
 *     was found unmasked while disabled (must be 0)
 * @early: out (CYCLES): cycles whose event ran the handler before
 *     enable_irq() (must be 0)
 * @lost: out (CYCLES): cycles whose event did not arrive within a second
 *     of enable_irq()
 * @result: out: 0, or the first error a send returned
 *
 * Each cycle: disable_irq(), wait @hold_us, check the port's mask bit,
 * send, wait @hold_us, check mask bit and handler count again,
 * enable_irq(), wait for the event.  TOGGLES: disable_irq(), wait
 * @hold_us, check the mask bit, enable_irq(), wait @hold_us: many short
 * cycles, to meet a concurrent move often.  Meant to run while something
 * else moves the port between CPUs (affinity, CPU hot-unplug).
 */
struct pvkit_test_echo_gate {
	__u32 op;
	__u32 rounds;
	__u32 hold_us;
	__u32 reserved;
	__u64 sent;
	__u64 received;
	__u64 unmasked_while_disabled;
	__u64 early;
	__u64 lost;
	__s64 result;
};

/**
 * struct pvkit_test_call_func - smp_call_function() to every other CPU
 * @rounds: in: calls to make (1..100000)
 * @targets: out: other CPUs online, each call's targets
 * @ran: out: runs of the function on other CPUs (rounds x targets)
 * @set_sends: out: VCPU_SEND_IPI calls the kit made meanwhile (any
 *     sender's)
 */
struct pvkit_test_call_func {
	__u32 rounds;
	__u32 targets;
	__u64 ran;
	__u64 set_sends;
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
/* 8 was LATEEOI: late EOI is gone (it had no user); do not reuse. */
#define PVKIT_TEST_IOC_ECHO_BIND \
	_IOR(PVKIT_TEST_IOC_MAGIC, 9, struct pvkit_test_echo_port)
#define PVKIT_TEST_IOC_ECHO_SEND \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 10, struct pvkit_test_echo_port)
#define PVKIT_TEST_IOC_ECHO_UNBIND \
	_IO(PVKIT_TEST_IOC_MAGIC, 11)
#define PVKIT_TEST_IOC_SET_AFFINITY \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 12, struct pvkit_test_affinity)
#define PVKIT_TEST_IOC_PAGE_IO \
	_IOW(PVKIT_TEST_IOC_MAGIC, 13, struct pvkit_test_page_io)
#define PVKIT_TEST_IOC_ECHO_GATE \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 14, struct pvkit_test_echo_gate)
#define PVKIT_TEST_IOC_ECHO_REBIND \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 16, struct pvkit_test_echo_port)
#define PVKIT_TEST_IOC_CALL_FUNC \
	_IOWR(PVKIT_TEST_IOC_MAGIC, 15, struct pvkit_test_call_func)

#endif /* _UAPI_LINUX_PVKIT_TEST_H */
