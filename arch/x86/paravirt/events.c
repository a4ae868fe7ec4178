// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit event channels as Linux interrupts.
 *
 * The host marks a port pending in the shared-info page (Xen's 2-level
 * layout), flags the word in the target vCPU's pending selector and raises
 * HYPERVISOR_CALLBACK_VECTOR on that vCPU.  The upcall scans the flagged
 * words and hands every pending, unmasked port to the interrupt bound to
 * it.
 *
 * An interrupt is not its port: the port number lives in the interrupt's
 * chip data (struct pvkit_evtchn_chan) and a port -> irq table, so that a
 * channel keeps its interrupt when the host gives it another port (after
 * restore or kexec, a reconnect binds every channel again).
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/percpu.h>
#include <asm/apic.h>
#include <asm/desc.h>
#include <asm/idtentry.h>
#include <asm/irq_regs.h>
#include <linux/pvkit_evtchn.h>
#include <asm/pvkit.h>
#include <asm/sync_bitops.h>

static struct pvkit_shared_info pvkit_shinfo __page_aligned_bss;
/* Set once event channels work; the upcall does nothing before. */
static bool pvkit_evtchn_ready __ro_after_init;

/**
 * struct pvkit_evtchn_chan - an event channel bound to a Linux interrupt
 * @port: the host's port for it; pvkit_evtchn_rebind() changes it, with
 *	the interrupt disabled
 *
 * The interrupt's chip data.
 */
struct pvkit_evtchn_chan {
	unsigned int port;
};

/*
 * The interrupt of each port, 0 for none.  Set once the interrupt is
 * fully set up, cleared before it is freed; the upcall reads it without
 * a lock, and unbind waits for every upcall (an RCU grace period) between
 * clearing it and freeing the interrupt.
 */
static unsigned int pvkit_port_irq[PVKIT_EVTCHN_PORTS];

/*
 * Serialises taking ports from the host with giving them back: the host
 * hands out the lowest free number, so a port closed by one path can be
 * bound again at once by another, and the owner bitmaps and the pending
 * bit must be settled before that.
 */
static DEFINE_MUTEX(pvkit_evtchn_lock);

/* CPUs whose upcall vector the host accepted; others get no ports. */
static DEFINE_PER_CPU(bool, pvkit_upcall_ready);

/*
 * Each CPU's own event state, registered with the host (VCPU_INFO) so
 * that no APIC ID is too high for a slot of the shared-info page.  One
 * cache line each: the host requires 64-byte alignment, so the structure
 * never straddles a page.
 */
static DEFINE_PER_CPU_ALIGNED(struct pvkit_vcpu_info, pvkit_vcpu_area);

/*
 * Where the host flags this CPU's events: its area, or its slot of the
 * shared-info page on a host without VCPU_INFO; NULL while neither.
 * Written by the CPU itself before its upcall vector is set.
 */
static DEFINE_PER_CPU(struct pvkit_vcpu_info *, pvkit_vcpu_info);

/* Word of the pending bitmap the next scan on this CPU starts from. */
static DEFINE_PER_CPU(unsigned int, pvkit_scan_start);

/*
 * The ports each CPU is the target of.  The pending bitmap is shared by
 * all vCPUs, so a scan must skip ports bound to another CPU: that CPU
 * gets its own upcall for them, and handling them here too would run
 * their handler twice.  pvkit_port_cpu[] remembers the owner for unbind.
 */
static DEFINE_PER_CPU(unsigned long [PVKIT_EVTCHN_PORTS / BITS_PER_LONG],
		      pvkit_cpu_ports);
static unsigned short pvkit_port_cpu[PVKIT_EVTCHN_PORTS];

/*
 * Changes of a port's owner: bind, unbind, affinity (under the irq
 * descriptor's lock, so not pvkit_evtchn_lock) and CPU offline.  The
 * upcall scan reads the owner bitmaps without it.
 */
static DEFINE_RAW_SPINLOCK(pvkit_owner_lock);
/* Ports bound with pvkit_evtchn_bind_ipi(): their CPU never changes. */
static DECLARE_BITMAP(pvkit_ipi_ports, PVKIT_EVTCHN_PORTS);

/*
 * Why each port is masked.  Several parties mask a port for their own
 * reasons and at their own times: the irq core (disable_irq(), the edge
 * flow, a port nobody requested) under the descriptor's lock, and a move
 * to another vCPU under pvkit_owner_lock, from the CPU-offline path too.
 * A single shared bit would let one of them unmask what the other still
 * needs masked (a move ending during disable_irq() undid it), so each
 * keeps its own reason here and the shared bit is clear only when no
 * reason is left.  Changed under pvkit_mask_lock only; the lock nests
 * inside pvkit_owner_lock and inside the descriptor's lock.
 */
#define PVKIT_MASK_CORE		BIT(0)	/* the irq core's mask */
#define PVKIT_MASK_MOVE		BIT(1)	/* being bound to another vCPU */
static u8 pvkit_mask_reasons[PVKIT_EVTCHN_PORTS];
static DEFINE_RAW_SPINLOCK(pvkit_mask_lock);

