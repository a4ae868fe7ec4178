// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit bus selftests: the frontend state machine, driven from the
 * backend's side.
 *
 * The test plays the backend of a "pvtest" device through the store
 * (/dev/pvkit_store): it creates the backend's directory under the
 * guest's data/ and the frontend's under device/, as a host does, then
 * moves the backend through its states and checks what the guest's bus
 * and its test frontend (pvkit_testfront.ko) do: the frontend's state in
 * the store and in sysfs, the grant and event channel it publishes, and
 * that both are released again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/pvkit.h>
#include <linux/pvkit_test.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"
#include "pvkit_util.h"

#define FRONT_DIR	"/local/domain/1/device/pvtest"
#define BACK_DIR	"/local/domain/1/data/pvtest-backend"
#define SYS_DEVS	"/sys/bus/pvkit/devices"
/* Goes after the driver let go, unlike the bus's link (which goes first). */
#define SYS_ROOT	"/sys/devices/pvkit"
#define SYS_DRV		"/sys/bus/pvkit/drivers/pvtest"
#define TEST_DEV	"/dev/pvkit_test"
/* How long the guest may take to react to one store change. */
#define REACT_MS	10000

struct bus_ctx {
	int fd;			/* /dev/pvkit_store */
	unsigned int devid;
	char front[128];	/* frontend directory */
	char back[128];		/* backend directory */
};

static int put(struct bus_ctx *c, const char *dir, const char *key,
	       const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return store_op(c->fd, PVKIT_STORE_IOC_WRITE, path, (void *)value,
			strlen(value));
}

/* Read @dir/@key into @buf (NUL-terminated); -errno when missing. */
static int get(struct bus_ctx *c, const char *dir, const char *key,
	       char *buf, size_t len)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ret = store_op(c->fd, PVKIT_STORE_IOC_READ, path, buf, len - 1);
	buf[ret < 0 ? 0 : ret] = '\0';
	return ret;
}

static int dev_attr(struct bus_ctx *c, const char *attr, char *buf,
		    size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), SYS_DEVS "/pvtest-%u/%s", c->devid, attr);
	return read_file(path, buf, len);
}

