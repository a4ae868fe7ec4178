// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit bus console selftests, against the host's real backend.
 *
 * Needs a host that offers a console device on the pvkit bus whose output
 * comes back as its input: the kit's harness adds one with --loop-console
 * (QEMU's xen-console, id "loopcon", on a UDP chardev that sends to
 * itself).  Data written to its tty must come back unchanged.  With
 * --host-requests the harness also runs device_del/device_add for the
 * guest, which exercises hot-unplug and hot-plug through QEMU's own bus
 * code: the tty must go away and come back, working.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pvkit_util.h"

#define SYS_DEVS	"/sys/bus/pvkit/devices"
#define SYS_ROOT	"/sys/devices/pvkit"
#define WAIT_MS		20000

/* The first console device on the bus; 0 and @name set if found. */
static int find_console(char *name, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(SYS_DEVS);
	int ret = -ENOENT;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "console-", 8)) {
			snprintf(name, len, "%.60s", de->d_name);
			ret = 0;
			break;
		}
	closedir(d);
	return ret;
}

static int dev_attr(const char *dev, const char *attr, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), SYS_DEVS "/%s/%s", dev, attr);
	return read_file(path, buf, len);
}

/* Wait for a connected console; its tty's /dev path goes to @tty. */
static int wait_connected(char *dev, size_t dlen, char *tty, size_t tlen)
{
	char state[16], name[32];
	int ms;

	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20)) {
		if (find_console(dev, dlen))
			continue;
		if (dev_attr(dev, "state", state, sizeof(state)) <= 0 ||
		    strcmp(state, "4"))
			continue;
		if (dev_attr(dev, "tty", name, sizeof(name)) <= 0)
			continue;
		snprintf(tty, tlen, "/dev/%s", name);
		if (access(tty, R_OK | W_OK) == 0)
			return 0;
	}
	return -ETIMEDOUT;
}

static int open_raw(const char *tty)
{
	struct termios t;
	int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	tcflush(fd, TCIOFLUSH);
	return fd;
}

/*
 * Write @len bytes and read until they are all back or nothing arrives
 * for a while; returns the bytes read.
 */
static size_t round_trip(int fd, const unsigned char *out, unsigned char *in,
			 size_t len)
{
	size_t sent = 0, got = 0;
	struct pollfd p = { .fd = fd };

	while (got < len) {
		ssize_t n;

		p.events = POLLIN | (sent < len ? POLLOUT : 0);
		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < len) {
			/* Datagram-sized pieces: the chardev is UDP. */
			size_t chunk = len - sent < 256 ? len - sent : 256;

			n = write(fd, out + sent, chunk);
			if (n > 0)
				sent += n;
		}
		if (p.revents & POLLIN) {
			n = read(fd, in + got, len - got);
			if (n > 0)
				got += n;
		}
		if (p.revents & (POLLERR | POLLHUP))
			break;
	}
	return got;
}

static void check_loopback(struct __test_metadata *_metadata,
			   const char *tty, size_t len)
{
	unsigned char *out = malloc(len), *in = calloc(1, len);
	size_t i, got;
	int fd;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	srand(time(NULL));
	for (i = 0; i < len; i++)
		out[i] = rand();
	fd = open_raw(tty);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", tty, strerror(-fd));
	got = round_trip(fd, out, in, len);
	close(fd);
	EXPECT_EQ(len, got);
	EXPECT_EQ(0, memcmp(out, in, got));
	free(out);
	free(in);
}

FIXTURE(console) {
	char dev[64];
	char tty[64];
};

FIXTURE_SETUP(console)
{
	if (find_console(self->dev, sizeof(self->dev)))
		SKIP(return, "no console device on the pvkit bus "
		     "(harness --loop-console)");
	ASSERT_EQ(0, wait_connected(self->dev, sizeof(self->dev),
				    self->tty, sizeof(self->tty)));
}

FIXTURE_TEARDOWN(console)
{
}

/* Bytes through QEMU's backend and back, every value, unchanged. */
TEST_F(console, loopback)
{
	char buf[256];

	ASSERT_LT(0, dev_attr(self->dev, "otherend", buf, sizeof(buf)));
	TH_LOG("%s on %s, backend %s", self->dev, self->tty, buf);
	check_loopback(_metadata, self->tty, 64 * 1024);
}

/*
 * Unplug through QEMU (device_del): the backend closes, the frontend
 * closes, the host removes both directories, the device and its tty go.
 * Then plug a new one in: it connects and carries data.
 */
TEST_F(console, unplug_and_replug)
{
	char path[256];
	struct stat st;
	int ms, fd;

	if (!host_requests_offered())
		SKIP(return, "harness runs no host requests (--host-requests)");
	snprintf(path, sizeof(path), SYS_ROOT "/%s", self->dev);
	ASSERT_EQ(0, host_request("{\"execute\": \"device_del\", "
				  "\"arguments\": {\"id\": \"loopcon\"}}"));
	for (ms = 0; ms < WAIT_MS && !stat(path, &st); ms += 20)
		sleep_ms(20);
	ASSERT_LT(ms, WAIT_MS) TH_LOG("%s still there after device_del",
				      self->dev);
	/* The tty node stays (hvc's are static); it has no console now. */
	fd = open(self->tty, O_RDWR | O_NOCTTY | O_NONBLOCK);
	EXPECT_GT(0, fd);
	if (fd >= 0)
		close(fd);

	ASSERT_EQ(0, host_request("{\"execute\": \"device_add\", "
				  "\"arguments\": {\"driver\": \"xen-console\", "
				  "\"chardev\": \"loopchr\", "
				  "\"id\": \"loopcon\"}}"));
	ASSERT_EQ(0, wait_connected(self->dev, sizeof(self->dev),
				    self->tty, sizeof(self->tty)));
	check_loopback(_metadata, self->tty, 4096);
}

TEST_HARNESS_MAIN
