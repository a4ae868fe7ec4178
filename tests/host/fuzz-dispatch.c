// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Randomised test of the pvkit hypercall dispatcher
 * (backend-qemu/pvkit-dispatch.c) against the fake host of fake-host.c
 * (shared with the unit tests), with a model of
 * hypercall/SPEC.md that every call is checked against.
 *
 *   fuzz-dispatch [-n CALLS] [-s SEED] [-v]     seeded loop (gcc or clang)
 *   built with -DPVKIT_LIBFUZZER -fsanitize=fuzzer: a libFuzzer target
 *   whose input bytes replace the random generator.
 *
 * Guest memory: 64 KiB RAM at 0, one 4 KiB ROM page at 0x20000, 64 KiB
 * RAM at 0x100000, one 4 KiB MMIO page at 0x110000, holes elsewhere.
 * Each region is its own heap block, so ASan catches a host pointer that
 * leaves a region; the fake's memory ops record every access.
 *
 * A shadow copy of all guest memory holds what the guest should see.
 * The model applies to it exactly the changes SPEC.md allows for the call
 * (CONSOLE_READ: the bytes returned; TEST_COPY: dst = src; the delivery
 * steps of section 6 on the shared-info page for SEND, UNMASK and device
 * model notifies; the hypercall page for the MSR), and after every call
 * all of guest memory must equal the shadow.  A call that returned an
 * error gets no allowance at all: SPEC.md section 4 ("a failing
 * hypercall changes no guest memory") and section 6 ("a failing call
 * changes nothing, neither host state nor guest memory") leave no room,
 * not even the shared page or grant flags, which the host only changes
 * while delivering or while a grant is in use.  Numbers whose semantics
 * the model does not know yet (grant tables, 16..18, and any later
 * number) are checked generically: on success the only changes allowed
 * are the READING/WRITING bits of grant-table flags words and, for
 * TEST_GRANT WRITE, the range of the page the entry grants.
 *
 * Spinlocks and TLB flush (ABI 1.6; SPEC.md has no section for them
 * yet, so the model follows hypercall/pvkit.h and the checks of
 * pvkit-spin.c and pvkit-tlb.c, in their order): the calling vCPU is
 * host.self, mostly an existing vCPU, sometimes >= 256 or one the
 * machine lacks (never when it would park: the host only runs vCPUs it
 * has).  The model keeps each vCPU's waiting and kick_pending flags,
 * whether the fake has it parked, the spin and TLB counters and the
 * steal records' addresses; every call is followed by a comparison with
 * host.spin, host.parked, host.tlb and host.steal.  A parked vCPU makes
 * no call: before it runs again an interrupt wakes it (host.parked
 * cleared, as the fuzzer also does at random).  Steal records carry the
 * fake's host.preempted, which the fuzzer toggles and then has the host
 * rewrite the records (pvkit_steal_update, _update_all).
 *
 * Invariant classes (violations are counted per class):
 *   memory   guest memory differs from the model (includes: error
 *            changed memory; success changed more than allowed)
 *   bounds   the dispatcher broke the host-ops contract: a length 0 or
 *            > 4096 or a wrapping range reached mem_*, a misaligned
 *            shared page, a vCPU >= 32, a bad injection, a ROM or MMIO
 *            byte changed
 *   result   a result that is neither >= 0 nor one of the PVKIT_E* the
 *            ABI lists, or not what SPEC.md says for these arguments
 *            (errors: any error whose condition holds is accepted, since
 *            SPEC.md does not order the checks)
 *   state    host state differs from the model: port table, vectors,
 *            shared page, counters, console input, device model
 *            callbacks, post_load() consistency; spin waiting /
 *            kick_pending / parked, vcpu_block and vcpu_unblock calls
 *            (none for a failing call), spin and TLB counters,
 *            tlb_flush calls (one per vCPU of a successful TLB_FLUSH's
 *            set, with its range; none otherwise) and tlb_flush_sync
 *            (once iff something was queued), steal record addresses
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake-host.h"

#define PAGE        PVKIT_PAGE_SIZE
#define PAGE_MASK   (~(uint64_t)(PAGE - 1))

#ifndef PVKIT_F_GNTTAB
#define PVKIT_F_GNTTAB 0
#endif
#define ALL_F (PVKIT_F_HYPERCALL_PAGE | PVKIT_F_CONSOLE | PVKIT_F_TEST | \
               PVKIT_F_EVTCHN | PVKIT_F_GNTTAB | PVKIT_F_VCPU | \
               PVKIT_F_CLOCK | PVKIT_F_STEAL | PVKIT_F_SPIN | \
               PVKIT_F_TLB_FLUSH)
#define NEW_F (PVKIT_F_SPIN | PVKIT_F_TLB_FLUSH)    /* ABI 1.6 */

/* ---- guest memory ---- */

#define RAM_A    0x0ull
#define ROM_BASE 0x20000ull
#define RAM_B    0x100000ull
#define MMIO_B   0x110000ull
#define RAM_SIZE 0x10000ull

static struct region regions[] = {
    { "ram-a", RAM_A, RAM_SIZE, RAM, NULL, NULL },
    { "rom", ROM_BASE, PAGE, ROM, NULL, NULL },
    { "ram-b", RAM_B, RAM_SIZE, RAM, NULL, NULL },
    { "mmio", MMIO_B, PAGE, MMIO, NULL, NULL },
};
#define NR_REGIONS (sizeof(regions) / sizeof(regions[0]))

/* What the ABI says about [gpa, gpa + len), len > 0. */
static bool readable(uint64_t gpa, uint64_t len)
{
    struct region *r = fake_find(gpa, len);

    return r && r->kind != MMIO;
}

static bool writable(uint64_t gpa, uint64_t len)
{
    struct region *r = fake_find(gpa, len);

    return r && r->kind == RAM;
}

static uint8_t *shadow_ptr(uint64_t gpa)
{
    struct region *r = fake_find(gpa, 1);

    return r ? r->shadow + (gpa - r->base) : NULL;
}

static uint8_t *mem_ptr(uint64_t gpa)
{
    struct region *r = fake_find(gpa, 1);

    return r ? r->mem + (gpa - r->base) : NULL;
}

/* ---- violations ---- */

enum vclass { V_MEMORY, V_BOUNDS, V_RESULT, V_STATE, V_NR };
static const char *const vclass_name[V_NR] = {
    "memory", "bounds", "result", "state"
};
static uint64_t violations[V_NR];
static unsigned int verbose;

/* What is running, for reports. */
static struct {
    uint64_t seed;
    uint64_t iter;
    const char *what;
    uint32_t nr;
    uint64_t args[5];
    uint32_t self;              /* the calling vCPU */
} cur;

