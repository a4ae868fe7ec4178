// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit bus: split devices discovered from the store.
 *
 * The host describes each device it gives the guest with two store
 * directories: the frontend's, device/<type>/<devid> below the guest's
 * home, whose "backend" key names the backend's directory, and the
 * backend's.  Each side writes its state (PVKIT_BUS_*) to "state" in its
 * own directory and watches the other side's.  This bus turns frontend
 * directories into devices, binds them to the frontend driver registered
 * for their type, and reports every backend state change to the driver.
 *
 * All bus work after a watch fires runs on one ordered workqueue: with
 * one thread of control the work that adds and removes devices never
 * races with the state reports of a device, and the store's watch worker
 * is not held up by probes.  A change below device/ looks only at the
 * device whose path changed.  The host is not trusted: names, numbers and
 * paths it writes are checked before use.
 */

#define pr_fmt(fmt) "pvkit-bus: " fmt

#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_evtchn.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <uapi/linux/pvkit_store.h>

/* Longest device type name accepted from the store. */
#define PVKIT_BUS_TYPE_MAX	32
/* Directory the host lists the guest's devices in. */
#define PVKIT_BUS_DEVICE_DIR	"device"
/* How long probe's reset waits for a backend left over from before. */
#define PVKIT_BUS_RESET_MS	5000
/* How long shutdown waits for all backends together. */
#define PVKIT_BUS_SHUTDOWN_MS	1000

static struct workqueue_struct *pvkit_bus_wq;
static bool pvkit_bus_registered;
/* device_shutdown() has begun: backend changes are no longer reported. */
static bool pvkit_bus_shutting_down;
/* Parent of all bus devices: /sys/devices/pvkit/<type>-<devid>. */
static struct device *pvkit_bus_root;

static const struct bus_type pvkit_bus_type;

static int pvkit_bus_read_uint(const char *path, unsigned int *val)
{
	char buf[16];
	int ret = pvkit_store_read(PVKIT_XBT_NULL, path, buf, sizeof(buf));

	if (ret < 0)
		return ret;
	return kstrtouint(buf, 10, val);
}

/*
 * The backend's state, or -ENOENT when its directory is gone.  Anything
 * that is not a known state number counts as PVKIT_BUS_UNKNOWN: a hostile
 * backend gets no further than that.
 */
static int pvkit_bus_read_otherend_state(struct pvkit_bus_device *dev)
{
	char *path = kasprintf(GFP_KERNEL, "%s/state", dev->otherend);
	unsigned int state;
	int ret;

	if (!path)
		return -ENOMEM;
	ret = pvkit_bus_read_uint(path, &state);
	kfree(path);
	if (ret == -ENOENT)
		return ret;
	if (ret < 0 || state > PVKIT_BUS_RECONFIGURED)
		return PVKIT_BUS_UNKNOWN;
	return state;
}

/*
 * Tell the driver about the backend's state if it changed since the last
 * report (Connected: at every change).  device_lock() holds off probe and
 * remove, so the driver bound now is the one that is told.
 */
static void pvkit_bus_otherend_work(struct work_struct *work)
{
	struct pvkit_bus_device *dev =
		container_of(work, struct pvkit_bus_device, otherend_work);
	struct pvkit_bus_driver *drv;
	int state = pvkit_bus_read_otherend_state(dev);

	if (state == -ENOMEM) {
		queue_work(pvkit_bus_wq, &dev->otherend_work);
		return;
	}
	device_lock(&dev->dev);
	if (state == -ENOENT) {
		if (!dev->otherend_gone)
			dev_info(&dev->dev, "backend %s disappeared\n",
				 dev->otherend);
		dev->otherend_gone = true;
		state = PVKIT_BUS_CLOSED;
	} else {
		dev->otherend_gone = false;
	}
	/*
	 * Connected is reported again on every change in the backend's
	 * directory: a backend announces new values (a disk's capacity)
	 * by rewriting its keys and its state.
	 */
	if (dev->reported && state == dev->otherend_state &&
	    state != PVKIT_BUS_CONNECTED)
		goto out;
	dev->otherend_state = state;
	if (!dev->dev.driver || READ_ONCE(pvkit_bus_shutting_down))
		goto out;
	drv = to_pvkit_bus_driver(dev->dev.driver);
	dev->reported = true;
	if (drv->otherend_changed)
		drv->otherend_changed(dev, state);
out:
	device_unlock(&dev->dev);
}

static void pvkit_bus_otherend_changed(struct pvkit_store_watch *watch,
				       const char *path)
{
	struct pvkit_bus_device *dev =
		container_of(watch, struct pvkit_bus_device, otherend_watch);

	queue_work(pvkit_bus_wq, &dev->otherend_work);
}

