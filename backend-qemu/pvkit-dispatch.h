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

/*
 * Where the host places its CPUID leaves by default (PVKIT_CPUID_LEAVES
 * of them), and the range a guest scans in PVKIT_CPUID_STEP steps.
 */
#define PVKIT_CPUID_BASE        0x40000100u
#define PVKIT_CPUID_RANGE_MIN   0x40000000u
#define PVKIT_CPUID_RANGE_MAX   0x4000ff00u
#define PVKIT_CPUID_STEP        0x100u

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
 *
 * Event channels (PVKIT_F_EVTCHN):
 * @evtchn: the host's event-channel state (port table, vectors, counters);
 *   never NULL.  The dispatcher is its only writer.
 * @shared_set: map the shared-info page at @gpa (page aligned, not 0),
 *   replacing any previous mapping, and return 0; or return -PVKIT_EFAULT
 *   and keep the old mapping when the page is not writable guest RAM.
 *   @gpa 0 drops the mapping.
 * @shared_page: the mapped shared-info page (a host pointer to 4096
 *   bytes the guest shares), or NULL when none is registered.  The
 *   dispatcher accesses it only with atomic operations.
 * @shared_written: the dispatcher stored to the shared page (the host
 *   marks it dirty for migration).
 * @vcpu_exists: true when a vCPU with APIC ID @vcpu exists.
 * @vcpu_info_set: map the 64 bytes of writable guest RAM at @gpa (64-byte
 *   aligned, not 0) as @vcpu's vcpu_info (@vcpu < PVKIT_MAX_VCPUS),
 *   replacing its previous mapping, and return 0; or return -PVKIT_EFAULT
 *   and keep the old mapping.  @gpa 0 drops the mapping.
 * @vcpu_info_area: @vcpu's mapped vcpu_info, or NULL; accessed only with
 *   atomic operations.
 * @vcpu_info_written: the dispatcher stored to @vcpu's mapped vcpu_info
 *   (the host marks it dirty for migration).
 * @inject: raise @vector (0x20..0xff) on the vCPU with APIC ID @vcpu:
 *   a fixed, edge-triggered interrupt.
 * @backend_kick: the guest sent on @port, which a device model bound with
 *   pvkit_evtchn_backend_bind(@backend).  Must not wait for the device
 *   model: only schedule its handler.
 * @backend_release: @port stops being bound to @backend (guest close,
 *   unbind, reset); the host frees what it allocated for the binding.
 *
 * Grant tables (PVKIT_F_GNTTAB):
 * @gnttab: the host's grant-table state; never NULL.  The dispatcher is
 *   its only writer.
 * @gnttab_set: map the grant table, @nr_frames (1..PVKIT_GNTTAB_MAX_FRAMES)
 *   contiguous pages at @gpa (page aligned, range not wrapping), replacing
 *   any previous mapping, and return 0; or return -PVKIT_EFAULT and keep
 *   the old mapping when the range is not writable guest RAM.  @nr_frames
 *   0 drops the mapping.
 * @gnttab_table: the mapped table (a host pointer to @nr_frames pages the
 *   guest shares), or NULL.  The dispatcher accesses the entries only with
 *   atomic operations.
 * @gnttab_written: the dispatcher changed the flags of entry @ref (the
 *   host marks it dirty for migration).
 * @page_map: map the guest page at @gpa (page aligned, below 2^44) for
 *   host access, for writing when @write; return a host pointer to its
 *   PVKIT_PAGE_SIZE bytes, or NULL unless it is guest RAM (writable RAM
 *   for @write).  The mapping stays valid until @page_unmap.
 * @page_unmap: release a @page_map result; @write as passed to it (the
 *   host marks the page dirty).
 *
 * Clock (PVKIT_F_CLOCK):
 * @clock: the host's clock state (registered records, counters); never
 *   NULL.  The dispatcher is its only writer.
 * @clock_params: fill @p's tsc_timestamp, system_time, tsc_to_system_mul,
 *   tsc_shift and flags with the clock's current parameters (the same
 *   for every vCPU); the dispatcher ignores the other fields.
 * @clock_set: map the 32 bytes of writable guest RAM at @gpa (32-byte
 *   aligned, not 0) as @vcpu's time record, replacing its previous
 *   mapping, and return 0; or return -PVKIT_EFAULT and keep the old
 *   mapping.  @gpa 0 drops the mapping.
 * @clock_area: @vcpu's mapped time record, or NULL; accessed only with
 *   atomic operations.
 * @clock_written: the dispatcher stored to @vcpu's record (the host
 *   marks it dirty for migration).
 * @clock_wall: fill @w with the host's real time and the system time
 *   (as @clock_params computes it) read back to back.
 *
 * Steal time (PVKIT_F_STEAL):
 * @steal: the host's steal-time state; never NULL.  The dispatcher is
 *   its only writer.
 * @steal_run_delay: store in @ns the nanoseconds the thread running
 *   @vcpu has so far been ready to run without a host CPU to run on (the
 *   host scheduler's run delay, non-decreasing while the thread lives)
 *   and return 0; or return -1 when it cannot be read now.
 * @steal_preempted: true while the host keeps @vcpu from running although
 *   it has work (its thread waits for a host CPU, or the host holds it
 *   stopped): the record's PVKIT_STEAL_PREEMPTED.
 * @steal_set, @steal_area, @steal_written: as @clock_set, @clock_area
 *   and @clock_written, for a 64-byte, 64-byte aligned steal record.
 *
 * The calling vCPU (PVKIT_F_SPIN, PVKIT_F_TLB_FLUSH):
 * @vcpu_self: APIC ID of the vCPU making the hypercall.
 *
 * Spinlocks (PVKIT_F_SPIN):
 * @spin: the host's wait/kick state; never NULL.  The dispatcher is its
 *   only writer.
 * @vcpu_block: once the hypercall returns, park the calling vCPU @vcpu
 *   until @vcpu_unblock, or until an interrupt it accepts is pending (one
 *   pending already: it does not park at all).
 * @vcpu_unblock: end @vcpu's parking.  Returns true when it was parked
 *   or about to park, false when it was running (nothing changes then).
 *
 * TLB flush (PVKIT_F_TLB_FLUSH):
 * @tlb: the host's flush counters; never NULL.
 * @tlb_flush: have @vcpu drop its TLB entries for the @pages 4 KiB pages
 *   from @va on (@pages 0: every entry) before it runs guest code again;
 *   dropping more is allowed.  Must not wait for @vcpu (it may be the
 *   caller, parked, or stopped by the host).
 * @tlb_flush_sync: the calling vCPU must run no guest code after the
 *   hypercall until every flush @tlb_flush queued is done.
 *
 * Tests (PVKIT_F_TEST):
 * @test_hold: keep vCPU @vcpu (not the caller; 1 <= @ms <=
 *   PVKIT_TEST_HOLD_MAX_MS) from running guest code for @ms milliseconds
 *   of real time, as a host that does not schedule it would; its
 *   steal record says it is preempted meanwhile.  0, or -PVKIT_EBUSY
 *   while another hold lasts.
 *
 * Store (PVKIT_F_STORE, with PVKIT_F_EVTCHN):
 * @store_setup: PVKIT_HC_STORE_SETUP.  @gpa is page aligned and, unless
 *   0, writable guest RAM (checked with @mem_check).  Not 0: return
 *   -PVKIT_EBUSY when the store is connected already, -PVKIT_EFAULT when
 *   the page cannot be mapped, else map it, bind a port to the store with
 *   pvkit_evtchn_backend_alloc() (its error, -PVKIT_ENOSPC, unmaps again)
 *   and return the port.  0: disconnect (close the port with
 *   pvkit_evtchn_backend_close(), unmap) and return 0, also when not
 *   connected.
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

    struct PVKitEvtchnState *(*evtchn)(void *opaque);
    int (*shared_set)(void *opaque, uint64_t gpa);
    struct pvkit_shared_info *(*shared_page)(void *opaque);
    void (*shared_written)(void *opaque);
    bool (*vcpu_exists)(void *opaque, uint32_t vcpu);
    int (*vcpu_info_set)(void *opaque, uint32_t vcpu, uint64_t gpa);
    struct pvkit_vcpu_info *(*vcpu_info_area)(void *opaque, uint32_t vcpu);
    void (*vcpu_info_written)(void *opaque, uint32_t vcpu);
    void (*inject)(void *opaque, uint32_t vcpu, uint8_t vector);
    void (*backend_kick)(void *opaque, uint32_t port, void *backend);
    void (*backend_release)(void *opaque, uint32_t port, void *backend);

    struct PVKitGnttabState *(*gnttab)(void *opaque);
    int (*gnttab_set)(void *opaque, uint64_t gpa, uint32_t nr_frames);
    struct pvkit_grant_entry *(*gnttab_table)(void *opaque);
    void (*gnttab_written)(void *opaque, uint32_t ref);
    void *(*page_map)(void *opaque, uint64_t gpa, bool write);
    void (*page_unmap)(void *opaque, void *ptr, bool write);

    struct PVKitClockState *(*clock)(void *opaque);
    void (*clock_params)(void *opaque, struct pvkit_time_info *p);
    int (*clock_set)(void *opaque, uint32_t vcpu, uint64_t gpa);
    struct pvkit_time_info *(*clock_area)(void *opaque, uint32_t vcpu);
    void (*clock_written)(void *opaque, uint32_t vcpu);
    void (*clock_wall)(void *opaque, struct pvkit_wall_clock *w);

    struct PVKitStealState *(*steal)(void *opaque);
    int (*steal_run_delay)(void *opaque, uint32_t vcpu, uint64_t *ns);
    bool (*steal_preempted)(void *opaque, uint32_t vcpu);
    int (*steal_set)(void *opaque, uint32_t vcpu, uint64_t gpa);
    struct pvkit_steal_time *(*steal_area)(void *opaque, uint32_t vcpu);
    void (*steal_written)(void *opaque, uint32_t vcpu);

    uint32_t (*vcpu_self)(void *opaque);

    struct PVKitSpinState *(*spin)(void *opaque);
    void (*vcpu_block)(void *opaque, uint32_t vcpu);
    bool (*vcpu_unblock)(void *opaque, uint32_t vcpu);

    struct PVKitTlbState *(*tlb)(void *opaque);
    void (*tlb_flush)(void *opaque, uint32_t vcpu, uint64_t va,
                      uint64_t pages);
    void (*tlb_flush_sync)(void *opaque);

    int (*test_hold)(void *opaque, uint32_t vcpu, uint32_t ms);

    int64_t (*store_setup)(void *opaque, uint64_t gpa);
} PVKitHostOps;

