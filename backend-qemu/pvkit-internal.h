/*
 * pvkit reference host device: what its files share
 *
 * pvkit.c is the ISA device (guest memory, console, event-channel and
 * grant glue, CPU hooks, migration, the Xen bus), pvkit-store.c the store
 * server, pvkit-clock-tcg.c the clock's parameters, pvkit-steal-tcg.c
 * steal time's source, pvkit-vcpu-tcg.c parking and flushing vCPUs,
 * pvkit-api.c the C API
 * for device models (pvkit-dispatch.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_PVKIT_INTERNAL_H
#define HW_PVKIT_INTERNAL_H

#include "qemu/fifo8.h"
#include "qapi/qapi-types-common.h"
#include "chardev/char-fe.h"
#include "exec/memory.h"
#include "hw/isa/isa.h"
#include "qom/object.h"
#include "cpu.h"
#include "target/i386/pv-hooks.h"
#include "hw/i386/kvm/xenstore_impl.h"
#include "pvkit-dispatch.h"
#include "pvkit-xs-ring.h"

#define TYPE_PVKIT "pvkit"
OBJECT_DECLARE_SIMPLE_TYPE(PVKitState, PVKIT)

/* The store: the guest is domain 1 and the host domain 0, as in Xen. */
#define PVKIT_DOMID_GUEST   1
/* Requests served per bottom half run before it yields. */
#define PVKIT_XS_BUDGET     64
/* Transactions the guest may hold open (the engine allows 10). */
#define PVKIT_XS_MAX_TX     16

/*
 * Guest RAM the host keeps mapped while the guest has it registered (the
 * shared-info page, the grant table, the store ring): a reference on the
 * RAM region and the host address, so the host can use atomic operations
 * on words it shares with the guest.  @ptr is NULL when nothing is mapped.
 */
typedef struct PVKitGuestRam {
    MemoryRegion *mr;
    hwaddr offset;
    void *ptr;
} PVKitGuestRam;

struct PVKitState {
    ISADevice parent_obj;

    MemoryRegion io;
    CharBackend chr;
    Fifo8 rx;
    uint32_t iobase;
    bool test_hypercalls;
    bool evtchn;
    bool gnttab;
    bool store;
    bool vcpu_ops;
    bool clock;
    bool steal_prop;
    bool spin_prop;
    bool tlb_flush_prop;
    uint32_t cpuid_base_prop;   /* 0: automatic */
    OnOffAuto xen_bus_prop;
    bool xen_bus;               /* QEMU's Xen backends are served */

    /* PVKIT_F_* offered; fixed at realize (read by CPUID without BQL). */
    uint64_t features;
    /* The CPUID/MSR hooks, with the base chosen at realize. */
    X86PVHooks pv_hooks;
    /* Last accepted value of PVKIT_MSR_HYPERCALL_PAGE. */
    uint64_t hcall_msr;

    /* Event channels: port table, vectors, counters (BQL). */
    PVKitEvtchnState ec;
    /* The mapped shared-info page. */
    PVKitGuestRam shared_ram;
    /* Each vCPU's registered vcpu_info, mapped (none: in shared_ram). */
    PVKitGuestRam vcpu_ram[PVKIT_MAX_VCPUS];

    /*
     * Clock: system time is clock_sys0 + the TSC's advance since
     * clock_tsc0, scaled by clock_mul and clock_shift (SPEC section 13).
     * clock_hz (this host's counter rate) and clock_stable do not
     * migrate; the rest does.
     */
    PVKitClockState clk;
    PVKitGuestRam clock_ram[PVKIT_MAX_VCPUS];
    uint64_t clock_hz;
    uint64_t clock_tsc0;
    uint64_t clock_sys0;
    uint32_t clock_mul;
    int8_t clock_shift;
    bool clock_stable;
    VMChangeStateEntry *vm_state;   /* tells the guest after a pause */

