/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit bus: split devices described in the store, and the frontend
 * drivers that drive them.
 */
#ifndef _LINUX_PVKIT_BUS_H
#define _LINUX_PVKIT_BUS_H

#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/pvkit.h>
#include <linux/pvkit_gnttab.h>
#include <linux/pvkit_store.h>

/**
 * struct pvkit_bus_device - one split device, seen from the frontend
 * @dev: the driver-model device, named "<type>-<devid>"
 * @type: device type, the store directory name (e.g. "console", "vbd")
 * @devid: device number within @type
 * @nodename: the frontend's directory, "device/<type>/<devid>" (relative
 *            to the guest's home in the store)
 * @otherend: the backend's directory, as the host named it
 * @otherend_id: the backend's domain
 * @state: the frontend's state as last written by pvkit_bus_switch_state()
 * @otherend_state: the backend's state as last reported to the driver
 * @otherend_gone: the backend's directory or state key has disappeared
 * @node_gone: the frontend's directory has disappeared (hot-unplug); the
 *             bus writes nothing more below @nodename
 * @otherend_watch: watch on @otherend
 * @otherend_work: reads the backend's state and tells the driver
 * @reported: the driver has been told about @otherend_state
 * @grant_waiter: queued while the driver waits for free grant references
 *                (pvkit_bus_retry_when_grants_free())
 * @retry_work: calls the driver's @retry, with the device locked
 */
struct pvkit_bus_device {
	struct device dev;
	const char *type;
	unsigned int devid;
	const char *nodename;
	const char *otherend;
	unsigned int otherend_id;
	int state;
	int otherend_state;
	bool otherend_gone;
	bool node_gone;
	struct pvkit_store_watch otherend_watch;
	struct work_struct otherend_work;
	bool reported;
	struct pvkit_gnttab_waiter grant_waiter;
	struct delayed_work retry_work;
};

#define to_pvkit_bus_device(d) container_of(d, struct pvkit_bus_device, dev)

/**
 * struct pvkit_bus_driver - a frontend driver for one device type
 * @type: the device type it drives (the store directory name)
 * @probe: a device of @type appeared; set up, do not wait for the backend
 * @remove: the device goes away (unplugged, or the driver unloads); undo
 *          everything, the backend may already be gone
 * @otherend_changed: the backend's state changed to @state (one of
 *          PVKIT_BUS_*); also called once after @probe with the state the
 *          backend is in, and again for PVKIT_BUS_CONNECTED whenever the
 *          backend's directory changes (a disk's new capacity, say).  A
 *          backend that disappears is reported as PVKIT_BUS_CLOSED with
 *          @dev->otherend_gone set.  Runs in process context, one call at
 *          a time per device.
 * @retry: a set-up the driver put off (pvkit_bus_retry(),
 *          pvkit_bus_retry_when_grants_free()) can be tried again; called
 *          with the device locked, never after @remove has started
 * @driver: the driver-model driver
 */
struct pvkit_bus_driver {
	const char *type;
	int (*probe)(struct pvkit_bus_device *dev);
	void (*remove)(struct pvkit_bus_device *dev);
	void (*otherend_changed)(struct pvkit_bus_device *dev, int state);
	void (*retry)(struct pvkit_bus_device *dev);
	struct device_driver driver;
};

#define to_pvkit_bus_driver(d) \
	container_of_const(d, struct pvkit_bus_driver, driver)

int __pvkit_bus_register_driver(struct pvkit_bus_driver *drv,
				struct module *owner, const char *mod_name);
#define pvkit_bus_register_driver(drv) \
	__pvkit_bus_register_driver(drv, THIS_MODULE, KBUILD_MODNAME)
void pvkit_bus_unregister_driver(struct pvkit_bus_driver *drv);

int pvkit_bus_switch_state(struct pvkit_bus_device *dev, int state);
__printf(3, 4)
int pvkit_bus_printf(struct pvkit_bus_device *dev, const char *key,
		     const char *fmt, ...);
int pvkit_bus_read_otherend_uint(struct pvkit_bus_device *dev,
				 const char *key, unsigned int *val);
int pvkit_bus_read_otherend_u64(struct pvkit_bus_device *dev,
				const char *key, u64 *val);
int pvkit_bus_alloc_evtchn(struct pvkit_bus_device *dev);
int pvkit_bus_bind_evtchn_handler(struct pvkit_bus_device *dev,
				  irq_handler_t handler, unsigned long flags,
				  const char *name, void *dev_id);
void pvkit_bus_unbind_evtchn_handler(unsigned int irq, void *dev_id);
void pvkit_bus_retry(struct pvkit_bus_device *dev, unsigned long delay);
void pvkit_bus_retry_when_grants_free(struct pvkit_bus_device *dev,
				      unsigned int want, unsigned long delay);

#endif /* _LINUX_PVKIT_BUS_H */
