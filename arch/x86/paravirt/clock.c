// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit clock: time from records the host keeps in guest memory.
 *
 * With PVKIT_F_CLOCK the host keeps, for every vCPU that registers one,
 * a record turning the guest's TSC into nanoseconds of system time (SPEC
 * section 13).  Its layout is pvclock's, so the kernel's pvclock code
 * reads it: the kit gets a clocksource, sched_clock(), the TSC rate
 * without calibrating against the PIT, the boot wall clock without
 * reading the CMOS RTC and, when the host says the TSC is one counter
 * for all vCPUs, a vDSO clock that reads time with no system call.
 *
 * CPU 0's record sits alone at the start of a page: the vDSO maps that
 * page into user space.  The other CPUs' records are per-CPU data,
 * registered by the boot CPU before each one is started (the host takes
 * the vCPU as an argument), so no CPU ever reads a record the host has
 * not written.
 *
 * "pvkit_clock=off" leaves every one of these to the native paths.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/clocksource.h>
#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/percpu.h>
#include <linux/pvkit_evtchn.h>
#include <linux/sched/clock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <asm/apic.h>
#include <asm/cpuid.h>
#include <asm/paravirt.h>
#include <asm/pvclock.h>
#include <asm/pvkit.h>
#include <asm/x86_init.h>

static_assert(sizeof(struct pvkit_time_info) ==
	      sizeof(struct pvclock_vcpu_time_info));
static_assert(offsetof(struct pvkit_time_info, tsc_to_system_mul) ==
	      offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul));
static_assert(offsetof(struct pvkit_time_info, flags) ==
	      offsetof(struct pvclock_vcpu_time_info, flags));
static_assert(PVKIT_TIME_TSC_STABLE == PVCLOCK_TSC_STABLE_BIT);

/*
 * CPU 0's record, alone in its page: the vDSO maps the page into every
 * process, which must see nothing else of the kernel's.
 */
static union {
	struct pvclock_vsyscall_time_info rec;
	u8 page[PAGE_SIZE];
} pvkit_clock_cpu0 __page_aligned_bss;

/* The other CPUs' records (pvclock_vsyscall_time_info is cache aligned). */
static DEFINE_PER_CPU(struct pvclock_vsyscall_time_info, pvkit_clock_rec);

/* Each CPU's record, read by sched_clock() and the clocksource. */
static DEFINE_PER_CPU(struct pvclock_vcpu_time_info *, pvkit_clock_pvti);
/* CPUs whose record the host keeps (shutdown stops exactly these). */
static struct cpumask pvkit_clock_registered;

static u64 pvkit_sched_clock_offset __ro_after_init;
static bool pvkit_clock_disabled __initdata;
static const char *pvkit_clock_status __ro_after_init = "off: no pvkit host";
/* The kit keeps time (what the status says, for the code). */
static bool pvkit_clock_active __ro_after_init;

static int __init pvkit_clock_parse(char *arg)
{
	if (arg && !strcmp(arg, "off"))
		pvkit_clock_disabled = true;
	return 0;
}
early_param("pvkit_clock", pvkit_clock_parse);

static long pvkit_clock_register(u32 apicid,
				 struct pvclock_vcpu_time_info *pvti)
{
	return pvkit_hypercall(PVKIT_HC_CLOCK_SETUP, apicid,
			       pvti ? slow_virt_to_phys(pvti) : 0, 0, 0, 0);
}

/*
 * The boot CPU's APIC ID, before the firmware tables that fill
 * cpu_physical_id() are read: CPUID's initial APIC ID (the kit names at
 * most 256 vCPUs, so its 8 bits are enough).
 */
static u32 __init pvkit_clock_boot_apicid(void)
{
	return cpuid_ebx(1) >> 24;
}

static u64 pvkit_clock_read(void)
{
	u64 ret;

	preempt_disable_notrace();
	ret = pvclock_clocksource_read_nowd(this_cpu_read(pvkit_clock_pvti));
	preempt_enable_notrace();
	return ret;
}

