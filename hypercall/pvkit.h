/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvkit hypervisor ABI, version 1.6.
 *
 * This header is the single definition of the interface between a pvkit
 * guest and a pvkit host.  The guest kernel installs it as
 * <linux/pvkit.h>; the reference host (QEMU) includes the same file.
 * Every structure and call is described in hypercall/SPEC.md.
 */
#ifndef _UAPI_LINUX_PVKIT_H
#define _UAPI_LINUX_PVKIT_H

#include <linux/types.h>

#define PVKIT_ABI_MAJOR			1
#define PVKIT_ABI_MINOR			6
#define PVKIT_ABI_VERSION		((PVKIT_ABI_MAJOR << 16) | PVKIT_ABI_MINOR)

/*
 * CPUID leaves.  The host places them at the first free 0x100-aligned
 * base at or above 0x40000000, so they can coexist with the leaves of
 * another hypervisor interface (KVM, Hyper-V, QEMU's TCG leaf).
 *
 * base + 0: eax = highest pvkit leaf, ebx:ecx:edx = PVKIT_CPUID_SIGNATURE
 * base + 1: eax = ABI version, ebx = feature bits 31:0,
 *           ecx = feature bits 63:32, edx = hypercall-page MSR index
 */
#define PVKIT_CPUID_SIGNATURE		"PVKitPVKitPV"
#define PVKIT_CPUID_INFO		1	/* leaf offset; also the minimum (eax - base) */
#define PVKIT_CPUID_LEAVES		2	/* base + 0 .. base + 1 */

/* Feature bits (CPUID base + 1 and PVKIT_HC_FEATURES). */
#define PVKIT_F_HYPERCALL_PAGE		(1ULL << 0)
#define PVKIT_F_CONSOLE			(1ULL << 1)
#define PVKIT_F_TEST			(1ULL << 2)
#define PVKIT_F_EVTCHN			(1ULL << 3)
#define PVKIT_F_GNTTAB			(1ULL << 4)
#define PVKIT_F_STORE			(1ULL << 5)
#define PVKIT_F_VCPU			(1ULL << 6)
#define PVKIT_F_CLOCK			(1ULL << 7)
#define PVKIT_F_STEAL			(1ULL << 8)
#define PVKIT_F_SPIN			(1ULL << 9)
#define PVKIT_F_TLB_FLUSH		(1ULL << 10)

/*
 * Hypercall page MSR.  Writing (guest physical address | ENABLE) asks the
 * host to fill that page with a struct pvkit_hcall_page.  The address must
 * be page aligned and inside guest RAM, otherwise the write raises #GP.
 * Writing 0 detaches the page.  Reads return the last accepted value.
 */
#define PVKIT_MSR_HYPERCALL_PAGE	0x50564b00
#define PVKIT_HCALL_PAGE_ENABLE		(1ULL << 0)
#define PVKIT_PAGE_SIZE			4096

/*
 * Hypercall transports.  The page is data: the guest never executes it.
 * Each entry names a transport; the guest runs its own copy of that
 * transport's instruction sequence, compiled into its kernel text.
 *
 * PVKIT_TRANSPORT_PIO: a 32-bit OUT of the hypercall number to the I/O
 * port in the entry.  Arguments in rdi, rsi, r10, r8, r9 (arg0..arg4);
 * the result comes back in rax; no other register is changed.
 */
#define PVKIT_TRANSPORT_NONE		0
#define PVKIT_TRANSPORT_PIO		1

#define PVKIT_HCALL_PAGE_MAGIC		0x4b565048	/* "HPVK" */

/**
 * struct pvkit_hcall_entry - how to issue one hypercall
 * @transport: PVKIT_TRANSPORT_*; NONE means the host does not offer it
 * @port: I/O port for PVKIT_TRANSPORT_PIO
 * @nr: hypercall number this entry describes (equals its index)
 * @reserved: zero
 */
struct pvkit_hcall_entry {
	__u16 transport;
	__u16 port;
	__u32 nr;
	__u64 reserved;
};

/**
 * struct pvkit_hcall_page - contents of the hypercall page
 * @magic: PVKIT_HCALL_PAGE_MAGIC
 * @abi_version: PVKIT_ABI_VERSION of the host
 * @nr_entries: number of valid elements in @entry
 * @entry_size: sizeof(struct pvkit_hcall_entry) as the host knows it
 * @features: PVKIT_F_* offered by the host
 * @reserved: zero
 * @entry: one element per hypercall number, indexed by number
 */