/**
 * pvkit_bus_switch_state() - publish the frontend's state
 * @dev: the device
 * @state: one of PVKIT_BUS_*
 *
 * Writes @state to the frontend's "state" key, where the backend watches
 * it.  Nothing is written after the frontend's directory has gone: that
 * would bring an unplugged device's directory back.
 *
 * Context: process context; sleeps.
 * Return: 0, -ENODEV after hot-unplug, or the store's error.
 */
int pvkit_bus_switch_state(struct pvkit_bus_device *dev, int state)
{
	int ret;

	if (state == dev->state)
		return 0;
	ret = pvkit_bus_printf(dev, "state", "%d", state);
	if (ret)
		return ret;
	dev_dbg(&dev->dev, "state %d -> %d\n", dev->state, state);
	dev->state = state;
	return 0;
}
EXPORT_SYMBOL_GPL(pvkit_bus_switch_state);

/**
 * pvkit_bus_printf() - write a key in the frontend's directory
 * @dev: the device
 * @key: key name below the frontend's directory
 * @fmt: printf format of the value
 *
 * Context: process context; sleeps.
 * Return: 0, -ENODEV after hot-unplug, -ENOMEM, or the store's error.
 */
int pvkit_bus_printf(struct pvkit_bus_device *dev, const char *key,
		     const char *fmt, ...)
{
	char *path, *value;
	va_list ap;
	int ret;

	if (dev->node_gone)
		return -ENODEV;
	va_start(ap, fmt);
	value = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	path = kasprintf(GFP_KERNEL, "%s/%s", dev->nodename, key);
	ret = path && value ? pvkit_store_write(PVKIT_XBT_NULL, path, value) : -ENOMEM;
	kfree(path);
	kfree(value);
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_bus_printf);

/**
 * pvkit_bus_read_otherend_uint() - read a number the backend published
 * @dev: the device
 * @key: key name below the backend's directory
 * @val: receives the value
 *
 * Context: process context; sleeps.
 * Return: 0; -ENOENT when the key is missing; -EINVAL or -ERANGE when it
 * is not a decimal number that fits; or the store's error.
 */
int pvkit_bus_read_otherend_uint(struct pvkit_bus_device *dev,
				 const char *key, unsigned int *val)
{
	char *path = kasprintf(GFP_KERNEL, "%s/%s", dev->otherend, key);
	int ret;

	if (!path)
		return -ENOMEM;
	ret = pvkit_bus_read_uint(path, val);
	kfree(path);
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_bus_read_otherend_uint);

/**
 * pvkit_bus_read_otherend_u64() - read a 64-bit number the backend published
 * @dev: the device
 * @key: key name below the backend's directory
 * @val: receives the value
 *
 * Context: process context; sleeps.
 * Return: as for pvkit_bus_read_otherend_uint().
 */
int pvkit_bus_read_otherend_u64(struct pvkit_bus_device *dev,
				const char *key, u64 *val)
{
	char *path = kasprintf(GFP_KERNEL, "%s/%s", dev->otherend, key);
	char buf[24];
	int ret;

	if (!path)
		return -ENOMEM;
	ret = pvkit_store_read(PVKIT_XBT_NULL, path, buf, sizeof(buf));
	kfree(path);
	if (ret < 0)
		return ret == -EOVERFLOW ? -ERANGE : ret;
	return kstrtou64(buf, 10, val);
}
EXPORT_SYMBOL_GPL(pvkit_bus_read_otherend_u64);

/**
 * pvkit_bus_alloc_evtchn() - an event channel for the device's backend
 * @dev: the device
 *
 * Allocates an unbound port that the backend binds once the frontend has
 * published it (usually as "event-channel"), and maps it to an interrupt.
 * Free it with free_irq() (if requested) and pvkit_evtchn_unbind().
 *
 * Context: process context; sleeps.
 * Return: a Linux interrupt number, or a negative errno.
 */