static inline unsigned long *pvkit_pending_map(void)
{
	return (unsigned long *)pvkit_shinfo.evtchn_pending;
}

static inline unsigned long *pvkit_mask_map(void)
{
	return (unsigned long *)pvkit_shinfo.evtchn_mask;
}

static struct pvkit_vcpu_info *pvkit_this_vcpu_info(void)
{
	return this_cpu_read(pvkit_vcpu_info);
}

/*
 * Claim the event before handling it.  A scan reads the owner bitmap
 * without a lock, so a port that moves meanwhile can be seen pending by
 * its old and its new CPU at once; whichever clears the pending bit first
 * handles this event, and the other finds nothing.  This is the ack: an
 * event sent from here on sets the bit again and gets its own run.  A
 * port nobody owns has its event dropped the same way.
 */
static void pvkit_handle_port(unsigned int port)
{
	unsigned int irq;

	if (!sync_test_and_clear_bit(port, pvkit_pending_map()))
		return;
	irq = READ_ONCE(pvkit_port_irq[port]);
	if (irq)
		generic_handle_irq(irq);
}

/*
 * Service every pending, unmasked port of one bitmap word once.  A port
 * that fires again meanwhile waits for the next pass, so a busy port
 * cannot starve the others in its word.
 */
static void pvkit_scan_word(unsigned int word)
{
	unsigned long bits = READ_ONCE(pvkit_pending_map()[word]) &
			     ~READ_ONCE(pvkit_mask_map()[word]) &
			     READ_ONCE(this_cpu_ptr(pvkit_cpu_ports)[word]);
	unsigned int bit;

	for_each_set_bit(bit, &bits, BITS_PER_LONG)
		pvkit_handle_port(word * BITS_PER_LONG + bit);
}

static void pvkit_evtchn_upcall(struct pvkit_vcpu_info *vi)
{
	unsigned int n, word, start = this_cpu_read(pvkit_scan_start);
	unsigned long sel;

	do {
		WRITE_ONCE(vi->evtchn_upcall_pending, 0);
		/*
		 * The flag is clear before the selector is taken: pairs with
		 * the host setting the selector bit before the flag, so a new
		 * event re-sets the flag and the loop condition catches it.
		 */
		virt_mb();
		sel = xchg((unsigned long *)&vi->evtchn_pending_sel, 0);

		/* Start after the word served first last time: fairness. */
		for (n = 0; n < BITS_PER_LONG && sel; n++) {
			word = (start + n) % BITS_PER_LONG;
			if (!(sel & BIT(word)))
				continue;
			sel &= ~BIT(word);
			pvkit_scan_word(word);
		}
		start = (start + 1) % BITS_PER_LONG;
	} while (READ_ONCE(vi->evtchn_upcall_pending));

	this_cpu_write(pvkit_scan_start, start);
}

DEFINE_IDTENTRY_SYSVEC(sysvec_pvkit_callback)
{
	struct pt_regs *old_regs = set_irq_regs(regs);
	struct pvkit_vcpu_info *vi = pvkit_this_vcpu_info();

	apic_eoi();
	inc_irq_stat(irq_hv_callback_count);
	if (vi && READ_ONCE(pvkit_evtchn_ready))
		pvkit_evtchn_upcall(vi);
	set_irq_regs(old_regs);
}

/* Add @reason to @port's; the shared bit is set whatever it was. */
static void pvkit_port_mask(unsigned int port, u8 reason)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&pvkit_mask_lock, flags);
	pvkit_mask_reasons[port] |= reason;
	sync_set_bit(port, pvkit_mask_map());
	raw_spin_unlock_irqrestore(&pvkit_mask_lock, flags);
}

/*
 * Drop @reason; with none left, clear the shared bit.  An event that came
 * while masked left only its pending bit (its selector bit may even be on
 * another vCPU after a move): UNMASK has the host flag it and raise the
 * upcall on the port's vCPU now.
 */
static void pvkit_port_unmask(unsigned int port, u8 reason)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&pvkit_mask_lock, flags);
	pvkit_mask_reasons[port] &= ~reason;
	if (!pvkit_mask_reasons[port]) {
		sync_clear_bit(port, pvkit_mask_map());
		/*
		 * The mask is clear before pending is read: pairs with the
		 * host setting pending before it looks at the mask.
		 */
		virt_mb();
		if (sync_test_bit(port, pvkit_pending_map()))
			pvkit_hypercall(PVKIT_HC_EVTCHN_UNMASK, port, 0, 0, 0,
					0);
	}
	raw_spin_unlock_irqrestore(&pvkit_mask_lock, flags);
}

/* A port just mapped or being closed: masked for the irq core only. */
static void pvkit_port_reset_mask(unsigned int port)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&pvkit_mask_lock, flags);
	pvkit_mask_reasons[port] = PVKIT_MASK_CORE;
	sync_set_bit(port, pvkit_mask_map());
	raw_spin_unlock_irqrestore(&pvkit_mask_lock, flags);
}