struct pvkit_hcall_page {
	__u32 magic;
	__u32 abi_version;
	__u32 nr_entries;
	__u32 entry_size;
	__u64 features;
	__u64 reserved[5];
	struct pvkit_hcall_entry entry[];
};

#define PVKIT_HCALL_PAGE_MAX_ENTRIES \
	((PVKIT_PAGE_SIZE - sizeof(struct pvkit_hcall_page)) / \
	 sizeof(struct pvkit_hcall_entry))

/*
 * Hypercall numbers.  Results are >= 0 on success or a negated
 * PVKIT_E* value on failure.
 */
enum pvkit_hypercall {
	/* () -> PVKIT_ABI_VERSION */
	PVKIT_HC_VERSION	= 0,
	/* () -> PVKIT_F_* bits that fit a non-negative result (63 bits) */
	PVKIT_HC_FEATURES	= 1,
	/* (gpa, len) -> bytes written to the host console */
	PVKIT_HC_CONSOLE_WRITE	= 2,
	/* (gpa, len) -> bytes of host console input copied to gpa (0: none) */
	PVKIT_HC_CONSOLE_READ	= 3,
	/* (a0, a1, a2, a3) -> (a0 + a1 + a2 + a3) & 0xffffffff */
	PVKIT_HC_TEST_ECHO	= 4,
	/* (src_gpa, dst_gpa, len) -> len, after copying src to dst */
	PVKIT_HC_TEST_COPY	= 5,
	/* (gpa) -> 0; register the shared-info page, 0 detaches it */
	PVKIT_HC_SHARED_INFO	= 6,
	/* (vcpu, vector) -> 0; upcall vector of a vCPU, 0 disables */
	PVKIT_HC_VCPU_UPCALL	= 7,
	/* () -> port, unbound, for a host backend to bind later */
	PVKIT_HC_EVTCHN_ALLOC_UNBOUND = 8,
	/* (endpoint) -> port, bound to a host endpoint (PVKIT_ENDPOINT_*) */
	PVKIT_HC_EVTCHN_BIND_HOST = 9,
	/* (vcpu) -> port, an IPI channel delivered to vcpu */
	PVKIT_HC_EVTCHN_BIND_IPI = 10,
	/* (port) -> 0; the hot path: exactly one host transition */
	PVKIT_HC_EVTCHN_SEND	= 11,
	/* (port) -> 0 */
	PVKIT_HC_EVTCHN_CLOSE	= 12,
	/* (port) -> 0; clear the mask bit, redeliver if pending */
	PVKIT_HC_EVTCHN_UNMASK	= 13,
	/* (port) -> PVKIT_EVTCHN_STATUS_*() encoding */
	PVKIT_HC_EVTCHN_STATUS	= 14,
	/* (port, vcpu) -> 0; deliver the port's events to vcpu */
	PVKIT_HC_EVTCHN_BIND_VCPU = 15,
	/* (gpa, nr_frames) -> 0; grant table frames, contiguous; 0 detaches */
	PVKIT_HC_GNTTAB_SETUP	= 16,
	/* () -> largest nr_frames the host accepts */
	PVKIT_HC_GNTTAB_MAX_FRAMES = 17,
	/*
	 * (ref, op, offset, len, value) -> result; the host accesses a
	 * granted page exactly as a backend would (PVKIT_F_TEST only):
	 * PVKIT_GNTTEST_READ returns the byte sum of the range,
	 * PVKIT_GNTTEST_WRITE fills it with value, PVKIT_GNTTEST_MAP keeps
	 * the page mapped (in use) until PVKIT_GNTTEST_UNMAP.
	 */
	PVKIT_HC_TEST_GRANT	= 18,
	/*
	 * (gpa) -> port; connect the store: gpa is a page the guest gives
	 * for the ring (Xen's struct xenstore_domain_interface, messages in
	 * the xenstore wire protocol, xs_wire.h); the result is the event
	 * channel (state HOST) both sides notify after moving the ring
	 * indexes.  0 disconnects.
	 */
	PVKIT_HC_STORE_SETUP	= 19,
	/*
	 * (vcpu, gpa) -> 0; vcpu's struct pvkit_vcpu_info moves to gpa
	 * (64-byte aligned guest RAM); gpa 0 moves it back to the
	 * shared-info page (vCPUs below PVKIT_SHARED_INFO_VCPUS only).
	 */
	PVKIT_HC_VCPU_INFO	= 20,
	/*
	 * (first, bitmap, vector) -> number of vCPUs interrupted; raise
	 * vector on every vCPU whose APIC ID is first + n for a set bit n
	 * of bitmap: one host transition for a set of up to 64 vCPUs.
	 */
	PVKIT_HC_VCPU_SEND_IPI	= 21,
	/*
	 * (vcpu, gpa, flags) -> 0; the host keeps the struct
	 * pvkit_time_info at gpa (32-byte aligned guest RAM) current for
	 * vcpu; gpa 0 stops it.  flags must be 0.
	 */
	PVKIT_HC_CLOCK_SETUP	= 22,
	/*
	 * (gpa, flags) -> 0; the host writes a struct pvkit_wall_clock at
	 * gpa (8-byte aligned guest RAM): its real time, and the kit's
	 * system time sampled with it.  flags must be 0.
	 */
	PVKIT_HC_CLOCK_WALL	= 23,
	/*
	 * (vcpu, gpa, flags) -> 0; the host keeps the struct
	 * pvkit_steal_time at gpa (64-byte aligned guest RAM) current for
	 * vcpu; gpa 0 stops it.  flags must be 0.
	 */
	PVKIT_HC_STEAL_SETUP	= 24,
	/*
	 * (gpa, value, flags) -> PVKIT_SPIN_WAIT_*; block the calling vCPU,
	 * unless the byte at gpa (guest RAM) no longer holds value, until a
	 * SPIN_KICK for it or an interrupt it accepts.  flags must be 0.
	 */
	PVKIT_HC_SPIN_WAIT	= 25,
	/*
	 * (vcpu, flags) -> PVKIT_SPIN_KICK_*; end vcpu's SPIN_WAIT, or, if
	 * it is not blocked in one, its next.  flags must be 0.
	 */
	PVKIT_HC_SPIN_KICK	= 26,
	/*
	 * (first, bitmap, va, pages, flags) -> number of vCPUs flushed;
	 * the host drops the TLB entries of every vCPU whose APIC ID is
	 * first + n for a set bit n of bitmap: those of the pages 4 KiB
	 * pages from va on, or all of them with pages 0 (and va 0).  No
	 * interrupt reaches the targets; the calling vCPU runs nothing after
	 * the hypercall until every target's flush is done.  flags must be 0.
	 */
	PVKIT_HC_TLB_FLUSH	= 27,
	/*
	 * (vcpu, ms) -> 0; the host keeps vcpu (not the caller) from
	 * running for ms (1..PVKIT_TEST_HOLD_MAX_MS) milliseconds, as a host
	 * that does not schedule it would (PVKIT_F_TEST only).
	 */
	PVKIT_HC_TEST_HOLD	= 28,
	/*
	 * (vcpu) -> ns; the host's own count of the time vcpu's thread was
	 * ready to run without a host CPU, read now (PVKIT_F_TEST and
	 * PVKIT_F_STEAL): what its steal time is made of.
	 */
	PVKIT_HC_TEST_RUN_DELAY	= 29,
	PVKIT_HC_COUNT
};

