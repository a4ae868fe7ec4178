// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit steal time: how long each vCPU was ready to run while the host
 * ran something else (SPEC section 14).
 *
 * With PVKIT_F_STEAL the host keeps a per-vCPU record of it, counted from
 * its own scheduler's run delay for the vCPU's thread.  The scheduler
 * reads it through paravirt_steal_clock(): stolen time shows as "steal"
 * in /proc/stat and is not charged to whatever task the vCPU was running
 * (and, with CONFIG_PARAVIRT_TIME_ACCOUNTING, not to the runqueue's
 * clock either).
 *
 * Each CPU's record is per-CPU data, registered by the CPU bringing it up
 * (the host takes the vCPU as an argument), so it is current before the
 * CPU's first tick.  The record also says whether the host keeps the
 * vCPU off a CPU now: vcpu_is_preempted(), which lock spinners (mutex
 * and rwsem owners, the scheduler's idle-CPU choice) consult.
 * "pvkit_steal=off" leaves both out.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/percpu.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <asm/apic.h>
#include <asm/paravirt.h>
#include <asm/pvkit.h>

/* Cache-line aligned: the host's record is 64 bytes, 64-byte aligned. */
static DEFINE_PER_CPU_ALIGNED(struct pvkit_steal_time, pvkit_steal_rec);
/* CPUs whose record the host keeps (shutdown stops exactly these). */
static struct cpumask pvkit_steal_registered;

static bool pvkit_steal_disabled __initdata;
static const char *pvkit_steal_status __ro_after_init = "off: no pvkit host";
static bool pvkit_steal_active __ro_after_init;

static int __init pvkit_steal_parse(char *arg)
{
	if (arg && !strcmp(arg, "off"))
		pvkit_steal_disabled = true;
	return 0;
}
early_param("pvkit_steal", pvkit_steal_parse);

/*
 * Nanoseconds stolen from @cpu so far.  The host rewrites the record as a
 * sequence count; read it as one.
 */
static u64 pvkit_steal_clock(int cpu)
{
	struct pvkit_steal_time *rec = per_cpu_ptr(&pvkit_steal_rec, cpu);
	u32 version;
	u64 steal;

	do {
		version = READ_ONCE(rec->version);
		/* Pairs with the host's release of the even version. */
		virt_rmb();
		steal = READ_ONCE(rec->steal);
		/* Pairs with the host's fence after the odd version. */
		virt_rmb();
	} while ((version & 1) || version != READ_ONCE(rec->version));
	return steal;
}

static long pvkit_steal_register(unsigned int cpu, bool on)
{
	struct pvkit_steal_time *rec = per_cpu_ptr(&pvkit_steal_rec, cpu);

	return pvkit_hypercall(PVKIT_HC_STEAL_SETUP, cpu_physical_id(cpu),
			       on ? per_cpu_ptr_to_phys(rec) : 0, 0, 0, 0);
}

/*
 * Before a CPU starts (on the CPU bringing it up; for CPUs already up,
 * when steal time starts): have the host fill its record.  A record the
 * host refuses reads as no steal: the CPU still runs.
 */
static int pvkit_steal_prepare_cpu(unsigned int cpu)
{
	long ret = pvkit_steal_register(cpu, true);

	if (ret) {
		pr_warn("CPU%u: host refused its steal record (%ld)\n", cpu, ret);
		return 0;
	}
	cpumask_set_cpu(cpu, &pvkit_steal_registered);
	return 0;
}

/*
 * Is @cpu's vCPU kept off a host CPU right now (as far as the host last
 * said)?  Lock spinners stop spinning on an owner that is not running.
 * Called through a callee-save thunk: plain C, no locks, no side effects.
 */
__visible bool pvkit_vcpu_is_preempted(long cpu);
__visible bool pvkit_vcpu_is_preempted(long cpu)
{
	return READ_ONCE(per_cpu(pvkit_steal_rec, cpu).preempted) &
	       PVKIT_STEAL_PREEMPTED;
}

#ifdef CONFIG_PARAVIRT_SPINLOCKS
PV_CALLEE_SAVE_REGS_THUNK(pvkit_vcpu_is_preempted);
#endif

/*
 * From the platform setup, before the paravirt call sites are patched:
 * decide, and take vcpu_is_preempted() (the records it reads come later,
 * and read as "running" until then).
 */
void __init pvkit_steal_init_platform(void)
{
	if (pvkit_steal_disabled) {
		pvkit_steal_status = "off: pvkit_steal=off";
		return;
	}
	if (!(pvkit_features() & PVKIT_F_STEAL)) {
		pvkit_steal_status = "off: the host offers no steal time";
		return;
	}
#ifdef CONFIG_PARAVIRT_SPINLOCKS
	pv_ops.lock.vcpu_is_preempted =
		PV_CALLEE_SAVE(pvkit_vcpu_is_preempted);
#endif
	pvkit_steal_active = true;
}

/* After the per-CPU areas exist and before the other CPUs start. */
static int __init pvkit_steal_init(void)
{
	int ret;

	if (!pvkit_steal_active)
		return 0;
	ret = cpuhp_setup_state(CPUHP_BP_PREPARE_DYN, "x86/pvkit/steal:prepare",
				pvkit_steal_prepare_cpu, NULL);
	if (ret < 0) {
		/* vcpu_is_preempted() reads zeroed records: "running". */
		pvkit_steal_status = "off: no CPU hotplug state";
		pvkit_steal_active = false;
		return 0;
	}
	static_call_update(pv_steal_clock, pvkit_steal_clock);
	static_key_slow_inc(&paravirt_steal_enabled);
	if (IS_ENABLED(CONFIG_PARAVIRT_TIME_ACCOUNTING))
		static_key_slow_inc(&paravirt_steal_rq_enabled);
	pvkit_steal_status = "on";
	pr_info("steal time: counted by the host, with preempted vCPUs\n");
	return 0;
}
early_initcall(pvkit_steal_init);

/**
 * pvkit_steal_preempted_cpus() - CPUs whose vCPU the host says is preempted
 * @mask: filled with them
 *
 * For /sys/hypervisor/pvkit/preempted and the kit's tests.
 */
void pvkit_steal_preempted_cpus(struct cpumask *mask)
{
	unsigned int cpu;

	cpumask_clear(mask);
	for_each_cpu(cpu, &pvkit_steal_registered) {
		if (pvkit_vcpu_is_preempted(cpu))
			cpumask_set_cpu(cpu, mask);
	}
}

/* What /sys/hypervisor/pvkit/steal says. */
const char *pvkit_steal_state(void)
{
	return pvkit_steal_status;
}

/*
 * Before kexec (syscore shutdown), a crash or a suspend: the host must
 * not write into memory the next kernel owns.
 */
void pvkit_steal_shutdown(void)
{
	unsigned int cpu;
	long ret;

	for_each_cpu(cpu, &pvkit_steal_registered) {
		ret = pvkit_steal_register(cpu, false);
		if (ret)
			pr_err("shutdown: host kept CPU%u's steal record (%ld)\n",
			       cpu, ret);
		cpumask_clear_cpu(cpu, &pvkit_steal_registered);
	}
}

/* Syscore resume, on the boot CPU: its record again (as for the clock). */
void pvkit_steal_resume(void)
{
	if (pvkit_steal_active)
		pvkit_steal_prepare_cpu(0);
}