int pvkit_bus_alloc_evtchn(struct pvkit_bus_device *dev)
{
	long port = pvkit_hypercall(PVKIT_HC_EVTCHN_ALLOC_UNBOUND,
				    0, 0, 0, 0, 0);
	int irq;

	if (port <= 0)
		return port ? port : -EIO;
	irq = pvkit_evtchn_bind_existing(port);
	if (irq < 0) {
		dev_err(&dev->dev, "cannot map port %ld: %d\n", port, irq);
		pvkit_hypercall(PVKIT_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
	}
	return irq;
}
EXPORT_SYMBOL_GPL(pvkit_bus_alloc_evtchn);

/**
 * pvkit_bus_bind_evtchn_handler() - an event channel with its handler
 * @dev: the device
 * @handler: its interrupt handler
 * @flags: request_irq() flags
 * @name: the interrupt's name in /proc/interrupts
 * @dev_id: passed to @handler, and the cookie to unbind with
 *
 * pvkit_bus_alloc_evtchn() and request_irq() in one.  The interrupt
 * number returned is the channel's one handle: pvkit_evtchn_port() gives
 * the port to publish for the backend, pvkit_evtchn_notify() signals it,
 * and pvkit_bus_unbind_evtchn_handler() undoes both steps.
 *
 * Context: process context; sleeps.
 * Return: a Linux interrupt number, or a negative errno.
 */
int pvkit_bus_bind_evtchn_handler(struct pvkit_bus_device *dev,
				  irq_handler_t handler, unsigned long flags,
				  const char *name, void *dev_id)
{
	int irq = pvkit_bus_alloc_evtchn(dev), ret;

	if (irq < 0)
		return irq;
	ret = request_irq(irq, handler, flags, name, dev_id);
	if (ret) {
		pvkit_evtchn_unbind(irq);
		return ret;
	}
	return irq;
}
EXPORT_SYMBOL_GPL(pvkit_bus_bind_evtchn_handler);

/**
 * pvkit_bus_unbind_evtchn_handler() - free a channel bound with its handler
 * @irq: from pvkit_bus_bind_evtchn_handler()
 * @dev_id: the cookie given to it
 *
 * Several of a device's channels go faster with free_irq() on each and
 * one pvkit_evtchn_unbind_many().
 *
 * Context: process context; sleeps.
 */
void pvkit_bus_unbind_evtchn_handler(unsigned int irq, void *dev_id)
{
	free_irq(irq, dev_id);
	pvkit_evtchn_unbind(irq);
}
EXPORT_SYMBOL_GPL(pvkit_bus_unbind_evtchn_handler);

static int pvkit_bus_match(struct device *d, const struct device_driver *drv)
{
	return !strcmp(to_pvkit_bus_device(d)->type,
		       to_pvkit_bus_driver(drv)->type);
}

static int pvkit_bus_uevent(const struct device *d,
			    struct kobj_uevent_env *env)
{
	const struct pvkit_bus_device *dev =
		container_of_const(d, struct pvkit_bus_device, dev);

	return add_uevent_var(env, "MODALIAS=pvkit:%s", dev->type);
}

/*
 * Poll the backend's state until it is @want (or its directory is gone)
 * or @end passes.  The bus's own reports cannot be waited for: they run
 * on the workqueue that may be running this.
 */
static int pvkit_bus_wait_otherend(struct pvkit_bus_device *dev, int want,
				   unsigned long end)
{
	int state;

	for (;;) {
		state = pvkit_bus_read_otherend_state(dev);
		if (state == want || state == -ENOENT)
			return state;
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		msleep(20);
	}
}

/*
 * SPEC section 9, closing: the frontend writes Closing, then Closed; the
 * backend disconnects (unmaps the rings, unbinds the port) and goes to
 * Closed.  dev->state is forgotten first: the store may hold another
 * value than the one last written (a previous kernel's).
 */
static int pvkit_bus_close(struct pvkit_bus_device *dev, unsigned long end)
{
	int ret;

	dev->state = PVKIT_BUS_UNKNOWN;
	ret = pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSING);
	if (!ret)
		ret = pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSED);
	if (ret)
		return ret;
	ret = pvkit_bus_wait_otherend(dev, PVKIT_BUS_CLOSED, end);
	return ret < 0 && ret != -ENOENT ? ret : 0;
}

/*
 * A backend that is neither Initialising nor waiting for a frontend was
 * left so by a previous kernel (kexec, a crash, a reset) and may still be
 * connected to rings in memory that is no longer what it thinks: take
 * the device through Closed and back to Initialising before the driver
 * connects, as SPEC section 9 asks.  Unknown or garbage states are left
 * to the driver, and so is a backend being unplugged (online = 0): it is
 * closing for good and must not be started again.
 */
static void pvkit_bus_reset_leftover(struct pvkit_bus_device *dev)
{
	unsigned long end = jiffies + msecs_to_jiffies(PVKIT_BUS_RESET_MS);
	int state = pvkit_bus_read_otherend_state(dev);
	unsigned int online;
	int ret;

	if (state <= PVKIT_BUS_INITWAIT)
		return;
	if (!pvkit_bus_read_otherend_uint(dev, "online", &online) && !online)
		return;
	dev_info(&dev->dev, "backend left in state %d: resetting it\n", state);
	ret = pvkit_bus_close(dev, end);
	if (!ret)
		ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
	if (!ret) {
		ret = pvkit_bus_wait_otherend(dev, PVKIT_BUS_INITWAIT, end);
		ret = ret < 0 ? ret : 0;
	}
	if (ret)
		dev_warn(&dev->dev, "backend did not reset (%d)\n", ret);
}

/* No retry runs after a failed probe, once remove() or shutdown starts. */
static void pvkit_bus_cancel_retry(struct pvkit_bus_device *dev)
{
	pvkit_gnttab_cancel_wait(&dev->grant_waiter);
	cancel_delayed_work_sync(&dev->retry_work);
}

