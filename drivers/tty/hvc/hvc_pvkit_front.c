// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit console frontend: more consoles, on the pvkit bus.
 *
 * hvc0 reaches the host through hypercalls; every further console the
 * host offers is a split device of type "console" (device/console/<n>),
 * and this frontend serves it as /dev/hvc<m>: it grants the backend one
 * page holding Xen's console ring (struct pvkit_cons_ring below), passes
 * an event channel, and moves bytes through the ring.  QEMU's own Xen
 * console backend (-device xen-console) serves such devices on a pvkit
 * host.  The backend is not trusted: ring indexes that make no sense
 * stop the data, never the guest.
 */

#define pr_fmt(fmt) "pvkit-console: " fmt

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pfn.h>
#include <linux/mutex.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>
#include <linux/slab.h>

#include "hvc_console.h"

/* vtermnos of these consoles: clear of hvc_pvkit's (0) and of each other. */
#define PVKIT_CONS_VTERM_BASE	0x70000000u
/* Bytes hvc hands put_chars at most. */
#define PVKIT_CONS_OUTBUF	256

/* Xen's struct xencons_interface: in (to the guest), out (to the host). */
struct pvkit_cons_ring {
	char in[1024];
	char out[2048];
	u32 in_cons, in_prod;
	u32 out_cons, out_prod;
};

/**
 * struct pvkit_cons - one console device
 * @list: entry in pvkit_cons_list, looked up by @vtermno
 * @dev: the bus device
 * @ring: the shared ring page (NULL between connections)
 * @ref: grant reference of @ring, or -1
 * @irq: event channel interrupt, or 0
 * @hvc: the hvc console, while connected
 * @vtermno: hvc's name for this console
 * @broken: the backend's indexes went wrong; the console is dead
 */
struct pvkit_cons {
	struct list_head list;
	struct pvkit_bus_device *dev;
	struct pvkit_cons_ring *ring;
	int ref;
	int irq;
	struct hvc_struct *hvc;
	u32 vtermno;
	bool broken;
};

static LIST_HEAD(pvkit_cons_list);
static DEFINE_SPINLOCK(pvkit_cons_lock);

static struct pvkit_cons *pvkit_cons_find(u32 vtermno)
{
	struct pvkit_cons *cons;

	list_for_each_entry(cons, &pvkit_cons_list, list)
		if (cons->vtermno == vtermno)
			return cons;
	return NULL;
}

/* Stop using a ring whose indexes the backend has made impossible. */
static void pvkit_cons_broken(struct pvkit_cons *cons, const char *which,
			      u32 cons_idx, u32 prod)
{
	if (!cons->broken)
		dev_err(&cons->dev->dev,
			"backend corrupted the %s ring (cons %u prod %u)\n",
			which, cons_idx, prod);
	cons->broken = true;
}

static ssize_t pvkit_cons_put(struct pvkit_cons *cons, const u8 *buf,
			      size_t count)
{
	struct pvkit_cons_ring *r = cons->ring;
	u32 cons_idx = READ_ONCE(r->out_cons);
	u32 prod = r->out_prod;
	size_t n = 0;

	if (prod - cons_idx > sizeof(r->out)) {
		pvkit_cons_broken(cons, "output", cons_idx, prod);
		return count;	/* swallow: the tty must not stall forever */
	}
	/* out_cons was read before the slots it frees are reused. */
	virt_mb();
	while (n < count && prod - cons_idx < sizeof(r->out))
		r->out[prod++ & (sizeof(r->out) - 1)] = buf[n++];
	/* The bytes land before the index the backend reads them by. */
	virt_wmb();
	WRITE_ONCE(r->out_prod, prod);
	pvkit_evtchn_notify(cons->irq);
	return n;
}