/*
 * Clock.  The registered records live in a PVKitClockState owned by the
 * host (ops->clock); like everything else here it is called with the
 * host's lock held (QEMU: the BQL).
 *
 * @updates: records written (at registration and by
 *   pvkit_clock_update_all()).
 * @walls: CLOCK_WALL answered.
 * @notifies: events raised on PVKIT_ENDPOINT_CLOCK ports.
 */
typedef struct PVKitClockStats {
    uint64_t updates;
    uint64_t walls;
    uint64_t notifies;
} PVKitClockStats;

typedef struct PVKitClockState {
    uint64_t gpa[PVKIT_MAX_VCPUS];      /* 0: no record */
    PVKitClockStats stats;
} PVKitClockState;

/*
 * Rewrite every registered record from ops->clock_params(): after the
 * parameters changed (a migration to a host whose TSC runs at another
 * rate), and after the mappings were rebuilt on load.
 */
void pvkit_clock_update_all(const PVKitHostOps *ops, void *opaque);

/*
 * Real time moved against system time (the VM was stopped and is running
 * again): raise an event on every PVKIT_ENDPOINT_CLOCK port.  With the
 * event-channel lock held, like the hypercalls.
 */
void pvkit_clock_notify(const PVKitHostOps *ops, void *opaque);

