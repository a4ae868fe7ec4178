// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pvkit_test: issue pvkit hypercalls from user space so the kit's
 * selftests can check every hypercall and every error the host returns.
 * Raw arguments are guest-physical addresses and reach the host as they
 * are: this is a test device, root only, for test kernels.
 */

#define pr_fmt(fmt) "pvkit_test: " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/irq.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <asm/page.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>
#include <uapi/linux/pvkit_test.h>

/* One source and one destination page, used under pvkit_test_lock. */
static DEFINE_MUTEX(pvkit_test_lock);
static void *pvkit_test_src;
static void *pvkit_test_dst;

static long pvkit_test_hypercall(void __user *uarg)
{
	struct pvkit_test_hypercall hc;
	const u64 *a = hc.args;

	if (copy_from_user(&hc, uarg, sizeof(hc)))
		return -EFAULT;
	if (hc.flags & ~PVKIT_TEST_UNTABLED)
		return -EINVAL;

	if (hc.flags & PVKIT_TEST_UNTABLED)
		hc.result = pvkit_hypercall_untabled(hc.nr, a[0], a[1], a[2],
						     a[3], a[4]);
	else
		hc.result = pvkit_hypercall(hc.nr, a[0], a[1], a[2], a[3],
					    a[4]);

	return copy_to_user(uarg, &hc, sizeof(hc)) ? -EFAULT : 0;
}

static long pvkit_test_copy(void __user *uarg)
{
	struct pvkit_test_copy cp;
	long ret = 0;

	if (copy_from_user(&cp, uarg, sizeof(cp)))
		return -EFAULT;
	if (cp.len > PAGE_SIZE || cp.reserved)
		return -EINVAL;

	mutex_lock(&pvkit_test_lock);
	if (copy_from_user(pvkit_test_src, u64_to_user_ptr(cp.src), cp.len)) {
		ret = -EFAULT;
		goto out;
	}
	memset(pvkit_test_dst, 0, PAGE_SIZE);
	cp.result = pvkit_hypercall(PVKIT_HC_TEST_COPY, __pa(pvkit_test_src),
				    __pa(pvkit_test_dst), cp.len, 0, 0);
	if (copy_to_user(u64_to_user_ptr(cp.dst), pvkit_test_dst, cp.len) ||
	    copy_to_user(uarg, &cp, sizeof(cp)))
		ret = -EFAULT;
out:
	mutex_unlock(&pvkit_test_lock);
	return ret;
}

struct pvkit_test_echo {
	atomic64_t received;
	struct completion echoed;
};

static irqreturn_t pvkit_test_echo_irq(int irq, void *data)
{
	struct pvkit_test_echo *echo = data;

	atomic64_inc(&echo->received);
	complete(&echo->echoed);
	return IRQ_HANDLED;
}

/* Bind an echo port and install the counting handler. */
static int pvkit_test_echo_open(struct pvkit_test_echo *echo)
{
	int irq, ret;

	atomic64_set(&echo->received, 0);
	init_completion(&echo->echoed);
	irq = pvkit_evtchn_bind_host(PVKIT_ENDPOINT_ECHO);
	if (irq < 0)
		return irq;
	/* disable_irq() must mask at once, not on the next event. */
	irq_set_status_flags(irq, IRQ_DISABLE_UNLAZY);
	ret = request_irq(irq, pvkit_test_echo_irq, 0, "pvkit_test_echo", echo);
	if (ret) {
		pvkit_evtchn_unbind(irq);
		return ret;
	}
	return irq;
}

static void pvkit_test_echo_close(int irq, struct pvkit_test_echo *echo)
{
	free_irq(irq, echo);
	pvkit_evtchn_unbind(irq);
}

