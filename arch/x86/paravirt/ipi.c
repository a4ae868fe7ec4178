// SPDX-License-Identifier: GPL-2.0
/*
 * Inter-processor interrupts over pvkit event channels.
 *
 * Each CPU binds one IPI port per kind when it comes online; sending an
 * IPI is then a single SEND hypercall instead of an APIC ICR write, which
 * a hypervisor must trap and decode.  Until a CPU's ports exist (early
 * boot, CPU bring-up) the native APIC path is used.
 *
 * A call-function IPI to several CPUs (smp_call_function_many(), TLB
 * shootdowns) is one VCPU_SEND_IPI per 64 APIC IDs when the host has it:
 * the kernel's own call-function vector, raised on the whole set in one
 * host transition instead of one SEND per CPU.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/pvkit_evtchn.h>
#include <asm/irq_vectors.h>
#include <asm/pvkit.h>

enum pvkit_ipi_kind {
	PVKIT_IPI_RESCHEDULE,
	PVKIT_IPI_CALL_FUNC,
	PVKIT_IPI_CALL_FUNC_SINGLE,
	PVKIT_IPI_KINDS
};

static const char * const pvkit_ipi_names[PVKIT_IPI_KINDS] = {
	[PVKIT_IPI_RESCHEDULE]		= "pvkit-resched",
	[PVKIT_IPI_CALL_FUNC]		= "pvkit-callfunc",
	[PVKIT_IPI_CALL_FUNC_SINGLE]	= "pvkit-callfuncsingle",
};

/*
 * Each CPU's IPI ports and their interrupts; port 0 while it has none.
 * Senders use the port, never the interrupt, so a CPU going offline
 * cannot make them touch a descriptor being freed.  Senders run with
 * preemption off; closing the ports waits for them (an RCU grace period)
 * after unpublishing the ports, and then both IPIs are replayed through
 * the APIC in case one went to a port that was being closed.
 */
struct pvkit_ipi_port {
	unsigned int port;
	int irq;
};

static DEFINE_PER_CPU(struct pvkit_ipi_port [PVKIT_IPI_KINDS], pvkit_ipi);

/*
 * The native operations, for CPUs whose ports are not bound yet.  Kept
 * as plain pointers: <linux/smp.h> defines smp_send_reschedule() as a
 * macro, so the smp_ops member cannot be called by name.
 */
static void (*pvkit_native_resched)(int cpu) __ro_after_init;
static void (*pvkit_native_call_single)(int cpu) __ro_after_init;
static void (*pvkit_native_call_func)(const struct cpumask *mask)
	__ro_after_init;

/* The host sends to sets of vCPUs (PVKIT_F_VCPU). */
static bool pvkit_ipi_sets __ro_after_init;
/* VCPU_SEND_IPI calls made, for the kit's tests. */
static atomic_long_t pvkit_ipi_set_count = ATOMIC_LONG_INIT(0);

static irqreturn_t pvkit_ipi_interrupt(int irq, void *dev_id)
{
	switch ((enum pvkit_ipi_kind)(unsigned long)dev_id) {
	case PVKIT_IPI_RESCHEDULE:
		scheduler_ipi();
		break;
	case PVKIT_IPI_CALL_FUNC:
	case PVKIT_IPI_CALL_FUNC_SINGLE:
		generic_smp_call_function_interrupt();
		break;
	default:
		break;
	}
	return IRQ_HANDLED;
}

/* Returns false when @cpu has no port for @kind yet. */
static bool pvkit_ipi_send(int cpu, enum pvkit_ipi_kind kind)
{
	unsigned int port = READ_ONCE(per_cpu(pvkit_ipi, cpu)[kind].port);

	return port && !pvkit_evtchn_send(port);
}

static void pvkit_send_reschedule(int cpu)
{
	if (!pvkit_ipi_send(cpu, PVKIT_IPI_RESCHEDULE))
		pvkit_native_resched(cpu);
}

static void pvkit_send_call_func_single_ipi(int cpu)
{
	if (!pvkit_ipi_send(cpu, PVKIT_IPI_CALL_FUNC_SINGLE))
		pvkit_native_call_single(cpu);
}

/**
 * pvkit_vcpu_sets() - walk a cpumask as the host's vCPU sets
 * @mask: the CPUs
 * @call: called with each set: APIC IDs @first + n for the set bits n of
 *	@bitmap; returns false when the host refused it
 * @data: passed to @call
 *
 * Hypercalls that act on several vCPUs (VCPU_SEND_IPI, TLB_FLUSH) name
 * them as windows of 64 APIC IDs; a window starts at the first CPU of
 * @mask that does not fit the current one.
 *
 * Return: true when every set was taken; false when one was refused or a
 * CPU's APIC ID is out of the host's range (the caller falls back to
 * the native path for the whole mask).
 */
bool pvkit_vcpu_sets(const struct cpumask *mask,
		     bool (*call)(u32 first, u64 bitmap, void *data),
		     void *data)
{
	u32 apicid, first = 0;
	u64 bitmap = 0;
	int cpu;

	for_each_cpu(cpu, mask) {
		apicid = cpu_physical_id(cpu);
		if (apicid >= PVKIT_MAX_VCPUS)
			return false;
		if (bitmap && (apicid < first || apicid - first >= 64)) {
			if (!call(first, bitmap, data))
				return false;
			bitmap = 0;
		}
		if (!bitmap)
			first = apicid;
		bitmap |= BIT_ULL(apicid - first);
	}
	return !bitmap || call(first, bitmap, data);
}