/* Drop every record (system reset): none is written again. */
void pvkit_clock_reset(const PVKitHostOps *ops, void *opaque);

/*
 * Steal time.  Per vCPU: where its record is, its steal so far, and the
 * run delay it was last counted up to.  With the host's lock held, like
 * the hypercalls.
 */
typedef struct PVKitStealStats {
    uint64_t updates;
} PVKitStealStats;

typedef struct PVKitStealState {
    uint64_t gpa[PVKIT_MAX_VCPUS];      /* 0: no record */
    uint64_t last[PVKIT_MAX_VCPUS];     /* ns stolen so far */
    uint64_t prev[PVKIT_MAX_VCPUS];     /* run delay counted up to */
    PVKitStealStats stats;
} PVKitStealState;

/*
 * Bring every registered record up to date (the host calls this
 * periodically while the VM runs); returns how many there are.
 */
unsigned int pvkit_steal_update_all(const PVKitHostOps *ops, void *opaque);

/*
 * Bring @vcpu's record up to date now, if it has one (its preempted
 * state changed).
 */
void pvkit_steal_update(const PVKitHostOps *ops, void *opaque,
                        uint32_t vcpu);

/*
 * The vCPUs' threads are new (after loading): count on from each vCPU's
 * last steal and the new threads' run delay.
 */