static void violation(enum vclass c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(enum vclass c, const char *fmt, ...)
{
    va_list ap;

    if (violations[c]++ < 20 || verbose) {
        printf("# VIOLATION %s: seed %" PRIu64 " call %" PRIu64 " %s nr %u"
               " args %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64
               " %#" PRIx64 " self %u: ", vclass_name[c], cur.seed,
               cur.iter, cur.what, cur.nr, cur.args[0], cur.args[1],
               cur.args[2], cur.args[3], cur.args[4], cur.self);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
    }
#ifdef PVKIT_LIBFUZZER
    abort();
#endif
}

/* ---- random source: splitmix64, or the libFuzzer input ---- */

static uint64_t rng_state;
static const uint8_t *fz_data;
static size_t fz_left;
static bool fz_mode;

static uint64_t rnd64(void)
{
    uint64_t z;

    if (fz_mode) {
        z = 0;
        for (int i = 0; i < 8 && fz_left; i++, fz_left--) {
            z |= (uint64_t)*fz_data++ << (8 * i);
        }
        return z;
    }
    z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform-ish in [0, n), n > 0; consumes one byte in libFuzzer mode when
 * n <= 256. */
static uint64_t rnd(uint64_t n)
{
    if (fz_mode && n <= 256) {
        uint8_t b = 0;

        if (fz_left) {
            b = *fz_data++;
            fz_left--;
        }
        return b % n;
    }
    return rnd64() % n;
}

static bool chance(unsigned int percent)
{
    if (fz_mode && !fz_left) {
        return false;       /* an exhausted input takes no detours */
    }
    return rnd(100) < percent;
}

/* ---- the fake host (fake-host.c): what this program adds ---- */

#define MAX_LOG 16
struct access {
    char kind;                  /* 'r', 'w', 'c' (check) */
    uint64_t gpa;
    uint32_t len;
    int ret;
};

static void *const tokens[4] = {
    (void *)&regions[0], (void *)&regions[1], (void *)&regions[2],
    (void *)&regions[3],
};

/* The current call: console input before it, memory accesses during it. */
static struct {
    uint8_t in_before[sizeof(host.in)];
    uint32_t in_len_before;
    struct access log[MAX_LOG];
    unsigned int nlog;
} call;

static void log_access(char kind, uint64_t gpa, uint32_t len, int ret)
{
    if (call.nlog < MAX_LOG) {
        call.log[call.nlog] = (struct access){ kind, gpa, len, ret };
    }
    call.nlog++;
}

static void fail_contract(bool state, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A broken host-ops contract is a violation: bounds, or state. */
static void fail_contract(bool state, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    violation(state ? V_STATE : V_BOUNDS, "%s", buf);
}

/*
 * Every callback is mandatory; one added to PVKitHostOps (grant tables)
 * that this file does not fake yet would be a NULL call.  Count them.
 */
static unsigned int missing_ops(void)
{
    uintptr_t slot[sizeof(ops) / sizeof(uintptr_t)];
    unsigned int i, n = 0;

    memcpy(slot, &ops, sizeof(slot));
    for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++) {
        n += slot[i] == 0;
    }
    return n;
}

/* ---- the model ---- */

static struct {
    PVKitEvtchnPort port[PVKIT_EVTCHN_PORTS];
    uint8_t vector[PVKIT_MAX_VCPUS];
    uint64_t vcpu_gpa[PVKIT_MAX_VCPUS];    /* registered areas, 0: none */
    uint64_t shared_gpa;
    uint64_t hypercalls[PVKIT_HC_COUNT];
    /* grant tables, as far as the calls told us */
    uint64_t gnt_gpa;
    uint64_t gnt_frames;
    uint64_t gnt_old_gpa;       /* the table a GNTTAB_SETUP replaced */
    uint64_t gnt_old_frames;
    uint64_t gnt_max;           /* GNTTAB_MAX_FRAMES, 0: unknown */
    uint64_t hcall_msr;
    uint32_t open[PVKIT_EVTCHN_PORTS];  /* scratch: open ports */
    uint32_t good_ref[32];              /* refs setup() made valid */
    unsigned int nr_good;
    /* spinlocks and TLB flush: host.spin, host.parked, host.tlb */
    uint8_t waiting[PVKIT_MAX_VCPUS];
    uint8_t kick_pending[PVKIT_MAX_VCPUS];
    bool parked[PVKIT_MAX_VCPUS];
    PVKitSpinStats spin_stats;
    PVKitTlbStats tlb_stats;
    uint64_t steal_gpa[PVKIT_MAX_VCPUS];    /* registered, 0: none */
} model;

/* Statistics. */
static uint64_t calls_total, errors_total;
static uint64_t calls_by_nr[PVKIT_HC_COUNT + 1];    /* last: others */
static uint64_t errors_by_nr[PVKIT_HC_COUNT + 1];
static uint64_t calls_by_errno[64];
static uint64_t deep;   /* successful calls that changed guest memory */

static bool feat(uint64_t f)
{
    return (host.features & f) == f;
}

static bool abi_errno(int64_t e)
{
    switch (e) {
    case PVKIT_EPERM: case PVKIT_E2BIG: case PVKIT_EFAULT:
    case PVKIT_EINVAL: case PVKIT_ENOSYS: case PVKIT_ENOENT:
    case PVKIT_EBUSY: case PVKIT_ENOSPC: case PVKIT_EIO:
        return true;
    }
    return false;
}

static __attribute__((unused)) const char *errno_name(int e)
{
    switch (e) {
    case PVKIT_EPERM: return "EPERM";
    case PVKIT_E2BIG: return "E2BIG";
    case PVKIT_EFAULT: return "EFAULT";
    case PVKIT_EINVAL: return "EINVAL";
    case PVKIT_ENOSYS: return "ENOSYS";
    case PVKIT_ENOENT: return "ENOENT";
    case PVKIT_EBUSY: return "EBUSY";
    case PVKIT_ENOSPC: return "ENOSPC";
    }
    return "?";
}

#define ERR(e) (1ull << (e))

static bool model_open(uint64_t port)
{
    return port != 0 && port < PVKIT_EVTCHN_PORTS &&
           model.port[port].state != PVKIT_EVTCHN_CLOSED;
}

static uint32_t model_free_port(void)
{
    for (uint32_t p = 1; p < PVKIT_EVTCHN_PORTS; p++) {
        if (model.port[p].state == PVKIT_EVTCHN_CLOSED) {
            return p;
        }
    }
    return 0;
}

/* Errors of a vCPU argument. */
static uint64_t vcpu_errs(uint64_t vcpu)
{
    if (vcpu >= PVKIT_MAX_VCPUS) {
        return ERR(PVKIT_EINVAL);
    }
    return fake_vcpu_present(vcpu) ? 0 : ERR(PVKIT_ENOENT);
}

/* Expected injection of the current call, if any. */
static struct {
    unsigned int n;
    uint32_t vcpu;
    uint8_t vector;
} want_inject;

static struct pvkit_shared_info *shadow_si(void)
{
    return model.shared_gpa ?
           (struct pvkit_shared_info *)shadow_ptr(model.shared_gpa) : NULL;
}

/* A vCPU's vcpu_info in the shadow: its area, its slot, or none. */
static struct pvkit_vcpu_info *model_vi(struct pvkit_shared_info *si,
                                        uint32_t vcpu)
{
    if (model.vcpu_gpa[vcpu]) {
        return (struct pvkit_vcpu_info *)shadow_ptr(model.vcpu_gpa[vcpu]);
    }
    return si && vcpu < PVKIT_SHARED_INFO_VCPUS ? &si->vcpu_info[vcpu] :
           NULL;
}

static void want_one_inject(uint32_t vcpu, uint8_t vector)
{
    want_inject.n++;
    want_inject.vcpu = vcpu;
    want_inject.vector = vector;
}

/* SPEC.md section 6, delivery steps 4-5, applied to the shadow. */
static void model_raise(struct pvkit_shared_info *si, uint32_t vcpu,
                        uint32_t word)
{
    struct pvkit_vcpu_info *vi = model_vi(si, vcpu);

    if (!vi) {
        return;
    }
    vi->evtchn_pending_sel |= 1ull << word;
    vi->evtchn_upcall_pending = 1;
    if (model.vector[vcpu] && !vi->evtchn_upcall_mask) {
        want_one_inject(vcpu, model.vector[vcpu]);
    }
}

/* SPEC.md section 6, VCPU_INFO: the move, with the flags it carries. */
static void model_vcpu_info(uint32_t vcpu, uint64_t gpa)
{
    struct pvkit_vcpu_info *from, *to, old = { 0 };

    if (gpa == model.vcpu_gpa[vcpu]) {
        return;
    }
    from = gpa ? model_vi(shadow_si(), vcpu) : NULL;
    if (from) {
        old.evtchn_pending_sel = from->evtchn_pending_sel;
        old.evtchn_upcall_pending = from->evtchn_upcall_pending;
    }
    model.vcpu_gpa[vcpu] = gpa;
    if (!gpa || (!old.evtchn_pending_sel && !old.evtchn_upcall_pending)) {
        return;
    }
    to = model_vi(NULL, vcpu);
    to->evtchn_pending_sel |= old.evtchn_pending_sel;
    to->evtchn_upcall_pending = 1;
    if (model.vector[vcpu] && !to->evtchn_upcall_mask) {
        want_one_inject(vcpu, model.vector[vcpu]);
    }
}

/*
 * SPEC.md section 13, CLOCK_SETUP: the record is written at once from
 * the host's parameters, its version made odd, then even (from whatever
 * the guest left there).
 */
static void model_clock_setup(uint64_t gpa)
{
    struct pvkit_time_info *r, rec = host.clock_p;
    uint32_t v;

    if (!gpa) {
        return;
    }
    r = (struct pvkit_time_info *)shadow_ptr(gpa);
    v = (r->version + 1) | 1;
    rec.version = v + 1;
    rec.pad0 = 0;
    rec.pad[0] = rec.pad[1] = 0;
    memcpy(r, &rec, sizeof(rec));
}

/*
 * SPEC.md section 14, STEAL_SETUP: written at once, as on every update.
 * Run delays stay 0 here, so every vCPU's steal stays 0; only the
 * version, the value, the flags and the preempted byte are written, the
 * latter PVKIT_STEAL_PREEMPTED while the host holds @vcpu off (ABI 1.6).
 */
static void model_steal_setup(uint32_t vcpu, uint64_t gpa)
{
    struct pvkit_steal_time *r;
    uint32_t v;

    if (!gpa) {
        return;
    }
    r = (struct pvkit_steal_time *)shadow_ptr(gpa);
    v = (r->version + 1) | 1;
    r->version = v + 1;
    r->steal = 0;
    r->flags = 0;
    r->preempted = host.preempted[vcpu] ? PVKIT_STEAL_PREEMPTED : 0;
}

/* Errors of STEAL_SETUP. */
static uint64_t steal_errs(const uint64_t *a)
{
    if (!feat(PVKIT_F_STEAL)) {
        return ERR(PVKIT_ENOSYS);
    }
    if (a[2] || (a[1] & 63)) {
        return vcpu_errs(a[0]) | ERR(PVKIT_EINVAL);
    }
    if (vcpu_errs(a[0])) {
        return vcpu_errs(a[0]);
    }
    return !a[1] || writable(a[1], sizeof(struct pvkit_steal_time)) ?
           0 : ERR(PVKIT_EFAULT);
}

/* Errors of CLOCK_SETUP and CLOCK_WALL. */
static uint64_t clock_errs(uint32_t nr, const uint64_t *a)
{
    if (!feat(PVKIT_F_CLOCK)) {
        return ERR(PVKIT_ENOSYS);
    }
    if (nr == PVKIT_HC_CLOCK_WALL) {
        if (a[1] || (a[0] & 7)) {
            return ERR(PVKIT_EINVAL);
        }
        return writable(a[0], sizeof(struct pvkit_wall_clock)) ?
               0 : ERR(PVKIT_EFAULT);
    }
    if (a[2] || (a[1] & 31)) {
        return vcpu_errs(a[0]) | ERR(PVKIT_EINVAL);
    }
    if (vcpu_errs(a[0])) {
        return vcpu_errs(a[0]);
    }
    return !a[1] || writable(a[1], sizeof(struct pvkit_time_info)) ?
           0 : ERR(PVKIT_EFAULT);
}

/* Errors of VCPU_SEND_IPI's set and vector. */
static uint64_t send_ipi_errs(const uint64_t *a)
{
    uint64_t errs = 0;

    if (a[2] < PVKIT_UPCALL_VECTOR_MIN || a[2] > PVKIT_UPCALL_VECTOR_MAX ||
        a[0] >= PVKIT_MAX_VCPUS) {
        return ERR(PVKIT_EINVAL);
    }
    for (uint64_t bits = a[1]; bits; bits &= bits - 1) {
        errs |= vcpu_errs(a[0] + (uint64_t)__builtin_ctzll(bits));
    }
    return errs;
}

/* SPEC.md section 6, delivery steps 1-5, applied to the shadow. */
static void model_deliver(uint32_t port)
{
    struct pvkit_shared_info *si = shadow_si();
    uint32_t word = port / 64;
    uint64_t bit = 1ull << (port % 64);

    if (!si) {
        return;
    }
    if (si->evtchn_pending[word] & bit) {
        return;
    }
    si->evtchn_pending[word] |= bit;
    if (si->evtchn_mask[word] & bit) {
        return;
    }
    model_raise(si, model.port[port].vcpu, word);
}

static void model_close(uint32_t port, void **release)
{
    *release = model.port[port].backend;
    memset(&model.port[port], 0, sizeof(model.port[port]));
}

/*
 * What SPEC.md says the result of the call is.  *errs collects every
 * error whose condition holds; when it is 0 the call must succeed and
 * return *value (unless *any_value).  Applies success effects to the
 * model and the shadow only through model_commit(), after the call.
 */
struct expect {
    uint64_t errs;
    bool known;         /* the model knows this number */
    bool any_value;     /* success value not predicted */
    int64_t value;
    void *release;      /* expected backend_release token */
    uint32_t release_port;
    bool kick;
    void *kick_backend;
    bool block;         /* SPIN_WAIT parks the caller: one vcpu_block */
    bool unblock;       /* SPIN_KICK finds its target waiting */
    uint64_t tlb_set;   /* TLB_FLUSH: the bitmap flushed */
};

/*
 * SPIN_WAIT, PVKIT_F_SPIN given: the caller (host.self) checked with the
 * arguments, then the byte; a kick kept for it ends the wait at once.
 */
static void spin_wait_expect(struct expect *x, const uint64_t *a)
{
    uint32_t self = host.self;

    if (a[2] || a[1] > UINT8_MAX || self >= PVKIT_MAX_VCPUS) {
        x->errs = ERR(PVKIT_EINVAL);
    } else if (!readable(a[0], 1)) {
        x->errs = ERR(PVKIT_EFAULT);
    } else if (model.kick_pending[self]) {
        x->value = PVKIT_SPIN_WAIT_KICKED;
    } else if (*shadow_ptr(a[0]) != a[1]) {
        x->value = PVKIT_SPIN_WAIT_CHANGED;
    } else {
        x->value = PVKIT_SPIN_WAIT_WOKEN;
        x->block = true;
    }
}

/*
 * SPIN_KICK: the target, then the flags.  A waiting target is unblocked;
 * it woke only if still parked (not already woken by an interrupt),
 * otherwise the kick is kept.
 */
static void spin_kick_expect(struct expect *x, const uint64_t *a)
{
    x->errs = vcpu_errs(a[0]);
    if (!x->errs && a[1]) {
        x->errs = ERR(PVKIT_EINVAL);
    }
    if (x->errs) {
        return;
    }
    x->unblock = model.waiting[a[0]];
    x->value = x->unblock && model.parked[a[0]] ? PVKIT_SPIN_KICK_WOKE :
               PVKIT_SPIN_KICK_PENDING;
}

/*
 * TLB_FLUSH: flags and first, then the range (whole 4 KiB pages, not
 * past 2^64; none means all and needs va 0), then every vCPU of the set
 * (which of several bad ones is reported is not the ABI's business).
 */
static void tlb_flush_expect(struct expect *x, const uint64_t *a)
{
    uint64_t first = a[0], va = a[2], pages = a[3];

    if (a[4] || first >= PVKIT_MAX_VCPUS ||
        (!pages && va) ||
        (pages && ((va & (PAGE - 1)) || pages > UINT64_MAX / PAGE ||
                   pages * PAGE - 1 > UINT64_MAX - va))) {
        x->errs = ERR(PVKIT_EINVAL);
        return;
    }
    for (uint64_t bits = a[1]; bits; bits &= bits - 1) {
        x->errs |= vcpu_errs(first + (uint64_t)__builtin_ctzll(bits));
    }
    x->value = __builtin_popcountll(a[1]);
    x->tlb_set = x->errs ? 0 : a[1];
}

/* Success effects of SPIN_WAIT and SPIN_KICK, as the model expected. */
static void model_spin(uint32_t nr, const uint64_t *a)
{
    uint32_t self = host.self;

    if (nr == PVKIT_HC_SPIN_WAIT) {
        model.spin_stats.waits++;
        if (model.kick_pending[self]) {
            model.kick_pending[self] = 0;
        } else if (*shadow_ptr(a[0]) == a[1]) {
            model.waiting[self] = 1;
            model.parked[self] = true;
            model.spin_stats.blocks++;
        }
        return;
    }
    model.spin_stats.kicks++;
    if (model.waiting[a[0]]) {
        model.waiting[a[0]] = 0;
        if (model.parked[a[0]]) {
            model.parked[a[0]] = false;
            model.spin_stats.wakes++;
            return;
        }
    }
    model.kick_pending[a[0]] = 1;
}

static struct expect model_expect(uint32_t nr, const uint64_t *a)
{
    struct expect x = { .known = true };

    switch (nr) {
    case PVKIT_HC_VERSION:
        x.value = PVKIT_ABI_VERSION;
        return x;
    case PVKIT_HC_FEATURES:
        x.value = (int64_t)(host.features & ~(1ull << 63));
        return x;
    case PVKIT_HC_CONSOLE_WRITE:
    case PVKIT_HC_CONSOLE_READ:
        if (a[1] > PVKIT_HC_MAX_LEN) {
            x.errs |= ERR(PVKIT_E2BIG);
        }
        if (a[1] && (a[0] > UINT64_MAX - (a[1] - 1) ||
                     !(nr == PVKIT_HC_CONSOLE_WRITE ?
                       readable(a[0], a[1]) : writable(a[0], a[1])))) {
            x.errs |= ERR(PVKIT_EFAULT);
        }
        if (nr == PVKIT_HC_CONSOLE_WRITE) {
            x.value = (int64_t)a[1];
        } else {
            x.value = a[1] < host.in_len ? (int64_t)a[1] : host.in_len;
        }
        return x;
    case PVKIT_HC_TEST_ECHO:
        if (!feat(PVKIT_F_TEST)) {
            x.errs = ERR(PVKIT_ENOSYS);
            return x;
        }
        x.value = (int64_t)((a[0] + a[1] + a[2] + a[3]) & 0xffffffffull);
        return x;
    case PVKIT_HC_TEST_COPY:
        if (!feat(PVKIT_F_TEST)) {
            x.errs = ERR(PVKIT_ENOSYS);
            return x;
        }
        if (a[2] > PVKIT_HC_MAX_LEN) {
            x.errs |= ERR(PVKIT_E2BIG);
        }
        if (a[2]) {
            uint64_t s = a[0], d = a[1], n = a[2];

            if (s > UINT64_MAX - (n - 1) || d > UINT64_MAX - (n - 1) ||
                !readable(s, n) || !writable(d, n)) {
                x.errs |= ERR(PVKIT_EFAULT);
            }
            if (s >= d ? s - d < n : d - s < n) {
                x.errs |= ERR(PVKIT_EINVAL);
            }
        }
        x.value = (int64_t)a[2];
        return x;
    default:
        break;
    }
    if (nr >= PVKIT_HC_SHARED_INFO && nr <= PVKIT_HC_EVTCHN_BIND_VCPU) {
        if (!feat(PVKIT_F_EVTCHN)) {
            x.errs = ERR(PVKIT_ENOSYS);
            return x;
        }
        switch (nr) {
        case PVKIT_HC_SHARED_INFO:
            if (a[0] & (PAGE - 1)) {
                x.errs |= ERR(PVKIT_EINVAL);
            } else if (a[0] && !writable(a[0], PAGE)) {
                x.errs |= ERR(PVKIT_EFAULT);
            }
            return x;
        case PVKIT_HC_VCPU_UPCALL:
            x.errs = vcpu_errs(a[0]);
            if (a[1] != 0 && (a[1] < PVKIT_UPCALL_VECTOR_MIN ||
                              a[1] > PVKIT_UPCALL_VECTOR_MAX)) {
                x.errs |= ERR(PVKIT_EINVAL);
            }
            return x;
        case PVKIT_HC_EVTCHN_ALLOC_UNBOUND:
        case PVKIT_HC_EVTCHN_BIND_HOST:
        case PVKIT_HC_EVTCHN_BIND_IPI:
            if (nr == PVKIT_HC_EVTCHN_BIND_HOST &&
                a[0] != PVKIT_ENDPOINT_ECHO &&
                (a[0] != PVKIT_ENDPOINT_CLOCK || !feat(PVKIT_F_CLOCK))) {
                x.errs |= ERR(PVKIT_EINVAL);
            }
            if (nr == PVKIT_HC_EVTCHN_BIND_IPI) {
                x.errs |= vcpu_errs(a[0]);
            }
            x.value = model_free_port();
            if (!x.value) {
                x.errs |= ERR(PVKIT_ENOSPC);
            }
            return x;
        case PVKIT_HC_EVTCHN_SEND:
            if (!model_open(a[0]) ||
                model.port[a[0]].state == PVKIT_EVTCHN_UNBOUND) {
                x.errs = ERR(PVKIT_EINVAL);
            } else if (model.port[a[0]].state == PVKIT_EVTCHN_HOST &&
                       model.port[a[0]].endpoint == PVKIT_ENDPOINT_BACKEND &&
                       model.port[a[0]].backend) {
                x.kick = true;
                x.kick_backend = model.port[a[0]].backend;
            }
            return x;
        case PVKIT_HC_EVTCHN_CLOSE:
            if (!model_open(a[0])) {
                x.errs = ERR(PVKIT_EINVAL);
            } else {
                x.release = model.port[a[0]].backend;
                x.release_port = (uint32_t)a[0];
            }
            return x;
        case PVKIT_HC_EVTCHN_UNMASK:
            if (!model_open(a[0])) {
                x.errs |= ERR(PVKIT_EINVAL);
            }
            if (!model.shared_gpa) {
                x.errs |= ERR(PVKIT_EFAULT);
            }
            return x;
        case PVKIT_HC_EVTCHN_STATUS:
            if (a[0] >= PVKIT_EVTCHN_PORTS) {
                x.errs = ERR(PVKIT_EINVAL);
            } else {
                const PVKitEvtchnPort *p = &model.port[a[0]];

                x.value = p->state == PVKIT_EVTCHN_CLOSED ? 0 :
                          p->state | (int64_t)p->vcpu << 8 |
                          (int64_t)(p->state == PVKIT_EVTCHN_HOST ?
                                    p->endpoint : 0) << 16;
            }
            return x;
        case PVKIT_HC_EVTCHN_BIND_VCPU:
            if (!model_open(a[0])) {
                x.errs |= ERR(PVKIT_EINVAL);
            }
            x.errs |= vcpu_errs(a[1]);
            return x;
        }
    }
    if (nr == PVKIT_HC_VCPU_INFO || nr == PVKIT_HC_VCPU_SEND_IPI) {
        if (!feat(PVKIT_F_VCPU | PVKIT_F_EVTCHN)) {
            x.errs = ERR(PVKIT_ENOSYS);
        } else if (nr == PVKIT_HC_VCPU_SEND_IPI) {
            x.errs = send_ipi_errs(a);
            x.value = __builtin_popcountll(a[1]);
        } else {
            x.errs = vcpu_errs(a[0]);
            if ((a[1] & 63) || (!a[1] && a[0] >= PVKIT_SHARED_INFO_VCPUS)) {
                x.errs |= ERR(PVKIT_EINVAL);
            } else if (a[1] && a[0] < PVKIT_MAX_VCPUS &&
                       a[1] != model.vcpu_gpa[a[0]] &&
                       !writable(a[1], sizeof(struct pvkit_vcpu_info))) {
                x.errs |= ERR(PVKIT_EFAULT);
            }
        }
        return x;
    }
    if (nr == PVKIT_HC_CLOCK_SETUP || nr == PVKIT_HC_CLOCK_WALL) {
        x.errs = clock_errs(nr, a);
        return x;
    }
    if (nr == PVKIT_HC_STEAL_SETUP) {
        x.errs = steal_errs(a);
        return x;
    }
    if (nr == PVKIT_HC_SPIN_WAIT || nr == PVKIT_HC_SPIN_KICK) {
        if (!feat(PVKIT_F_SPIN)) {
            x.errs = ERR(PVKIT_ENOSYS);
        } else if (nr == PVKIT_HC_SPIN_WAIT) {
            spin_wait_expect(&x, a);
        } else {
            spin_kick_expect(&x, a);
        }
        return x;
    }
    if (nr == PVKIT_HC_TLB_FLUSH) {
        if (!feat(PVKIT_F_TLB_FLUSH)) {
            x.errs = ERR(PVKIT_ENOSYS);
        } else {
            tlb_flush_expect(&x, a);
        }
        return x;
    }
    if (nr == PVKIT_HC_TEST_HOLD) {
        if (!feat(PVKIT_F_TEST)) {
            x.errs = ERR(PVKIT_ENOSYS);
            return x;
        }
        x.errs = vcpu_errs(a[0]);
        if (!a[1] || a[1] > PVKIT_TEST_HOLD_MAX_MS || a[0] == host.self) {
            x.errs |= ERR(PVKIT_EINVAL);
        }
        if (!x.errs && host.hold_busy) {
            x.errs = ERR(PVKIT_EBUSY);
        }
        return x;
    }
    if (nr == PVKIT_HC_TEST_RUN_DELAY) {
        if (!feat(PVKIT_F_TEST | PVKIT_F_STEAL)) {
            x.errs = ERR(PVKIT_ENOSYS);
            return x;
        }
        x.errs = vcpu_errs(a[0]);
        if (!x.errs && host.run_delay_fails) {
            x.errs = ERR(PVKIT_EIO);
        }
        x.value = x.errs ? 0 : (int64_t)(host.run_delay[a[0]] & INT64_MAX);
        return x;
    }
    /* Not modelled: grant tables and later numbers. */
    x.known = false;
    x.any_value = true;
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    if (nr >= PVKIT_HC_COUNT ||
        (nr >= PVKIT_HC_GNTTAB_SETUP && nr <= PVKIT_HC_TEST_GRANT &&
         !feat(PVKIT_F_GNTTAB)) ||
        (nr == PVKIT_HC_TEST_GRANT && !feat(PVKIT_F_TEST))) {
        x.known = true;
        x.errs = ERR(PVKIT_ENOSYS);
    }
#else
    if (nr >= PVKIT_HC_COUNT) {
        x.known = true;
        x.errs = ERR(PVKIT_ENOSYS);
    }
#endif
    return x;
}

/* Success effects on the model and the shadow (result already checked). */
static void model_commit(uint32_t nr, const uint64_t *a, int64_t ret)
{
    struct pvkit_shared_info *si;
    void *rel;

    switch (nr) {
    case PVKIT_HC_CONSOLE_READ:
        if (ret > 0) {
            memcpy(shadow_ptr(a[0]), call.in_before, (size_t)ret);
        }
        return;
    case PVKIT_HC_TEST_COPY:
        if (ret > 0) {
            memmove(shadow_ptr(a[1]), shadow_ptr(a[0]), (size_t)ret);
        }
        return;
    case PVKIT_HC_SHARED_INFO:
        model.shared_gpa = a[0];
        memset(model.vcpu_gpa, 0, sizeof(model.vcpu_gpa));
        return;
    case PVKIT_HC_VCPU_INFO:
        model_vcpu_info((uint32_t)a[0], a[1]);
        return;
    case PVKIT_HC_VCPU_SEND_IPI:
        for (uint64_t bits = a[1]; bits; bits &= bits - 1) {
            want_one_inject((uint32_t)(a[0] + __builtin_ctzll(bits)),
                            (uint8_t)a[2]);
        }
        return;
    case PVKIT_HC_VCPU_UPCALL:
        model.vector[a[0]] = (uint8_t)a[1];
        return;
    case PVKIT_HC_CLOCK_SETUP:
        model_clock_setup(a[1]);
        return;
    case PVKIT_HC_CLOCK_WALL:
        memcpy(shadow_ptr(a[0]), &host.wall, sizeof(host.wall));
        return;
    case PVKIT_HC_STEAL_SETUP:
        model.steal_gpa[a[0]] = a[1];
        model_steal_setup((uint32_t)a[0], a[1]);
        return;
    case PVKIT_HC_SPIN_WAIT:
    case PVKIT_HC_SPIN_KICK:
        model_spin(nr, a);
        return;
    case PVKIT_HC_TLB_FLUSH:
        if (ret > 0) {
            model.tlb_stats.flushes++;
            model.tlb_stats.targets += (uint64_t)ret;
            model.tlb_stats.full += a[3] ? 0 : (uint64_t)ret;
        }
        return;
    case PVKIT_HC_EVTCHN_ALLOC_UNBOUND:
        model.port[ret].state = PVKIT_EVTCHN_UNBOUND;
        return;
    case PVKIT_HC_EVTCHN_BIND_HOST:
        model.port[ret].state = PVKIT_EVTCHN_HOST;
        model.port[ret].endpoint = (uint16_t)a[0];
        return;
    case PVKIT_HC_EVTCHN_BIND_IPI:
        model.port[ret].state = PVKIT_EVTCHN_IPI;
        model.port[ret].vcpu = (uint8_t)a[0];
        return;
    case PVKIT_HC_EVTCHN_SEND:
        if (model.port[a[0]].state == PVKIT_EVTCHN_IPI ||
            model.port[a[0]].endpoint == PVKIT_ENDPOINT_ECHO) {
            model_deliver((uint32_t)a[0]);
        }
        return;
    case PVKIT_HC_EVTCHN_CLOSE:
        model_close((uint32_t)a[0], &rel);
        return;
    case PVKIT_HC_EVTCHN_UNMASK:
        si = shadow_si();
        si->evtchn_mask[a[0] / 64] &= ~(1ull << (a[0] % 64));
        if (si->evtchn_pending[a[0] / 64] & (1ull << (a[0] % 64))) {
            model_raise(si, model.port[a[0]].vcpu, (uint32_t)(a[0] / 64));
        }
        return;
    case PVKIT_HC_EVTCHN_BIND_VCPU:
        model.port[a[0]].vcpu = (uint8_t)a[1];
        return;
    }
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    if (nr == PVKIT_HC_GNTTAB_SETUP) {
        model.gnt_old_gpa = model.gnt_gpa;
        model.gnt_old_frames = model.gnt_frames;
        model.gnt_gpa = a[0];
        model.gnt_frames = a[0] || a[1] ? a[1] : 0;
    } else if (nr == PVKIT_HC_GNTTAB_MAX_FRAMES) {
        if (model.gnt_max && (uint64_t)ret != model.gnt_max) {
            violation(V_STATE, "GNTTAB_MAX_FRAMES changed: %" PRId64
                      " after %" PRIu64, ret, model.gnt_max);
        }
        model.gnt_max = (uint64_t)ret;
    }
#endif
}

/* ---- checking ---- */

static uint8_t hcall_page[PAGE];   /* the page for host.features */

static void refresh_hcall_page(void)
{
    pvkit_fill_hcall_page(hcall_page, sizeof(hcall_page), host.features,
                          0x560);
}

static bool advertised(uint32_t nr)
{
    const struct pvkit_hcall_page *pg = (const void *)hcall_page;

    return nr < pg->nr_entries && nr < PVKIT_HCALL_PAGE_MAX_ENTRIES &&
           pg->entry[nr].transport != PVKIT_TRANSPORT_NONE;
}

/* Generic allowance for a successful call the model does not know. */
static bool grant_change_ok(uint32_t nr, const uint64_t *a, uint64_t gpa,
                            uint8_t old, uint8_t new)
{
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    uint64_t tsize = model.gnt_frames * PAGE;
    bool flags_byte = false;

    if (model.gnt_frames && tsize / PAGE == model.gnt_frames &&
        gpa >= model.gnt_gpa && gpa - model.gnt_gpa < tsize) {
        flags_byte = (gpa - model.gnt_gpa) % 8 == 0;
        /* flags, byte 0: only READING and WRITING may change */
        if (flags_byte &&
            !((old ^ new) & ~(PVKIT_GTF_READING | PVKIT_GTF_WRITING))) {
            return true;
        }
    }
    /* GNTTAB_SETUP revokes the old table's mappings: flags clear there */
    if (nr == PVKIT_HC_GNTTAB_SETUP && model.gnt_old_frames &&
        gpa >= model.gnt_old_gpa &&
        gpa - model.gnt_old_gpa < model.gnt_old_frames * PAGE &&
        (gpa - model.gnt_old_gpa) % 8 == 0 &&
        !((old ^ new) & ~(PVKIT_GTF_READING | PVKIT_GTF_WRITING)) &&
        !(new & ~old)) {
        return true;
    }
    if (nr == PVKIT_HC_TEST_GRANT && a[1] == PVKIT_GNTTEST_WRITE &&
        a[0] < model.gnt_frames * (PAGE / 8)) {
        const struct pvkit_grant_entry *e =
            (const void *)shadow_ptr(model.gnt_gpa + a[0] * 8);
        uint64_t page = (uint64_t)e->frame * PAGE;

        if (e && (e->flags & PVKIT_GTF_TYPE_MASK) ==
                 PVKIT_GTF_PERMIT_ACCESS &&
            !(e->flags & PVKIT_GTF_READONLY) &&
            e->domid == PVKIT_DOMID_HOST &&
            gpa >= page + a[2] && gpa - page - a[2] < a[3] &&
            gpa - page < PAGE &&
            /* a guest that grants its own table: the host then also
             * clears READING/WRITING in the flags it just filled */
            (new == (uint8_t)a[4] ||
             (flags_byte && !((new ^ (uint8_t)a[4]) &
                              ~(PVKIT_GTF_READING | PVKIT_GTF_WRITING))))) {
            return true;
        }
    }
#else
    (void)nr; (void)a; (void)gpa; (void)old; (void)new;
#endif
    return false;
}

/*
 * Guest memory against the shadow.  @generic: a successful call the
 * model does not know (grant allowance).  Resyncs the shadow.
 */
static void mem_verify(uint32_t nr, const uint64_t *a, bool generic,
                       int64_t ret)
{
    for (size_t i = 0; i < NR_REGIONS; i++) {
        struct region *r = &regions[i];
        uint64_t off;
        unsigned int bad = 0;

        if (!memcmp(r->mem, r->shadow, r->size)) {
            continue;
        }
        for (off = 0; off < r->size; off++) {
            uint8_t o = r->shadow[off], n = r->mem[off];

            if (o == n) {
                continue;
            }
            if (r->kind != RAM) {
                if (!bad++) {
                    violation(V_BOUNDS, "%s byte at %#" PRIx64 " changed"
                              " %#x -> %#x", r->name, r->base + off, o, n);
                }
            } else if (!(generic &&
                         grant_change_ok(nr, a, r->base + off, o, n))) {
                if (!bad++) {
                    violation(V_MEMORY, "guest byte at %#" PRIx64
                              " changed %#x -> %#x (result %" PRId64
                              ", %u mem_write ok; model expected %s)",
                              r->base + off, o, n, ret, host.writes_ok,
                              ret < 0 ? "no change at all" :
                              "other bytes");
                }
            }
            if (generic && !bad) {
                deep++;
            }
        }
        memcpy(r->shadow, r->mem, r->size);
    }
}

static void resync(void)
{
    memcpy(model.port, host.ec.port, sizeof(model.port));
    memcpy(model.vector, host.ec.upcall_vector, sizeof(model.vector));
    model.shared_gpa = host.ec.shared_gpa;
    memcpy(model.vcpu_gpa, host.ec.vcpu_info_gpa, sizeof(model.vcpu_gpa));
    memcpy(model.waiting, host.spin.waiting, sizeof(model.waiting));
    memcpy(model.kick_pending, host.spin.kick_pending,
           sizeof(model.kick_pending));
    memcpy(model.parked, host.parked, sizeof(model.parked));
    model.spin_stats = host.spin.stats;
    model.tlb_stats = host.tlb.stats;
    memcpy(model.steal_gpa, host.steal.gpa, sizeof(model.steal_gpa));
    for (size_t i = 0; i < NR_REGIONS; i++) {
        memcpy(regions[i].shadow, regions[i].mem, regions[i].size);
    }
}

static void state_verify(void)
{
    if (memcmp(model.port, host.ec.port, sizeof(model.port))) {
        for (uint32_t p = 0; p < PVKIT_EVTCHN_PORTS; p++) {
            const PVKitEvtchnPort *m = &model.port[p], *h = &host.ec.port[p];

            if (memcmp(m, h, sizeof(*m))) {
                violation(V_STATE, "port %u is state %u vcpu %u endpoint %u"
                          " backend %p, model: %u %u %u %p", p, h->state,
                          h->vcpu, h->endpoint, h->backend, m->state,
                          m->vcpu, m->endpoint, m->backend);
                break;
            }
        }
    }
    if (memcmp(model.vector, host.ec.upcall_vector, sizeof(model.vector))) {
        violation(V_STATE, "upcall vectors differ from the model");
    }
    for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (host.ec.vcpu_info_gpa[v] != model.vcpu_gpa[v] ||
            host.vcpu_area_gpa[v] != model.vcpu_gpa[v]) {
            violation(V_STATE, "vcpu %u area %#" PRIx64 " (host %#" PRIx64
                      "), model %#" PRIx64, v, host.ec.vcpu_info_gpa[v],
                      host.vcpu_area_gpa[v], model.vcpu_gpa[v]);
            break;
        }
    }
    if (host.ec.shared_gpa != model.shared_gpa ||
        host.shared_gpa != model.shared_gpa) {
        violation(V_STATE, "shared page %#" PRIx64 " (host %#" PRIx64
                  "), model %#" PRIx64, host.ec.shared_gpa, host.shared_gpa,
                  model.shared_gpa);
    }
}

/* Spinlocks, TLB flush and steal records: checked after every call. */
static void spin_verify(void)
{
    if (memcmp(model.waiting, host.spin.waiting, sizeof(model.waiting)) ||
        memcmp(model.kick_pending, host.spin.kick_pending,
               sizeof(model.kick_pending)) ||
        memcmp(model.parked, host.parked, sizeof(model.parked))) {
        for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
            if (host.spin.waiting[v] != model.waiting[v] ||
                host.spin.kick_pending[v] != model.kick_pending[v] ||
                host.parked[v] != model.parked[v]) {
                violation(V_STATE, "vCPU %u waiting %u kick_pending %u"
                          " parked %u, model %u %u %u", v,
                          host.spin.waiting[v], host.spin.kick_pending[v],
                          host.parked[v], model.waiting[v],
                          model.kick_pending[v], model.parked[v]);
                break;
            }
        }
    }
    if (memcmp(&model.spin_stats, &host.spin.stats,
               sizeof(model.spin_stats))) {
        violation(V_STATE, "spin stats waits %" PRIu64 " blocks %" PRIu64
                  " kicks %" PRIu64 " wakes %" PRIu64 ", model %" PRIu64
                  " %" PRIu64 " %" PRIu64 " %" PRIu64,
                  host.spin.stats.waits, host.spin.stats.blocks,
                  host.spin.stats.kicks, host.spin.stats.wakes,
                  model.spin_stats.waits, model.spin_stats.blocks,
                  model.spin_stats.kicks, model.spin_stats.wakes);
    }
    if (memcmp(&model.tlb_stats, &host.tlb.stats, sizeof(model.tlb_stats))) {
        violation(V_STATE, "tlb stats flushes %" PRIu64 " targets %" PRIu64
                  " full %" PRIu64 ", model %" PRIu64 " %" PRIu64 " %"
                  PRIu64, host.tlb.stats.flushes, host.tlb.stats.targets,
                  host.tlb.stats.full, model.tlb_stats.flushes,
                  model.tlb_stats.targets, model.tlb_stats.full);
    }
    if (memcmp(model.steal_gpa, host.steal.gpa, sizeof(model.steal_gpa))) {
        violation(V_STATE, "steal records differ from the model");
    }
}