static u64 pvkit_clock_get_cycles(struct clocksource *cs)
{
	return pvkit_clock_read();
}

/* Called with preemption off (sched_clock()), hence no guard here. */
static noinstr u64 pvkit_sched_clock_read(void)
{
	return pvclock_clocksource_read_nowd(this_cpu_read(pvkit_clock_pvti)) -
	       pvkit_sched_clock_offset;
}

/* User space may now map CPU 0's record through the vDSO's page. */
static int pvkit_clock_enable(struct clocksource *cs)
{
	if (cs->vdso_clock_mode == VDSO_CLOCKMODE_PVCLOCK)
		vclocks_set_used(VDSO_CLOCKMODE_PVCLOCK);
	return 0;
}

/*
 * Rated above the TSC (300): the TSC is the same counter, but the
 * host's record also says how it relates to time across a migration.
 */
static struct clocksource pvkit_clocksource = {
	.name	= "pvkit-clock",
	.read	= pvkit_clock_get_cycles,
	.rating	= 400,
	.mask	= CLOCKSOURCE_MASK(64),
	.flags	= CLOCK_SOURCE_IS_CONTINUOUS,
	.enable	= pvkit_clock_enable,
};

/*
 * The host's real time now: what it read, carried forward by the system
 * time since.  @wall is a caller's buffer: the boot path runs before
 * anything can be allocated, the event path from one work item.
 */
static int pvkit_clock_host_time(struct pvkit_wall_clock *wall,
				 struct timespec64 *now)
{
	s64 since;
	long ret;

	ret = pvkit_hypercall(PVKIT_HC_CLOCK_WALL, slow_virt_to_phys(wall),
			      0, 0, 0, 0);
	if (ret) {
		pr_warn("clock: host refused its wall clock (%ld)\n", ret);
		return -EIO;
	}
	/* Read after the host's sample: not before it, whatever the host says. */
	since = max_t(s64, 0, pvkit_clock_read() - wall->system_time);
	now->tv_sec = wall->sec;
	now->tv_nsec = 0;
	timespec64_add_ns(now, wall->nsec + since);
	return 0;
}

static void (*pvkit_native_get_wallclock)(struct timespec64 *now)
	__ro_after_init;

/*
 * The boot wall clock: the host's, instead of the CMOS RTC's seconds,
 * which remain the fallback when the host refuses.
 */
static void pvkit_clock_get_wallclock(struct timespec64 *now)
{
	static struct pvkit_wall_clock wall;

	if (pvkit_clock_host_time(&wall, now))
		pvkit_native_get_wallclock(now);
}

static unsigned long pvkit_clock_tsc_khz(void)
{
	setup_force_cpu_cap(X86_FEATURE_TSC_KNOWN_FREQ);
	return pvclock_tsc_khz(this_cpu_read(pvkit_clock_pvti));
}

/*
 * Before a CPU other than 0 starts (on the boot CPU): point it at its
 * record and have the host fill it, so its first sched_clock() already
 * reads a written record.  A record the host refuses leaves the CPU
 * down: it would have no clock.
 */
static int pvkit_clock_prepare_cpu(unsigned int cpu)
{
	struct pvclock_vsyscall_time_info *rec;
	long ret;

	if (!cpu)
		return 0;
	rec = per_cpu_ptr(&pvkit_clock_rec, cpu);
	ret = pvkit_clock_register(cpu_physical_id(cpu), &rec->pvti);
	if (ret) {
		/*
		 * With the stable bit every record says the same: CPU 0's
		 * serves (as the vDSO's does).  Without it the CPU would have
		 * no clock of its own: leave it down.
		 */
		pr_err("CPU%u: host refused its clock record (%ld)\n", cpu, ret);
		if (!(pvclock_read_flags(&pvkit_clock_cpu0.rec.pvti) &
		      PVKIT_TIME_TSC_STABLE))
			return -EIO;
		per_cpu(pvkit_clock_pvti, cpu) = &pvkit_clock_cpu0.rec.pvti;
		return 0;
	}
	per_cpu(pvkit_clock_pvti, cpu) = &rec->pvti;
	cpumask_set_cpu(cpu, &pvkit_clock_registered);
	return 0;
}

