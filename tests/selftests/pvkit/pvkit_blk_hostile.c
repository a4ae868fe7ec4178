// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit block frontend against a backend that breaks the protocol.
 *
 * Needs the reference host's test disks (-device pvkit-test-vbd, QOM id
 * tvbd-<devid>, see backend-qemu/README.md): bus devices whose otherend
 * is a "pvkit-test-vbd" backend directory, which also says what the disk
 * does (test-fault, test-fault-after).  Each variant below finds the disk
 * with its fault and checks:
 *
 * - none: reads return the device's pattern, writes succeed;
 * - any other fault: I/O first succeeds (test-fault-after responses are
 *   correct), then fails with EIO within a bounded time (for "silent",
 *   the queue's io_timeout, shortened here), later I/O fails at once, the
 *   disk counts bad_responses and logs its protocol error once, and the
 *   grants of the failed requests come back.
 *
 * Then the guest must be healthy: no warning or oops in the log, no new
 * taint, an ordinary disk (QEMU's xen-disk) still round-trips data; and
 * unplugging the test disks (host request: device_del) gives back their
 * ring grants.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"
#include "pvkit_util.h"

#define SYS_DEVS	"/sys/bus/pvkit/devices"
#define BACKEND_TYPE	"/pvkit-test-vbd/"
#define WAIT_MS		20000
/* io_timeout set on the silent disk, and the slack allowed beyond it. */
#define SILENT_TIMEOUT_MS	2000
#define SLACK_MS		10000
/* Reads tried before a faulty disk must have failed. */
#define MAX_READS	256
#define PATTERN_BYTE	0xa5
/* Taint flags a broken backend must never cause: BAD_PAGE, DIE, WARN,
 * SOFTLOCKUP.
 */
#define BAD_TAINT	((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14))

/* A key of the backend directory @otherend, from the store. */
static int backend_key(const char *otherend, const char *key, char *buf,
		       size_t len)
{
	char path[256];
	int fd = open(STORE_DEV, O_RDWR), n;

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", otherend, key);
	n = store_op(fd, PVKIT_STORE_IOC_READ, path, buf, len - 1);
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

struct tdisk {
	char dev[64];		/* bus device, vbd-<devid> */
	char bdev[64];		/* /dev/pvdX */
	char fault[32];
	unsigned int fault_after;
};

/*
 * Bus devices served by @backend (a substring of otherend); with @fault,
 * only the test disk that has that fault.  Fills up to @max entries;
 * returns how many were found (possibly more than @max), or -errno.
 */
static int find_disks(const char *backend, const char *fault,
		      struct tdisk *out, int max)
{
	struct dirent **de;
	char path[512], otherend[256], buf[64];
	int n, i, found = 0;

	n = scandir(SYS_DEVS, &de, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		struct tdisk d = { 0 };

		if (strncmp(de[i]->d_name, "vbd-", 4))
			goto next;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/otherend",
			 de[i]->d_name);
		if (read_file(path, otherend, sizeof(otherend)) <= 0 ||
		    !strstr(otherend, backend))
			goto next;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/disk",
			 de[i]->d_name);
		if (read_file(path, buf, sizeof(buf)) <= 0)
			goto next;
		snprintf(d.dev, sizeof(d.dev), "%.60s", de[i]->d_name);
		snprintf(d.bdev, sizeof(d.bdev), "/dev/%.40s", buf);
		if (!strcmp(backend, BACKEND_TYPE)) {
			if (backend_key(otherend, "test-fault", d.fault,
					sizeof(d.fault)) <= 0)
				goto next;
			if (backend_key(otherend, "test-fault-after", buf,
					sizeof(buf)) > 0)
				d.fault_after = atoi(buf);
			if (fault && strcmp(fault, d.fault))
				goto next;
		}
		if (found < max)
			out[found] = d;
		found++;
next:
		free(de[i]);
	}
	free(de);
	return found;
}

static unsigned long bad_responses(const struct tdisk *d)
{
	char path[128];

	snprintf(path, sizeof(path), SYS_DEVS "/%s/bad_responses", d->dev);
	return read_long(path);
}

/* Does @p (@len bytes read from byte @off) hold the device's pattern? */
static int pattern_ok(const unsigned char *p, size_t len, off_t off)
{
	size_t i, j;

	for (i = 0; i < len; i += 512) {
		uint64_t sector = (off + i) / 512, got;

		memcpy(&got, p + i, sizeof(got));
		if (got != sector)
			return 0;
		for (j = sizeof(got); j < 512; j++)
			if (p[i + j] != PATTERN_BYTE)
				return 0;
	}
	return 1;
}

/*
 * Lines of the kernel log containing @needle, from the start of the
 * buffer (the caller's test only runs for seconds: nothing is lost).
 */
static int kmsg_count(const char *needle, char *first, size_t flen)
{
	char rec[2048];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), count = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle)) {
			/* The message follows the record's prefix, up to the
			 * first newline (dictionary lines follow).
			 */
			char *msg = strchr(rec, ';');

			msg = msg ? msg + 1 : rec;
			msg[strcspn(msg, "\n")] = '\0';
			if (!count && first)
				snprintf(first, flen, "%.400s", msg);
			count++;
		}
	}
	close(fd);
	return count;
}

