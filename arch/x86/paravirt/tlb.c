// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit TLB flush: remote TLB shootdowns without IPIs (SPEC section 16).
 *
 * With PVKIT_F_TLB_FLUSH one TLB_FLUSH hypercall per 64 APIC IDs drops
 * the stale entries of every CPU in the mask, the initiator's included,
 * and returns only when none of them can use one any more.  The targets
 * take no interrupt and run no code for it: a preempted or halted vCPU
 * does not hold the initiator up, and cannot come back with an entry
 * the flush should have dropped, because the host flushes it before it
 * runs again.
 *
 * The targets do not run flush_tlb_func(), so their per-CPU TLB
 * generations stay behind: the next flush they do themselves is then a
 * full one, which costs a little and is always correct.  CPUs in lazy
 * TLB mode are flushed like the others: the host's flush covers the
 * paging-structure caches too (SPEC), so freed page tables are safe
 * without moving those CPUs to init_mm.
 *
 * Freeing page tables can no longer rely on an IPI to wait for lockless
 * walkers (GUP-fast runs with interrupts off): like every hypervisor
 * flush, the kit frees them through RCU instead.
 *
 * "pvkit_tlb=off" keeps the native IPIs.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/init.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <asm/paravirt.h>
#include <asm/pvkit.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>

static bool pvkit_tlb_disabled __initdata;
static const char *pvkit_tlb_status __ro_after_init = "off: no pvkit host";
/* TLB_FLUSH calls made, for the kit's tests and benchmarks. */
static DEFINE_PER_CPU(unsigned long, pvkit_tlb_calls);

static int __init pvkit_tlb_parse(char *arg)
{
	if (arg && !strcmp(arg, "off"))
		pvkit_tlb_disabled = true;
	return 0;
}
early_param("pvkit_tlb", pvkit_tlb_parse);

/* The range of one flush, in the host's terms: pages 0 is everything. */
struct pvkit_tlb_range {
	unsigned long va;
	unsigned long pages;
};

static bool pvkit_tlb_flush_set(u32 first, u64 bitmap, void *data)
{
	const struct pvkit_tlb_range *r = data;
	long ret = pvkit_hypercall(PVKIT_HC_TLB_FLUSH, first, bitmap, r->va,
				   r->pages, 0);

	this_cpu_inc(pvkit_tlb_calls);
	return ret >= 0;
}

static void pvkit_flush_tlb_multi(const struct cpumask *cpus,
				  const struct flush_tlb_info *info)
{
	struct pvkit_tlb_range r = { };

	if (info->end != TLB_FLUSH_ALL) {
		r.va = info->start & PAGE_MASK;
		r.pages = (PAGE_ALIGN(info->end) - r.va) >> PAGE_SHIFT;
	}
	/* A refused set: the whole mask again, with IPIs. */
	if (!pvkit_vcpu_sets(cpus, pvkit_tlb_flush_set, &r)) {
		pr_warn_once("the host refused a TLB flush: IPIs instead\n");
		native_flush_tlb_multi(cpus, info);
	}
}

/**
 * pvkit_tlb_init() - flush remote TLBs with the host
 *
 * Called from the platform setup, before the paravirt call sites are
 * patched.
 */
void __init pvkit_tlb_init(void)
{
	if (pvkit_tlb_disabled) {
		pvkit_tlb_status = "off: pvkit_tlb=off";
		return;
	}
	if (!(pvkit_features() & PVKIT_F_TLB_FLUSH)) {
		pvkit_tlb_status = "off: the host offers no TLB flush";
		return;
	}
	pv_ops.mmu.flush_tlb_multi = pvkit_flush_tlb_multi;
	pv_ops.mmu.tlb_remove_table = tlb_remove_table;
	pvkit_tlb_status = "on";
	pr_info("TLB shootdowns: the host flushes, no IPIs\n");
}

/* What /sys/hypervisor/pvkit/tlb_flush says. */
const char *pvkit_tlb_state(void)
{
	return pvkit_tlb_status;
}

/* TLB_FLUSH calls so far, on all CPUs. */
unsigned long pvkit_tlb_flushes(void)
{
	return pvkit_percpu_sum(&pvkit_tlb_calls);
}