/* Rare, whole-state checks. */
static void checkpoint(void)
{
    static PVKitEvtchnState copy;

    cur.what = "checkpoint";
    state_verify();
    spin_verify();
    for (uint32_t nr = 0; nr < PVKIT_HC_COUNT; nr++) {
        if (host.ec.stats.hypercalls[nr] != model.hypercalls[nr]) {
            violation(V_STATE, "stats.hypercalls[%u] = %" PRIu64 ", made %"
                      PRIu64, nr, host.ec.stats.hypercalls[nr],
                      model.hypercalls[nr]);
        }
    }
    copy = host.ec;
    if (!pvkit_evtchn_post_load(&copy)) {
        violation(V_STATE, "post_load() rejects the live state");
    }
}

static void begin_call(void)
{
    call.nlog = 0;
    host.writes_ok = 0;
    host.injects = 0;
    host.kicks = 0;
    host.releases = 0;
    host.out_calls = 0;
    host.out_len = 0;
    want_inject.n = 0;
    host.block_calls = 0;
    host.unblock_calls = 0;
    memset(host.tlb_queued, 0, sizeof(host.tlb_queued));
    host.tlb_unsynced = 0;
    host.tlb_syncs = 0;
}

/*
 * vcpu_block, vcpu_unblock, tlb_flush and tlb_flush_sync of the call:
 * only what the model expected of a successful call, nothing otherwise.
 */