static long pvkit_test_evtchn_echo(void __user *uarg)
{
	struct pvkit_test_evtchn ev;
	struct pvkit_test_echo echo;
	unsigned long timeout;
	u32 i;
	int irq;

	if (copy_from_user(&ev, uarg, sizeof(ev)))
		return -EFAULT;
	if (!ev.timeout_ms || ev.timeout_ms > 10000)
		return -EINVAL;
	timeout = msecs_to_jiffies(ev.timeout_ms);
	ev.sent = 0;
	ev.lost = 0;
	ev.result = 0;

	irq = pvkit_test_echo_open(&echo);
	if (irq < 0)
		return irq;
	for (i = 0; i < ev.rounds; i++) {
		ev.result = pvkit_evtchn_notify(irq);
		if (ev.result)
			break;
		ev.sent++;
		if (!wait_for_completion_timeout(&echo.echoed, timeout))
			ev.lost++;
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
	/* Give a duplicate time to show up before counting. */
	msleep(20);
	ev.received = atomic64_read(&echo.received);
	pvkit_test_echo_close(irq, &echo);

	return copy_to_user(uarg, &ev, sizeof(ev)) ? -EFAULT : 0;
}

static long pvkit_test_evtchn_mask(void __user *uarg)
{
	struct pvkit_test_evtchn_mask mk;
	struct pvkit_test_echo echo;
	u32 i;
	int irq;

	if (copy_from_user(&mk, uarg, sizeof(mk)))
		return -EFAULT;
	mk.result = 0;

	irq = pvkit_test_echo_open(&echo);
	if (irq < 0)
		return irq;
	disable_irq(irq);
	for (i = 0; i < mk.sends && !mk.result; i++)
		mk.result = pvkit_evtchn_notify(irq);
	msleep(20);
	mk.received_while_masked = atomic64_read(&echo.received);
	mk.pending_while_masked = pvkit_evtchn_is_pending(irq);
	enable_irq(irq);
	msleep(20);
	mk.received_after_unmask = atomic64_read(&echo.received) -
				   mk.received_while_masked;
	pvkit_test_echo_close(irq, &echo);

	return copy_to_user(uarg, &mk, sizeof(mk)) ? -EFAULT : 0;
}

/* One benchmark loop; echo is NULL for PVKIT_BENCH_VERSION. */
static void pvkit_test_bench_loop(struct pvkit_test_bench *b, int irq,
				  struct pvkit_test_echo *echo)
{
	u64 start = ktime_get_ns();
	u32 i;

	for (i = 0; i < b->iterations; i++) {
		if (b->op == PVKIT_BENCH_VERSION) {
			b->result = pvkit_hypercall(PVKIT_HC_VERSION, 0, 0, 0,
						    0, 0);
			if (b->result < 0)
				break;
			b->result = 0;
		} else {
			b->result = pvkit_evtchn_notify(irq);
			if (b->result)
				break;
			if (b->op == PVKIT_BENCH_ROUNDTRIP &&
			    !wait_for_completion_timeout(&echo->echoed, HZ)) {
				b->result = -ETIMEDOUT;
				break;
			}
		}
		b->hypercalls++;
	}
	b->elapsed_ns = ktime_get_ns() - start;
}

static long pvkit_test_bench(void __user *uarg)
{
	struct pvkit_test_bench b;
	struct pvkit_test_echo echo;
	int irq = 0;

	if (copy_from_user(&b, uarg, sizeof(b)))
		return -EFAULT;
	if (b.op > PVKIT_BENCH_ROUNDTRIP || !b.iterations ||
	    b.iterations > 10000000)
		return -EINVAL;
	b.hypercalls = 0;
	b.events = 0;
	b.result = 0;

	if (b.op != PVKIT_BENCH_VERSION) {
		irq = pvkit_test_echo_open(&echo);
		if (irq < 0)
			return irq;
		/* Masked: every send is one exit, nothing comes back. */
		if (b.op == PVKIT_BENCH_SEND)
			disable_irq(irq);
	}
	pvkit_test_bench_loop(&b, irq, b.op == PVKIT_BENCH_VERSION ? NULL : &echo);
	if (irq) {
		if (b.op == PVKIT_BENCH_SEND)
			enable_irq(irq);
		msleep(20);
		b.events = atomic64_read(&echo.received);
		pvkit_test_echo_close(irq, &echo);
	}
	return copy_to_user(uarg, &b, sizeof(b)) ? -EFAULT : 0;
}

/*
 * Test grants: pages owned by the open file, indexed by reference, so a
 * test that dies leaves nothing behind (release revokes them).  The lock
 * makes grant and revoke on one file atomic: a reference can be revoked
 * and handed out again while another thread still looks at it.
 */
struct pvkit_test_file {
	struct mutex lock;	/* grant + store, revoke + erase: atomic */
	struct xarray grants;
	/* ECHO_BIND's port, under lock; irq 0: none */
	int echo_irq;
	/* ECHO_GATE disabled it (disable_irq() not yet undone) */
	bool echo_disabled;
	struct pvkit_test_echo echo;
};

static long pvkit_test_echo_bind(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_echo_port ep = {};
	int irq;

	mutex_lock(&tf->lock);
	if (tf->echo_irq) {
		mutex_unlock(&tf->lock);
		return -EBUSY;
	}
	irq = pvkit_test_echo_open(&tf->echo);
	if (irq < 0) {
		mutex_unlock(&tf->lock);
		return irq;
	}
	tf->echo_irq = irq;
	mutex_unlock(&tf->lock);
	ep.irq = irq;
	ep.port = pvkit_evtchn_port(irq);
	return copy_to_user(uarg, &ep, sizeof(ep)) ? -EFAULT : 0;
}

static long pvkit_test_echo_send(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_echo_port ep;
	u64 before;
	u32 i;

	if (copy_from_user(&ep, uarg, sizeof(ep)))
		return -EFAULT;
	if (ep.rounds > 100000)
		return -EINVAL;
	mutex_lock(&tf->lock);
	if (!tf->echo_irq) {
		mutex_unlock(&tf->lock);
		return -ENOENT;
	}
	ep.lost = 0;
	ep.result = 0;
	reinit_completion(&tf->echo.echoed);
	before = atomic64_read(&tf->echo.received);
	for (i = 0; i < ep.rounds; i++) {
		ep.result = pvkit_evtchn_notify(tf->echo_irq);
		if (ep.result)
			break;
		if (!wait_for_completion_timeout(&tf->echo.echoed, HZ))
			ep.lost++;
		if (fatal_signal_pending(current))
			break;
	}
	msleep(20);
	ep.received = atomic64_read(&tf->echo.received) - before;
	ep.irq = tf->echo_irq;
	ep.port = pvkit_evtchn_port(tf->echo_irq);
	ep.cpu = pvkit_evtchn_cpu(tf->echo_irq);
	mutex_unlock(&tf->lock);
	return copy_to_user(uarg, &ep, sizeof(ep)) ? -EFAULT : 0;
}

/*
 * Move the echo channel onto another port: a new echo port, or the
 * number user space gives (to see a bad one refused).
 */
static long pvkit_test_echo_rebind(struct pvkit_test_file *tf,
				   void __user *uarg)
{
	struct pvkit_test_echo_port ep;
	long port;

	if (copy_from_user(&ep, uarg, sizeof(ep)))
		return -EFAULT;
	mutex_lock(&tf->lock);
	if (!tf->echo_irq) {
		mutex_unlock(&tf->lock);
		return -ENOENT;
	}
	port = ep.port ? ep.port :
	       pvkit_hypercall(PVKIT_HC_EVTCHN_BIND_HOST, PVKIT_ENDPOINT_ECHO,
			       0, 0, 0, 0);
	ep.result = pvkit_evtchn_rebind(tf->echo_irq, port);
	ep.irq = tf->echo_irq;
	ep.port = pvkit_evtchn_port(tf->echo_irq);
	ep.cpu = pvkit_evtchn_cpu(tf->echo_irq);
	mutex_unlock(&tf->lock);
	return copy_to_user(uarg, &ep, sizeof(ep)) ? -EFAULT : 0;
}

static long pvkit_test_echo_unbind(struct pvkit_test_file *tf)
{
	mutex_lock(&tf->lock);
	if (!tf->echo_irq) {
		mutex_unlock(&tf->lock);
		return -ENOENT;
	}
	if (tf->echo_disabled)
		enable_irq(tf->echo_irq);
	tf->echo_disabled = false;
	pvkit_test_echo_close(tf->echo_irq, &tf->echo);
	tf->echo_irq = 0;
	mutex_unlock(&tf->lock);
	return 0;
}

/* Is the port unmasked while the irq core has it disabled? */
static bool pvkit_test_gate_leak(int irq)
{
	return !pvkit_evtchn_is_masked(irq);
}

/*
 * Disable, send, enable, over and over: while disabled the port must stay
 * masked and the handler must not run, whatever moves the port meanwhile;
 * after enable_irq() the event must arrive, once.
 */
static void pvkit_test_gate_cycles(struct pvkit_test_file *tf,
				   struct pvkit_test_echo_gate *g)
{
	int irq = tf->echo_irq;
	u64 start = atomic64_read(&tf->echo.received), before;
	bool leak;
	u32 i;

	for (i = 0; i < g->rounds; i++) {
		reinit_completion(&tf->echo.echoed);
		disable_irq(irq);
		before = atomic64_read(&tf->echo.received);
		udelay(g->hold_us);
		leak = pvkit_test_gate_leak(irq);
		g->result = pvkit_evtchn_notify(irq);
		if (!g->result)
			g->sent++;
		udelay(g->hold_us);
		leak |= pvkit_test_gate_leak(irq);
		g->unmasked_while_disabled += leak;
		if (atomic64_read(&tf->echo.received) != before)
			g->early++;
		enable_irq(irq);
		if (g->result)
			break;
		if (!wait_for_completion_timeout(&tf->echo.echoed, HZ))
			g->lost++;
		if (fatal_signal_pending(current))
			break;
	}
	/* Give a duplicate time to show up before counting. */
	msleep(20);
	g->received = atomic64_read(&tf->echo.received) - start;
}

/* Only disable and enable, as often as possible: no events. */
static void pvkit_test_gate_toggles(struct pvkit_test_file *tf,
				    struct pvkit_test_echo_gate *g)
{
	int irq = tf->echo_irq;
	u32 i;

	for (i = 0; i < g->rounds; i++) {
		disable_irq(irq);
		udelay(g->hold_us);
		g->unmasked_while_disabled += pvkit_test_gate_leak(irq);
		enable_irq(irq);
		udelay(g->hold_us);
		if (fatal_signal_pending(current))
			break;
	}
}

static long pvkit_test_echo_gate(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_echo_gate g;
	long ret = 0;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	if (g.reserved || g.op > PVKIT_GATE_TOGGLES)
		return -EINVAL;
	if (g.op >= PVKIT_GATE_CYCLES &&
	    (!g.rounds || g.rounds > 100000 || g.hold_us > 1000))
		return -EINVAL;
	g.sent = 0;
	g.received = 0;
	g.unmasked_while_disabled = 0;
	g.early = 0;
	g.lost = 0;
	g.result = 0;
	mutex_lock(&tf->lock);
	if (!tf->echo_irq) {
		ret = -ENOENT;
		goto out;
	}
	switch (g.op) {
	case PVKIT_GATE_DISABLE:
		if (tf->echo_disabled) {
			ret = -EBUSY;
			break;
		}
		disable_irq(tf->echo_irq);
		tf->echo_disabled = true;
		break;
	case PVKIT_GATE_ENABLE:
		if (!tf->echo_disabled) {
			ret = -EINVAL;
			break;
		}
		enable_irq(tf->echo_irq);
		tf->echo_disabled = false;
		break;
	default:
		if (tf->echo_disabled) {
			ret = -EBUSY;
			break;
		}
		if (g.op == PVKIT_GATE_CYCLES)
			pvkit_test_gate_cycles(tf, &g);
		else
			pvkit_test_gate_toggles(tf, &g);
		break;
	}
out:
	mutex_unlock(&tf->lock);
	if (ret)
		return ret;
	return copy_to_user(uarg, &g, sizeof(g)) ? -EFAULT : 0;
}

/* irq_set_affinity() as a driver would call it; event channels only. */
static long pvkit_test_set_affinity(void __user *uarg)
{
	struct pvkit_test_affinity af;

	if (copy_from_user(&af, uarg, sizeof(af)))
		return -EFAULT;
	if (af.reserved || af.cpu >= nr_cpu_ids)
		return -EINVAL;
	if (!pvkit_evtchn_port(af.irq))
		return -ENOENT;
	af.result = irq_set_affinity(af.irq, cpumask_of(af.cpu));
	return copy_to_user(uarg, &af, sizeof(af)) ? -EFAULT : 0;
}

static void pvkit_test_count_call(void *info)
{
	atomic64_inc(info);
}

/*
 * smp_call_function() to all other CPUs, @rounds times, waiting for each:
 * with two targets or more each call is a call-function IPI to a set.
 */
static long pvkit_test_call_func(void __user *uarg)
{
	struct pvkit_test_call_func cf;
	atomic64_t ran = ATOMIC64_INIT(0);
	long sends;
	u32 i;

	if (copy_from_user(&cf, uarg, sizeof(cf)))
		return -EFAULT;
	if (!cf.rounds || cf.rounds > 100000)
		return -EINVAL;
	cpus_read_lock();
	sends = pvkit_ipi_set_sends();
	for (i = 0; i < cf.rounds; i++) {
		smp_call_function(pvkit_test_count_call, &ran, true);
		cond_resched();
	}
	cf.set_sends = pvkit_ipi_set_sends() - sends;
	cf.targets = num_online_cpus() - 1;
	cpus_read_unlock();
	cf.ran = atomic64_read(&ran);
	return copy_to_user(uarg, &cf, sizeof(cf)) ? -EFAULT : 0;
}

static long pvkit_test_grant(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_grant g;
	struct page *page;
	int ref, ret;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	if (g.reserved || g.fill > 0xff)
		return -EINVAL;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	memset(page_address(page), g.fill, PAGE_SIZE);
	mutex_lock(&tf->lock);
	ref = pvkit_gnttab_grant(page_to_pfn(page), g.readonly);
	if (ref < 0) {
		mutex_unlock(&tf->lock);
		__free_page(page);
		return ref;
	}
	ret = xa_err(xa_store(&tf->grants, ref, page, GFP_KERNEL));
	if (ret) {
		/* A page the host already holds is leaked, never reused. */
		if (!pvkit_gnttab_revoke(ref))
			__free_page(page);
		mutex_unlock(&tf->lock);
		return ret;
	}
	mutex_unlock(&tf->lock);
	g.ref = ref;
	g.in_use = pvkit_gnttab_in_use();
	return copy_to_user(uarg, &g, sizeof(g)) ? -EFAULT : 0;
}

/* The page this file granted as @ref, or NULL; the caller holds tf->lock. */
static struct page *pvkit_test_page(struct pvkit_test_file *tf, int ref)
{
	return ref > 0 ? xa_load(&tf->grants, ref) : NULL;
}

/* Copy bytes into or out of a page this file granted. */
static long pvkit_test_page_io(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_page_io io;
	void __user *buf;
	struct page *page;
	unsigned long left;

	if (copy_from_user(&io, uarg, sizeof(io)))
		return -EFAULT;
	if (io.write > 1 || io.offset > PAGE_SIZE ||
	    io.len > PAGE_SIZE - io.offset)
		return -EINVAL;
	buf = u64_to_user_ptr(io.buf);
	mutex_lock(&tf->lock);
	page = pvkit_test_page(tf, io.ref);
	if (!page) {
		mutex_unlock(&tf->lock);
		return -ENOENT;
	}
	if (io.write)
		left = copy_from_user(page_address(page) + io.offset, buf,
				      io.len);
	else
		left = copy_to_user(buf, page_address(page) + io.offset,
				    io.len);
	mutex_unlock(&tf->lock);
	return left ? -EFAULT : 0;
}

static long pvkit_test_revoke(struct pvkit_test_file *tf, void __user *uarg)
{
	struct pvkit_test_grant g;
	struct page *page;
	const u8 *p;
	unsigned int i;

	if (copy_from_user(&g, uarg, sizeof(g)))
		return -EFAULT;
	mutex_lock(&tf->lock);
	page = pvkit_test_page(tf, g.ref);
	if (!page) {
		mutex_unlock(&tf->lock);
		return -ENOENT;
	}
	g.result = pvkit_gnttab_revoke(g.ref);
	p = page_address(page);
	for (g.sum = 0, i = 0; i < PAGE_SIZE; i++)
		g.sum += p[i];
	if (!g.result) {
		xa_erase(&tf->grants, g.ref);
		__free_page(page);
	}
	mutex_unlock(&tf->lock);
	g.in_use = pvkit_gnttab_in_use();
	return copy_to_user(uarg, &g, sizeof(g)) ? -EFAULT : 0;
}

/*
 * The device hands guest-physical addresses to the host and lets user
 * space grant and map pages: as much reach into kernel memory as
 * /dev/mem, and refused under lockdown for the same reason.
 */
static int pvkit_test_open(struct inode *inode, struct file *file)
{
	struct pvkit_test_file *tf;
	int ret;

	ret = security_locked_down(LOCKDOWN_DEV_MEM);
	if (ret)
		return ret;
	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	mutex_init(&tf->lock);
	xa_init(&tf->grants);
	file->private_data = tf;
	return 0;
}

/* A page the host still holds is leaked on purpose, never reused. */
static int pvkit_test_release(struct inode *inode, struct file *file)
{
	struct pvkit_test_file *tf = file->private_data;
	struct page *page;
	unsigned long ref;

	xa_for_each(&tf->grants, ref, page) {
		if (pvkit_gnttab_revoke(ref))
			pr_warn("grant %lu still in use by the host, page leaked\n",
				ref);
		else
			__free_page(page);
	}
	xa_destroy(&tf->grants);
	if (tf->echo_irq && tf->echo_disabled)
		enable_irq(tf->echo_irq);
	if (tf->echo_irq)
		pvkit_test_echo_close(tf->echo_irq, &tf->echo);
	kfree(tf);
	return 0;
}

static long pvkit_test_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case PVKIT_TEST_IOC_HYPERCALL:
		return pvkit_test_hypercall(uarg);
	case PVKIT_TEST_IOC_COPY:
		return pvkit_test_copy(uarg);
	case PVKIT_TEST_IOC_EVTCHN_ECHO:
		return pvkit_test_evtchn_echo(uarg);
	case PVKIT_TEST_IOC_EVTCHN_MASK:
		return pvkit_test_evtchn_mask(uarg);
	case PVKIT_TEST_IOC_BENCH:
		return pvkit_test_bench(uarg);
	case PVKIT_TEST_IOC_GRANT:
		return pvkit_test_grant(file->private_data, uarg);
	case PVKIT_TEST_IOC_REVOKE:
		return pvkit_test_revoke(file->private_data, uarg);
	case PVKIT_TEST_IOC_PAGE_IO:
		return pvkit_test_page_io(file->private_data, uarg);
	case PVKIT_TEST_IOC_ECHO_BIND:
		return pvkit_test_echo_bind(file->private_data, uarg);
	case PVKIT_TEST_IOC_ECHO_SEND:
		return pvkit_test_echo_send(file->private_data, uarg);
	case PVKIT_TEST_IOC_ECHO_UNBIND:
		return pvkit_test_echo_unbind(file->private_data);
	case PVKIT_TEST_IOC_ECHO_REBIND:
		return pvkit_test_echo_rebind(file->private_data, uarg);
	case PVKIT_TEST_IOC_SET_AFFINITY:
		return pvkit_test_set_affinity(uarg);
	case PVKIT_TEST_IOC_ECHO_GATE:
		return pvkit_test_echo_gate(file->private_data, uarg);
	case PVKIT_TEST_IOC_CALL_FUNC:
		return pvkit_test_call_func(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pvkit_test_fops = {
	.owner		= THIS_MODULE,
	.open		= pvkit_test_open,
	.release	= pvkit_test_release,
	.unlocked_ioctl	= pvkit_test_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice pvkit_test_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pvkit_test",
	.fops	= &pvkit_test_fops,
	.mode	= 0600,
};

static int __init pvkit_test_init(void)
{
	int ret;

	if (!pvkit_available())
		return -ENODEV;

	pvkit_test_src = (void *)get_zeroed_page(GFP_KERNEL);
	pvkit_test_dst = (void *)get_zeroed_page(GFP_KERNEL);
	if (!pvkit_test_src || !pvkit_test_dst) {
		ret = -ENOMEM;
		goto err;
	}
	ret = misc_register(&pvkit_test_dev);
	if (ret)
		goto err;
	return 0;
err:
	free_page((unsigned long)pvkit_test_src);
	free_page((unsigned long)pvkit_test_dst);
	return ret;
}

static void __exit pvkit_test_exit(void)
{
	misc_deregister(&pvkit_test_dev);
	free_page((unsigned long)pvkit_test_src);
	free_page((unsigned long)pvkit_test_dst);
}

module_init(pvkit_test_init);
module_exit(pvkit_test_exit);
MODULE_DESCRIPTION("pvkit hypercall test device");
/* The kit's test-only entry points: not for drivers. */
MODULE_IMPORT_NS(PVKIT_TEST);
MODULE_LICENSE("GPL");