    /* Steal time: records, counts (BQL); the periodic update. */
    PVKitStealState st;
    PVKitGuestRam steal_ram[PVKIT_MAX_VCPUS];
    QEMUTimer *steal_timer;
    int schedstat_fd[PVKIT_MAX_VCPUS];  /* fd + 1 of each thread's; 0: none */
    uint64_t seen_on_cpu[PVKIT_MAX_VCPUS];  /* at the last preempted look */
    uint64_t seen_delay[PVKIT_MAX_VCPUS];

    /* Spinlocks: parked and kicked vCPUs (BQL). */
    PVKitSpinState spin;
    /* TLB flush counters (BQL). */
    PVKitTlbState tlb;
    /* TEST_HOLD: the vCPU held stopped, until hold_timer fires. */
    QEMUTimer *hold_timer;
    uint32_t held_vcpu;
    bool held;

    /* Grant tables: mappings, per-ref counts, counters (BQL). */
    PVKitGnttabState gt;
    /* The mapped grant table. */
    PVKitGuestRam gnttab_ram;

    /* The store (BQL): engine, ring mapping, port, connection. */
    XenstoreImplState *xs;
    QEMUBH *xs_bh;              /* serves the ring; the port's backend */
    PVKitGuestRam xs_ram;       /* the ring; unmapped: disconnected */
    uint32_t xs_port;
    uint32_t xs_tx[PVKIT_XS_MAX_TX];    /* the guest's open transactions */
    PVKitXsConn xs_conn;

    /* Device-model event-channel bindings held (the store's included). */
    uint32_t nr_bindings;
    /* Held while the guest uses what does not migrate; NULL: none. */
    Error *migration_blocker;
    bool in_use;                /* pvkit_in_use() when last looked at */
};

/* The device, or NULL (pvkit.c).  The CPUID leaves and MSR allow one. */
extern PVKitState *pvkit_instance;
/* The host operations the dispatcher calls (pvkit.c). */
extern const PVKitHostOps pvkit_host_ops;

/* Guest RAM the device keeps mapped (pvkit.c). */
int pvkit_guest_ram_map(PVKitGuestRam *m, uint64_t gpa, uint64_t len);
void pvkit_guest_ram_dirty(PVKitGuestRam *m, hwaddr offset, hwaddr len);

/* Hold a migration blocker while the kit is in use (pvkit.c). */
void pvkit_migration_update(PVKitState *s);

/* The clock's parameters under TCG (pvkit-clock-tcg.c). */
bool pvkit_clock_init(PVKitState *s);
void pvkit_clock_post_load(PVKitState *s);
void pvkit_clock_params(void *opaque, struct pvkit_time_info *p);
void pvkit_clock_wall(void *opaque, struct pvkit_wall_clock *w);

/* Steal time's source under TCG (pvkit-steal-tcg.c). */
bool pvkit_steal_available(void);
int pvkit_steal_run_delay(void *opaque, uint32_t vcpu, uint64_t *ns);
bool pvkit_steal_preempted(void *opaque, uint32_t vcpu);
void pvkit_steal_init(PVKitState *s);
void pvkit_steal_kick(PVKitState *s);
void pvkit_steal_fini(PVKitState *s);

/* Parking, kicking, flushing and holding vCPUs (pvkit-vcpu-tcg.c). */
uint32_t pvkit_vcpu_self(void *opaque);
void pvkit_vcpu_block(void *opaque, uint32_t vcpu);
bool pvkit_vcpu_unblock(void *opaque, uint32_t vcpu);
void pvkit_tlb_flush(void *opaque, uint32_t vcpu, uint64_t va,
                     uint64_t pages);
void pvkit_tlb_flush_sync(void *opaque);
int pvkit_test_hold(void *opaque, uint32_t vcpu, uint32_t ms);
bool pvkit_vcpu_held(PVKitState *s, uint32_t vcpu);
void pvkit_hold_fini(PVKitState *s, bool free_timer);

/* The store server (pvkit-store.c). */
int64_t pvkit_store_setup(void *opaque, uint64_t gpa);
void pvkit_store_unmap(PVKitState *s);
void pvkit_store_populate(PVKitState *s);
void pvkit_xs_bh(void *opaque);

#endif /* HW_PVKIT_INTERNAL_H */
