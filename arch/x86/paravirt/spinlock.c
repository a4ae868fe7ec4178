// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit paravirtual spinlocks (SPEC section 15).
 *
 * On an overcommitted host a vCPU spinning on a lock may be spinning on
 * a holder, or on the waiter queued ahead of it, that the host is not
 * running: the spin only burns the time the holder needs.  With
 * PVKIT_F_SPIN the kernel's paravirtual queued-spinlock slow path parks
 * such a waiter in the host (SPIN_WAIT) once it has spun a while, and
 * the CPU that hands the lock on wakes it (SPIN_KICK).
 *
 * The slow path waits on a byte (its queue node's state, or the lock's
 * "locked" byte) and changes that byte before it kicks.  The host reads
 * the byte again under its own lock before it parks the vCPU, and keeps
 * a kick that comes before the park for the next wait, so no kick is
 * lost whatever the order.
 *
 * "pvkit_spin=off" gives native queued spinlocks instead (not the
 * test-and-set lock a guest otherwise falls back to), so one image shows
 * both sides of the comparison.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/hardirq.h>
#include <linux/init.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <asm/paravirt.h>
#include <asm/pgtable_types.h>
#include <asm/pvkit.h>
#include <asm/qspinlock.h>

static bool pvkit_spin_disabled __initdata;
static const char *pvkit_spin_status __ro_after_init = "off: no pvkit host";

/* SPIN_WAIT calls, those that parked the vCPU, and SPIN_KICK calls. */
static DEFINE_PER_CPU(unsigned long, pvkit_spin_waits);
static DEFINE_PER_CPU(unsigned long, pvkit_spin_parks);
static DEFINE_PER_CPU(unsigned long, pvkit_spin_kicks);

static int __init pvkit_spin_parse(char *arg)
{
	if (arg && !strcmp(arg, "off"))
		pvkit_spin_disabled = true;
	return 0;
}
early_param("pvkit_spin", pvkit_spin_parse);

/*
 * Park this vCPU while *@ptr == @val, until kicked or interrupted (with
 * interrupts on).  Returning early is always allowed: the slow path
 * checks again and waits again.
 */
static void pvkit_spin_wait(u8 *ptr, u8 val)
{
	long ret;

	/* An NMI may have interrupted the very CPU that would kick us. */
	if (in_nmi() || READ_ONCE(*ptr) != val)
		return;
	/* The lock may live in vmalloc space: walk the page tables. */
	ret = pvkit_hypercall(PVKIT_HC_SPIN_WAIT, slow_virt_to_phys(ptr), val,
			      0, 0, 0);
	this_cpu_inc(pvkit_spin_waits);
	if (ret == PVKIT_SPIN_WAIT_WOKEN)
		this_cpu_inc(pvkit_spin_parks);
}

static void pvkit_spin_kick(int cpu)
{
	this_cpu_inc(pvkit_spin_kicks);
	pvkit_hypercall(PVKIT_HC_SPIN_KICK, cpu_physical_id(cpu), 0, 0, 0, 0);
}

/**
 * pvkit_spin_init() - park lock waiters in the host
 *
 * From smp_prepare_boot_cpu(): after native_pv_lock_init(), before the
 * other CPUs start and before the paravirt call sites are patched.
 */
void __init pvkit_spin_init(void)
{
	if (pvkit_spin_disabled || num_possible_cpus() == 1) {
		pvkit_spin_status = pvkit_spin_disabled ?
			"off: pvkit_spin=off" : "off: one CPU";
		/* Native queued spinlocks, not the test-and-set fallback. */
		static_branch_disable(&virt_spin_lock_key);
		return;
	}
	if (!(pvkit_features() & PVKIT_F_SPIN)) {
		pvkit_spin_status = "off: the host offers no spinlock calls";
		return;
	}
	__pv_init_lock_hash();
	pv_ops.lock.queued_spin_lock_slowpath = __pv_queued_spin_lock_slowpath;
	pv_ops.lock.queued_spin_unlock =
		PV_CALLEE_SAVE(__pv_queued_spin_unlock);
	pv_ops.lock.wait = pvkit_spin_wait;
	pv_ops.lock.kick = pvkit_spin_kick;
	/* The paravirtual slow path replaces the test-and-set fallback. */
	static_branch_disable(&virt_spin_lock_key);
	pvkit_spin_status = "on";
	pr_info("spinlocks: waiters park in the host\n");
}

/* What /sys/hypervisor/pvkit/spinlocks says. */
const char *pvkit_spin_state(void)
{
	return pvkit_spin_status;
}

/* SPIN_WAIT calls so far, on all CPUs. */
unsigned long pvkit_spin_waits_total(void)
{
	return pvkit_percpu_sum(&pvkit_spin_waits);
}

/* Of those, the ones that parked the vCPU. */
unsigned long pvkit_spin_parks_total(void)
{
	return pvkit_percpu_sum(&pvkit_spin_parks);
}

/* SPIN_KICK calls so far, on all CPUs. */
unsigned long pvkit_spin_kicks_total(void)
{
	return pvkit_percpu_sum(&pvkit_spin_kicks);
}