/* CALL_FUNCTION_VECTOR on a set; a refusal sends the whole mask again. */
static bool pvkit_ipi_send_set(u32 first, u64 bitmap, void *data)
{
	long ret = pvkit_hypercall(PVKIT_HC_VCPU_SEND_IPI, first, bitmap,
				   CALL_FUNCTION_VECTOR, 0, 0);

	atomic_long_inc(&pvkit_ipi_set_count);
	return ret >= 0;
}

/*
 * If the host refuses a set, the whole mask goes through the APIC as
 * well: a second call-function IPI only makes the target look at an
 * empty queue.
 */
static void pvkit_send_call_func_set(const struct cpumask *mask)
{
	if (!pvkit_vcpu_sets(mask, pvkit_ipi_send_set, NULL)) {
		pr_warn_once("a set of CPUs was refused: call-function IPIs through the APIC\n");
		pvkit_native_call_func(mask);
	}
}

static void pvkit_send_call_func_ipi(const struct cpumask *mask)
{
	int cpu;

	if (pvkit_ipi_sets) {
		pvkit_send_call_func_set(mask);
		return;
	}
	for_each_cpu(cpu, mask) {
		if (!pvkit_ipi_send(cpu, PVKIT_IPI_CALL_FUNC))
			pvkit_native_call_single(cpu);
	}
}

/**
 * pvkit_ipi_set_sends() - VCPU_SEND_IPI calls made so far
 *
 * For the kit's tests: shows that call-function IPIs to several CPUs
 * went to the host as sets.
 *
 * Return: the number of calls since boot, refused ones included.
 */
long pvkit_ipi_set_sends(void)
{
	return atomic_long_read(&pvkit_ipi_set_count);
}
EXPORT_SYMBOL_NS_GPL(pvkit_ipi_set_sends, PVKIT_TEST);

static void pvkit_ipi_unbind_cpu(unsigned int cpu)
{
	unsigned int irqs[PVKIT_IPI_KINDS] = { };
	unsigned int kind;
	bool had_ports = false;

	/* Senders fall back to the APIC from here on... */
	for (kind = 0; kind < PVKIT_IPI_KINDS; kind++) {
		had_ports |= per_cpu(pvkit_ipi, cpu)[kind].port;
		WRITE_ONCE(per_cpu(pvkit_ipi, cpu)[kind].port, 0);
	}
	for (kind = 0; kind < PVKIT_IPI_KINDS; kind++) {
		struct pvkit_ipi_port *ipi = &per_cpu(pvkit_ipi, cpu)[kind];

		if (!ipi->irq)
			continue;
		free_irq(ipi->irq, (void *)(unsigned long)kind);
		irqs[kind] = ipi->irq;
		ipi->irq = 0;
	}
	/*
	 * ...and the close waits until those that read a port are done
	 * (they send with preemption off), then replay: an IPI sent to a
	 * port being freed may have found no handler.
	 */
	pvkit_evtchn_unbind_many(irqs, PVKIT_IPI_KINDS);
	if (had_ports) {
		pvkit_native_resched(cpu);
		pvkit_native_call_single(cpu);
	}
}

static int pvkit_ipi_cpu_online(unsigned int cpu)
{
	unsigned int kind;
	int irq, ret;

	for (kind = 0; kind < PVKIT_IPI_KINDS; kind++) {
		struct pvkit_ipi_port *ipi = &per_cpu(pvkit_ipi, cpu)[kind];

		/* Sent as sets: no port. */
		if (kind == PVKIT_IPI_CALL_FUNC && pvkit_ipi_sets)
			continue;
		irq = pvkit_evtchn_bind_ipi(cpu);
		if (irq < 0) {
			ret = irq;
			goto err;
		}
		ret = request_irq(irq, pvkit_ipi_interrupt,
				  IRQF_PERCPU | IRQF_NOBALANCING |
				  IRQF_NO_THREAD | IRQF_NO_SUSPEND,
				  pvkit_ipi_names[kind],
				  (void *)(unsigned long)kind);
		if (ret) {
			pvkit_evtchn_unbind(irq);
			goto err;
		}
		/* Publish only a fully set up port to senders. */
		ipi->irq = irq;
		WRITE_ONCE(ipi->port, pvkit_evtchn_port(irq));
	}
	return 0;
err:
	pr_warn("CPU%u: IPIs stay on the APIC (%d)\n", cpu, ret);
	pvkit_ipi_unbind_cpu(cpu);
	return 0;
}

static int pvkit_ipi_cpu_offline(unsigned int cpu)
{
	pvkit_ipi_unbind_cpu(cpu);
	return 0;
}

/**
 * pvkit_ipi_init() - move IPIs onto event channels
 *
 * Called once event channels work.  The smp_ops switch happens first;
 * each CPU's sends keep using the APIC until its ports are published.
 */
void __init pvkit_ipi_init(void)
{
	int ret;

	pvkit_native_resched = smp_ops.smp_send_reschedule;
	pvkit_native_call_single = smp_ops.send_call_func_single_ipi;
	pvkit_native_call_func = smp_ops.send_call_func_ipi;
	pvkit_ipi_sets = pvkit_features() & PVKIT_F_VCPU;
	smp_ops.smp_send_reschedule = pvkit_send_reschedule;
	smp_ops.send_call_func_ipi = pvkit_send_call_func_ipi;
	smp_ops.send_call_func_single_ipi = pvkit_send_call_func_single_ipi;

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "x86/pvkit/ipi:online",
				pvkit_ipi_cpu_online, pvkit_ipi_cpu_offline);
	if (ret < 0)
		pr_warn("IPIs stay on the APIC (%d)\n", ret);
	else
		pr_info("IPIs on event channels%s\n",
			pvkit_ipi_sets ? ", call-function IPIs to sets of vCPUs" : "");
}
