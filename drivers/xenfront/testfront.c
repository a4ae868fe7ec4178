// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit test frontend: the bus handshake with nothing behind it.
 *
 * Drives devices of type "pvtest" through the frontend side of the state
 * machine exactly as a real split driver does: when the backend waits
 * (InitWait) it grants one page and allocates an event channel, publishes
 * both ("ring-ref", "event-channel") and says Initialised; it follows a
 * Connected backend to Connected; when the backend closes or disappears it
 * revokes the grant, closes the channel and says Closed; a backend that
 * comes back (InitWait again) gets a fresh connection.  The kselftests
 * play the backend through the store and check each step, and that
 * nothing leaks.  For test kernels only.
 */

#include <linux/gfp.h>
#include <linux/interrupt.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>
#include <linux/slab.h>

/**
 * struct pvkit_testfront - one pvtest device
 * @page: the page granted to the backend
 * @ref: its grant reference, or -1
 * @irq: the event channel's interrupt, or 0
 * @events: events received from the backend
 * @connects: connections made (Initialised published)
 */
struct pvkit_testfront {
	struct page *page;
	int ref;
	int irq;
	atomic_t events;
	unsigned int connects;
};

static irqreturn_t pvkit_testfront_interrupt(int irq, void *data)
{
	struct pvkit_testfront *tf = data;

	atomic_inc(&tf->events);
	return IRQ_HANDLED;
}

/* Revoke the grant and close the channel, if they exist. */
static void pvkit_testfront_disconnect(struct pvkit_bus_device *dev)
{
	struct pvkit_testfront *tf = dev_get_drvdata(&dev->dev);

	if (tf->irq > 0) {
		pvkit_bus_unbind_evtchn_handler(tf->irq, tf);
		tf->irq = 0;
	}
	if (tf->ref >= 0) {
		/* A backend that keeps the page mapped leaks it, loudly. */
		if (pvkit_gnttab_revoke(tf->ref))
			dev_warn(&dev->dev, "grant %d still in use\n", tf->ref);
		tf->ref = -1;
	}
}

static int pvkit_testfront_connect(struct pvkit_bus_device *dev)
{
	struct pvkit_testfront *tf = dev_get_drvdata(&dev->dev);
	int ret;

	tf->ref = pvkit_gnttab_grant(page_to_pfn(tf->page), false);
	if (tf->ref < 0)
		return tf->ref;
	ret = pvkit_bus_bind_evtchn_handler(dev, pvkit_testfront_interrupt, 0,
					    dev_name(&dev->dev), tf);
	if (ret < 0)
		goto fail;
	tf->irq = ret;
	ret = pvkit_bus_printf(dev, "ring-ref", "%d", tf->ref);
	if (!ret)
		ret = pvkit_bus_printf(dev, "event-channel", "%u",
				       pvkit_evtchn_port(tf->irq));
	if (!ret)
		ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISED);
	if (ret)
		goto fail;
	tf->connects++;
	return 0;
fail:
	pvkit_testfront_disconnect(dev);
	return ret;
}

static void pvkit_testfront_changed(struct pvkit_bus_device *dev, int state)
{
	int ret;

	switch (state) {
	case PVKIT_BUS_INITWAIT:
		/* A backend that starts over after Closed gets a new start. */
		if (dev->state == PVKIT_BUS_CLOSED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
		if (dev->state != PVKIT_BUS_INITIALISING)
			break;
		ret = pvkit_testfront_connect(dev);
		if (ret) {
			dev_err(&dev->dev, "cannot connect: %d\n", ret);
			pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSED);
		}
		break;
	case PVKIT_BUS_CONNECTED:
		if (dev->state == PVKIT_BUS_INITIALISED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_CONNECTED);
		break;
	case PVKIT_BUS_CLOSING:
	case PVKIT_BUS_CLOSED:
		pvkit_testfront_disconnect(dev);
		pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSED);
		break;
	default:
		/* Unknown, Initialising, Reconfiguring: nothing to do yet. */
		break;
	}
}

static int pvkit_testfront_probe(struct pvkit_bus_device *dev)
{
	struct pvkit_testfront *tf;
	int ret;

	tf = devm_kzalloc(&dev->dev, sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	tf->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!tf->page)
		return -ENOMEM;
	tf->ref = -1;
	dev_set_drvdata(&dev->dev, tf);
	ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
	if (ret)
		__free_page(tf->page);
	return ret;
}

static void pvkit_testfront_remove(struct pvkit_bus_device *dev)
{
	struct pvkit_testfront *tf = dev_get_drvdata(&dev->dev);

	pvkit_testfront_disconnect(dev);
	__free_page(tf->page);
}

static ssize_t ring_ref_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	struct pvkit_testfront *tf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", tf->ref);
}
static DEVICE_ATTR_RO(ring_ref);

static ssize_t event_channel_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	struct pvkit_testfront *tf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%u\n",
			  tf->irq > 0 ? pvkit_evtchn_port(tf->irq) : 0);
}
static DEVICE_ATTR_RO(event_channel);

static ssize_t events_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct pvkit_testfront *tf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", atomic_read(&tf->events));
}
static DEVICE_ATTR_RO(events);

static ssize_t connects_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	struct pvkit_testfront *tf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%u\n", tf->connects);
}
static DEVICE_ATTR_RO(connects);

static struct attribute *pvkit_testfront_attrs[] = {
	&dev_attr_ring_ref.attr,
	&dev_attr_event_channel.attr,
	&dev_attr_events.attr,
	&dev_attr_connects.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_testfront);

/* Grants in use guest-wide: the tests check none leak across a run. */
static ssize_t grants_in_use_show(struct device_driver *drv, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvkit_gnttab_in_use());
}
static DRIVER_ATTR_RO(grants_in_use);

static struct attribute *pvkit_testfront_drv_attrs[] = {
	&driver_attr_grants_in_use.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_testfront_drv);

static struct pvkit_bus_driver pvkit_testfront_driver = {
	.type			= "pvtest",
	.probe			= pvkit_testfront_probe,
	.remove			= pvkit_testfront_remove,
	.otherend_changed	= pvkit_testfront_changed,
	.driver = {
		.dev_groups	= pvkit_testfront_groups,
		.groups		= pvkit_testfront_drv_groups,
	},
};

static int __init pvkit_testfront_init(void)
{
	return pvkit_bus_register_driver(&pvkit_testfront_driver);
}
module_init(pvkit_testfront_init);

static void __exit pvkit_testfront_exit(void)
{
	pvkit_bus_unregister_driver(&pvkit_testfront_driver);
}
module_exit(pvkit_testfront_exit);

MODULE_DESCRIPTION("pvkit test frontend (bus handshake)");
MODULE_LICENSE("GPL");
MODULE_ALIAS("pvkit:pvtest");