void pvkit_steal_restart(const PVKitHostOps *ops, void *opaque);

/* Drop every record and count (system reset). */
void pvkit_steal_reset(const PVKitHostOps *ops, void *opaque);

/*
 * Spinlocks: which vCPUs are parked in SPIN_WAIT and which were kicked
 * while not waiting.  With the host's lock held, like the hypercalls.
 *
 * @waits: SPIN_WAIT calls that passed the checks
 * @blocks: of those, the ones that parked the vCPU
 * @kicks: SPIN_KICK calls that passed the checks
 * @wakes: of those, the ones that ended a parked wait
 */
typedef struct PVKitSpinStats {
    uint64_t waits;
    uint64_t blocks;
    uint64_t kicks;
    uint64_t wakes;
} PVKitSpinStats;

typedef struct PVKitSpinState {
    uint8_t waiting[PVKIT_MAX_VCPUS];       /* parked by SPIN_WAIT */
    uint8_t kick_pending[PVKIT_MAX_VCPUS];  /* for the vCPU's next wait */
    PVKitSpinStats stats;
} PVKitSpinState;

/*
 * Every parked wait ends (the VM stops: it must not stay parked across a
 * migration, where the waiting state does not go).
 */
void pvkit_spin_wake_all(const PVKitHostOps *ops, void *opaque);

/*
 * Every vCPU's next wait returns at once (after loading: a kick may have
 * been pending on the source).
 */
void pvkit_spin_kick_all(const PVKitHostOps *ops, void *opaque);

/* Nothing parked or pending (system reset). */
void pvkit_spin_reset(const PVKitHostOps *ops, void *opaque);

/*
 * TLB flush counters.
 * @flushes: TLB_FLUSH calls that flushed at least one vCPU
 * @targets: vCPU flushes queued by them
 * @full: of those, whole-TLB flushes
 */
typedef struct PVKitTlbStats {
    uint64_t flushes;
    uint64_t targets;
    uint64_t full;
} PVKitTlbStats;

typedef struct PVKitTlbState {
    PVKitTlbStats stats;
} PVKitTlbState;

/*
 * Event channels.  The port table, the upcall vectors and the counters
 * live in a PVKitEvtchnState owned by the host (ops->evtchn).  Every
 * function below and every event-channel hypercall must be called with
 * the host's event-channel lock held (QEMU: the BQL); the guest changes
 * the shared page concurrently, which is why the dispatcher accesses it
 * only with atomic read-modify-write operations.
 */

/* Endpoint of a PVKIT_EVTCHN_HOST port bound by a host device model. */
#define PVKIT_ENDPOINT_BACKEND  0

/* Lowest and highest upcall vector accepted by PVKIT_HC_VCPU_UPCALL. */
#define PVKIT_UPCALL_VECTOR_MIN 0x20
#define PVKIT_UPCALL_VECTOR_MAX 0xff

typedef struct PVKitEvtchnPort {
    uint8_t state;          /* PVKIT_EVTCHN_* */
    uint8_t vcpu;           /* target APIC ID, < PVKIT_MAX_VCPUS */
    uint16_t endpoint;      /* PVKIT_ENDPOINT_* (state HOST) */
    void *backend;          /* device model binding (ENDPOINT_BACKEND) */
} PVKitEvtchnPort;