/* Take the vDSO's clock when the record is the same on every vCPU. */
static void __init pvkit_clock_use_vdso(void)
{
	if (!(pvclock_read_flags(&pvkit_clock_cpu0.rec.pvti) &
	      PVKIT_TIME_TSC_STABLE))
		return;
	pvclock_set_pvti_cpu0_va(&pvkit_clock_cpu0.rec);
	pvkit_clocksource.vdso_clock_mode = VDSO_CLOCKMODE_PVCLOCK;
}

/**
 * pvkit_clock_init() - take time from the host's records
 *
 * From init_platform, before the TSC is calibrated and timekeeping
 * starts.  Registers CPU 0's record and installs the clocksource,
 * sched_clock(), the TSC rate and the boot wall clock.
 */
void __init pvkit_clock_init(void)
{
	struct pvclock_vcpu_time_info *pvti = &pvkit_clock_cpu0.rec.pvti;
	long ret;

	if (pvkit_clock_disabled) {
		pvkit_clock_status = "off: pvkit_clock=off";
		return;
	}
	if (!(pvkit_features() & PVKIT_F_CLOCK)) {
		pvkit_clock_status = "off: the host offers no clock";
		return;
	}
	ret = pvkit_clock_register(pvkit_clock_boot_apicid(), pvti);
	if (ret) {
		pr_err("clock: host refused CPU 0's record (%ld)\n", ret);
		pvkit_clock_status = "off: the host refused the record";
		return;
	}
	/*
	 * sched_clock() reads this on CPU 0 from here on.  Per-CPU areas do
	 * not exist yet: this writes the template every CPU's area is copied
	 * from, which is why the other CPUs are pointed at their own record
	 * before they start.
	 */
	this_cpu_write(pvkit_clock_pvti, pvti);
	cpumask_set_cpu(0, &pvkit_clock_registered);
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN,
					"x86/pvkit/clock:prepare",
					pvkit_clock_prepare_cpu, NULL);
	if (ret < 0) {
		pvkit_clock_register(pvkit_clock_boot_apicid(), NULL);
		cpumask_clear_cpu(0, &pvkit_clock_registered);
		pvkit_clock_status = "off: no CPU hotplug state";
		return;
	}

	/*
	 * The kit's records may carry the stable bit: pvclock reads it from
	 * now on (and, where it is set, skips its cross-CPU monotonicity
	 * guard, which the host's promise makes needless).
	 */
	pvclock_set_flags(PVCLOCK_TSC_STABLE_BIT);
	pvkit_clock_use_vdso();
	if (!(pvclock_read_flags(pvti) & PVKIT_TIME_TSC_STABLE))
		clear_sched_clock_stable();
	pvkit_sched_clock_offset = pvkit_clock_read();
	paravirt_set_sched_clock(pvkit_sched_clock_read);
	x86_platform.calibrate_tsc = pvkit_clock_tsc_khz;
	x86_platform.calibrate_cpu = pvkit_clock_tsc_khz;
	pvkit_native_get_wallclock = x86_platform.get_wallclock;
	x86_platform.get_wallclock = pvkit_clock_get_wallclock;
	clocksource_register_hz(&pvkit_clocksource, NSEC_PER_SEC);
	pvkit_clock_status = "pvkit-clock";
	pvkit_clock_active = true;
	pr_info("clock: pvkit-clock, TSC %lu kHz, %s\n",
		pvclock_tsc_khz(pvti),
		pvkit_clocksource.vdso_clock_mode == VDSO_CLOCKMODE_PVCLOCK ?
		"stable, in the vDSO" : "not stable across vCPUs");
}

/*
 * While the VM was stopped, system time stood still with the TSC and
 * real time went on without the guest.  The host says so on its clock
 * endpoint; step real time to the host's again.  A work item, not the
 * interrupt: setting the time may sleep.
 */