/* Grants the test frontend holds. */
static long testfront_grants(void)
{
	char buf[32];

	if (read_file(SYS_DRV "/grants_in_use", buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Wait until the frontend's "state" in the store reads @want. */
static int wait_front_state(struct bus_ctx *c, int want)
{
	char buf[32];
	int ms;

	for (ms = 0; ms < REACT_MS; ms += 10) {
		if (get(c, c->front, "state", buf, sizeof(buf)) > 0 &&
		    atoi(buf) == want)
			return 0;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

/* Wait until sysfs attribute @attr of the device reads @want. */
static int wait_attr(struct bus_ctx *c, const char *attr, const char *want)
{
	char buf[64];
	int ms;

	for (ms = 0; ms < REACT_MS; ms += 10) {
		if (dev_attr(c, attr, buf, sizeof(buf)) >= 0 &&
		    !strcmp(buf, want))
			return 0;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

/* Wait until the device is (@present) or is not on the bus. */
static int wait_device(struct bus_ctx *c, int present)
{
	char path[128];
	struct stat st;
	int ms;

	snprintf(path, sizeof(path), SYS_ROOT "/pvtest-%u", c->devid);
	for (ms = 0; ms < REACT_MS; ms += 10) {
		if ((stat(path, &st) == 0) == present)
			return 0;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

/* Wait until the guest-wide count of grants in use is @want. */
static long wait_grants(long want)
{
	long n = -1;
	int ms;

	for (ms = 0; ms < REACT_MS; ms += 10) {
		n = testfront_grants();
		if (n == want)
			break;
		sleep_ms(10);
	}
	return n;
}

/* The event channel's state as the host sees it (needs pvkit_test). */
static int64_t port_status(unsigned int port)
{
	struct pvkit_test_hypercall hc = {
		.nr = PVKIT_HC_EVTCHN_STATUS,
		.args = { port },
	};
	int fd = open(TEST_DEV, O_RDWR);
	int ret;

	if (fd < 0)
		return INT64_MIN;
	ret = ioctl(fd, PVKIT_TEST_IOC_HYPERCALL, &hc);
	close(fd);
	return ret ? INT64_MIN : hc.result;
}

static int set_backend_state(struct bus_ctx *c, int state)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", state);
	return put(c, c->back, "state", buf);
}

/* What a host does to offer a device: backend first, then frontend. */
static int offer_device(struct bus_ctx *c, int backend_state)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", c->devid);
	if (put(c, c->back, "frontend", c->front) ||
	    put(c, c->back, "frontend-id", "1") ||
	    set_backend_state(c, backend_state))
		return -1;
	if (put(c, c->front, "backend-id", "0") ||
	    put(c, c->front, "backend", c->back) ||
	    put(c, c->front, "state", "1"))
		return -1;
	return 0;
}

FIXTURE(bus) {
	struct bus_ctx c;
	long grants;
};

FIXTURE_SETUP(bus)
{
	struct stat st;

	self->c.fd = -1;
	if (stat(SYS_DRV, &st))
		SKIP(return, "no pvtest frontend (modprobe pvkit_testfront)");
	self->c.fd = open(STORE_DEV, O_RDWR);
	ASSERT_LE(0, self->c.fd);
	/* Each test runs in its own process: one device number each. */
	self->c.devid = 10000 + getpid();
	snprintf(self->c.front, sizeof(self->c.front), FRONT_DIR "/%u",
		 self->c.devid);
	snprintf(self->c.back, sizeof(self->c.back), BACK_DIR "/%u",
		 self->c.devid);
	self->grants = testfront_grants();
	ASSERT_LE(0, self->grants);
}

FIXTURE_TEARDOWN(bus)
{
	if (self->c.fd < 0)
		return;
	store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.front, NULL, 0);
	store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.back, NULL, 0);
	wait_device(&self->c, 0);
	close(self->c.fd);
}

/* Offer a device whose backend waits, and see the frontend connect. */
static void connect_device(struct __test_metadata *_metadata,
			   struct bus_ctx *c, long grants)
{
	char ref[32], port[32], sysref[32];

	ASSERT_EQ(0, offer_device(c, PVKIT_BUS_INITWAIT));
	ASSERT_EQ(0, wait_device(c, 1));
	ASSERT_EQ(0, wait_front_state(c, PVKIT_BUS_INITIALISED));
	ASSERT_LT(0, get(c, c->front, "ring-ref", ref, sizeof(ref)));
	ASSERT_LT(0, get(c, c->front, "event-channel", port, sizeof(port)));
	ASSERT_LT(0, dev_attr(c, "ring_ref", sysref, sizeof(sysref)));
	EXPECT_STREQ(sysref, ref);
	EXPECT_EQ(grants + 1, wait_grants(grants + 1));
	/* The port waits, unbound, for the backend to bind it. */
	EXPECT_EQ(PVKIT_EVTCHN_UNBOUND,
		  PVKIT_EVTCHN_STATE(port_status(atoi(port))));

	ASSERT_EQ(0, set_backend_state(c, PVKIT_BUS_CONNECTED));
	ASSERT_EQ(0, wait_front_state(c, PVKIT_BUS_CONNECTED));
	EXPECT_EQ(0, wait_attr(c, "state", "4"));
	EXPECT_EQ(0, wait_attr(c, "otherend_state", "4"));
}

/* Closed, grant revoked, port closed, nothing left in use. */
static void check_released(struct __test_metadata *_metadata,
			   struct bus_ctx *c, long grants, unsigned int port)
{
	EXPECT_EQ(0, wait_attr(c, "ring_ref", "-1"));
	EXPECT_EQ(0, wait_attr(c, "event_channel", "0"));
	EXPECT_EQ(grants, wait_grants(grants));
	EXPECT_EQ(PVKIT_EVTCHN_CLOSED, PVKIT_EVTCHN_STATE(port_status(port)));
}

static unsigned int front_port(struct bus_ctx *c)
{
	char buf[32];

	return get(c, c->front, "event-channel", buf, sizeof(buf)) > 0 ?
	       atoi(buf) : 0;
}

TEST_F(bus, handshake)
{
	char buf[256];

	connect_device(_metadata, &self->c, self->grants);
	ASSERT_LT(0, dev_attr(&self->c, "otherend", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, BACK_DIR, strlen(BACK_DIR)));
	ASSERT_LT(0, dev_attr(&self->c, "connects", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
}

TEST_F(bus, backend_closes)
{
	unsigned int port;

	connect_device(_metadata, &self->c, self->grants);
	port = front_port(&self->c);
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSING));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
	check_released(_metadata, &self->c, self->grants, port);
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSED));
	EXPECT_EQ(0, wait_attr(&self->c, "otherend_state", "6"));
	EXPECT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
}

/* A backend that closes and starts over gets a fresh connection. */
TEST_F(bus, backend_restarts)
{
	char buf[32];

	connect_device(_metadata, &self->c, self->grants);
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSING));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSED));
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_INITWAIT));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_INITIALISED));
	EXPECT_EQ(self->grants + 1, wait_grants(self->grants + 1));
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CONNECTED));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CONNECTED));
	ASSERT_LT(0, dev_attr(&self->c, "connects", buf, sizeof(buf)));
	EXPECT_STREQ("2", buf);
}

/* The backend's directory vanishes without a word: the frontend closes. */
TEST_F(bus, backend_disappears)
{
	unsigned int port;

	connect_device(_metadata, &self->c, self->grants);
	port = front_port(&self->c);
	ASSERT_EQ(0, store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.back,
			      NULL, 0));
	ASSERT_EQ(0, wait_attr(&self->c, "otherend_state", "gone"));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
	check_released(_metadata, &self->c, self->grants, port);
	/* The device itself stays until its frontend directory goes. */
	EXPECT_EQ(0, wait_device(&self->c, 1));
}