static int pvkit_bus_probe(struct device *d)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);
	struct pvkit_bus_driver *drv = to_pvkit_bus_driver(d->driver);
	int ret;

	dev->state = PVKIT_BUS_UNKNOWN;
	pvkit_bus_reset_leftover(dev);
	ret = drv->probe ? drv->probe(dev) : 0;
	if (ret) {
		pvkit_bus_cancel_retry(dev);
		return ret;
	}
	/* The first report: the backend may have moved long ago. */
	dev->reported = false;
	queue_work(pvkit_bus_wq, &dev->otherend_work);
	return 0;
}

static void pvkit_bus_remove(struct device *d)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);
	struct pvkit_bus_driver *drv = to_pvkit_bus_driver(d->driver);

	pvkit_bus_cancel_retry(dev);
	if (drv->remove)
		drv->remove(dev);
	/* Without a driver the backend must not wait for this frontend. */
	pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSED);
}

/*
 * Shutdown, reboot and kexec: a backend keeps its rings mapped and goes
 * on serving until the frontend closes, and the next kernel must find the
 * device closed.  device_shutdown() calls this for every device; each is
 * closed and its backend given until a deadline shared by all of them.
 * The store work runs on a work item because a store that does not
 * answer (disconnected already) blocks each request for seconds: once
 * one device has not finished by the deadline the rest are skipped.  The
 * host detaches from this kernel's memory later, from syscore_shutdown().
 */
struct pvkit_bus_closer {
	struct work_struct work;
	struct pvkit_bus_device *dev;
	unsigned long end;
	int ret;
	struct completion done;
};

static unsigned long pvkit_bus_shutdown_end;
static bool pvkit_bus_shutdown_stuck;

static void pvkit_bus_close_work(struct work_struct *work)
{
	struct pvkit_bus_closer *c =
		container_of(work, struct pvkit_bus_closer, work);

	c->ret = pvkit_bus_close(c->dev, c->end);
	complete(&c->done);
}

static void pvkit_bus_shutdown(struct device *d)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);
	struct pvkit_bus_closer *c;
	long left;

	if (dev->node_gone || dev->otherend_gone || pvkit_bus_shutdown_stuck)
		return;
	if (!pvkit_bus_shutdown_end)
		pvkit_bus_shutdown_end = jiffies +
			msecs_to_jiffies(PVKIT_BUS_SHUTDOWN_MS);
	/* No more reports or retries: the driver must not reconnect now. */
	WRITE_ONCE(pvkit_bus_shutting_down, true);
	pvkit_bus_cancel_retry(dev);
	left = (long)(pvkit_bus_shutdown_end - jiffies);
	if (left <= 0) {
		dev_warn(&dev->dev, "shutdown: no time left to close it\n");
		return;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return;
	INIT_WORK(&c->work, pvkit_bus_close_work);
	init_completion(&c->done);
	c->dev = dev;
	c->end = pvkit_bus_shutdown_end;
	/* The work may outlive this call: it holds the device. */
	get_device(d);
	queue_work(system_unbound_wq, &c->work);
	/*
	 * The work looks at the deadline between polls (20 ms and a store
	 * read apart): give it that long past the deadline to say so
	 * itself, so a backend that is only slow to close is told from a
	 * store that does not answer.
	 */
	if (!wait_for_completion_timeout(&c->done,
					 left + msecs_to_jiffies(200))) {
		/* Leaked with the device: the machine is going down. */
		dev_warn(&dev->dev, "shutdown: the store does not answer, devices left open\n");
		pvkit_bus_shutdown_stuck = true;
		return;
	}
	if (c->ret)
		dev_warn(&dev->dev, "shutdown: backend did not close (%d)\n",
			 c->ret);
	kfree(c);
	put_device(d);
}

static ssize_t type_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvkit_bus_device(d)->type);
}
static DEVICE_ATTR_RO(type);

static ssize_t modalias_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "pvkit:%s\n", to_pvkit_bus_device(d)->type);
}
static DEVICE_ATTR_RO(modalias);

static ssize_t nodename_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvkit_bus_device(d)->nodename);
}
static DEVICE_ATTR_RO(nodename);

static ssize_t otherend_show(struct device *d, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvkit_bus_device(d)->otherend);
}
static DEVICE_ATTR_RO(otherend);

static ssize_t otherend_id_show(struct device *d,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_pvkit_bus_device(d)->otherend_id);
}
static DEVICE_ATTR_RO(otherend_id);

static ssize_t state_show(struct device *d, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_pvkit_bus_device(d)->state));
}
static DEVICE_ATTR_RO(state);