/*
 * Counters, never reset (not even by a machine reset).
 * @hypercalls: calls by number (known numbers only, whatever the result)
 * @sends: successful EVTCHN_SEND calls
 * @echoes: of those, on PVKIT_ENDPOINT_ECHO ports
 * @backend_kicks: of those, handed to a device model
 * @deliveries: events raised on a port towards the guest (echo, IPI,
 *   device model notify), whatever happened to them
 * @dropped: deliveries with no shared-info page registered
 * @coalesced: deliveries that found the port already pending
 * @masked: deliveries that made the port pending while it was masked
 * @injections: upcall interrupts raised (deliveries, UNMASK, VCPU_INFO)
 * @unflagged: upcalls not raised because the target vCPU had no
 *   vcpu_info (no registered area and no shared-info slot)
 * @ipis: vCPUs interrupted by VCPU_SEND_IPI
 */
typedef struct PVKitEvtchnStats {
    uint64_t hypercalls[PVKIT_HC_COUNT];
    uint64_t sends;
    uint64_t echoes;
    uint64_t backend_kicks;
    uint64_t deliveries;
    uint64_t dropped;
    uint64_t coalesced;
    uint64_t masked;
    uint64_t injections;
    uint64_t unflagged;
    uint64_t ipis;
} PVKitEvtchnStats;

typedef struct PVKitEvtchnState {
    uint64_t shared_gpa;                        /* 0: none */
    uint8_t upcall_vector[PVKIT_MAX_VCPUS];     /* 0: disabled */
    uint64_t vcpu_info_gpa[PVKIT_MAX_VCPUS];    /* 0: shared-info slot */
    PVKitEvtchnPort port[PVKIT_EVTCHN_PORTS];
    PVKitEvtchnStats stats;
} PVKitEvtchnState;

/*
 * Close every port (releasing device model bindings), clear the upcall
 * vectors, drop the vCPUs' areas and the shared-info page: the state of a
 * machine reset.
 */
void pvkit_evtchn_reset(const PVKitHostOps *ops, void *opaque);

/*
 * A device model binds guest port @port, which must be UNBOUND (the
 * guest allocated it with EVTCHN_ALLOC_UNBOUND), or a HOST/BACKEND port
 * whose binding was lost in migration.  From then on a guest SEND on the
 * port calls ops->backend_kick(@backend).  Returns 0 or -PVKIT_EINVAL.
 */
int pvkit_evtchn_backend_bind(const PVKitHostOps *ops, void *opaque,
                              uint32_t port, void *backend);

/*
 * Undo pvkit_evtchn_backend_bind(): the port becomes UNBOUND again and
 * ops->backend_release() is called.  Returns 0 or -PVKIT_EINVAL when the
 * port is not bound to a device model.
 */
int pvkit_evtchn_backend_unbind(const PVKitHostOps *ops, void *opaque,
                                uint32_t port);

/*
 * A device model signals the guest on @port (bound to it).  Returns 0
 * (the event was raised, possibly coalesced or dropped) or -PVKIT_EINVAL
 * when the port is not bound to a device model.
 */
int pvkit_evtchn_backend_notify(const PVKitHostOps *ops, void *opaque,
                                uint32_t port);

/*
 * A host device model takes the lowest free port for itself: state HOST,
 * endpoint PVKIT_ENDPOINT_BACKEND, vCPU 0, bound to @backend (not NULL)
 * as by pvkit_evtchn_backend_bind().  Returns the port, -PVKIT_ENOSPC or
 * -PVKIT_EINVAL (@backend NULL).
 */
int64_t pvkit_evtchn_backend_alloc(const PVKitHostOps *ops, void *opaque,
                                   void *backend);

/*
 * Close a port bound to a device model (ops->backend_release() is
 * called).  Returns 0 or -PVKIT_EINVAL when @port is not such a port.
 */
int pvkit_evtchn_backend_close(const PVKitHostOps *ops, void *opaque,
                               uint32_t port);