static ssize_t pvkit_cons_get(struct pvkit_cons *cons, u8 *buf, size_t count)
{
	struct pvkit_cons_ring *r = cons->ring;
	u32 cons_idx = r->in_cons;
	u32 prod = READ_ONCE(r->in_prod);
	size_t n = 0;

	if (prod - cons_idx > sizeof(r->in)) {
		pvkit_cons_broken(cons, "input", cons_idx, prod);
		return 0;
	}
	/* Pairs with the backend's barrier between the bytes and in_prod. */
	virt_rmb();
	while (n < count && cons_idx != prod)
		buf[n++] = r->in[cons_idx++ & (sizeof(r->in) - 1)];
	/* Done reading the slots before the backend may overwrite them. */
	virt_mb();
	WRITE_ONCE(r->in_cons, cons_idx);
	if (n)
		pvkit_evtchn_notify(cons->irq);
	return n;
}

static ssize_t pvkit_cons_put_chars(u32 vtermno, const u8 *buf, size_t count)
{
	struct pvkit_cons *cons;
	unsigned long flags;
	ssize_t ret = -ENODEV;

	spin_lock_irqsave(&pvkit_cons_lock, flags);
	cons = pvkit_cons_find(vtermno);
	if (cons && !cons->broken)
		ret = pvkit_cons_put(cons, buf, count);
	else if (cons)
		ret = count;
	spin_unlock_irqrestore(&pvkit_cons_lock, flags);
	return ret;
}

static ssize_t pvkit_cons_get_chars(u32 vtermno, u8 *buf, size_t count)
{
	struct pvkit_cons *cons;
	unsigned long flags;
	ssize_t ret = 0;

	spin_lock_irqsave(&pvkit_cons_lock, flags);
	cons = pvkit_cons_find(vtermno);
	if (cons && !cons->broken)
		ret = pvkit_cons_get(cons, buf, count);
	spin_unlock_irqrestore(&pvkit_cons_lock, flags);
	return ret;
}

static const struct hv_ops pvkit_cons_ops = {
	.get_chars	= pvkit_cons_get_chars,
	.put_chars	= pvkit_cons_put_chars,
	.notifier_add	= notifier_add_irq,
	.notifier_del	= notifier_del_irq,
	.notifier_hangup = notifier_hangup_irq,
};

/* Take the tty and the event channel down; the ring stays granted. */
static void pvkit_cons_disconnect(struct pvkit_cons *cons)
{
	unsigned long flags;

	if (cons->hvc) {
		/* hvc frees the interrupt (notifier_del) before returning. */
		hvc_remove(cons->hvc);
		cons->hvc = NULL;
	}
	spin_lock_irqsave(&pvkit_cons_lock, flags);
	if (!list_empty(&cons->list))
		list_del_init(&cons->list);
	spin_unlock_irqrestore(&pvkit_cons_lock, flags);
	if (cons->irq > 0) {
		pvkit_evtchn_unbind(cons->irq);
		cons->irq = 0;
	}
}

/*
 * Give up the ring once the backend has been told we are closed: it
 * unmaps the page only then, so the revoke may complete later, and the
 * page is freed only when it does.  The next connection gets a new page.
 */
static void pvkit_cons_release_ring(struct pvkit_cons *cons)
{
	if (cons->ref >= 0) {
		pvkit_gnttab_revoke_deferred(cons->ref, virt_to_page(cons->ring));
		cons->ref = -1;
		cons->ring = NULL;
	}
}

/* Close: tty and channel down, tell the backend, then the ring. */
static void pvkit_cons_close(struct pvkit_cons *cons)
{
	pvkit_cons_disconnect(cons);
	pvkit_bus_switch_state(cons->dev, PVKIT_BUS_CLOSED);
	pvkit_cons_release_ring(cons);
}