static ssize_t otherend_state_show(struct device *d,
				   struct device_attribute *attr, char *buf)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);

	if (READ_ONCE(dev->otherend_gone))
		return sysfs_emit(buf, "gone\n");
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev->otherend_state));
}
static DEVICE_ATTR_RO(otherend_state);

static struct attribute *pvkit_bus_dev_attrs[] = {
	&dev_attr_type.attr,
	&dev_attr_modalias.attr,
	&dev_attr_nodename.attr,
	&dev_attr_otherend.attr,
	&dev_attr_otherend_id.attr,
	&dev_attr_state.attr,
	&dev_attr_otherend_state.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_bus_dev);

static const struct bus_type pvkit_bus_type = {
	.name		= "pvkit",
	.match		= pvkit_bus_match,
	.uevent		= pvkit_bus_uevent,
	.probe		= pvkit_bus_probe,
	.remove		= pvkit_bus_remove,
	.shutdown	= pvkit_bus_shutdown,
	.dev_groups	= pvkit_bus_dev_groups,
};

/**
 * __pvkit_bus_register_driver() - register a frontend driver
 * @drv: the driver; @drv->type and @drv->driver.name (defaults to
 *       @drv->type) must be set
 * @owner: the driver's module
 * @mod_name: the module's name
 *
 * Use pvkit_bus_register_driver().  Devices of @drv->type already present
 * are probed before this returns; their first backend state report
 * follows from the bus's workqueue.
 *
 * Context: process context; sleeps.
 * Return: 0, -ENODEV when the guest has no pvkit bus, or an error of
 * driver_register().
 */
int __pvkit_bus_register_driver(struct pvkit_bus_driver *drv,
				struct module *owner, const char *mod_name)
{
	if (!pvkit_bus_registered)
		return -ENODEV;
	if (!drv->driver.name)
		drv->driver.name = drv->type;
	drv->driver.bus = &pvkit_bus_type;
	drv->driver.owner = owner;
	drv->driver.mod_name = mod_name;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__pvkit_bus_register_driver);

/**
 * pvkit_bus_unregister_driver() - remove a frontend driver
 * @drv: a driver pvkit_bus_register_driver() accepted
 *
 * Its devices are removed from it (->remove) and stay on the bus.
 *
 * Context: process context; sleeps.
 */
void pvkit_bus_unregister_driver(struct pvkit_bus_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(pvkit_bus_unregister_driver);

static void pvkit_bus_release(struct device *d)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);

	kfree(dev->otherend_watch.path);
	kfree(dev->otherend);
	kfree(dev->nodename);
	kfree(dev->type);
	kfree(dev);
}

/* A store name the bus accepts: short, printable, no path separators. */
static bool pvkit_bus_name_ok(const char *name)
{
	size_t len = strnlen(name, PVKIT_BUS_TYPE_MAX);

	if (!len || len == PVKIT_BUS_TYPE_MAX)
		return false;
	for (; *name; name++)
		if (!isalnum(*name) && *name != '-' && *name != '_')
			return false;
	return true;
}

/*
 * Read the frontend directory's pointers to the backend.  The backend's
 * path must be absolute and sane; the host may name any domain.
 */
static int pvkit_bus_read_backend(struct pvkit_bus_device *dev, char *buf)
{
	char *path;
	int ret;

	path = kasprintf(GFP_KERNEL, "%s/backend-id", dev->nodename);
	if (!path)
		return -ENOMEM;
	ret = pvkit_bus_read_uint(path, &dev->otherend_id);
	kfree(path);
	if (ret)
		return ret;

	path = kasprintf(GFP_KERNEL, "%s/backend", dev->nodename);
	if (!path)
		return -ENOMEM;
	ret = pvkit_store_read(PVKIT_XBT_NULL, path, buf, PVKIT_STORE_PATH_MAX + 1);
	kfree(path);
	if (ret < 0)
		return ret;
	if (buf[0] != '/' || strlen(buf) != ret)
		return -EINVAL;
	dev->otherend = kstrdup(buf, GFP_KERNEL);
	dev->otherend_watch.path = kstrdup(buf, GFP_KERNEL);
	return dev->otherend && dev->otherend_watch.path ? 0 : -ENOMEM;
}

static struct pvkit_bus_device *pvkit_bus_find(const char *type,
					       unsigned int devid)
{
	char name[PVKIT_BUS_TYPE_MAX + 12];
	struct device *d;

	snprintf(name, sizeof(name), "%s-%u", type, devid);
	d = bus_find_device_by_name(&pvkit_bus_type, NULL, name);
	return d ? to_pvkit_bus_device(d) : NULL;
}

/*
 * The driver's put-off set-up, again.  remove() holds the device lock
 * while it cancels this work, so only try the lock, and come back.
 */
