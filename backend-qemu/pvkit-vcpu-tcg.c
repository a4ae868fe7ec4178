/*
 * pvkit reference host: what the host does to vCPUs under TCG for the
 * spinlock and TLB-flush hypercalls (and the test hold)
 *
 * Every hypercall runs on the calling vCPU's thread, under the BQL, in
 * the middle of a translation block (the OUT), so nothing here may wait
 * for another vCPU or leave the block early: it only asks.
 *
 * Parking (SPIN_WAIT) is the generic halt request, which the vCPU takes
 * at its next interrupt check, before any hardware interrupt: it then
 * sleeps as after HLT, until an interrupt it accepts (IF=1) or a kick
 * clears the halt.  Flushing another vCPU's TLB (TLB_FLUSH) is work
 * queued on that vCPU, which it runs before it executes guest code
 * again, whether it is running, halted or stopped; the caller queues one
 * more item of "safe" work on itself, which runs only once every other
 * vCPU has left its execution loop: from then on none can use a stale
 * entry, and the caller executes at most the rest of its current block
 * (the hypercall's return) before that.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "exec/cputlb.h"
#include "hw/core/cpu.h"
#include "system/runstate.h"
#include "pvkit-internal.h"

/* Above this many pages a target drops its whole TLB instead. */
#define PVKIT_TLB_RANGE_MAX     64
/* Every TCG MMU index of a CPU (user, kernel, SMAP, physical...). */
#define PVKIT_ALL_MMUIDX        ((1u << NB_MMU_MODES) - 1)

uint32_t pvkit_vcpu_self(void *opaque)
{
    return current_cpu ? (uint32_t)X86_CPU(current_cpu)->apic_id : UINT32_MAX;
}

void pvkit_vcpu_block(void *opaque, uint32_t vcpu)
{
    cpu_interrupt(current_cpu, CPU_INTERRUPT_HALT);
}

bool pvkit_vcpu_unblock(void *opaque, uint32_t vcpu)
{
    CPUState *cs = cpu_by_arch_id(vcpu);

    if (!cs || !(cs->halted || (cs->interrupt_request & CPU_INTERRUPT_HALT))) {
        return false;
    }
    cpu_reset_interrupt(cs, CPU_INTERRUPT_HALT);
    cs->halted = 0;
    qemu_cpu_kick(cs);
    return true;
}

static void pvkit_tlb_flush_all_work(CPUState *cs, run_on_cpu_data data)
{
    tlb_flush(cs);
}

/* The range travels as its first address with the page count - 1 below. */
static void pvkit_tlb_flush_range_work(CPUState *cs, run_on_cpu_data data)
{
    vaddr va = data.target_ptr & TARGET_PAGE_MASK;
    vaddr pages = (data.target_ptr & ~TARGET_PAGE_MASK) + 1;

    tlb_flush_range_by_mmuidx(cs, va, pages * TARGET_PAGE_SIZE,
                              PVKIT_ALL_MMUIDX, TARGET_LONG_BITS);
}

void pvkit_tlb_flush(void *opaque, uint32_t vcpu, uint64_t va,
                     uint64_t pages)
{
    CPUState *cs = cpu_by_arch_id(vcpu);

    QEMU_BUILD_BUG_ON(PVKIT_TLB_RANGE_MAX > TARGET_PAGE_SIZE);
    if (!cs) {
        return;
    }
    if (!pages || pages > PVKIT_TLB_RANGE_MAX) {
        async_run_on_cpu(cs, pvkit_tlb_flush_all_work, RUN_ON_CPU_NULL);
        return;
    }
    async_run_on_cpu(cs, pvkit_tlb_flush_range_work,
                     RUN_ON_CPU_TARGET_PTR(va | (pages - 1)));
}

static void pvkit_tlb_flush_done(CPUState *cs, run_on_cpu_data data)
{
    /* Every target has left its execution loop: nothing to do. */
}

void pvkit_tlb_flush_sync(void *opaque)
{
    async_safe_run_on_cpu(current_cpu, pvkit_tlb_flush_done, RUN_ON_CPU_NULL);
}

/*
 * TEST_HOLD: keep a vCPU stopped for a while, as a host that does not
 * schedule it would: it runs no guest code, takes no interrupt, but
 * still runs work queued on it (TLB flushes).  A VM stop and continue
 * in between lets it run early.
 */
static void pvkit_hold_end(void *opaque)
{
    PVKitState *s = opaque;
    CPUState *cs = cpu_by_arch_id(s->held_vcpu);

    if (cs && runstate_is_running()) {
        cpu_resume(cs);
    }
    s->held = false;
    pvkit_steal_update(&pvkit_host_ops, s, s->held_vcpu);
}

int pvkit_test_hold(void *opaque, uint32_t vcpu, uint32_t ms)
{
    PVKitState *s = opaque;
    CPUState *cs = cpu_by_arch_id(vcpu);

    if (!cs) {
        return -PVKIT_ENOENT;
    }
    if (s->held) {
        return -PVKIT_EBUSY;
    }
    if (!s->hold_timer) {
        s->hold_timer = timer_new_ms(QEMU_CLOCK_REALTIME, pvkit_hold_end, s);
    }
    s->held = true;
    s->held_vcpu = vcpu;
    cpu_pause(cs);
    timer_mod(s->hold_timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + ms);
    pvkit_steal_update(&pvkit_host_ops, s, vcpu);
    return 0;
}

bool pvkit_vcpu_held(PVKitState *s, uint32_t vcpu)
{
    return s->held && s->held_vcpu == vcpu;
}

/* Machine reset or unplug: let a held vCPU go now. */
void pvkit_hold_fini(PVKitState *s, bool free_timer)
{
    if (s->hold_timer) {
        if (s->held) {
            timer_del(s->hold_timer);
            pvkit_hold_end(s);
        }
        if (free_timer) {
            timer_free(s->hold_timer);
            s->hold_timer = NULL;
        }
    }
}