/*
 * Grant tables (PVKIT_F_GNTTAB): Xen's grant_entry_v1.  The guest owns
 * the table; the host's device models (domain PVKIT_DOMID_HOST) reach a
 * guest page only through an entry that permits it.
 */
#define PVKIT_DOMID_HOST		0
#define PVKIT_GNTTAB_ENTRIES_PER_FRAME	(PVKIT_PAGE_SIZE / 8)

#define PVKIT_GTF_INVALID		0x0000
#define PVKIT_GTF_PERMIT_ACCESS		0x0001
#define PVKIT_GTF_TYPE_MASK		0x0003
#define PVKIT_GTF_READONLY		0x0004	/* host may only read */
#define PVKIT_GTF_READING		0x0008	/* set by host while reading */
#define PVKIT_GTF_WRITING		0x0010	/* set by host while writing */

/**
 * struct pvkit_grant_entry - one grant (Xen's grant_entry_v1)
 * @flags: PVKIT_GTF_*; the guest writes the type and READONLY last
 * @domid: domain allowed to access the page (PVKIT_DOMID_HOST)
 * @frame: guest frame number (guest-physical address >> 12)
 */
struct pvkit_grant_entry {
	__u16 flags;
	__u16 domid;
	__u32 frame;
};

/* PVKIT_HC_TEST_GRANT operations. */
#define PVKIT_GNTTEST_READ		0
#define PVKIT_GNTTEST_WRITE		1
#define PVKIT_GNTTEST_MAP		2
#define PVKIT_GNTTEST_UNMAP		3
#define PVKIT_GNTTEST_MAP_RO		4