FIXTURE(hostile) {
	struct tdisk d;
	unsigned char *buf;
	int fd;
};

FIXTURE_VARIANT(hostile) {
	const char *fault;
};

FIXTURE_VARIANT_ADD(hostile, none) { .fault = "none" };
FIXTURE_VARIANT_ADD(hostile, bad_id) { .fault = "bad-id" };
FIXTURE_VARIANT_ADD(hostile, bad_op) { .fault = "bad-op" };
FIXTURE_VARIANT_ADD(hostile, bad_status) { .fault = "bad-status" };
FIXTURE_VARIANT_ADD(hostile, overrun) { .fault = "overrun" };
FIXTURE_VARIANT_ADD(hostile, silent) { .fault = "silent" };
FIXTURE_VARIANT_ADD(hostile, garbage) { .fault = "garbage" };

FIXTURE_SETUP(hostile)
{
	char path[128], ms[16];

	self->fd = -1;
	self->buf = NULL;
	if (find_disks(BACKEND_TYPE, variant->fault, &self->d, 1) < 1)
		SKIP(return, "no pvkit-test-vbd disk with fault=%s",
		     variant->fault);
	/* Fail an unanswered request soon, not after blk-mq's 30 s. */
	snprintf(path, sizeof(path), "/sys/block/%s/queue/io_timeout",
		 self->d.bdev + 5);
	snprintf(ms, sizeof(ms), "%d", SILENT_TIMEOUT_MS);
	ASSERT_EQ(0, write_file(path, ms)) TH_LOG("%s", path);
	ASSERT_EQ(0, posix_memalign((void **)&self->buf, 4096, 65536));
	self->fd = open(self->d.bdev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->d.bdev,
				      strerror(errno));
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->fd >= 0)
		close(self->fd);
	free(self->buf);
}

TEST_F_TIMEOUT(hostile, io, 120)
{
	long grants, g = -1, t0, took = 0;
	char needle[128], first[512] = "";
	int i, ok = 0, err = 0, ms;
	ssize_t n = 0;

	grants = grants_in_use();
	ASSERT_LE(0, grants);

	if (!strcmp(self->d.fault, "none")) {
		/* Sizes from a sector to the most one request carries. */
		static const size_t sizes[] = { 512, 4096, 4608, 45056,
						65536 };

		for (i = 0; i < (int)(sizeof(sizes) / sizeof(sizes[0])); i++) {
			off_t off = (off_t)i << 20;

			memset(self->buf, 0, sizes[i]);
			ASSERT_EQ((ssize_t)sizes[i],
				  pread(self->fd, self->buf, sizes[i], off))
				TH_LOG("%zu bytes: %s", sizes[i],
				       strerror(errno));
			EXPECT_TRUE(pattern_ok(self->buf, sizes[i], off))
				TH_LOG("%zu bytes at %lld: no pattern",
				       sizes[i], (long long)off);
			ASSERT_EQ((ssize_t)sizes[i],
				  pwrite(self->fd, self->buf, sizes[i], off));
		}
		EXPECT_EQ(0, bad_responses(&self->d));
		EXPECT_EQ(grants, grants_in_use());
		return;
	}

	/* Read page after page until the backend's fault shows. */
	for (i = 0; i < MAX_READS; i++) {
		off_t off = (off_t)i * 4096;

		t0 = now_ms();
		n = pread(self->fd, self->buf, 4096, off);
		took = now_ms() - t0;
		if (n < 0) {
			err = errno;
			break;
		}
		ASSERT_EQ(4096, n);
		EXPECT_TRUE(pattern_ok(self->buf, 4096, off))
			TH_LOG("read %d: no pattern", i);
		ok++;
	}
	ASSERT_LT(i, MAX_READS) TH_LOG("no read failed");
	EXPECT_EQ(EIO, err) TH_LOG("read %d: %s", i, strerror(err));
	EXPECT_LT(took, SILENT_TIMEOUT_MS + SLACK_MS);
	/* Responses before fault-after are correct (the kernel's partition
	 * scan used some of them).
	 */
	if (self->d.fault_after > 8)
		EXPECT_LT(0, ok);
	TH_LOG("fault=%s: %d reads succeeded, read %d failed with %s after %ld ms",
	       self->d.fault, ok, i, strerror(err), took);

	/* The disk is broken now: the next I/O fails at once. */
	t0 = now_ms();
	EXPECT_GT(0, pread(self->fd, self->buf, 4096, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_GT(0, pwrite(self->fd, self->buf, 4096, 0));
	EXPECT_LT(now_ms() - t0, 1000);

	/* A silent backend sent no response to count. */
	if (strcmp(self->d.fault, "silent"))
		EXPECT_LT(0, bad_responses(&self->d));
	snprintf(needle, sizeof(needle), "%s: backend protocol error",
		 self->d.dev);
	EXPECT_EQ(1, kmsg_count(needle, first, sizeof(first)));
	TH_LOG("bad_responses %lu; %s", bad_responses(&self->d), first);

	/* The failed requests' grants are revoked. */
	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20)) {
		g = grants_in_use();
		if (g <= grants)
			break;
	}
	EXPECT_GE(grants, g);
}