static void check_spin_tlb(const struct expect *x, bool ok, uint32_t nr,
                           const uint64_t *a)
{
    static const unsigned int none[PVKIT_MAX_VCPUS];
    unsigned int want[PVKIT_MAX_VCPUS];
    uint64_t set = ok && nr == PVKIT_HC_TLB_FLUSH ? x->tlb_set : 0;

    if (host.block_calls != (ok && x->block ? 1u : 0u) ||
        host.unblock_calls != (ok && x->unblock ? 1u : 0u)) {
        violation(V_STATE, "%u vcpu_block, %u vcpu_unblock; model %u %u",
                  host.block_calls, host.unblock_calls, ok && x->block,
                  ok && x->unblock);
    }
    if (!set) {
        if (memcmp(host.tlb_queued, none, sizeof(none))) {
            violation(V_STATE, "tlb_flush called, model: no vCPU");
        }
    } else {
        memset(want, 0, sizeof(want));
        for (uint64_t bits = set; bits; bits &= bits - 1) {
            want[a[0] + (uint64_t)__builtin_ctzll(bits)] = 1;
        }
        for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
            if (host.tlb_queued[v] != want[v]) {
                violation(V_STATE, "vCPU %u got %u tlb_flush, model %u", v,
                          host.tlb_queued[v], want[v]);
                break;
            }
        }
        if (host.tlb_va != a[2] || host.tlb_pages != a[3]) {
            violation(V_STATE, "tlb_flush of va %#" PRIx64 " pages %"
                      PRIu64 ", not the call's", host.tlb_va,
                      host.tlb_pages);
        }
    }
    if (host.tlb_syncs != (set ? 1u : 0u) || host.tlb_unsynced) {
        violation(V_STATE, "%u tlb_flush_sync, %u flushes left unsynced;"
                  " model %u, 0", host.tlb_syncs, host.tlb_unsynced,
                  set ? 1u : 0u);
    }
}

