/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit event channels: each bound port is a Linux interrupt of the
 * pvkit-evtchn irq_chip; request_irq() it, notify the other end with
 * pvkit_evtchn_notify().
 */
#ifndef _LINUX_PVKIT_EVTCHN_H
#define _LINUX_PVKIT_EVTCHN_H

#include <linux/pvkit.h>

int pvkit_evtchn_bind_ipi(unsigned int cpu);
int pvkit_evtchn_bind_host(unsigned int endpoint);
int pvkit_evtchn_bind_existing(unsigned int port);
int pvkit_evtchn_rebind(unsigned int irq, long port);
int pvkit_evtchn_send(unsigned int port);
unsigned int pvkit_evtchn_port(unsigned int irq);
int pvkit_evtchn_notify(unsigned int irq);
void pvkit_evtchn_unbind(unsigned int irq);
void pvkit_evtchn_unbind_many(const unsigned int *irqs, unsigned int n);

/* Test-only (symbol namespace PVKIT_TEST). */
bool pvkit_evtchn_is_pending(unsigned int irq);
bool pvkit_evtchn_is_masked(unsigned int irq);
int pvkit_evtchn_cpu(unsigned int irq);
#ifdef CONFIG_SMP
long pvkit_ipi_set_sends(void);
#else
static inline long pvkit_ipi_set_sends(void)
{
	return 0;
}
#endif

#endif /* _LINUX_PVKIT_EVTCHN_H */