static void pvkit_clock_follow_host(struct work_struct *work)
{
	static struct pvkit_wall_clock wall;
	struct timespec64 host, guest;
	s64 off;

	if (pvkit_clock_host_time(&wall, &host))
		return;
	ktime_get_real_ts64(&guest);
	off = timespec64_to_ns(&host) - timespec64_to_ns(&guest);
	/* Below a millisecond, leave it to NTP's slewing, if any. */
	if (abs(off) < NSEC_PER_MSEC)
		return;
	/* The host's time again, as near to the step as can be. */
	if (pvkit_clock_host_time(&wall, &host))
		return;
	do_settimeofday64(&host);
	pr_info("clock: real time stepped by %lld ms to the host's\n",
		off / NSEC_PER_MSEC);
}

static DECLARE_WORK(pvkit_clock_follow_work, pvkit_clock_follow_host);

static irqreturn_t pvkit_clock_event(int irq, void *data)
{
	schedule_work(&pvkit_clock_follow_work);
	return IRQ_HANDLED;
}

/*
 * Until the kit's clocksource is current (fs_initcall), the kernel keeps
 * time by jiffies, and a slow early boot under TCG loses ticks: real time
 * lags the host's by what they missed (over a second, seen).  Once the
 * clock is current, bring real time back to the host's.
 */
static int __init pvkit_clock_follow_at_boot(void)
{
	/* Through the work item: the host's event may run it meanwhile. */
	if (pvkit_clock_active) {
		schedule_work(&pvkit_clock_follow_work);
		flush_work(&pvkit_clock_follow_work);
	}
	return 0;
}
late_initcall(pvkit_clock_follow_at_boot);

/* After event channels (arch_initcall): listen to the clock endpoint. */
static int __init pvkit_clock_events_init(void)
{
	int irq, ret;

	if (!pvkit_clock_active)
		return 0;
	irq = pvkit_evtchn_bind_host(PVKIT_ENDPOINT_CLOCK);
	if (irq < 0) {
		pr_warn("clock: no event after a pause (%d): real time will lag the host's\n",
			irq);
		return 0;
	}
	ret = request_irq(irq, pvkit_clock_event, 0, "pvkit-clock", NULL);
	if (ret) {
		pr_warn("clock: no event after a pause (%d)\n", ret);
		pvkit_evtchn_unbind(irq);
	}
	return 0;
}
subsys_initcall(pvkit_clock_events_init);

/* What /sys/hypervisor/pvkit/clock says. */
const char *pvkit_clock_state(void)
{
	return pvkit_clock_status;
}

/*
 * Before kexec (syscore shutdown), a crash, or a suspend that may end in
 * another kernel's memory (hibernation's restore): the host must not
 * write into memory the next kernel owns.  The records keep their last
 * values, so time still reads correctly for what is left of this kernel.
 */
void pvkit_clock_shutdown(void)
{
	unsigned int cpu;
	long ret;

	for_each_cpu(cpu, &pvkit_clock_registered) {
		ret = pvkit_clock_register(cpu_physical_id(cpu), NULL);
		if (ret)
			pr_err("shutdown: host kept CPU%u's clock record (%ld)\n",
			       cpu, ret);
		cpumask_clear_cpu(cpu, &pvkit_clock_registered);
	}
}

/*
 * Syscore resume, on the boot CPU with the others down: CPU 0's record
 * again (the others come back through the prepare step as they start).
 * After hibernation this is the restored kernel's own record.
 */
void pvkit_clock_resume(void)
{
	long ret;

	if (!pvkit_clock_active)
		return;
	ret = pvkit_clock_register(cpu_physical_id(0),
				   &pvkit_clock_cpu0.rec.pvti);
	if (ret) {
		pr_err("resume: host refused CPU 0's clock record (%ld)\n", ret);
		return;
	}
	cpumask_set_cpu(0, &pvkit_clock_registered);
	pvclock_resume();
}