/* Orderly hot-unplug: Closing, Closed, then both directories go. */
TEST_F(bus, hot_unplug)
{
	unsigned int port;

	connect_device(_metadata, &self->c, self->grants);
	port = front_port(&self->c);
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSING));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_CLOSED));
	ASSERT_EQ(0, store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.front,
			      NULL, 0));
	ASSERT_EQ(0, store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.back,
			      NULL, 0));
	ASSERT_EQ(0, wait_device(&self->c, 0));
	EXPECT_EQ(self->grants, wait_grants(self->grants));
	EXPECT_EQ(PVKIT_EVTCHN_CLOSED, PVKIT_EVTCHN_STATE(port_status(port)));
}

/* Surprise removal of a connected device: it goes, and takes its grant. */
TEST_F(bus, surprise_unplug)
{
	unsigned int port;
	char buf[8];

	connect_device(_metadata, &self->c, self->grants);
	port = front_port(&self->c);
	ASSERT_EQ(0, store_op(self->c.fd, PVKIT_STORE_IOC_RM, self->c.front,
			      NULL, 0));
	ASSERT_EQ(0, wait_device(&self->c, 0));
	EXPECT_EQ(self->grants, wait_grants(self->grants));
	EXPECT_EQ(PVKIT_EVTCHN_CLOSED, PVKIT_EVTCHN_STATE(port_status(port)));
	/* Removal must not write the directory back. */
	sleep_ms(200);
	EXPECT_EQ(-ENOENT, get(&self->c, self->c.front, "state", buf,
			       sizeof(buf)));
}

/* Unbinding the driver says Closed; binding again starts over. */
TEST_F(bus, driver_rebind)
{
	char name[32];
	int fd;

	connect_device(_metadata, &self->c, self->grants);
	snprintf(name, sizeof(name), "pvtest-%u", self->c.devid);
	fd = open(SYS_DRV "/unbind", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(name), write(fd, name, strlen(name)));
	close(fd);
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_CLOSED));
	EXPECT_EQ(self->grants, wait_grants(self->grants));

	/* The backend notices, resets, and waits for the new driver. */
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_INITWAIT));
	fd = open(SYS_DRV "/bind", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(name), write(fd, name, strlen(name)));
	close(fd);
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_INITIALISED));
	EXPECT_EQ(self->grants + 1, wait_grants(self->grants + 1));
}

/* Garbage from the backend's side is ignored until it makes sense. */
TEST_F(bus, hostile_backend_state)
{
	char buf[32];

	ASSERT_EQ(0, offer_device(&self->c, PVKIT_BUS_INITIALISING));
	ASSERT_EQ(0, wait_device(&self->c, 1));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_INITIALISING));
	ASSERT_EQ(0, put(&self->c, self->c.back, "state", "banana"));
	EXPECT_EQ(0, wait_attr(&self->c, "otherend_state", "0"));
	ASSERT_EQ(0, put(&self->c, self->c.back, "state", "99"));
	ASSERT_EQ(0, put(&self->c, self->c.back, "state", "-3"));
	ASSERT_EQ(0, put(&self->c, self->c.back, "state",
			 "4294967298"));
	sleep_ms(200);
	EXPECT_EQ(0, wait_attr(&self->c, "otherend_state", "0"));
	ASSERT_LT(0, get(&self->c, self->c.front, "state", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	EXPECT_EQ(self->grants, wait_grants(self->grants));
	/* Sense at last: the handshake goes ahead. */
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_INITWAIT));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_INITIALISED));
}

/*
 * A frontend directory without a usable backend pointer is not a device;
 * once the host completes it, it is.
 */
TEST_F(bus, incomplete_directory)
{
	ASSERT_EQ(0, set_backend_state(&self->c, PVKIT_BUS_INITWAIT));
	ASSERT_EQ(0, put(&self->c, self->c.front, "state", "1"));
	ASSERT_EQ(0, put(&self->c, self->c.front, "backend-id", "zero"));
	ASSERT_EQ(0, put(&self->c, self->c.front, "backend", "relative/x"));
	sleep_ms(300);
	EXPECT_EQ(0, wait_device(&self->c, 0));
	ASSERT_EQ(0, put(&self->c, self->c.front, "backend-id", "0"));
	sleep_ms(300);
	EXPECT_EQ(0, wait_device(&self->c, 0));
	ASSERT_EQ(0, put(&self->c, self->c.front, "backend", self->c.back));
	ASSERT_EQ(0, wait_device(&self->c, 1));
	ASSERT_EQ(0, wait_front_state(&self->c, PVKIT_BUS_INITIALISED));
}

TEST_HARNESS_MAIN