/*
 * Event channels (PVKIT_F_EVTCHN): Xen's 2-level layout.  A port is a bit
 * in evtchn_pending and evtchn_mask; word (port / 64) has a bit in the
 * target vCPU's evtchn_pending_sel.  Delivery sets the pending bit; if it
 * was clear and the port is unmasked, sets the selector bit and
 * evtchn_upcall_pending and, unless evtchn_upcall_mask is set, raises the
 * vCPU's upcall vector.  vCPUs are named by APIC ID, below
 * PVKIT_MAX_VCPUS (what the status encoding carries); the shared-info
 * page holds the vcpu_info of the first PVKIT_SHARED_INFO_VCPUS, the
 * others register their own (PVKIT_HC_VCPU_INFO).
 */
#define PVKIT_EVTCHN_PORTS		4096
#define PVKIT_MAX_VCPUS			256
#define PVKIT_SHARED_INFO_VCPUS		32

/* Host endpoints a guest port can be bound to. */
#define PVKIT_ENDPOINT_ECHO		1	/* each send comes back as an event */
/*
 * An event whenever the host's real time moved against the kit's system
 * time (the VM was stopped and continued, or restored); sends do nothing.
 * Offered with PVKIT_F_CLOCK.
 */
#define PVKIT_ENDPOINT_CLOCK		2

/* Port states returned by PVKIT_HC_EVTCHN_STATUS (bits 7:0). */
#define PVKIT_EVTCHN_CLOSED		0
#define PVKIT_EVTCHN_UNBOUND		1
#define PVKIT_EVTCHN_HOST		2	/* bound to a host endpoint */
#define PVKIT_EVTCHN_IPI		3
/* Status value: state | vcpu << 8 | endpoint << 16 */
#define PVKIT_EVTCHN_STATE(st)		((st) & 0xff)
#define PVKIT_EVTCHN_VCPU(st)		(((st) >> 8) & 0xff)
#define PVKIT_EVTCHN_ENDPOINT(st)	(((st) >> 16) & 0xffff)

/**
 * struct pvkit_vcpu_info - per-vCPU event state (Xen's x86 vcpu_info);
 * in the shared-info page or wherever PVKIT_HC_VCPU_INFO put it
 * @evtchn_upcall_pending: set by the host when an event is pending
 * @evtchn_upcall_mask: set by the guest to hold off upcalls
 * @pad: zero
 * @evtchn_pending_sel: one bit per word of evtchn_pending with work
 * @arch: unused (Xen: cr2)
 * @time: unused by pvkit (Xen: vcpu_time_info)
 */
struct pvkit_vcpu_info {
	__u8 evtchn_upcall_pending;
	__u8 evtchn_upcall_mask;
	__u8 pad[6];
	__u64 evtchn_pending_sel;
	__u8 arch[16];
	__u8 time[32];
};

/**
 * struct pvkit_shared_info - the shared-info page (Xen's layout)
 * @vcpu_info: per-vCPU state, indexed by APIC ID, unless registered
 *	elsewhere with PVKIT_HC_VCPU_INFO
 * @evtchn_pending: pending bit per port
 * @evtchn_mask: mask bit per port (set: the host never raises an upcall)
 * @reserved: zero (Xen: wallclock and arch fields)
 */
struct pvkit_shared_info {
	struct pvkit_vcpu_info vcpu_info[PVKIT_SHARED_INFO_VCPUS];
	__u64 evtchn_pending[PVKIT_EVTCHN_PORTS / 64];
	__u64 evtchn_mask[PVKIT_EVTCHN_PORTS / 64];
	__u8 reserved[PVKIT_PAGE_SIZE - 64 * PVKIT_SHARED_INFO_VCPUS -
		      2 * PVKIT_EVTCHN_PORTS / 8];
};

/*
 * Clock (PVKIT_F_CLOCK).  System time is nanoseconds since the host
 * started the clock, a function of the guest's own TSC:
 *
 *   delta = tsc - tsc_timestamp
 *   delta = tsc_shift >= 0 ? delta << tsc_shift : delta >> -tsc_shift
 *   time  = system_time + ((delta * tsc_to_system_mul) >> 32)
 *
 * with a 96-bit product.  It stands still while the VM is stopped.  The
 * record has the layout of Xen's and KVM's vcpu_time_info, so a Linux
 * guest reads it with its pvclock code.
 */
