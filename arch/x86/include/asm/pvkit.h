/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit on x86: the platform's own boot-time steps, internal to
 * arch/x86/paravirt.  What drivers may call is in <linux/pvkit.h> and
 * its siblings.
 */
#ifndef _ASM_X86_PVKIT_H
#define _ASM_X86_PVKIT_H

#include <linux/cpumask.h>
#include <linux/init.h>
#include <linux/percpu.h>
#include <linux/pvkit.h>

#ifdef CONFIG_PVKIT_GUEST

int __init pvkit_hypercall_init(void);
unsigned long pvkit_hypercalls_made(void);
void __init pvkit_events_init_platform(void);
#ifdef CONFIG_SMP
void __init pvkit_ipi_init(void);
bool pvkit_vcpu_sets(const struct cpumask *mask,
		     bool (*call)(u32 first, u64 bitmap, void *data),
		     void *data);
void __init pvkit_tlb_init(void);
const char *pvkit_tlb_state(void);
unsigned long pvkit_tlb_flushes(void);
void __init pvkit_spin_init(void);
const char *pvkit_spin_state(void);
unsigned long pvkit_spin_waits_total(void);
unsigned long pvkit_spin_parks_total(void);
unsigned long pvkit_spin_kicks_total(void);
#else
static inline void pvkit_ipi_init(void) { }
static inline void pvkit_tlb_init(void) { }
static inline const char *pvkit_tlb_state(void) { return "off: one CPU"; }
static inline unsigned long pvkit_tlb_flushes(void) { return 0; }
static inline const char *pvkit_spin_state(void) { return "off: one CPU"; }
static inline unsigned long pvkit_spin_waits_total(void) { return 0; }
static inline unsigned long pvkit_spin_parks_total(void) { return 0; }
static inline unsigned long pvkit_spin_kicks_total(void) { return 0; }
#endif
void pvkit_events_shutdown(void);
void pvkit_events_resume(void);
unsigned int pvkit_events_vcpu_areas(void);
void __init pvkit_earlycon_init(void);
void __init pvkit_clock_init(void);
void pvkit_clock_shutdown(void);
void pvkit_clock_resume(void);
const char *pvkit_clock_state(void);
void __init pvkit_steal_init_platform(void);
void pvkit_steal_preempted_cpus(struct cpumask *mask);
void pvkit_steal_shutdown(void);
void pvkit_steal_resume(void);
const char *pvkit_steal_state(void);

/* Sum of a per-CPU event counter over the possible CPUs. */
static inline unsigned long pvkit_percpu_sum(unsigned long __percpu *counter)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(counter, cpu);
	return sum;
}

#endif /* CONFIG_PVKIT_GUEST */

#endif /* _ASM_X86_PVKIT_H */