/*
 * True when the table read back by migration is consistent: every state,
 * vCPU and endpoint in range, port 0 closed, no device model bindings
 * (it drops stale backend pointers), vectors 0 or in range, vCPU areas
 * aligned (the host maps them again afterwards).
 */
bool pvkit_evtchn_post_load(PVKitEvtchnState *ec);

/*
 * Grant tables.  The guest's table is mapped by the host (ops->gnttab_set)
 * and its entries are changed by both sides, so the dispatcher touches
 * them only with atomic operations, following Xen's grant_entry_v1
 * protocol: while the host uses a grant it keeps PVKIT_GTF_READING (any
 * mapping) and PVKIT_GTF_WRITING (writable mappings) set in the entry,
 * and a guest revokes a grant only with a cmpxchg of the flags from a
 * value without those bits to 0.  Every function below and the grant
 * hypercalls must be called with the host's grant lock held (QEMU: the
 * BQL).
 */

#define PVKIT_GNTTAB_MAX_FRAMES 256
#define PVKIT_GNTTAB_MAX_REFS \
    (PVKIT_GNTTAB_MAX_FRAMES * PVKIT_GNTTAB_ENTRIES_PER_FRAME)
/* Concurrent host mappings (handles) of grants. */
#define PVKIT_GNTTAB_MAX_MAPS   1024
/* Mappings PVKIT_HC_TEST_GRANT keeps on the guest's behalf. */
#define PVKIT_GNTTAB_TEST_MAPS  64

/* One host mapping of a grant; @ptr NULL: the slot is free. */
typedef struct PVKitGrantMap {
    void *ptr;              /* host pointer to the granted page */
    uint32_t ref;
    uint32_t gen;           /* bumped on each use: stale handles fail */
    bool write;
    bool orphan;            /* revoked by GNTTAB_SETUP: only @ptr is held */
} PVKitGrantMap;

/* A mapping made by PVKIT_GNTTEST_MAP (or MAP_RO) for the guest. */
typedef struct PVKitGrantTestMap {
    bool used;
    int32_t handle;
    uint32_t ref;
} PVKitGrantTestMap;

/*
 * Counters, never reset.
 * @maps: successful mappings (pvkit_gnttab_host_map, and each copy)
 * @unmaps: mappings released (unmap, end of each copy, reset)
 * @mapped: mappings currently held (@maps - @unmaps)
 * @refused: map and copy requests that failed
 * @revoked: device model mappings GNTTAB_SETUP revoked (made orphans)
 */
typedef struct PVKitGnttabStats {
    uint64_t maps;
    uint64_t unmaps;
    uint64_t mapped;
    uint64_t refused;
    uint64_t revoked;
} PVKitGnttabStats;

typedef struct PVKitGnttabState {
    uint64_t gpa;                   /* table address (valid if nr_frames) */
    uint32_t nr_frames;             /* 0: no table */
    uint32_t nr_maps;               /* slots of @map in use */
    uint16_t ref_maps[PVKIT_GNTTAB_MAX_REFS];   /* mappings per ref */
    uint16_t ref_wmaps[PVKIT_GNTTAB_MAX_REFS];  /* of those writable */
    PVKitGrantMap map[PVKIT_GNTTAB_MAX_MAPS];
    PVKitGrantTestMap test[PVKIT_GNTTAB_TEST_MAPS];
    PVKitGnttabStats stats;
} PVKitGnttabState;

/*
 * Map grant @ref of the guest's table for host access, for writing when
 * @write.  On success stores a host pointer to the granted page
 * (PVKIT_PAGE_SIZE bytes) in *@ptr and returns a handle >= 0 for
 * pvkit_gnttab_host_unmap(); the entry's READING (and for @write WRITING)
 * flag stays set until the last such mapping of @ref is unmapped, so the
 * guest cannot revoke the grant meanwhile.  Errors, checked in this
 * order, with nothing changed:
 *   -PVKIT_ENOENT  no grant table is set up
 *   -PVKIT_EINVAL  @ref >= nr_frames * PVKIT_GNTTAB_ENTRIES_PER_FRAME
 *   -PVKIT_EPERM   the entry is not PERMIT_ACCESS for PVKIT_DOMID_HOST,
 *                  or @write and it is READONLY
 *   -PVKIT_EFAULT  the frame is not guest RAM (writable RAM for @write)
 *   -PVKIT_ENOSPC  PVKIT_GNTTAB_MAX_MAPS mappings are held already
 *   -PVKIT_EBUSY   the guest kept changing the entry while the host
 *                  tried to mark it in use (a misbehaving guest)
 */