/* The scan claimed the event already (pvkit_handle_port()). */
static void pvkit_evtchn_ack(struct irq_data *d)
{
}

static unsigned int pvkit_irqd_port(struct irq_data *d)
{
	struct pvkit_evtchn_chan *chan = irq_data_get_irq_chip_data(d);

	/* Changed by pvkit_evtchn_rebind() only, with the irq disabled. */
	return READ_ONCE(chan->port);
}

static void pvkit_evtchn_mask(struct irq_data *d)
{
	pvkit_port_mask(pvkit_irqd_port(d), PVKIT_MASK_CORE);
}

static void pvkit_evtchn_unmask(struct irq_data *d)
{
	pvkit_port_unmask(pvkit_irqd_port(d), PVKIT_MASK_CORE);
}

/*
 * Replay an event the core swallowed (lazy disable): make the port
 * pending again and, unless something still holds it masked (whose
 * unmask then raises it), let the host raise it on the port's CPU.
 * UNMASK clears the shared mask bit, so it must not run while a reason
 * is left.
 */
static int pvkit_evtchn_retrigger(struct irq_data *d)
{
	unsigned int port = pvkit_irqd_port(d);
	unsigned long flags;

	raw_spin_lock_irqsave(&pvkit_mask_lock, flags);
	sync_set_bit(port, pvkit_pending_map());
	if (!pvkit_mask_reasons[port])
		pvkit_hypercall(PVKIT_HC_EVTCHN_UNMASK, port, 0, 0, 0, 0);
	raw_spin_unlock_irqrestore(&pvkit_mask_lock, flags);
	return 1;
}

static int pvkit_evtchn_set_affinity(struct irq_data *d,
				     const struct cpumask *dest, bool force);

static const struct irq_chip pvkit_evtchn_chip = {
	.name			= "pvkit-evtchn",
	.irq_ack		= pvkit_evtchn_ack,
	.irq_mask		= pvkit_evtchn_mask,
	.irq_unmask		= pvkit_evtchn_unmask,
	.irq_retrigger		= pvkit_evtchn_retrigger,
	.irq_set_affinity	= pvkit_evtchn_set_affinity,
};

/*
 * Make @cpu the owner of @port: mask it for the move, tell the host, move
 * the owner bit, and drop the move's mask reason.  If no other reason is
 * left, an event that is already pending (flagged in the old CPU's
 * selector, skipped by its scan from now on) is raised again on the new
 * CPU; if the port is disabled, enable_irq() does that later.  The port
 * is never in two CPUs' bitmaps, and an event the old CPU is handling
 * right now is serialised by the edge flow.
 * Context: pvkit_owner_lock; any context.
 */
static int pvkit_evtchn_move_port(unsigned int port, unsigned int cpu)
{
	unsigned int old = pvkit_port_cpu[port];
	long ret;

	lockdep_assert_held(&pvkit_owner_lock);
	if (old == cpu)
		return 0;
	pvkit_port_mask(port, PVKIT_MASK_MOVE);
	ret = pvkit_hypercall(PVKIT_HC_EVTCHN_BIND_VCPU, port,
			      cpu_physical_id(cpu), 0, 0, 0);
	if (!ret) {
		clear_bit(port, per_cpu(pvkit_cpu_ports, old));
		pvkit_port_cpu[port] = cpu;
		set_bit(port, per_cpu(pvkit_cpu_ports, cpu));
	}
	pvkit_port_unmask(port, PVKIT_MASK_MOVE);
	return ret ? -EIO : 0;
}

/*
 * Deliver the port's events to the first online CPU of @dest that takes
 * upcalls (EVTCHN_BIND_VCPU).  IPI ports stay on their CPU.  This is also
 * how ports leave a CPU that goes offline: the irq core's migration
 * (fixup_irqs()) calls it, under the descriptor's lock, for every started
 * interrupt whose effective affinity is that CPU.
 */
static int pvkit_evtchn_set_affinity(struct irq_data *d,
				     const struct cpumask *dest, bool force)
{
	unsigned int port = pvkit_irqd_port(d), cpu;
	unsigned long flags;
	int ret = -EINVAL;

	raw_spin_lock_irqsave(&pvkit_owner_lock, flags);
	if (test_bit(port, pvkit_ipi_ports) ||
	    pvkit_port_cpu[port] >= nr_cpu_ids)
		goto out;
	for_each_cpu_and(cpu, dest, cpu_online_mask) {
		if (per_cpu(pvkit_upcall_ready, cpu))
			break;
	}
	if (cpu >= nr_cpu_ids)
		goto out;
	ret = pvkit_evtchn_move_port(port, cpu);
	if (!ret) {
		irq_data_update_effective_affinity(d, cpumask_of(cpu));
		ret = IRQ_SET_MASK_OK;
	}
out:
	raw_spin_unlock_irqrestore(&pvkit_owner_lock, flags);
	return ret;
}