static void pvkit_bus_retry_work(struct work_struct *work)
{
	struct pvkit_bus_device *dev = container_of(to_delayed_work(work),
						    struct pvkit_bus_device,
						    retry_work);
	struct pvkit_bus_driver *drv;

	if (!device_trylock(&dev->dev)) {
		schedule_delayed_work(&dev->retry_work, HZ / 50);
		return;
	}
	if (dev->dev.driver) {
		drv = to_pvkit_bus_driver(dev->dev.driver);
		if (drv->retry)
			drv->retry(dev);
	}
	device_unlock(&dev->dev);
}

/* Grant references came back (called under the allocator's lock). */
static void pvkit_bus_grants_free(struct pvkit_gnttab_waiter *w)
{
	struct pvkit_bus_device *dev = container_of(w, struct pvkit_bus_device,
						    grant_waiter);

	schedule_delayed_work(&dev->retry_work, 0);
}

/**
 * pvkit_bus_retry() - call the driver's @retry again later
 * @dev: the device
 * @delay: in jiffies
 *
 * For a set-up that cannot go on now (a resource the driver waits for);
 * the bus calls &struct pvkit_bus_driver.retry with the device locked,
 * unless the device is removed first.
 */
void pvkit_bus_retry(struct pvkit_bus_device *dev, unsigned long delay)
{
	schedule_delayed_work(&dev->retry_work, delay);
}
EXPORT_SYMBOL_GPL(pvkit_bus_retry);

/**
 * pvkit_bus_retry_when_grants_free() - retry once grant references are free
 * @dev: the device
 * @want: free references the set-up needs
 * @delay: in jiffies, when that many are already free again (another
 *         device released them since the driver looked)
 *
 * Calls the driver's &struct pvkit_bus_driver.retry, as pvkit_bus_retry()
 * does, once @want references are free in the grant table.
 */
void pvkit_bus_retry_when_grants_free(struct pvkit_bus_device *dev,
				      unsigned int want, unsigned long delay)
{
	if (pvkit_gnttab_wait_free(&dev->grant_waiter, want))
		pvkit_bus_retry(dev, delay);
}
EXPORT_SYMBOL_GPL(pvkit_bus_retry_when_grants_free);

/* Create the device for device/<type>/<devid> and watch its backend. */
static void pvkit_bus_add(const char *type, unsigned int devid, char *buf)
{
	struct pvkit_bus_device *dev;
	int ret = -ENOMEM;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		goto fail;
	device_initialize(&dev->dev);
	dev->dev.parent = pvkit_bus_root;
	dev->dev.bus = &pvkit_bus_type;
	dev->dev.release = pvkit_bus_release;
	INIT_WORK(&dev->otherend_work, pvkit_bus_otherend_work);
	INIT_LIST_HEAD(&dev->grant_waiter.list);
	dev->grant_waiter.func = pvkit_bus_grants_free;
	INIT_DELAYED_WORK(&dev->retry_work, pvkit_bus_retry_work);
	dev->otherend_watch.callback = pvkit_bus_otherend_changed;
	dev->devid = devid;
	dev->type = kstrdup(type, GFP_KERNEL);
	dev->nodename = kasprintf(GFP_KERNEL, PVKIT_BUS_DEVICE_DIR "/%s/%u",
				  type, devid);
	if (!dev->type || !dev->nodename)
		goto put;
	ret = pvkit_bus_read_backend(dev, buf);
	if (ret)
		goto put;
	ret = dev_set_name(&dev->dev, "%s-%u", type, devid);
	if (ret)
		goto put;
	ret = pvkit_store_watch(&dev->otherend_watch);
	if (ret)
		goto put;
	ret = device_add(&dev->dev);
	if (ret) {
		pvkit_store_unwatch(&dev->otherend_watch);
		cancel_work_sync(&dev->otherend_work);
		goto put;
	}
	return;
put:
	put_device(&dev->dev);
fail:
	/* The host fills a new directory in steps: a later event retries. */
	if (ret != -ENOENT)
		pr_warn_ratelimited("%s/%s/%u: not added (%d)\n",
				    PVKIT_BUS_DEVICE_DIR, type, devid, ret);
}

/* The frontend's directory is gone: unplug the device. */
static void pvkit_bus_del(struct pvkit_bus_device *dev)
{
	dev_info(&dev->dev, "unplugged\n");
	dev->node_gone = true;
	pvkit_store_unwatch(&dev->otherend_watch);
	device_unregister(&dev->dev);
	cancel_work_sync(&dev->otherend_work);
}

/* @type: NULL, or only devices of that type. */
static int pvkit_bus_check_gone(struct device *d, void *type)
{
	struct pvkit_bus_device *dev = to_pvkit_bus_device(d);
	char buf[2];
	int ret;

	if (type && strcmp(dev->type, type))
		return 0;
	ret = pvkit_store_read(PVKIT_XBT_NULL, dev->nodename, buf, sizeof(buf));

	/* Only a definite answer removes a device; a value is fine too. */
	if (ret == -ENOENT) {
		get_device(d);
		pvkit_bus_del(dev);
		put_device(d);
	}
	return 0;
}