static void check_callbacks(const struct expect *x, bool ok, uint32_t port)
{
    unsigned int want_rel = ok && x->release ? 1 : 0;

    if (host.injects != (ok ? want_inject.n : 0) ||
        (host.injects == 1 && (host.inject_vcpu != want_inject.vcpu ||
                               host.inject_vector != want_inject.vector))) {
        violation(V_STATE, "%u injections (last %u/%#x), SPEC delivery: %u"
                  " (%u/%#x)", host.injects, host.inject_vcpu,
                  host.inject_vector, ok ? want_inject.n : 0,
                  want_inject.vcpu, want_inject.vector);
    }
    if (host.kicks != (ok && x->kick ? 1u : 0u) ||
        (host.kicks && (host.kick_port != port ||
                        host.kick_backend != x->kick_backend))) {
        violation(V_STATE, "%u backend kicks, expected %u", host.kicks,
                  ok && x->kick);
    }
    if (host.releases != want_rel ||
        (want_rel && (host.release_ports[0] != x->release_port ||
                      host.release_backends[0] != x->release))) {
        violation(V_STATE, "%u backend releases, expected %u",
                  host.releases, want_rel);
    }
}

static int64_t do_call(uint32_t nr, const uint64_t a_in[5])
{
    uint64_t a[5];
    uint64_t before = violations[0] + violations[1] + violations[2] +
                      violations[3];
    struct expect x;
    int64_t ret;
    bool ok, evtchn = (nr >= PVKIT_HC_SHARED_INFO &&
                       nr <= PVKIT_HC_EVTCHN_BIND_VCPU) ||
                      nr == PVKIT_HC_VCPU_INFO || nr == PVKIT_HC_VCPU_SEND_IPI;

    memcpy(a, a_in, sizeof(a));
    cur.what = "hypercall";
    cur.nr = nr;
    memcpy(cur.args, a, sizeof(a));
    cur.iter = calls_total;
    cur.self = host.self;
    /*
     * The caller runs: if parked, an interrupt woke it first.  Any call
     * ends its wait.
     */
    if (host.self < PVKIT_MAX_VCPUS) {
        host.parked[host.self] = false;
        model.parked[host.self] = false;
        if (feat(PVKIT_F_SPIN)) {
            model.waiting[host.self] = 0;
        }
    }
    x = model_expect(nr, a);
    begin_call();
    call.in_len_before = host.in_len;
    if (nr == PVKIT_HC_CONSOLE_READ) {
        memcpy(call.in_before, host.in, host.in_len);
    }

    ret = pvkit_dispatch(&ops, &host, nr, a);

    calls_total++;
    calls_by_nr[nr < PVKIT_HC_COUNT ? nr : PVKIT_HC_COUNT]++;
    if (nr < PVKIT_HC_COUNT) {
        model.hypercalls[nr]++;
    }
    ok = ret >= 0;
    if (!ok) {
        errors_total++;
        errors_by_nr[nr < PVKIT_HC_COUNT ? nr : PVKIT_HC_COUNT]++;
        calls_by_errno[-ret < 64 && -ret > 0 ? -ret : 0]++;
        if (!abi_errno(-ret)) {
            violation(V_RESULT, "result %" PRId64 " is not a PVKIT_E*", ret);
        }
    }
    if (!advertised(nr) && ret != -PVKIT_ENOSYS) {
        violation(V_RESULT, "number not in the hypercall page answered %"
                  PRId64 ", not -ENOSYS", ret);
    } else if (advertised(nr) && ret == -PVKIT_ENOSYS) {
        violation(V_RESULT, "hypercall advertised in the hypercall page"
                  " (features %#" PRIx64 ") answered -ENOSYS",
                  host.features);
    }
    if (x.known) {
        if (x.errs && (ok || ret < -63 || !(x.errs & ERR(-ret)))) {
            violation(V_RESULT, "result %" PRId64 ", SPEC.md allows only"
                      " errors %#" PRIx64 " (bit n: -n)", ret, x.errs);
        } else if (!x.errs && (!ok || (!x.any_value && ret != x.value))) {
            violation(V_RESULT, "result %" PRId64 ", SPEC.md: %" PRId64,
                      ret, x.value);
        }
    }
    if (ok && !(x.known && x.errs)) {
        model_commit(nr, a, ret);
    }
    if (!ok && host.writes_ok) {
        violation(V_MEMORY, "failing call made %u successful mem_write",
                  host.writes_ok);
    }
    if (nr == PVKIT_HC_CONSOLE_WRITE) {
        bool wrote = ok && ret > 0;

        if (host.out_calls != (wrote ? 1u : 0u) ||
            (wrote && (host.out_len != (uint64_t)ret ||
                       memcmp(host.out, shadow_ptr(a[0]), host.out_len)))) {
            violation(V_STATE, "console got %u calls / %u bytes, not the"
                      " guest's %" PRId64, host.out_calls, host.out_len, ret);
        }
    } else if (host.out_calls) {
        violation(V_STATE, "console written by hypercall %u", nr);
    }
    if (host.in_len != call.in_len_before -
        (nr == PVKIT_HC_CONSOLE_READ && ret > 0 ? (uint32_t)ret : 0)) {
        violation(V_STATE, "console input %u -> %u bytes (result %" PRId64
                  ")", call.in_len_before, host.in_len, ret);
    }
    if (x.known) {
        check_callbacks(&x, ok, (uint32_t)a[0]);
    } else if (!ok && (host.injects || host.kicks || host.releases)) {
        violation(V_STATE, "failing call injected/kicked/released");
    }
    check_spin_tlb(&x, ok, nr, a);
    mem_verify(nr, a, ok && !x.known, ret);
    if (evtchn || (calls_total & 255) == 0) {
        state_verify();
    }
    spin_verify();
    if (violations[0] + violations[1] + violations[2] + violations[3] !=
        before) {
        resync();
    }
    return ret;
}

static int64_t hc(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
                  uint64_t a3, uint64_t a4)
{
    const uint64_t a[5] = { a0, a1, a2, a3, a4 };

    return do_call(nr, a);
}

/* ---- host-side entry points: MSR, device models, migration, reset ---- */

static void host_msr(uint64_t val)
{
    uint64_t msr = model.hcall_msr, gpa = val & PAGE_MASK;
    bool want = val == 0 || ((val & PVKIT_HCALL_PAGE_ENABLE) &&
                             !(val & (PAGE - 2)) && writable(gpa, PAGE));
    int ret;

    cur.what = "msr_write";
    cur.nr = 0;
    memset(cur.args, 0, sizeof(cur.args));
    cur.args[0] = val;
    begin_call();
    ret = pvkit_hcall_msr_write(&ops, &host, 0x560, &msr, val);
    if (ret != (want ? 0 : -1) || msr != (want ? val : model.hcall_msr)) {
        violation(V_RESULT, "MSR write returned %d, msr %#" PRIx64, ret,
                  msr);
    }
    if (ret == 0 && val) {
        pvkit_fill_hcall_page(shadow_ptr(gpa), PAGE, host.features, 0x560);
    }
    model.hcall_msr = msr;
    if (ret && host.writes_ok) {
        violation(V_MEMORY, "refused MSR write wrote memory");
    }
    mem_verify(0, cur.args, false, ret);
}