int pvkit_gnttab_host_map(const PVKitHostOps *ops, void *opaque,
                          uint32_t ref, bool write, void **ptr);

/*
 * Release a mapping: 0, or -PVKIT_EINVAL for a handle not in use.  A
 * mapping the guest revoked (GNTTAB_SETUP: detach or a new table) is
 * still released with 0; only its page is unmapped, no table is touched.
 */
int pvkit_gnttab_host_unmap(const PVKitHostOps *ops, void *opaque,
                            int handle);

/*
 * Copy @len bytes between @buf and offset @offset of the page granted by
 * @ref: into the guest page when @write, out of it otherwise (map, copy,
 * unmap).  Returns 0 or the errors of pvkit_gnttab_host_map() (but never
 * -PVKIT_ENOSPC: copies take no handle), plus -PVKIT_EINVAL, checked
 * right after the frame, when @offset + @len exceeds PVKIT_PAGE_SIZE.
 * @len 0 checks the grant (and marks it in use for the duration of the
 * call) but copies nothing.
 */
int pvkit_gnttab_host_copy(const PVKitHostOps *ops, void *opaque,
                           uint32_t ref, uint32_t offset, uint32_t len,
                           void *buf, bool write);

/*
 * Release every host mapping (clearing the flags they set in the table)
 * and drop the table: the state of a machine reset.  Handles held by
 * device models become invalid.
 */
void pvkit_gnttab_reset(const PVKitHostOps *ops, void *opaque);

/*
 * After migration: check the table address read back (false: refuse the
 * stream), map the table again, and clear READING/WRITING in every entry
 * (host mappings are not migrated, so none is held).  Must be called with
 * no host mapping held (after pvkit_gnttab_reset()).
 */
bool pvkit_gnttab_post_load(const PVKitHostOps *ops, void *opaque);

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
 * The general-purpose registers a hypercall uses: the number travels in
 * the OUT (eax), the arguments in rdi, rsi, r10, r8, r9, the result comes
 * back in rax.  Nothing else of the vCPU is read or written, so a host
 * under KVM fetches and stores only these (KVM_GET_REGS/KVM_SET_REGS)
 * instead of the whole vCPU state.
 */
typedef struct PVKitHcallRegs {
    uint64_t rax;
    uint64_t rdi;
    uint64_t rsi;
    uint64_t r10;
    uint64_t r8;
    uint64_t r9;
} PVKitHcallRegs;

/*
 * pvkit_dispatch() on registers: hypercall @nr with the arguments in @r;
 * stores the result in @r->rax (and returns it).  No other field changes.
 */
int64_t pvkit_dispatch_regs(const PVKitHostOps *ops, void *opaque,
                            uint32_t nr, PVKitHcallRegs *r);

/*
 * CPUID leaf @index for a host offering @features whose leaves start at
 * @base.  Returns true and fills @regs (eax, ebx, ecx, edx) when @index is
 * one of the pvkit leaves, false otherwise.
 */
bool pvkit_cpuid(uint32_t base, uint32_t index, uint64_t features,
                 uint32_t regs[4]);

/*
 * The CPUID leaves of other interfaces the VMM places below the kit's
 * (QEMU: target/i386/kvm/kvm.c kvm_arch_init_vcpu(), target/i386/cpu.c
 * cpu_x86_cpuid()).
 * @kvm: the accelerator is KVM (else TCG, whose own leaves sit at
 *   0x40000000).
 * @hyperv: KVM with Hyper-V enlightenments (hv-*): Hyper-V's leaves take
 *   0x40000000 and push KVM's (or Xen's) to 0x40000100.
 * @xen: KVM's Xen emulation: Xen's leaves take the next block (and KVM's
 *   are then not offered).
 * @kvm_leaves: KVM's own signature leaves are offered (expose-kvm).
 */