/* A new interrupt for @port, masked until request_irq() unmasks it. */
static int pvkit_evtchn_alloc_irq(unsigned int port)
{
	struct pvkit_evtchn_chan *chan;
	int irq;

	chan = kzalloc(sizeof(*chan), GFP_KERNEL);
	if (!chan)
		return -ENOMEM;
	irq = irq_alloc_desc(numa_node_id());
	if (irq < 0) {
		kfree(chan);
		return irq;
	}
	chan->port = port;
	pvkit_port_reset_mask(port);
	irq_set_chip_and_handler_name(irq, &pvkit_evtchn_chip,
				      handle_edge_irq, "event");
	irq_set_chip_data(irq, chan);
	/*
	 * Affinity changes are made at once, from any context (mask,
	 * BIND_VCPU, unmask), not deferred to the next interrupt.
	 */
	irq_set_status_flags(irq, IRQ_MOVE_PCNTXT);
	return irq;
}

static void pvkit_evtchn_free_irq(unsigned int irq)
{
	struct pvkit_evtchn_chan *chan = irq_get_chip_data(irq);

	irq_free_desc(irq);
	kfree(chan);
}

/* The CPU whose APIC ID the host targets by default (0). */
static unsigned int pvkit_default_cpu(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (cpu_physical_id(cpu) == 0)
			return cpu;
	return 0;
}

/*
 * Map a port the host just gave us, owned by @cpu; close it again if that
 * fails.  The port is masked until request_irq() unmasks it, and unmask
 * asks the host to redeliver an event that came before the owner was set.
 */
#define PVKIT_BIND_IPI		BIT(0)

/*
 * 0 when @port, a port the host just returned, can be taken: the result
 * is the host's, so anything but a plain errno or a free port in range is
 * -EIO.
 */
static int pvkit_evtchn_check_new_port(long port)
{
	lockdep_assert_held(&pvkit_evtchn_lock);
	if (port < 0)
		return port >= -MAX_ERRNO ? port : -EIO;
	if (port == 0 || port >= PVKIT_EVTCHN_PORTS)
		return -EIO;
	/* A port we already own, handed out twice: never touch the owner's. */
	if (pvkit_port_irq[port])
		return -EIO;
	return 0;
}