/*
 * Checks after every test disk has had its turn.  A fixture of their own:
 * the harness runs plain TEST()s before any fixture's tests.
 */
FIXTURE(after) {
};

FIXTURE_SETUP(after)
{
}

FIXTURE_TEARDOWN(after)
{
}

/* The guest is unharmed. */
TEST_F(after, guest_healthy)
{
	static const char *const splats[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN",
		"general protection", "watchdog:", "INFO: task",
		"kernel BUG", "list_del corruption", "refcount_t:",
	};
	struct tdisk d;
	unsigned char *w, *r;
	char line[512];
	unsigned int i;
	long taint;
	int fd;

	if (find_disks(BACKEND_TYPE, NULL, &d, 1) < 1)
		SKIP(return, "no pvkit-test-vbd disks");
	for (i = 0; i < sizeof(splats) / sizeof(splats[0]); i++) {
		line[0] = '\0';
		EXPECT_EQ(0, kmsg_count(splats[i], line, sizeof(line)))
			TH_LOG("%s", line);
	}
	taint = read_long("/proc/sys/kernel/tainted");
	EXPECT_EQ(0, taint & BAD_TAINT) TH_LOG("tainted %ld", taint);

	if (find_disks("/qdisk/", NULL, &d, 1) < 1)
		SKIP(return, "no ordinary pvkit disk (harness --pv-disk)");
	ASSERT_EQ(0, posix_memalign((void **)&w, 4096, 1 << 20));
	ASSERT_EQ(0, posix_memalign((void **)&r, 4096, 1 << 20));
	for (i = 0; i < 1 << 20; i++)
		w[i] = i * 2654435761u >> 24;
	memset(r, 0, 1 << 20);
	fd = open(d.bdev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", d.bdev, strerror(errno));
	ASSERT_EQ(1 << 20, pwrite(fd, w, 1 << 20, 0));
	ASSERT_EQ(1 << 20, pread(fd, r, 1 << 20, 0));
	EXPECT_EQ(0, memcmp(w, r, 1 << 20));
	close(fd);
	free(w);
	free(r);
}

/*
 * Unplug every test disk (QOM id tvbd-<devid>): each goes away and gives
 * back its ring grant, the only one a broken disk keeps.  Runs last.
 */
TEST_F_TIMEOUT(after, unplug_gives_grants_back, 120)
{
	struct tdisk d[16];
	char req[256], path[128];
	long grants, g = -1;
	struct stat st;
	int n, i, ms;

	if (!host_requests_offered())
		SKIP(return, "harness runs no host requests (--host-requests)");
	n = find_disks(BACKEND_TYPE, NULL, d, 16);
	if (n < 1)
		SKIP(return, "no pvkit-test-vbd disks");
	ASSERT_GE(16, n);
	grants = grants_in_use();
	ASSERT_LE(0, grants);
	for (i = 0; i < n; i++) {
		snprintf(req, sizeof(req),
			 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"tvbd-%s\"}}",
			 d[i].dev + 4);
		ASSERT_EQ(0, host_request(req));
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), SYS_DEVS "/%.60s", d[i].dev);
		for (ms = 0; ms < WAIT_MS && !stat(path, &st); ms += 20)
			sleep_ms(20);
		EXPECT_LT(ms, WAIT_MS) TH_LOG("%s still there", d[i].dev);
	}
	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20)) {
		g = grants_in_use();
		if (g <= grants - n)
			break;
	}
	EXPECT_EQ(grants - n, g);
	TH_LOG("%d test disks unplugged; grants in use %ld -> %ld", n,
	       grants, g);
}

TEST_HARNESS_MAIN