static void host_backend(void)
{
    uint32_t port = (uint32_t)(chance(70) ? 1 + rnd(40) : rnd64());
    void *tok = chance(90) ? tokens[rnd(4)] : NULL;
    PVKitEvtchnPort *m = port < PVKIT_EVTCHN_PORTS ? &model.port[port] : NULL;
    bool open = model_open(port);
    bool bport = open && m->state == PVKIT_EVTCHN_HOST &&
                 m->endpoint == PVKIT_ENDPOINT_BACKEND;
    struct expect x = { 0 };
    int ret, want;

    begin_call();
    cur.nr = port;
    memset(cur.args, 0, sizeof(cur.args));
    switch (rnd(3)) {
    case 0:
        cur.what = "backend_bind";
        want = open && tok && (m->state == PVKIT_EVTCHN_UNBOUND ||
                               (bport && !m->backend)) ? 0 : -PVKIT_EINVAL;
        ret = pvkit_evtchn_backend_bind(&ops, &host, port, tok);
        if (!want) {
            m->state = PVKIT_EVTCHN_HOST;
            m->endpoint = PVKIT_ENDPOINT_BACKEND;
            m->backend = tok;
        }
        break;
    case 1:
        cur.what = "backend_unbind";
        want = bport ? 0 : -PVKIT_EINVAL;
        ret = pvkit_evtchn_backend_unbind(&ops, &host, port);
        if (!want) {
            x.release = m->backend;
            x.release_port = port;
            m->state = PVKIT_EVTCHN_UNBOUND;
            m->endpoint = 0;
            m->backend = NULL;
        }
        break;
    default:
        cur.what = "backend_notify";
        want = bport && m->backend ? 0 : -PVKIT_EINVAL;
        ret = pvkit_evtchn_backend_notify(&ops, &host, port);
        if (!want) {
            model_deliver(port);
        }
        break;
    }
    if (ret != want) {
        violation(V_RESULT, "returned %d, model %d", ret, want);
    }
    check_callbacks(&x, ret == 0, port);
    mem_verify(0, cur.args, false, ret);
    state_verify();
    if (ret != want) {
        resync();
    }
}

static void host_migrate(void)
{
    unsigned int want;

    cur.what = "post_load (live)";
    if (!pvkit_evtchn_post_load(&host.ec)) {
        violation(V_STATE, "post_load() rejects the live state");
    }
    for (uint32_t p = 0; p < PVKIT_EVTCHN_PORTS; p++) {
        model.port[p].backend = NULL;
    }
    state_verify();

    /* The VM stopped: parked waits end; loaded: every next wait returns. */
    cur.what = "spin_wake_all, spin_kick_all";
    begin_call();
    pvkit_spin_wake_all(&ops, &host);
    want = 0;
    for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (model.waiting[v]) {
            want++;
            model.waiting[v] = 0;
            model.parked[v] = false;
        }
    }
    if (host.unblock_calls != want || host.block_calls) {
        violation(V_STATE, "wake_all: %u vcpu_unblock (model %u), %u"
                  " vcpu_block", host.unblock_calls, want,
                  host.block_calls);
    }
    spin_verify();
    pvkit_spin_kick_all(&ops, &host);
    memset(model.kick_pending, 1, sizeof(model.kick_pending));
    spin_verify();
}

/* An existing vCPU, at random. */
static uint32_t present_vcpu(void)
{
    uint64_t set = host.vcpus;
    uint64_t k = rnd((uint64_t)__builtin_popcountll(set));

    while (k--) {
        set &= set - 1;
    }
    return (uint32_t)__builtin_ctzll(set);
}

/*
 * The host holds a vCPU off, or lets it run again, and rewrites its
 * steal record (or all of them, as the periodic update does).
 */
static void host_steal(void)
{
    uint32_t v = chance(90) ? present_vcpu() :
                 (uint32_t)rnd(PVKIT_MAX_VCPUS + 4);

    cur.what = "steal_update";
    cur.nr = v;
    memset(cur.args, 0, sizeof(cur.args));
    begin_call();
    if (v < PVKIT_MAX_VCPUS && fake_vcpu_present(v)) {
        host.preempted[v] = chance(50);
    }
    if (chance(70)) {
        pvkit_steal_update(&ops, &host, v);
        if (v < PVKIT_MAX_VCPUS) {
            model_steal_setup(v, model.steal_gpa[v]);
        }
    } else {
        cur.what = "steal_update_all";
        pvkit_steal_update_all(&ops, &host);
        for (uint32_t w = 0; w < PVKIT_MAX_VCPUS; w++) {
            model_steal_setup(w, model.steal_gpa[w]);
        }
    }
    mem_verify(0, cur.args, false, 0);
    spin_verify();
}

/*
 * The vCPU making the next call: mostly an existing one that is not
 * parked (a parked vCPU runs nothing), sometimes an APIC ID >= 256 or
 * one this machine lacks.  One parked anyway is woken by an interrupt.
 * Now and then an interrupt wakes some other parked vCPU.
 */
static void pick_self(void)
{
    static const uint32_t odd[] = {
        PVKIT_MAX_VCPUS, PVKIT_MAX_VCPUS + 1, 0xffffffffu, 0x80000000u,
        0x10000,
    };
    uint32_t v;

    if (chance(3)) {
        v = present_vcpu();
        host.parked[v] = false;
        model.parked[v] = false;
    }
    if (!(host.self < PVKIT_MAX_VCPUS && host.parked[host.self]) &&
        chance(60)) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        unsigned int r = (unsigned int)rnd(100);

        v = r < 85 ? present_vcpu() : r < 93 ?
            (uint32_t)rnd(PVKIT_MAX_VCPUS) :
            odd[rnd(sizeof(odd) / sizeof(odd[0]))];
        if (v >= PVKIT_MAX_VCPUS || !host.parked[v]) {
            break;
        }
    }
    host.self = v;      /* do_call() wakes it if still parked */
}

static void host_reset(void)
{
    unsigned int want = 0;

    cur.what = "evtchn_reset";
    begin_call();
    for (uint32_t p = 0; p < PVKIT_EVTCHN_PORTS; p++) {
        want += model.port[p].backend != NULL;
    }
    pvkit_evtchn_reset(&ops, &host);
    if (host.releases != want || host.injects || host.kicks) {
        violation(V_STATE, "reset: %u releases (want %u), %u injects, %u"
                  " kicks", host.releases, want, host.injects, host.kicks);
    }
    memset(model.port, 0, sizeof(model.port));
    memset(model.vector, 0, sizeof(model.vector));
    memset(model.vcpu_gpa, 0, sizeof(model.vcpu_gpa));
    model.shared_gpa = 0;
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    /* releasing the grant mappings clears their flags, nothing else */
    memset(cur.args, 0, sizeof(cur.args));
    pvkit_gnttab_reset(&ops, &host);
    mem_verify(PVKIT_HC_GNTTAB_SETUP, cur.args, true, 0);
    if (host.page_maps != host.page_unmaps || host.gnttab ||
        host.gt.nr_maps) {
        violation(V_STATE, "grant reset left %u page maps, table %p, %u"
                  " handles", host.page_maps - host.page_unmaps,
                  (void *)host.gnttab,
                  host.gt.nr_maps);
    }
    model.gnt_gpa = model.gnt_frames = 0;
#endif
    mem_verify(0, cur.args, false, 0);
    state_verify();
}

/* ---- argument generation ---- */

enum akind { A_ANY, A_ADDR, A_AREA, A_SET, A_LEN, A_PORT, A_VCPU, A_VEC,
             A_EP, A_REF,
             A_OP, A_FRAMES, A_FLAGS };

static const uint64_t boundary[] = {
    0, 1, 2, 7, 8, 0x1f, 0x20, 0x21, 0xfe, 0xff, 0x100,
    PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 1, 2 * PAGE, 2 * PAGE + 1,
    UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - (PAGE - 1), UINT64_MAX - PAGE,
    1ull << 63, (1ull << 63) - 1, 1ull << 32, (1ull << 32) + 1,
    0xffffffffull, 0x7fffffffull, 0xffff, 0x10000,
    RAM_A + RAM_SIZE - 1, RAM_A + RAM_SIZE, RAM_A + RAM_SIZE - PAGE,
    RAM_A + RAM_SIZE - PAGE + 1,
    RAM_B - 1, RAM_B, RAM_B + 1, RAM_B + RAM_SIZE - 1, RAM_B + RAM_SIZE,
    RAM_B + RAM_SIZE - PAGE, RAM_B + RAM_SIZE + 1,
    ROM_BASE - 1, ROM_BASE, ROM_BASE + 1, ROM_BASE + PAGE - 1,
    ROM_BASE + PAGE, MMIO_B, MMIO_B + PAGE - 1, 0x50000, 0xfee00000,
    PVKIT_EVTCHN_PORTS - 1, PVKIT_EVTCHN_PORTS, PVKIT_EVTCHN_PORTS + 1,
    PVKIT_MAX_VCPUS - 1, PVKIT_MAX_VCPUS, PVKIT_MAX_VCPUS + 1,
    PVKIT_EVTCHN_PORTS + 5ull * (1ull << 32), (1ull << 32) + 3,
};

static uint64_t ram_addr(void)
{
    const struct region *r = &regions[chance(50) ? 0 : 2];
    uint64_t a = r->base + rnd64() % r->size;

    return chance(40) ? a & PAGE_MASK : a;
}

static uint64_t gen_arg(enum akind k)
{
    unsigned int r = (unsigned int)rnd(100);

    if (r < 15) {
        return rnd64();
    }
    if (r < 35) {
        return boundary[rnd(sizeof(boundary) / sizeof(boundary[0]))];
    }
    switch (k) {
    case A_ADDR:
        return r < 95 ? ram_addr() :
               (r < 98 ? ROM_BASE + rnd(PAGE) : MMIO_B + rnd(PAGE));
    case A_LEN:
        return r < 60 ? rnd(PAGE + 2) : rnd(65);
    case A_PORT: {
        uint32_t n = 0;

        if (r < 80) {
            for (uint32_t p = 1; p < PVKIT_EVTCHN_PORTS && n < 64; p++) {
                if (model.port[p].state) {
                    model.open[n++] = p;
                }
            }
        }
        return n ? model.open[rnd(n)] : rnd(PVKIT_EVTCHN_PORTS + 8);
    }
    case A_VCPU:
        return r < 70 ? rnd(48) : rnd(PVKIT_MAX_VCPUS + 2);
    case A_AREA:        /* mostly 64-byte aligned RAM, sometimes 0 */
        return r < 45 ? ram_addr() & ~63ull : r < 55 ? 0 : ram_addr();
    case A_SET:         /* mostly sets of existing vCPUs */
        return r < 80 ? host.vcpus & rnd64() : rnd64();
    case A_VEC:
        return r < 50 ? 0x20 + rnd(0xe0) : rnd(0x120);
    case A_EP:
        return r < 70 ? PVKIT_ENDPOINT_ECHO :
               r < 80 ? PVKIT_ENDPOINT_CLOCK : rnd(4);
    case A_REF:
        if (r < 75 && model.nr_good) {
            return model.good_ref[rnd(model.nr_good)];
        }
        return rnd(model.gnt_frames ? model.gnt_frames * (PAGE / 8) + 2 :
                   1024);
    case A_OP:
        return rnd(7);
    case A_FRAMES:
        return rnd(model.gnt_max ? model.gnt_max + 2 : 8);
    case A_FLAGS:       /* mostly 0 */
        return r < 85 ? 0 : r < 95 ? 1ull << rnd(64) : rnd64();
    case A_ANY:
    default:
        return r < 70 ? rnd(256) : rnd64();
    }
}