/* Add the devices listed under device/<type> that are not known yet. */
static void pvkit_bus_scan_type(const char *type, char *list, char *buf)
{
	struct pvkit_bus_device *dev;
	char *path, *id;
	unsigned int devid;
	int len;

	path = kasprintf(GFP_KERNEL, PVKIT_BUS_DEVICE_DIR "/%s", type);
	if (!path)
		return;
	len = pvkit_store_directory(PVKIT_XBT_NULL, path, list, PVKIT_STORE_PAYLOAD_MAX);
	kfree(path);
	for (id = list; len > 0 && id < list + len; id += strlen(id) + 1) {
		if (kstrtouint(id, 10, &devid)) {
			pr_warn_ratelimited("ignoring device %s/%.32s\n",
					    type, id);
			continue;
		}
		dev = pvkit_bus_find(type, devid);
		if (dev)
			put_device(&dev->dev);
		else
			pvkit_bus_add(type, devid, buf);
	}
}

/*
 * Bring the bus in line with the store: remove devices whose directory is
 * gone, add the ones that appeared: at start, and when changes came in
 * faster than they were handled.
 */
static void pvkit_bus_scan(void)
{
	char *types, *list, *buf, *type;
	int len;

	bus_for_each_dev(&pvkit_bus_type, NULL, NULL, pvkit_bus_check_gone);

	/* Replies end with a NUL the store adds; keep one byte for it. */
	types = kzalloc(PVKIT_STORE_PAYLOAD_MAX + 1, GFP_KERNEL);
	list = kzalloc(PVKIT_STORE_PAYLOAD_MAX + 1, GFP_KERNEL);
	buf = kmalloc(PVKIT_STORE_PATH_MAX + 1, GFP_KERNEL);
	if (!types || !list || !buf)
		goto out;
	len = pvkit_store_directory(PVKIT_XBT_NULL, PVKIT_BUS_DEVICE_DIR, types,
				    PVKIT_STORE_PAYLOAD_MAX);
	for (type = types; len > 0 && type < types + len;
	     type += strlen(type) + 1) {
		if (pvkit_bus_name_ok(type))
			pvkit_bus_scan_type(type, list, buf);
		else
			pr_warn_ratelimited("ignoring device type %.32s\n",
					    type);
	}
out:
	kfree(buf);
	kfree(list);
	kfree(types);
}

/* A path a "device" watch event named, waiting for the bus workqueue. */
struct pvkit_bus_change {
	struct list_head list;
	char path[];
};

static LIST_HEAD(pvkit_bus_changes);
static unsigned int pvkit_bus_nr_changes;
/* More queued changes than this: one full scan instead. */
#define PVKIT_BUS_MAX_CHANGES	64
static bool pvkit_bus_rescan;
static DEFINE_SPINLOCK(pvkit_bus_changes_lock);

/*
 * Has the host finished the frontend directory?  As in xenbus, its last
 * step is the frontend's state key: Initialising for a new device, any
 * other state for one a previous kernel left behind, which the driver's
 * probe takes through Closed (SPEC section 9).  Adding the device before
 * the key is there would let the host's first state write land on top of
 * the frontend's own.
 */
static bool pvkit_bus_front_ready(const char *type, unsigned int devid)
{
	char *path = kasprintf(GFP_KERNEL, PVKIT_BUS_DEVICE_DIR "/%s/%u/state",
			       type, devid);
	unsigned int state;
	int ret;

	if (!path)
		return false;
	ret = pvkit_bus_read_uint(path, &state);
	kfree(path);
	return !ret && state >= PVKIT_BUS_INITIALISING &&
	       state <= PVKIT_BUS_RECONFIGURED;
}

/*
 * React to one change below device/: "device" (the initial event) and
 * "device/<type>" rescan, "device/<type>/<devid>" adds or removes that
 * device, and a change deeper below a known device (its keys, most of
 * which the frontend writes itself) needs nothing.
 */