/* Publish a fresh ring and event channel; the tty appears at once. */
static int pvkit_cons_connect(struct pvkit_cons *cons)
{
	struct pvkit_bus_device *dev = cons->dev;
	unsigned long flags;
	int ret;

	if (!cons->ring)
		cons->ring = (void *)get_zeroed_page(GFP_KERNEL);
	if (!cons->ring)
		return -ENOMEM;
	memset(cons->ring, 0, PAGE_SIZE);
	cons->broken = false;
	cons->ref = pvkit_gnttab_grant(PFN_DOWN(__pa(cons->ring)), false);
	if (cons->ref < 0)
		return cons->ref;
	ret = pvkit_bus_alloc_evtchn(dev);
	if (ret < 0)
		goto fail;
	cons->irq = ret;
	ret = pvkit_bus_printf(dev, "ring-ref", "%d", cons->ref);
	if (!ret)
		ret = pvkit_bus_printf(dev, "port", "%u",
				       pvkit_evtchn_port(cons->irq));
	if (!ret)
		ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISED);
	if (ret)
		goto fail;

	spin_lock_irqsave(&pvkit_cons_lock, flags);
	list_add_tail(&cons->list, &pvkit_cons_list);
	spin_unlock_irqrestore(&pvkit_cons_lock, flags);
	cons->hvc = hvc_alloc(cons->vtermno, cons->irq, &pvkit_cons_ops,
			      PVKIT_CONS_OUTBUF);
	if (IS_ERR(cons->hvc)) {
		ret = PTR_ERR(cons->hvc);
		cons->hvc = NULL;
		goto fail;
	}
	return 0;
fail:
	pvkit_cons_disconnect(cons);
	pvkit_cons_release_ring(cons);
	return ret;
}

static void pvkit_cons_changed(struct pvkit_bus_device *dev, int state)
{
	struct pvkit_cons *cons = dev_get_drvdata(&dev->dev);
	int ret;

	switch (state) {
	case PVKIT_BUS_INITWAIT:
		if (dev->state == PVKIT_BUS_CLOSED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
		if (dev->state != PVKIT_BUS_INITIALISING)
			break;
		ret = pvkit_cons_connect(cons);
		if (ret) {
			dev_err(&dev->dev, "cannot connect: %d\n", ret);
			pvkit_cons_close(cons);
		}
		break;
	case PVKIT_BUS_CONNECTED:
		if (dev->state == PVKIT_BUS_INITIALISED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_CONNECTED);
		break;
	case PVKIT_BUS_CLOSING:
	case PVKIT_BUS_CLOSED:
		pvkit_cons_close(cons);
		break;
	default:
		break;
	}
}

static int pvkit_cons_probe(struct pvkit_bus_device *dev)
{
	struct pvkit_cons *cons;
	int ret;

	cons = kzalloc(sizeof(*cons), GFP_KERNEL);
	if (!cons)
		return -ENOMEM;
	cons->ring = (void *)get_zeroed_page(GFP_KERNEL);
	if (!cons->ring) {
		kfree(cons);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&cons->list);
	cons->dev = dev;
	cons->ref = -1;
	cons->vtermno = PVKIT_CONS_VTERM_BASE + dev->devid;
	dev_set_drvdata(&dev->dev, cons);
	ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
	if (ret) {
		free_page((unsigned long)cons->ring);
		kfree(cons);
	}
	return ret;
}

static void pvkit_cons_remove(struct pvkit_bus_device *dev)
{
	struct pvkit_cons *cons = dev_get_drvdata(&dev->dev);

	pvkit_cons_close(cons);
	free_page((unsigned long)cons->ring);
	kfree(cons);
}

/* Which tty carries this console, for people and tests. */
static ssize_t tty_show(struct device *d, struct device_attribute *attr,
			char *buf)
{
	struct pvkit_cons *cons = dev_get_drvdata(d);

	if (!cons->hvc)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "hvc%d\n", cons->hvc->index);
}
static DEVICE_ATTR_RO(tty);

static struct attribute *pvkit_cons_attrs[] = {
	&dev_attr_tty.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_cons);

static struct pvkit_bus_driver pvkit_cons_driver = {
	.type			= "console",
	.probe			= pvkit_cons_probe,
	.remove			= pvkit_cons_remove,
	.otherend_changed	= pvkit_cons_changed,
	.driver = {
		.name		= "pvkit-console",
		.dev_groups	= pvkit_cons_groups,
	},
};

static int __init pvkit_cons_init(void)
{
	if (!pvkit_available())
		return 0;
	return pvkit_bus_register_driver(&pvkit_cons_driver);
}
module_init(pvkit_cons_init);

static void __exit pvkit_cons_exit(void)
{
	pvkit_bus_unregister_driver(&pvkit_cons_driver);
}
module_exit(pvkit_cons_exit);

MODULE_DESCRIPTION("pvkit console frontend");
MODULE_LICENSE("GPL");
MODULE_ALIAS("pvkit:console");