/* Flags of the ABI 1.6 calls: 0, else anything A_FLAGS makes. */
static uint64_t gen_flags(void)
{
    return chance(85) ? 0 : gen_arg(A_FLAGS);
}

/*
 * SPIN_WAIT: a lock byte mostly in RAM, else in ROM, MMIO, a hole or at
 * the top of the address space; a value mostly the byte's (the caller
 * parks), else another byte or one above 0xff.  An absent caller never
 * parks (see the top of the file): its value then differs.
 */
static void gen_spin_wait(uint64_t a[5])
{
    unsigned int r = (unsigned int)rnd(100);
    uint64_t b;

    a[0] = r < 65 ? ram_addr() :
           r < 71 ? ROM_BASE + rnd(PAGE) :
           r < 77 ? MMIO_B + rnd(PAGE) :
           r < 82 ? RAM_A + RAM_SIZE + rnd(ROM_BASE - RAM_SIZE) :
           r < 86 ? UINT64_MAX - rnd(2) :
           r < 94 ? boundary[rnd(sizeof(boundary) / sizeof(boundary[0]))] :
           rnd64();
    b = readable(a[0], 1) ? *shadow_ptr(a[0]) : rnd(256);
    r = (unsigned int)rnd(100);
    a[1] = r < 60 ? b :
           r < 78 ? (uint8_t)(b ^ (1 + rnd(255))) :
           r < 86 ? rnd(256) :
           r < 94 ? b | 1ull << (8 + rnd(56)) : rnd64();
    a[2] = gen_flags();
    a[3] = gen_arg(A_ANY);
    a[4] = gen_arg(A_ANY);
    if (host.self < PVKIT_MAX_VCPUS && !fake_vcpu_present(host.self) &&
        a[1] == b) {
        a[1] ^= 1;
    }
}

/* SPIN_KICK: mostly a waiting vCPU or an existing one. */
static void gen_spin_kick(uint64_t a[5])
{
    unsigned int r = (unsigned int)rnd(100), n = 0;
    uint32_t w[PVKIT_MAX_VCPUS];

    if (r < 40) {
        for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
            if (model.waiting[v]) {
                w[n++] = v;
            }
        }
    }
    a[0] = n ? w[rnd(n)] :
           r < 75 ? present_vcpu() :
           r < 80 ? host.self :
           r < 85 ? 1ull << 63 | present_vcpu() :
           r < 90 ? PVKIT_MAX_VCPUS - 1 - rnd(4) : gen_arg(A_VCPU);
    a[1] = gen_flags();
    for (int i = 2; i < 5; i++) {
        a[i] = gen_arg(A_ANY);
    }
}

/*
 * TLB_FLUSH: sets mostly of existing vCPUs, sometimes with bit 63, past
 * 255 or of absent ones; ranges mostly whole or a few pages, sometimes
 * misaligned, to or past the top, or counting more pages than 2^64 has.
 */
static void gen_tlb_flush(uint64_t a[5])
{
    unsigned int r = (unsigned int)rnd(100);
    uint64_t first, own, k;

    first = r < 45 ? 0 :
            r < 65 ? rnd(64) :
            r < 78 ? PVKIT_MAX_VCPUS - 1 - rnd(8) :
            r < 82 ? PVKIT_MAX_VCPUS + rnd(2) :
            r < 90 ? boundary[rnd(sizeof(boundary) / sizeof(boundary[0]))] :
            rnd64();
    own = first < 64 ? host.vcpus >> first : 0;
    r = (unsigned int)rnd(100);
    a[0] = first;
    a[1] = r < 55 ? own & rnd64() :
           r < 62 ? own :
           r < 70 ? 0 :
           r < 78 ? (own & rnd64()) | 1ull << 63 :
           r < 88 ? 1ull << rnd(64) : rnd64();
    r = (unsigned int)rnd(100);
    k = 1 + rnd(16);
    if (r < 30) {                   /* everything */
        a[2] = 0;
        a[3] = 0;
    } else if (r < 55) {            /* a few pages */
        a[2] = rnd64() & PAGE_MASK & 0x00007fffffffffffull;
        a[3] = k;
    } else if (r < 62) {            /* misaligned */
        a[2] = (rnd64() & PAGE_MASK) | (1 + rnd(PAGE - 1));
        a[3] = k;
    } else if (r < 67) {            /* an address, but no pages */
        a[2] = k * PAGE;
        a[3] = 0;
    } else if (r < 77) {            /* up to the top, or one page past */
        a[2] = 0 - k * PAGE;
        a[3] = k - 1 + rnd(3);
    } else if (r < 85) {            /* as many pages as 2^64 has, or more */
        a[2] = chance(50) ? 0 : PAGE * rnd(3);
        a[3] = UINT64_MAX / PAGE - 1 + rnd(3);
    } else if (r < 92) {            /* a huge count */
        a[2] = chance(50) ? 0 : 0x7f0000000000ull;
        a[3] = rnd64() | 1ull << rnd(64);
    } else {
        a[2] = gen_arg(A_ANY);
        a[3] = gen_arg(A_ANY);
    }
    a[4] = gen_flags();
}

static void gen_args(uint32_t nr, uint64_t a[5])
{
    enum akind k[5] = { A_ANY, A_ANY, A_ANY, A_ANY, A_ANY };

    switch (nr) {
    case PVKIT_HC_SPIN_WAIT:
        gen_spin_wait(a);
        return;
    case PVKIT_HC_SPIN_KICK:
        gen_spin_kick(a);
        return;
    case PVKIT_HC_TLB_FLUSH:
        gen_tlb_flush(a);
        return;
    case PVKIT_HC_CONSOLE_WRITE:
    case PVKIT_HC_CONSOLE_READ:
        k[0] = A_ADDR; k[1] = A_LEN;
        break;
    case PVKIT_HC_TEST_COPY:
        k[0] = A_ADDR; k[1] = A_ADDR; k[2] = A_LEN;
        break;
    case PVKIT_HC_SHARED_INFO:
        k[0] = A_ADDR;
        break;
    case PVKIT_HC_VCPU_UPCALL:
        k[0] = A_VCPU; k[1] = A_VEC;
        break;
    case PVKIT_HC_EVTCHN_BIND_HOST:
        k[0] = A_EP;
        break;
    case PVKIT_HC_EVTCHN_BIND_IPI:
        k[0] = A_VCPU;
        break;
    case PVKIT_HC_EVTCHN_SEND:
    case PVKIT_HC_EVTCHN_CLOSE:
    case PVKIT_HC_EVTCHN_UNMASK:
    case PVKIT_HC_EVTCHN_STATUS:
        k[0] = A_PORT;
        break;
    case PVKIT_HC_EVTCHN_BIND_VCPU:
        k[0] = A_PORT; k[1] = A_VCPU;
        break;
    case PVKIT_HC_VCPU_INFO:
        k[0] = A_VCPU; k[1] = A_AREA;
        break;
    case PVKIT_HC_VCPU_SEND_IPI:
        k[0] = A_VCPU; k[1] = A_SET; k[2] = A_VEC;
        break;
    case PVKIT_HC_CLOCK_SETUP:
        k[0] = A_VCPU; k[1] = A_AREA; k[2] = A_FLAGS;
        break;
    case PVKIT_HC_CLOCK_WALL:
        k[0] = A_AREA; k[1] = A_FLAGS;
        break;
    case PVKIT_HC_STEAL_SETUP:
        k[0] = A_VCPU; k[1] = A_AREA; k[2] = A_FLAGS;
        break;
    case PVKIT_HC_TEST_HOLD:
        a[0] = gen_arg(A_VCPU);
        a[1] = chance(70) ? rnd(PVKIT_TEST_HOLD_MAX_MS + 2) : gen_arg(A_ANY);
        a[2] = a[3] = a[4] = gen_arg(A_ANY);
        return;
    case PVKIT_HC_TEST_RUN_DELAY:
        k[0] = A_VCPU;
        break;
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    case PVKIT_HC_GNTTAB_SETUP:
        k[0] = A_ADDR; k[1] = A_FRAMES;
        break;
    case PVKIT_HC_TEST_GRANT:
        k[0] = A_REF; k[1] = A_OP; k[2] = A_ANY; k[3] = A_LEN;
        break;
#endif
    }
    for (int i = 0; i < 5; i++) {
        a[i] = gen_arg(k[i]);
    }
}

/* ---- the guest's own memory traffic ---- */

static void guest_store(uint64_t gpa, const void *buf, size_t len)
{
    memcpy(mem_ptr(gpa), buf, len);
    memcpy(shadow_ptr(gpa), buf, len);
}

static void guest_action(void)
{
    struct pvkit_shared_info *si = model.shared_gpa ?
        (struct pvkit_shared_info *)mem_ptr(model.shared_gpa) : NULL;
    uint32_t port = (uint32_t)gen_arg(A_PORT) % PVKIT_EVTCHN_PORTS;
    uint64_t bit = 1ull << (port % 64), w;
    uint8_t b[64];

    switch (rnd(8)) {
    case 0: {           /* any store */
        uint64_t gpa = ram_addr();
        size_t n = 1 + rnd(sizeof(b));

        if (!writable(gpa, n)) {
            return;
        }
        for (size_t i = 0; i < n; i++) {
            b[i] = (uint8_t)rnd(256);
        }
        guest_store(gpa, b, n);
        return;
    }
    case 1:             /* mask or unmask a port */
        if (si) {
            w = si->evtchn_mask[port / 64] ^ bit;
            guest_store(model.shared_gpa +
                        offsetof(struct pvkit_shared_info, evtchn_mask) +
                        8 * (port / 64), &w, 8);
        }
        return;
    case 2:             /* the upcall handler takes a port */
        if (si) {
            w = si->evtchn_pending[port / 64] & ~bit;
            guest_store(model.shared_gpa +
                        offsetof(struct pvkit_shared_info, evtchn_pending) +
                        8 * (port / 64), &w, 8);
        }
        return;
    case 3: {           /* ... clears the vCPU's flags */
        uint32_t v = (uint32_t)rnd(48);
        uint64_t at = model.vcpu_gpa[v] ? model.vcpu_gpa[v] :
                      si && v < PVKIT_SHARED_INFO_VCPUS ?
                      model.shared_gpa + 64 * v : 0;

        if (at) {
            memset(b, 0, 16);
            b[1] = ((const struct pvkit_vcpu_info *)mem_ptr(at))->
                   evtchn_upcall_mask ^ (uint8_t)rnd(2);
            guest_store(at, b, 16);
        }
        return;
    }
    case 4: {           /* console input arrives */
        uint32_t n = (uint32_t)rnd(200);

        if (n > sizeof(host.in) - host.in_len) {
            n = sizeof(host.in) - host.in_len;
        }
        for (uint32_t i = 0; i < n; i++) {
            host.in[host.in_len++] = (uint8_t)rnd(256);
        }
        return;
    }
    case 5:             /* a grant entry */
        if (model.gnt_frames && model.gnt_frames < 64) {
            struct pvkit_grant_entry e = {
                .flags = (uint16_t)(chance(80) ? (rnd(2) ? 1 : 5) :
                                    rnd(0x10000)),
                .domid = (uint16_t)(chance(90) ? 0 : rnd(4)),
                .frame = (uint32_t)(chance(80) ? ram_addr() / PAGE :
                                    chance(50) ? ROM_BASE / PAGE :
                                    chance(50) ? MMIO_B / PAGE : rnd64()),
            };
            uint64_t ref = rnd(model.gnt_frames * (PAGE / 8));

            guest_store(model.gnt_gpa + 8 * ref, &e, sizeof(e));
        }
        return;
    case 6:             /* a fresh shared page */
        if (si && chance(10)) {
            static const uint8_t zero[PAGE];

            guest_store(model.shared_gpa, zero, PAGE);
        }
        return;
    default:
        return;
    }
}