static void pvkit_bus_changed(const char *path, char *list, char *buf)
{
	static const char home[] = "/local/domain/1/";
	char type[PVKIT_BUS_TYPE_MAX], id[12];
	struct pvkit_bus_device *dev;
	unsigned int devid;
	const char *p;
	size_t len;

	if (!strncmp(path, home, sizeof(home) - 1))
		path += sizeof(home) - 1;
	if (strncmp(path, PVKIT_BUS_DEVICE_DIR, sizeof(PVKIT_BUS_DEVICE_DIR) - 1))
		return;
	p = path + sizeof(PVKIT_BUS_DEVICE_DIR) - 1;
	if (!*p) {
		pvkit_bus_scan();
		return;
	}
	if (*p++ != '/')
		return;
	len = strcspn(p, "/");
	if (len >= sizeof(type))
		return;
	memcpy(type, p, len);
	type[len] = '\0';
	if (!pvkit_bus_name_ok(type))
		return;
	p += len;
	if (!*p) {
		/* The type directory itself: its devices come and go. */
		pvkit_bus_scan_type(type, list, buf);
		bus_for_each_dev(&pvkit_bus_type, NULL, type,
				 pvkit_bus_check_gone);
		return;
	}
	p++;
	len = strcspn(p, "/");
	if (len >= sizeof(id))
		return;
	memcpy(id, p, len);
	id[len] = '\0';
	if (kstrtouint(id, 10, &devid))
		return;
	dev = pvkit_bus_find(type, devid);
	if (dev) {
		/* The directory itself changed: it may be gone. */
		if (!p[len])
			pvkit_bus_check_gone(&dev->dev, NULL);
		put_device(&dev->dev);
	} else if (pvkit_bus_front_ready(type, devid)) {
		/* The host fills a new directory in steps: each retries. */
		pvkit_bus_add(type, devid, buf);
	}
}

static void pvkit_bus_changes_work(struct work_struct *work)
{
	struct pvkit_bus_change *c;
	char *list, *buf;
	bool rescan;

	list = kzalloc(PVKIT_STORE_PAYLOAD_MAX + 1, GFP_KERNEL);
	buf = kmalloc(PVKIT_STORE_PATH_MAX + 1, GFP_KERNEL);
	for (;;) {
		spin_lock(&pvkit_bus_changes_lock);
		rescan = pvkit_bus_rescan;
		pvkit_bus_rescan = false;
		c = list_first_entry_or_null(&pvkit_bus_changes,
					     struct pvkit_bus_change, list);
		if (c) {
			list_del(&c->list);
			pvkit_bus_nr_changes--;
		}
		spin_unlock(&pvkit_bus_changes_lock);
		if (rescan || ((!list || !buf) && c))
			pvkit_bus_scan();
		if (!c)
			break;
		if (list && buf)
			pvkit_bus_changed(c->path, list, buf);
		kfree(c);
	}
	kfree(buf);
	kfree(list);
}

static DECLARE_WORK(pvkit_bus_changes_work_item, pvkit_bus_changes_work);

/* Runs on the store's watch worker: hand the path to the bus workqueue. */
static void pvkit_bus_devices_changed(struct pvkit_store_watch *watch,
				      const char *path)
{
	size_t len = strlen(path) + 1;
	struct pvkit_bus_change *c = kmalloc(struct_size(c, path, len),
					     GFP_KERNEL);

	spin_lock(&pvkit_bus_changes_lock);
	if (c && pvkit_bus_nr_changes < PVKIT_BUS_MAX_CHANGES) {
		memcpy(c->path, path, len);
		list_add_tail(&c->list, &pvkit_bus_changes);
		pvkit_bus_nr_changes++;
		c = NULL;
	} else {
		pvkit_bus_rescan = true;
	}
	spin_unlock(&pvkit_bus_changes_lock);
	kfree(c);
	queue_work(pvkit_bus_wq, &pvkit_bus_changes_work_item);
}

static struct pvkit_store_watch pvkit_bus_watch = {
	.path		= PVKIT_BUS_DEVICE_DIR,
	.callback	= pvkit_bus_devices_changed,
};

/* A subsystem initcall: before any frontend driver registers. */
static int __init pvkit_bus_init(void)
{
	int ret;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_STORE))
		return 0;
	pvkit_bus_wq = alloc_ordered_workqueue("pvkit-bus", 0);
	if (!pvkit_bus_wq)
		return -ENOMEM;
	pvkit_bus_root = root_device_register("pvkit");
	if (IS_ERR(pvkit_bus_root)) {
		ret = PTR_ERR(pvkit_bus_root);
		goto err_wq;
	}
	ret = bus_register(&pvkit_bus_type);
	if (ret)
		goto err_root;
	pvkit_bus_registered = true;
	return 0;

err_root:
	root_device_unregister(pvkit_bus_root);
err_wq:
	destroy_workqueue(pvkit_bus_wq);
	return ret;
}
subsys_initcall(pvkit_bus_init);

/*
 * Start discovery after the store client connects (a device initcall) and
 * after the built-in frontend drivers have registered, so that each device
 * is probed once, by its driver.
 */
static int __init pvkit_bus_start(void)
{
	int ret;

	if (!pvkit_bus_registered)
		return 0;
	/* The watch fires once at once: that is the first scan. */
	ret = pvkit_store_watch(&pvkit_bus_watch);
	if (ret)
		pr_err("cannot watch %s (%d): no devices\n",
		       PVKIT_BUS_DEVICE_DIR, ret);
	return 0;
}
device_initcall_sync(pvkit_bus_start);