typedef struct PVKitCpuidLayout {
    bool kvm;
    bool hyperv;
    bool xen;
    bool kvm_leaves;
} PVKitCpuidLayout;

/*
 * The kit's CPUID base for layout @l.  @want 0: automatic,
 * PVKIT_CPUID_BASE (0x40000100) unless the blocks below it are taken,
 * else the first free block (0x40000200 with KVM + Hyper-V).  Otherwise
 * @want itself when it is a free, PVKIT_CPUID_STEP-aligned block in the
 * guest's scan range; 0 when it collides with another interface's leaves
 * or is outside that range (the host must then refuse to start: the
 * VMM's table keeps the other leaves and the kit would vanish).
 */
uint32_t pvkit_cpuid_pick_base(const PVKitCpuidLayout *l, uint32_t want);

/*
 * The QEMU device's C API for device models that implement the host end
 * of a guest port (implemented in pvkit.c, not available to the unit
 * tests).  Callable from any thread: each takes the BQL when the caller
 * does not hold it, so do not call them from code the main loop may be
 * waiting for synchronously.  They return -PVKIT_ENOENT when there is no
 * pvkit device.
 *
 * pvkit_evtchn_bind_backend: bind guest port @port (allocated by the
 *   guest with EVTCHN_ALLOC_UNBOUND and passed to the device model by
 *   some guest-specific means) to @handler.  Each guest EVTCHN_SEND on
 *   the port schedules @handler(@opaque) as a bottom half in @ctx (NULL:
 *   the main loop) and returns to the guest at once; sends made before
 *   the handler ran are coalesced into one call.  -PVKIT_EINVAL when the
 *   port is not UNBOUND.
 * pvkit_evtchn_unbind_backend: the port goes back to UNBOUND; a handler
 *   already scheduled may still run once.  -PVKIT_EINVAL when the port is
 *   not bound to a device model.
 * pvkit_evtchn_notify: raise an event on the port towards the guest.
 *   -PVKIT_EINVAL when the port is no longer bound to a device model (the
 *   guest closed it, or the machine was reset: bindings do not survive
 *   either, nor migration — rebind in the device model's post_load).
 */
struct AioContext;
int pvkit_evtchn_bind_backend(uint32_t port, struct AioContext *ctx,
                              void (*handler)(void *opaque), void *opaque);
int pvkit_evtchn_unbind_backend(uint32_t port);
int pvkit_evtchn_notify(uint32_t port);

/*
 * The QEMU device's grant API for device models (pvkit.c), on top of
 * pvkit_gnttab_host_map() and friends, with the same results; each takes
 * the BQL when the caller does not hold it, and returns -PVKIT_ENOENT
 * also when there is no pvkit device or PVKIT_F_GNTTAB is off.
 *
 * pvkit_gnttab_map: map grant @ref; on success *@ptr points to the guest
 *   page (4096 bytes, writable only when @write) and the result is a
 *   handle >= 0.  The pointer may be used without the BQL until
 *   pvkit_gnttab_unmap(@handle).  A machine reset releases all mappings
 *   (the handle then fails with -PVKIT_EINVAL and the pointer must no
 *   longer be used).  A guest GNTTAB_SETUP (detach, a new table, a new
 *   kernel after kexec) revokes it: the pointer stays valid host memory
 *   but the page is the guest's again, so stop using it and unmap the
 *   handle (which succeeds).  While mappings are held the device blocks
 *   migration.
 * pvkit_gnttab_unmap: release a mapping.
 * pvkit_gnttab_copy: copy between @buf and [@offset, @offset + @len) of
 *   the page granted by @ref (@write: into the guest page).
 */
int pvkit_gnttab_map(uint32_t ref, bool write, void **ptr);
int pvkit_gnttab_unmap(int handle);
int pvkit_gnttab_copy(uint32_t ref, uint32_t offset, uint32_t len,
                      void *buf, bool write);

#endif /* HW_PVKIT_DISPATCH_H */
