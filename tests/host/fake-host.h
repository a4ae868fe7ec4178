// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fake host the unit tests (test-dispatch.c) and the fuzzer
 * (fuzz-dispatch.c) run the dispatcher against: the PVKitHostOps of
 * pvkit-dispatch.h over a guest memory map each program defines (RAM, ROM
 * and MMIO regions, holes between them), recording every callback.
 *
 * Each callback checks the host-ops contract (lengths, alignment, vCPU
 * and vector ranges, a table to write to); a broken contract is reported
 * through fake_env.fail, which the unit tests make abort and the fuzzer
 * count as a violation, and the fake then refuses the request.
 */
#ifndef TESTS_HOST_FAKE_HOST_H
#define TESTS_HOST_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvkit-dispatch.h"

enum region_kind { RAM, ROM, MMIO };

struct region {
    const char *name;
    uint64_t base;
    uint64_t size;
    enum region_kind kind;
    uint8_t *mem;
    uint8_t *shadow;            /* the fuzzer's model of mem, or NULL */
};

/* What the program supplies. */
struct fake_env {
    struct region *regions;
    size_t nr_regions;
    /*
     * A broken host-ops contract: @state false for a bad argument
     * (length, address, vCPU, vector), true for a bad sequence (unmap
     * without map, dropping more input than there is).
     */
    void (*fail)(bool state, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    /* Optional: every mem_read ('r'), mem_write ('w'), mem_check ('c'). */
    void (*access)(char kind, uint64_t gpa, uint32_t len, int ret);
};

extern struct fake_env fake_env;

struct fake_host {
    uint64_t features;
    uint64_t vcpus;             /* bit n: APIC ID n exists (n < 64) */

    /* guest memory */
    unsigned int mem_calls;     /* mem_read and mem_write calls */
    unsigned int writes_ok;     /* successful mem_write calls */
    unsigned int mmio_touched;  /* accesses that reached an MMIO region */

    /* console: output appended, at most out_limit bytes per call */
    uint8_t out[2 * PVKIT_HC_MAX_LEN];
    uint32_t out_len;
    uint32_t out_limit;
    unsigned int out_calls;
    uint8_t in[512];
    uint32_t in_len;

    /* event channels */
    PVKitEvtchnState ec;
    uint8_t *shared;            /* mapped shared-info page or NULL */
    uint64_t shared_gpa;
    unsigned int shared_sets;
    unsigned int shared_writes;
    /* vCPUs' registered vcpu_info areas (NULL: none mapped) */
    uint8_t *vcpu_area[PVKIT_MAX_VCPUS];
    uint64_t vcpu_area_gpa[PVKIT_MAX_VCPUS];
    unsigned int vcpu_area_sets;
    unsigned int vcpu_area_writes;
    unsigned int injects;
    uint32_t inject_vcpu;
    uint8_t inject_vector;
    unsigned int kicks;
    uint32_t kick_port;
    void *kick_backend;
    unsigned int releases;
    uint32_t release_port;      /* the last release */
    void *release_backend;
    uint32_t release_ports[8];  /* the first eight */
    void *release_backends[8];

    /* clock: the parameters clock_params hands out, records mapped */
    PVKitClockState clock;
    struct pvkit_time_info clock_p;
    struct pvkit_wall_clock wall;   /* what clock_wall answers */
    uint8_t *clock_rec[PVKIT_MAX_VCPUS];
    unsigned int clock_sets;
    unsigned int clock_writes;

    /* steal time: each vCPU thread's run delay (ns), records mapped */
    PVKitStealState steal;
    uint64_t run_delay[PVKIT_MAX_VCPUS];
    bool run_delay_fails;       /* the host cannot read run delays now */
    uint8_t *steal_rec[PVKIT_MAX_VCPUS];
    unsigned int steal_sets;
    unsigned int steal_writes;
    bool preempted[PVKIT_MAX_VCPUS];    /* what steal_preempted says */

    /* the vCPU making the hypercall */
    uint32_t self;
    /* TEST_HOLD: calls that reached the host, the last one, busy? */
    unsigned int holds;
    uint32_t hold_vcpu;
    uint32_t hold_ms;
    bool hold_busy;

    /* spinlocks: vCPUs parked by vcpu_block until vcpu_unblock */
    PVKitSpinState spin;
    bool parked[PVKIT_MAX_VCPUS];
    unsigned int block_calls;
    unsigned int unblock_calls;

    /* TLB flush: flushes queued per vCPU and not yet waited for */
    PVKitTlbState tlb;
    unsigned int tlb_queued[PVKIT_MAX_VCPUS];
    unsigned int tlb_unsynced;  /* queued since the last tlb_flush_sync */
    unsigned int tlb_syncs;
    uint64_t tlb_va;            /* the last flush's range */
    uint64_t tlb_pages;

    /* grant tables */
    PVKitGnttabState gt;
    uint8_t *gnttab;            /* mapped table or NULL */
    uint32_t gnttab_nr;
    unsigned int gnttab_sets;
    unsigned int gnttab_writes;
    unsigned int page_maps;     /* successful page_map calls */
    unsigned int page_unmaps;
    unsigned int page_unmaps_w;
    uint16_t unmap_flags;       /* entry flags seen at the last unmap */
    uint32_t unmap_ref;         /* entry whose flags unmap records */
    void (*map_hook)(void);     /* runs inside page_map: a racing guest */

    /*
     * Store: as pvkit.c (map, bind a port with
     * pvkit_evtchn_backend_alloc()), or with @store_refuse every connect
     * is refused with -PVKIT_ENOSPC after the contract checks.
     */
    bool store_refuse;
    uint8_t *store_ring;        /* mapped ring page or NULL */
    uint32_t store_port;
    unsigned int store_calls;   /* store_setup calls that reached the host */
    int store_token;            /* the store's backend handle */
};

extern struct fake_host host;
extern const PVKitHostOps ops;

/* True when APIC ID @vcpu exists in host.vcpus. */
static inline bool fake_vcpu_present(uint64_t vcpu)
{
    return vcpu < 64 && (host.vcpus >> vcpu) & 1;
}

/* The region holding all of [gpa, gpa + len), or NULL. */
struct region *fake_find(uint64_t gpa, uint64_t len);

#endif /* TESTS_HOST_FAKE_HOST_H */