/* State that makes the deeper paths reachable. */
static void setup(void)
{
    uint64_t page;

    page = (chance(50) ? RAM_A : RAM_B) +
           PAGE * rnd(RAM_SIZE / PAGE);
    hc(PVKIT_HC_SHARED_INFO, page, 0, 0, 0, 0);
    for (uint32_t v = 0; v < PVKIT_MAX_VCPUS; v++) {
        if (fake_vcpu_present(v)) {
            hc(PVKIT_HC_VCPU_UPCALL, v, chance(80) ? 0x20 + rnd(0xe0) : 0,
               0, 0, 0);
        }
    }
    for (int i = 0; i < 4; i++) {
        hc(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO, 0, 0, 0, 0);
        hc(PVKIT_HC_EVTCHN_BIND_IPI, rnd(4), 0, 0, 0, 0);
        hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
    }
    for (int i = 0; i < 3; i++) {
        host_backend();
    }
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    if (hc(PVKIT_HC_GNTTAB_MAX_FRAMES, 0, 0, 0, 0, 0) > 0) {
        uint64_t n = 1 + rnd(model.gnt_max < 4 ? model.gnt_max : 4);
        const struct region *r = &regions[chance(50) ? 0 : 2];

        page = r->base + PAGE * rnd(RAM_SIZE / PAGE - n + 1);
        if (hc(PVKIT_HC_GNTTAB_SETUP, page, n, 0, 0, 0) == 0) {
            model.nr_good = 0;
            for (int i = 0; i < 32; i++) {
                struct pvkit_grant_entry e = {
                    .flags = (uint16_t)(rnd(2) ? 1 : 5),
                    .frame = (uint32_t)(ram_addr() / PAGE),
                };
                uint32_t ref = (uint32_t)rnd(chance(50) ? 16 :
                                             n * (PAGE / 8));

                guest_store(page + 8 * ref, &e, sizeof(e));
                model.good_ref[model.nr_good++] = ref;
            }
        }
    }
#endif
}

/* Allocate until the table is full: the ENOSPC paths. */
static void fill_ports(void)
{
    for (int i = 0; i < PVKIT_EVTCHN_PORTS + 2; i++) {
        if (hc(PVKIT_HC_EVTCHN_ALLOC_UNBOUND + rnd(3), PVKIT_ENDPOINT_ECHO,
               0, 0, 0, 0) == -PVKIT_ENOSPC) {
            break;
        }
    }
}

static uint32_t gen_nr(void)
{
    static const uint32_t odd[] = {
        PVKIT_HC_COUNT, PVKIT_HC_COUNT - 1, 0xffffffffu, 0x80000000u,
        0x100, PVKIT_HCALL_PAGE_MAX_ENTRIES, 0x7fffffffu,
    };
    unsigned int r = (unsigned int)rnd(100);

    if (r < 94) {
        return (uint32_t)rnd(PVKIT_HC_COUNT + 4);
    }
    if (r < 97) {
        return (uint32_t)rnd64();
    }
    return odd[rnd(sizeof(odd) / sizeof(odd[0]))];
}

static void step(void)
{
    unsigned int r = (unsigned int)rnd(1000);
    uint64_t a[5];
    uint32_t nr;

    if (r < 100) {
        guest_action();
    } else if (r < 120) {
        host_backend();
    } else if (r < 125) {
        uint64_t v = gen_arg(A_ADDR);

        host_msr(chance(80) ? (v & PAGE_MASK) | 1 : v);
    } else if (r < 128) {
        setup();
    } else if (r == 128 && chance(20)) {
        host_migrate();
    } else if (r < 140) {
        host_steal();
    } else if (r < 160) {
        uint32_t v = present_vcpu();

        host.preempted[v] = !host.preempted[v];     /* no update yet */
    } else if (r < 165) {
        /* Another hold lasts, or none (run delays move in host_steal()). */
        host.hold_busy = chance(30);
    }
    pick_self();
    nr = gen_nr();
    gen_args(nr, a);
    do_call(nr, a);
}

/* A machine reset with new host parameters and guest memory. */
static void new_machine(void)
{
    uint64_t s = rnd64();

    host_reset();
#ifdef PVKIT_GNTTAB_MAX_FRAMES
    if (feat(PVKIT_F_GNTTAB)) {
        hc(PVKIT_HC_GNTTAB_SETUP, 0, 0, 0, 0, 0);
    }
#endif
    model.gnt_gpa = model.gnt_frames = 0;
    /* A reset: memory is about to change under any record. */
    pvkit_clock_reset(&ops, &host);
    pvkit_steal_reset(&ops, &host);
    memset(model.steal_gpa, 0, sizeof(model.steal_gpa));
    pvkit_spin_reset(&ops, &host);
    memset(host.parked, 0, sizeof(host.parked));
    memset(model.waiting, 0, sizeof(model.waiting));
    memset(model.kick_pending, 0, sizeof(model.kick_pending));
    memset(model.parked, 0, sizeof(model.parked));
    memset(host.preempted, 0, sizeof(host.preempted));
    host.self = 0;
    switch (rnd(10)) {
    case 0:
        host.features = ALL_F & rnd64();
        break;
    case 1:
        host.features = ALL_F | (1ull << 63) | (rnd64() & ~ALL_F);
        break;
    case 2:             /* an ABI 1.5 host */
        host.features = ALL_F & ~NEW_F;
        break;
    default:
        host.features = ALL_F;
    }
    refresh_hcall_page();
    host.vcpus = (chance(70) ? 0x8000000bu : (uint32_t)rnd64() | 1) |
                 (chance(50) ? 1ull << 40 : 0);
    host.in_len = 0;
    for (size_t i = 0; i < NR_REGIONS; i++) {
        struct region *r = &regions[i];

        for (uint64_t off = 0; off < r->size; off += 8) {
            uint64_t z = s & 1 ? 0 : (s += 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;

            memcpy(r->mem + off, &z, 8);
        }
        memcpy(r->shadow, r->mem, r->size);
    }
    if (chance(90)) {
        setup();
    }
    if (chance(10)) {
        fill_ports();
    }
}

static int init(void)
{
    for (size_t i = 0; i < NR_REGIONS; i++) {
        regions[i].mem = calloc(1, regions[i].size);
        regions[i].shadow = calloc(1, regions[i].size);
        if (!regions[i].mem || !regions[i].shadow) {
            return -1;
        }
    }
    fake_env = (struct fake_env){ .regions = regions,
                                  .nr_regions = NR_REGIONS,
                                  .fail = fail_contract,
                                  .access = log_access };
    host.features = ALL_F;
    host.vcpus = 1;
    host.out_limit = UINT32_MAX;
    host.store_refuse = true;   /* the store is not modelled */
    host.clock_p = (struct pvkit_time_info){
        .tsc_timestamp = 0x1122334455667788ull, .system_time = 0x99aabbccull,
        .tsc_to_system_mul = 0xdeadbeefu, .tsc_shift = -2, .flags = 1,
    };
    host.wall = (struct pvkit_wall_clock){ .system_time = 7, .sec = 8,
                                           .nsec = 9 };
    refresh_hcall_page();
    return 0;
}

static __attribute__((unused)) const char *const hc_name[] = {
    "VERSION", "FEATURES", "CONSOLE_WRITE", "CONSOLE_READ", "TEST_ECHO",
    "TEST_COPY", "SHARED_INFO", "VCPU_UPCALL", "EVTCHN_ALLOC_UNBOUND",
    "EVTCHN_BIND_HOST", "EVTCHN_BIND_IPI", "EVTCHN_SEND", "EVTCHN_CLOSE",
    "EVTCHN_UNMASK", "EVTCHN_STATUS", "EVTCHN_BIND_VCPU", "GNTTAB_SETUP",
    "GNTTAB_MAX_FRAMES", "TEST_GRANT", "STORE_SETUP", "VCPU_INFO",
    "VCPU_SEND_IPI", "CLOCK_SETUP", "CLOCK_WALL", "STEAL_SETUP",
    "SPIN_WAIT", "SPIN_KICK", "TLB_FLUSH",
};

#ifdef PVKIT_LIBFUZZER

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        if (missing_ops() || init()) {
            fprintf(stderr, "fuzz-dispatch: PVKitHostOps not fully faked\n");
            abort();
        }
        ready = true;
    }
    fz_mode = true;
    fz_data = data;
    fz_left = size;
    new_machine();
    while (fz_left) {
        step();
    }
    checkpoint();
    return 0;
}

#else

int main(int argc, char **argv)
{
    uint64_t n = 1000000, seed = 1, epoch = 20000, next = 0, total_v = 0;
    int c;

    while ((c = getopt(argc, argv, "n:s:v")) != -1) {
        switch (c) {
        case 'n':
            n = strtoull(optarg, NULL, 0);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 0);
            break;
        case 'v':
            verbose = 1;
            break;
        default:
            fprintf(stderr, "usage: %s [-n CALLS] [-s SEED] [-v]\n",
                    argv[0]);
            return 2;
        }
    }
    if (missing_ops()) {
        printf("not ok - fuzz: PVKitHostOps has %u callbacks that"
               " tests/host/fuzz-dispatch.c does not fake yet\n",
               missing_ops());
        return 1;
    }
    if (init()) {
        return 2;
    }
    rng_state = seed;
    cur.seed = seed;
    while (calls_total < n) {
        if (calls_total >= next) {
            checkpoint();
            new_machine();
            next = calls_total + epoch;
        }
        step();
    }
    checkpoint();

    printf("# fuzz-dispatch: seed %" PRIu64 ", %" PRIu64 " hypercalls, %"
           PRIu64 " successful calls the model did not predict"
           " byte-for-byte that changed guest memory\n", seed, calls_total,
           deep);
    for (uint32_t nr = 0; nr <= PVKIT_HC_COUNT; nr++) {
        printf("#   %-20s %8" PRIu64 " calls %8" PRIu64 " errors\n",
               nr < PVKIT_HC_COUNT && nr < sizeof(hc_name) / sizeof(hc_name[0]) ?
               hc_name[nr] : nr < PVKIT_HC_COUNT ? "(new)" : "(unknown nr)",
               calls_by_nr[nr], errors_by_nr[nr]);
    }
    printf("#   spin: %" PRIu64 " waits, %" PRIu64 " parked, %" PRIu64
           " kicks, %" PRIu64 " woke a parked vCPU; tlb: %" PRIu64
           " flushes of %" PRIu64 " vCPUs, %" PRIu64 " whole\n",
           host.spin.stats.waits, host.spin.stats.blocks,
           host.spin.stats.kicks, host.spin.stats.wakes,
           host.tlb.stats.flushes, host.tlb.stats.targets,
           host.tlb.stats.full);
    for (int e = 0; e < 64; e++) {
        if (calls_by_errno[e]) {
            printf("#   -%-19s %8" PRIu64 "\n", errno_name(e),
                   calls_by_errno[e]);
        }
    }
    for (int i = 0; i < V_NR; i++) {
        printf("#   violations %-8s %" PRIu64 "\n", vclass_name[i],
               violations[i]);
        total_v += violations[i];
    }
    printf("%s - %" PRIu64 " random hypercalls, %" PRIu64 " errors returned,"
           " %" PRIu64 " invariant violations\n", total_v ? "not ok" : "ok",
           calls_total, errors_total, total_v);
    for (size_t i = 0; i < NR_REGIONS; i++) {
        free(regions[i].mem);
        free(regions[i].shadow);
    }
    return total_v ? 1 : 0;
}

#endif
