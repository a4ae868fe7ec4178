/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit on x86: the platform's own boot-time steps, internal to
 * arch/x86/paravirt.  What drivers may call is in <linux/pvkit.h> and
 * its siblings.
 */
#ifndef _ASM_X86_PVKIT_H
#define _ASM_X86_PVKIT_H

#include <linux/init.h>
#include <linux/pvkit.h>

#ifdef CONFIG_PVKIT_GUEST

int __init pvkit_hypercall_init(void);
void __init pvkit_events_init_platform(void);
#ifdef CONFIG_SMP
void __init pvkit_ipi_init(void);
#else
static inline void pvkit_ipi_init(void) { }
#endif
void pvkit_events_shutdown(void);
void pvkit_events_resume(void);
unsigned int pvkit_events_vcpu_areas(void);
void __init pvkit_earlycon_init(void);
void __init pvkit_clock_init(void);
void pvkit_clock_shutdown(void);
void pvkit_clock_resume(void);
const char *pvkit_clock_state(void);
void pvkit_steal_shutdown(void);
void pvkit_steal_resume(void);
const char *pvkit_steal_state(void);

#endif /* CONFIG_PVKIT_GUEST */

#endif /* _ASM_X86_PVKIT_H */