static int pvkit_evtchn_map_port(long port, unsigned int cpu,
				 unsigned int flags)
{
	unsigned long irqflags;
	int irq;

	irq = pvkit_evtchn_check_new_port(port);
	if (irq)
		return irq;
	irq = pvkit_evtchn_alloc_irq(port);
	if (irq < 0) {
		pvkit_hypercall(PVKIT_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
		return irq;
	}
	irq_data_update_effective_affinity(irq_get_irq_data(irq),
					   cpumask_of(cpu));
	raw_spin_lock_irqsave(&pvkit_owner_lock, irqflags);
	if (flags & PVKIT_BIND_IPI)
		set_bit(port, pvkit_ipi_ports);
	pvkit_port_cpu[port] = cpu;
	set_bit(port, per_cpu(pvkit_cpu_ports, cpu));
	raw_spin_unlock_irqrestore(&pvkit_owner_lock, irqflags);
	/* Upcalls find the port's interrupt only now that it is set up. */
	WRITE_ONCE(pvkit_port_irq[port], irq);
	return irq;
}

/**
 * pvkit_evtchn_bind_host() - bind a port to a host endpoint
 * @endpoint: PVKIT_ENDPOINT_*
 *
 * Context: process context; sleeps.
 * Return: a Linux interrupt number for request_irq(), or a negative errno.
 */
int pvkit_evtchn_bind_host(unsigned int endpoint)
{
	unsigned int cpu = pvkit_default_cpu();
	int irq;

	if (!pvkit_evtchn_ready || !per_cpu(pvkit_upcall_ready, cpu))
		return -ENODEV;
	mutex_lock(&pvkit_evtchn_lock);
	irq = pvkit_evtchn_map_port(pvkit_hypercall(PVKIT_HC_EVTCHN_BIND_HOST,
						    endpoint, 0, 0, 0, 0), cpu,
				    0);
	mutex_unlock(&pvkit_evtchn_lock);
	return irq;
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_bind_host);

/**
 * pvkit_evtchn_bind_ipi() - bind an IPI port delivered to a CPU
 * @cpu: the CPU that receives the port's events
 *
 * Context: process context; sleeps.
 * Return: a Linux interrupt number for request_irq(), or a negative errno.
 */
int pvkit_evtchn_bind_ipi(unsigned int cpu)
{
	u32 apicid = cpu_physical_id(cpu);
	int irq;

	if (!pvkit_evtchn_ready || !per_cpu(pvkit_upcall_ready, cpu))
		return -ENODEV;
	mutex_lock(&pvkit_evtchn_lock);
	irq = pvkit_evtchn_map_port(pvkit_hypercall(PVKIT_HC_EVTCHN_BIND_IPI,
						    apicid, 0, 0, 0, 0), cpu,
				    PVKIT_BIND_IPI);
	mutex_unlock(&pvkit_evtchn_lock);
	return irq;
}

/**
 * pvkit_evtchn_bind_existing() - take over a port the host allocated
 * @port: a port another hypercall returned (e.g. PVKIT_HC_STORE_SETUP),
 *        targeting the host's default vCPU (APIC ID 0)
 *
 * Context: process context; sleeps.
 *
 * Return: a Linux interrupt number for request_irq(), or a negative errno.
 */
int pvkit_evtchn_bind_existing(unsigned int port)
{
	unsigned int cpu = pvkit_default_cpu();
	int irq;

	if (!pvkit_evtchn_ready || !per_cpu(pvkit_upcall_ready, cpu))
		return -ENODEV;
	mutex_lock(&pvkit_evtchn_lock);
	irq = pvkit_evtchn_map_port(port, cpu, 0);
	mutex_unlock(&pvkit_evtchn_lock);
	return irq;
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_bind_existing);

/*
 * Hand @chan's port over to @new, owned by @cpu as the old one was, with
 * the old one's mask reasons; the old port is left masked and unowned.
 * Context: pvkit_evtchn_lock, the interrupt disabled.
 */
static void pvkit_evtchn_switch_port(struct pvkit_evtchn_chan *chan,
				     unsigned int new, unsigned int cpu,
				     unsigned int irq)
{
	unsigned int old = chan->port;
	unsigned long flags;
	bool ipi;

	raw_spin_lock_irqsave(&pvkit_owner_lock, flags);
	raw_spin_lock(&pvkit_mask_lock);
	pvkit_mask_reasons[new] = pvkit_mask_reasons[old];
	if (pvkit_mask_reasons[new])
		sync_set_bit(new, pvkit_mask_map());
	else
		sync_clear_bit(new, pvkit_mask_map());
	pvkit_mask_reasons[old] = PVKIT_MASK_CORE;
	sync_set_bit(old, pvkit_mask_map());
	raw_spin_unlock(&pvkit_mask_lock);
	ipi = test_and_clear_bit(old, pvkit_ipi_ports);
	if (ipi)
		set_bit(new, pvkit_ipi_ports);
	clear_bit(old, per_cpu(pvkit_cpu_ports, cpu));
	pvkit_port_cpu[old] = USHRT_MAX;
	pvkit_port_cpu[new] = cpu;
	set_bit(new, per_cpu(pvkit_cpu_ports, cpu));
	WRITE_ONCE(chan->port, new);
	raw_spin_unlock_irqrestore(&pvkit_owner_lock, flags);
	WRITE_ONCE(pvkit_port_irq[old], 0);
	WRITE_ONCE(pvkit_port_irq[new], irq);
}

/**
 * pvkit_evtchn_rebind() - move an event channel onto another port
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 * @port: the port to use from now on, just obtained from the host by the
 *        caller (as for pvkit_evtchn_bind_existing()), or its error
 *
 * For a reconnect, when the host hands out ports again (a restore, a
 * host that lost its state): the interrupt, its handler, its affinity
 * and whether it is disabled stay as they are, only the port behind it
 * changes.  The new port is bound to the CPU that owned the old one, the
 * old port is closed, and an event pending on it is carried over.  The
 * caller tells the other end about the new port (a frontend rewrites its
 * store key); users of pvkit_evtchn_port() must look it up again.
 *
 * Context: process context; sleeps.  The interrupt must be requested, as
 * it is briefly disabled.
 * Return: 0, or a negative errno; then the channel keeps its old port,
 * and @port, if it was one the host gave, is closed.
 */
int pvkit_evtchn_rebind(unsigned int irq, long port)
{
	struct pvkit_evtchn_chan *chan;
	unsigned int old, cpu;
	int ret;

	if (!pvkit_evtchn_port(irq))
		return -EINVAL;
	chan = irq_get_chip_data(irq);
	mutex_lock(&pvkit_evtchn_lock);
	ret = pvkit_evtchn_check_new_port(port);
	if (ret)
		goto out;
	old = chan->port;
	cpu = READ_ONCE(pvkit_port_cpu[old]);
	if (cpu >= nr_cpu_ids ||
	    pvkit_hypercall(PVKIT_HC_EVTCHN_BIND_VCPU, port,
			    cpu_physical_id(cpu), 0, 0, 0)) {
		pvkit_hypercall(PVKIT_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
		ret = -EIO;
		goto out;
	}
	/* Waits for a handler running now; the mask and ack see one port. */
	disable_irq(irq);
	pvkit_evtchn_switch_port(chan, port, cpu, irq);
	/* An upcall may still be handing the old port to @irq: let it end. */
	synchronize_rcu();
	pvkit_hypercall(PVKIT_HC_EVTCHN_CLOSE, old, 0, 0, 0, 0);
	/* Closed: nothing sets the old bit now.  Its event goes with us. */
	if (sync_test_and_clear_bit(old, pvkit_pending_map()))
		sync_set_bit(port, pvkit_pending_map());
	/* Unmasking the new port has the host raise what is pending there. */
	enable_irq(irq);
out:
	mutex_unlock(&pvkit_evtchn_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_rebind);

/**
 * pvkit_evtchn_port() - port behind an interrupt from this file
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 *
 * Return: the event-channel port, or 0 if @irq is not an event channel.
 */
unsigned int pvkit_evtchn_port(unsigned int irq)
{
	struct irq_data *d = irq_get_irq_data(irq);

	/* Port 0 is never bound: the host refuses it. */
	if (!d || irq_data_get_irq_chip(d) != &pvkit_evtchn_chip)
		return 0;
	return pvkit_irqd_port(d);
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_port);

/**
 * pvkit_evtchn_send() - signal the other end of a port
 * @port: an event-channel port
 *
 * One host transition.  A port that is already closed is refused by the
 * host; one that is being closed may take the event and drop it, so
 * callers that race with an unbind need a fallback of their own.
 *
 * Return: 0 or a negative errno from the host.
 */
int pvkit_evtchn_send(unsigned int port)
{
	return pvkit_hypercall(PVKIT_HC_EVTCHN_SEND, port, 0, 0, 0, 0);
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_send);

/**
 * pvkit_evtchn_notify() - signal the other end of an event channel
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 *
 * One host transition.
 *
 * Return: 0 or a negative errno from the host.
 */
int pvkit_evtchn_notify(unsigned int irq)
{
	return pvkit_evtchn_send(pvkit_evtchn_port(irq));
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_notify);

/**
 * pvkit_evtchn_is_pending() - is an event waiting on this channel?
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 *
 * Return: true when the port's pending bit is set.
 */
bool pvkit_evtchn_is_pending(unsigned int irq)
{
	return sync_test_bit(pvkit_evtchn_port(irq), pvkit_pending_map());
}
EXPORT_SYMBOL_NS_GPL(pvkit_evtchn_is_pending, PVKIT_TEST);

/**
 * pvkit_evtchn_is_masked() - is the channel's port masked?
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 *
 * Return: true when the port's mask bit is set (the host raises no
 * upcall for it), e.g. while the interrupt is disabled.
 */
bool pvkit_evtchn_is_masked(unsigned int irq)
{
	return sync_test_bit(pvkit_evtchn_port(irq), pvkit_mask_map());
}
EXPORT_SYMBOL_NS_GPL(pvkit_evtchn_is_masked, PVKIT_TEST);

/**
 * pvkit_evtchn_cpu() - the CPU a channel's events are delivered to
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function
 *
 * Return: the owner CPU, or -EINVAL if @irq is not an event channel.
 */
int pvkit_evtchn_cpu(unsigned int irq)
{
	unsigned int port = pvkit_evtchn_port(irq);

	return port ? READ_ONCE(pvkit_port_cpu[port]) : -EINVAL;
}
EXPORT_SYMBOL_NS_GPL(pvkit_evtchn_cpu, PVKIT_TEST);

/* Take the port away from its CPU and mask it; 0 if @irq is no port. */
static unsigned int pvkit_evtchn_disown(unsigned int irq)
{
	unsigned int port = pvkit_evtchn_port(irq);

	if (!port)
		return 0;
	raw_spin_lock_irq(&pvkit_owner_lock);
	if (pvkit_port_cpu[port] < nr_cpu_ids)
		clear_bit(port, per_cpu(pvkit_cpu_ports, pvkit_port_cpu[port]));
	/* No owner: an affinity change from now on is refused. */
	pvkit_port_cpu[port] = USHRT_MAX;
	clear_bit(port, pvkit_ipi_ports);
	raw_spin_unlock_irq(&pvkit_owner_lock);
	pvkit_port_reset_mask(port);
	/* No new upcall hands the port to the interrupt from here on. */
	WRITE_ONCE(pvkit_port_irq[port], 0);
	return port;
}

/**
 * pvkit_evtchn_unbind_many() - close event channels and drop their irqs
 * @irqs: interrupts returned by pvkit_evtchn_bind_*() functions, already
 *        released with free_irq(); entries that are no event channel
 *        (0, say) are skipped
 * @n: number of entries in @irqs
 *
 * An upcall on another CPU may still be handing one of the ports to its
 * interrupt; the ports are closed (and their numbers become free for the
 * host to hand out again) only after every such upcall is over.  That
 * takes an RCU grace period, which this waits for once for all of @irqs,
 * and without holding a lock, so that callers closing ports at the same
 * time share it.
 *
 * Context: process context; sleeps.
 */
void pvkit_evtchn_unbind_many(const unsigned int *irqs, unsigned int n)
{
	unsigned int i, port;
	bool any = false;

	for (i = 0; i < n; i++)
		any |= pvkit_evtchn_disown(irqs[i]) != 0;
	if (!any)
		return;
	/* Upcalls run with irqs off: after this none still sees the ports. */
	synchronize_rcu();
	mutex_lock(&pvkit_evtchn_lock);
	for (i = 0; i < n; i++) {
		port = pvkit_evtchn_port(irqs[i]);
		if (!port)
			continue;
		pvkit_evtchn_free_irq(irqs[i]);
		pvkit_hypercall(PVKIT_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
		/* Nobody can be given the number again until the unlock. */
		sync_clear_bit(port, pvkit_pending_map());
	}
	mutex_unlock(&pvkit_evtchn_lock);
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_unbind_many);

/**
 * pvkit_evtchn_unbind() - close an event channel and drop its interrupt
 * @irq: interrupt returned by a pvkit_evtchn_bind_*() function, already
 *       released with free_irq()
 *
 * As pvkit_evtchn_unbind_many() for one interrupt: a driver with several
 * ports to close should close them together.
 *
 * Context: process context; sleeps.
 */
void pvkit_evtchn_unbind(unsigned int irq)
{
	pvkit_evtchn_unbind_many(&irq, 1);
}
EXPORT_SYMBOL_GPL(pvkit_evtchn_unbind);

/*
 * Where the host is to flag @cpu's events: its own area when the host
 * takes one (VCPU_INFO carries over what was flagged in the old place),
 * else its slot of the shared-info page, if its APIC ID has one.
 */
static struct pvkit_vcpu_info *pvkit_vcpu_info_place(unsigned int cpu,
						     u32 apicid)
{
	struct pvkit_vcpu_info *area = per_cpu_ptr(&pvkit_vcpu_area, cpu);
	long ret;

	if (pvkit_features() & PVKIT_F_VCPU) {
		ret = pvkit_hypercall(PVKIT_HC_VCPU_INFO, apicid,
				      per_cpu_ptr_to_phys(area), 0, 0, 0);
		if (!ret)
			return area;
		pr_warn("CPU%u: host refused its vcpu_info (%ld)\n", cpu, ret);
	}
	if (apicid < PVKIT_SHARED_INFO_VCPUS)
		return &pvkit_shinfo.vcpu_info[apicid];
	return NULL;
}

/*
 * The host raises the upcall for new events only: one flagged while this
 * CPU had no vector (offline, or before it came up) would wait for the
 * next.  Raise it here if one is owed.  On this CPU, interrupts off.
 */
static void pvkit_upcall_if_owed(void)
{
	struct pvkit_vcpu_info *vi = pvkit_this_vcpu_info();

	if (vi && READ_ONCE(vi->evtchn_upcall_pending))
		__apic_send_IPI_self(HYPERVISOR_CALLBACK_VECTOR);
}

/* Runs on @cpu itself (an AP_ONLINE state). */
static int pvkit_events_cpu_online(unsigned int cpu)
{
	u32 apicid = cpu_physical_id(cpu);
	struct pvkit_vcpu_info *vi;
	long ret;

	if (apicid >= PVKIT_MAX_VCPUS) {
		pr_warn("CPU%u: APIC ID %u gets no events\n", cpu, apicid);
		return 0;
	}
	vi = pvkit_vcpu_info_place(cpu, apicid);
	if (!vi) {
		pr_warn("CPU%u: APIC ID %u has no vcpu_info: no events\n",
			cpu, apicid);
		return 0;
	}
	/* The upcall reads the pointer: set before the vector exists. */
	per_cpu(pvkit_vcpu_info, cpu) = vi;
	ret = pvkit_hypercall(PVKIT_HC_VCPU_UPCALL, apicid,
			      HYPERVISOR_CALLBACK_VECTOR, 0, 0, 0);
	/* A CPU without events still runs: it just gets no ports. */
	if (ret)
		pr_err("CPU%u: upcall registration failed (%ld)\n", cpu, ret);
	per_cpu(pvkit_upcall_ready, cpu) = !ret;
	if (!ret) {
		local_irq_disable();
		pvkit_upcall_if_owed();
		local_irq_enable();
	}
	return 0;
}

/*
 * A CPU going offline keeps its upcall until it is dead.  Its ports move
 * when it is taken down: the irq core's migration (after the CPU left
 * cpu_online_mask, so no affinity change picks it) calls
 * pvkit_evtchn_set_affinity() for every started interrupt, serialised
 * with disable_irq() by the descriptor's lock.  A port bound but not
 * requested stays (its owner bit, its events pending) until
 * request_irq() sets its affinity, which moves it.  IPI ports are per-CPU
 * interrupts, left out by the core; ipi.c closes them before.  Once the
 * CPU is dead, the host is told to raise nothing on it: this runs then,
 * on another CPU.
 */
static int pvkit_events_cpu_dead(unsigned int cpu)
{
	u32 apicid = cpu_physical_id(cpu);

	per_cpu(pvkit_upcall_ready, cpu) = false;
	if (apicid < PVKIT_MAX_VCPUS)
		pvkit_hypercall(PVKIT_HC_VCPU_UPCALL, apicid, 0, 0, 0, 0);
	return 0;
}

/* The upcall vector is ours (not taken by another hypervisor's code). */
static bool pvkit_upcall_vector __ro_after_init;

/**
 * pvkit_events_init_platform() - install the upcall vector
 *
 * Runs from init_platform, or when the kit is layered on KVM from
 * init_after_bootmem, both early enough for sysvec_install().  Under KVM
 * the vector may already carry KVM's async page-fault notifications
 * (KVM_FEATURE_ASYNC_PF_INT): there is no second callback vector, so the
 * kit then goes without event channels ("no-kvmapf" leaves it free).
 */
void __init pvkit_events_init_platform(void)
{
	if (test_bit(HYPERVISOR_CALLBACK_VECTOR, system_vectors)) {
		pr_err("upcall vector %#x taken (KVM async PF?): no event channels; boot with no-kvmapf to have them\n",
		       HYPERVISOR_CALLBACK_VECTOR);
		return;
	}
	sysvec_install(HYPERVISOR_CALLBACK_VECTOR, sysvec_pvkit_callback);
	pvkit_upcall_vector = true;
}

static int __init pvkit_events_init(void)
{
	long ret;
	int rc, dead;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_EVTCHN) ||
	    !pvkit_upcall_vector)
		return 0;

	/* Everything masked until a driver asks for a port. */
	memset(pvkit_shinfo.evtchn_mask, 0xff, sizeof(pvkit_shinfo.evtchn_mask));
	ret = pvkit_hypercall(PVKIT_HC_SHARED_INFO, __pa_symbol(&pvkit_shinfo),
			      0, 0, 0, 0);
	if (ret) {
		pr_err("shared-info page refused (%ld): no event channels\n", ret);
		return -EIO;
	}

	/* Upcalls scan from the first vector a CPU sets below. */
	pvkit_evtchn_ready = true;
	dead = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN,
					 "x86/pvkit/events:dead", NULL,
					 pvkit_events_cpu_dead);
	if (dead < 0) {
		rc = dead;
		goto err;
	}
	rc = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "x86/pvkit/events:online",
			       pvkit_events_cpu_online, NULL);
	if (rc < 0) {
		cpuhp_remove_state_nocalls(dead);
		goto err;
	}
	pr_info("event channels: %u ports, upcall vector %#x\n",
		PVKIT_EVTCHN_PORTS, HYPERVISOR_CALLBACK_VECTOR);
	/* Layered on KVM, its IPIs (and their PV paths) stay KVM's. */
	if (!pvkit_is_layered())
		pvkit_ipi_init();
	return 0;

err:
	pvkit_evtchn_ready = false;
	pvkit_hypercall(PVKIT_HC_SHARED_INFO, 0, 0, 0, 0, 0);
	pr_err("no event channels (%d)\n", rc);
	return rc;
}
arch_initcall(pvkit_events_init);