#define PVKIT_TIME_TSC_STABLE		(1 << 0)	/* same on every vCPU */

/**
 * struct pvkit_time_info - a vCPU's clock parameters, written by the host
 * @version: odd while the host changes the record; read the fields only
 *	between two equal, even reads of it
 * @pad0: zero
 * @tsc_timestamp: guest TSC at which system time was @system_time
 * @system_time: nanoseconds
 * @tsc_to_system_mul: TSC to nanoseconds, a 32.32 fixed-point multiplier
 * @tsc_shift: applied to the TSC delta before the multiplication
 * @flags: PVKIT_TIME_*
 * @pad: zero
 */
struct pvkit_time_info {
	__u32 version;
	__u32 pad0;
	__u64 tsc_timestamp;
	__u64 system_time;
	__u32 tsc_to_system_mul;
	__s8 tsc_shift;
	__u8 flags;
	__u8 pad[2];
};

/**
 * struct pvkit_wall_clock - the host's real time (PVKIT_HC_CLOCK_WALL)
 * @system_time: the kit's system time when @sec and @nsec were read
 * @sec: seconds since 1970-01-01 00:00 UTC
 * @nsec: nanoseconds, below 10^9
 * @pad: zero
 */
struct pvkit_wall_clock {
	__u64 system_time;
	__u64 sec;
	__u32 nsec;
	__u32 pad;
};

/**
 * struct pvkit_steal_time - time a vCPU was ready to run but did not
 * (PVKIT_F_STEAL); KVM's layout
 * @steal: nanoseconds, only ever growing for a vCPU (also across its
 *	records)
 * @version: odd while the host changes the record; read @steal only
 *	between two equal, even reads of it
 * @flags: zero
 * @preempted: PVKIT_STEAL_PREEMPTED or 0 (ABI 1.6; before, always 0)
 * @pad8: zero
 * @pad: zero
 */
struct pvkit_steal_time {
	__u64 steal;
	__u32 version;
	__u32 flags;
	__u8 preempted;
	__u8 pad8[3];
	__u32 pad[11];
};

/*
 * Steal record's preempted byte (ABI 1.6): set while the host keeps the
 * vCPU from running although it has work (its thread waits for a host
 * CPU, or the host holds it stopped); read by the guest only.
 */
#define PVKIT_STEAL_PREEMPTED		(1 << 0)

/* Longest PVKIT_HC_TEST_HOLD. */
#define PVKIT_TEST_HOLD_MAX_MS		10000

/* PVKIT_HC_SPIN_WAIT results: why the call returned. */
#define PVKIT_SPIN_WAIT_WOKEN		0	/* blocked, then kicked or interrupted */
#define PVKIT_SPIN_WAIT_CHANGED		1	/* the byte no longer held the value */
#define PVKIT_SPIN_WAIT_KICKED		2	/* a kick was pending: consumed */

/* PVKIT_HC_SPIN_KICK results. */
#define PVKIT_SPIN_KICK_WOKE		0	/* the vCPU was blocked: it runs */
#define PVKIT_SPIN_KICK_PENDING		1	/* kept for the vCPU's next wait */

/*
 * Bus device states (Xen's enum xenbus_state).  Each side of a split
 * device keeps its current state, as a decimal string, in the "state" key
 * of its own store directory and watches the other side's (SPEC section 9).
 */
#define PVKIT_BUS_UNKNOWN		0
#define PVKIT_BUS_INITIALISING		1
#define PVKIT_BUS_INITWAIT		2	/* backend: waiting for frontend */
#define PVKIT_BUS_INITIALISED		3	/* frontend: rings published */
#define PVKIT_BUS_CONNECTED		4
#define PVKIT_BUS_CLOSING		5
#define PVKIT_BUS_CLOSED		6
#define PVKIT_BUS_RECONFIGURING		7
#define PVKIT_BUS_RECONFIGURED		8

/* Largest length one console or copy hypercall accepts. */
#define PVKIT_HC_MAX_LEN		PVKIT_PAGE_SIZE

/* Error values: the same numbers as Linux errno, so guests map 1:1. */
#define PVKIT_EPERM			1
#define PVKIT_E2BIG			7
#define PVKIT_EFAULT			14
#define PVKIT_EINVAL			22
#define PVKIT_ENOSYS			38
#define PVKIT_ENOENT			2
#define PVKIT_EBUSY			16
#define PVKIT_ENOSPC			28
#define PVKIT_EIO			5

#endif /* _UAPI_LINUX_PVKIT_H */