/*
 * After suspend to RAM, on the boot CPU with interrupts off.  The host
 * kept every port (SPEC section 6), but waking reset the local APIC:
 * an upcall raised before the guest went down may have gone with it,
 * and the host raises the vector again only for a new event.  The
 * pending flag says whether one is owed; raise it here.
 */
void pvkit_events_resume(void)
{
	if (pvkit_evtchn_ready)
		pvkit_upcall_if_owed();
}

/* Online CPUs whose events the host flags in their own area (sysfs). */
unsigned int pvkit_events_vcpu_areas(void)
{
	unsigned int cpu, n = 0;

	for_each_online_cpu(cpu)
		n += per_cpu(pvkit_vcpu_info, cpu) ==
		     per_cpu_ptr(&pvkit_vcpu_area, cpu);
	return n;
}

/*
 * Before kexec: the next kernel owns this memory, so the host must stop
 * writing event bits into it and raising the upcall vector.  Runs late
 * in shutdown (syscore) or a crash, on one CPU, with nothing to fall
 * back on: a refusal is only logged.  ENOENT for a vCPU that never
 * existed is no refusal.
 */
void pvkit_events_shutdown(void)
{
	unsigned int cpu;
	u32 apicid;
	long ret;

	if (!pvkit_evtchn_ready)
		return;
	for_each_possible_cpu(cpu) {
		apicid = cpu_physical_id(cpu);
		if (apicid >= PVKIT_MAX_VCPUS)
			continue;
		ret = pvkit_hypercall(PVKIT_HC_VCPU_UPCALL, apicid, 0, 0, 0, 0);
		if (ret && ret != -ENOENT)
			pr_err("shutdown: host kept the upcall of APIC ID %u (%ld)\n",
			       apicid, ret);
	}
	ret = pvkit_hypercall(PVKIT_HC_SHARED_INFO, 0, 0, 0, 0, 0);
	if (ret)
		pr_err("shutdown: host kept the shared-info page (%ld)\n", ret);
}
