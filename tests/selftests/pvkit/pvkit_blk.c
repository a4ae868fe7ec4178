// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit block frontend selftests, against the host's real backend.
 *
 * Needs disks on the pvkit bus: the kit's harness attaches them with
 * --pv-disk FILE (QEMU's xen-disk, id pvdisk<n>), the first writable and
 * the second read-only.  The frontend must use what the backend offers
 * (a multi-page ring, indirect requests).  Data must round-trip exactly
 * (direct and buffered I/O, requests larger than one ring slot carries,
 * pages split across sectors), an ext4 file system must keep its files
 * across a
 * remount, discard must reach the image, a read-only disk must refuse
 * writes, and unplugging a disk under I/O must fail that I/O cleanly and
 * give every grant back.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pvkit_util.h"
#include "pvkit_store_util.h"

#include <linux/pvkit_blkif.h>

#define SYS_DEVS	"/sys/bus/pvkit/devices"
#define MNT		"/tmp/pvkit-blk-mnt"
#define WAIT_MS		20000

/*
 * The first kit disk, in bus device name order, with a block device
 * (@bdev, "/dev/pvdX") that @match accepts: its bus device name goes to
 * @disk.  0, or -ENOENT when none matches.
 */
static int find_disk_where(bool (*match)(const char *busdev,
					 const char *bdev),
			   char *disk, size_t len, char *bdev, size_t blen)
{
	struct dirent **de;
	char path[512], name[64];
	int n, i, found = -ENOENT;

	n = scandir(SYS_DEVS, &de, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (!found || strncmp(de[i]->d_name, "vbd-", 4))
			goto next;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/disk",
			 de[i]->d_name);
		if (read_file(path, name, sizeof(name)) <= 0)
			goto next;
		snprintf(bdev, blen, "/dev/%.40s", name);
		if (!match(de[i]->d_name, bdev))
			goto next;
		snprintf(disk, len, "%.60s", de[i]->d_name);
		found = 0;
next:
		free(de[i]);
	}
	free(de);
	return found;
}

/* A writable disk nobody mounted: the fixture's. */
static bool writable_and_unmounted(const char *busdev, const char *bdev)
{
	char path[128], ro[8];

	snprintf(path, sizeof(path), "/sys/block/%s/ro", bdev + 5);
	return read_file(path, ro, sizeof(ro)) > 0 && atoi(ro) == 0 &&
	       !bdev_mounted(bdev);
}

static void fill(unsigned char *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
}

/* O_DIRECT write then read of @len bytes at @off, from @buf_off in a page. */
static int direct_round_trip(int fd, off_t off, size_t len, size_t buf_off,
			     uint32_t seed)
{
	unsigned char *w, *r;
	int ret = -1;

	if (posix_memalign((void **)&w, 4096, len + buf_off) ||
	    posix_memalign((void **)&r, 4096, len + buf_off))
		return -ENOMEM;
	fill(w + buf_off, len, seed);
	memset(r, 0, len + buf_off);
	if (pwrite(fd, w + buf_off, len, off) == (ssize_t)len &&
	    pread(fd, r + buf_off, len, off) == (ssize_t)len)
		ret = memcmp(w + buf_off, r + buf_off, len) ? 1 : 0;
	free(w);
	free(r);
	return ret;
}

FIXTURE(blk) {
	char dev[64];
	char bdev[64];
};

FIXTURE_SETUP(blk)
{
	if (find_disk_where(writable_and_unmounted, self->dev,
			    sizeof(self->dev), self->bdev,
		      sizeof(self->bdev)))
		SKIP(return, "no writable pvkit disk (harness --pv-disk)");
}

FIXTURE_TEARDOWN(blk)
{
}

/*
 * A number in the store below the disk's @side ("otherend": the backend's
 * directory, "nodename": the frontend's); @absent if the key is not there.
 */
static long store_key(const char *busdev, const char *side, const char *key,
		      long absent)
{
	char path[512], otherend[256], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), SYS_DEVS "/%s/%s", busdev, side);
	if (read_file(path, otherend, sizeof(otherend)) <= 0)
		return -1;
	fd = open(STORE_DEV, O_RDWR);
	if (fd < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", otherend, key);
	n = store_op(fd, PVKIT_STORE_IOC_READ, path, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -ENOENT)
		return absent;
	if (n < 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static long backend_key(const char *busdev, const char *key, long absent)
{
	return store_key(busdev, "otherend", key, absent);
}

/* Slots of a ring of 2^@order pages: a 64-byte header, 112-byte slots. */
static long ring_slots(long order)
{
	long bytes = (4096L << order) - 64, slots;

	for (slots = 1; slots * 2 * 112 <= bytes; slots *= 2)
		;
	return slots;
}

static long queue_attr(const char *bdev, const char *attr)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/block/%s/queue/%s", bdev + 5, attr);
	return read_long(path);
}

#define BLK_PARAMS	"/sys/module/pvkit_blkfront/parameters/"
#define MIN(a, b)	((a) < (b) ? (a) : (b))

/* Hardware queues of the disk: entries of /sys/block/<disk>/mq. */
static long hw_queues(const char *bdev)
{
	char path[128];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/block/%s/mq", bdev + 5);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Tags of the disk's first hardware queue. */
static long hw_tags(const char *bdev)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/block/%s/mq/0/nr_tags", bdev + 5);
	return read_long(path);
}

static long dev_attr(const char *busdev, const char *attr)
{
	char path[512];

	snprintf(path, sizeof(path), SYS_DEVS "/%s/%s", busdev, attr);
	return read_long(path);
}

/*
 * The frontend takes what the backend offers, within its own parameters:
 * a ring per vCPU, the ring's slots and the pages one request may name.
 * The reference host offers several rings, multi-page rings and indirect
 * requests, so all three must be published.  What the disk uses of them
 * (blk-mq hardware queues, tags per queue as nr_tags and nr_requests
 * without an I/O scheduler, max_segments) is bounded by the grant
 * references it reserved when it connected: exactly a reference per page
 * each tag can name, plus its indirect page.
 */
TEST_F(blk, rings_negotiated)
{
	long order = backend_key(self->dev, "max-ring-page-order", 0);
	long indirect = backend_key(self->dev,
				    "feature-max-indirect-segments", 0);
	long queues = backend_key(self->dev, "multi-queue-max-queues", 1);
	long my_order = read_long(BLK_PARAMS "max_ring_page_order");
	long my_indirect = read_long(BLK_PARAMS "max_indirect_segments");
	long my_queues = read_long(BLK_PARAMS "max_queues");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long slots, segs, rings, hw, tags, got, reserved, full;
	char path[128], sched[128];

	ASSERT_LE(0, order);
	ASSERT_LE(0, indirect);
	ASSERT_LE(0, queues);
	ASSERT_LE(0, my_order) TH_LOG("no module parameters");
	ASSERT_LE(0, my_indirect);
	ASSERT_LE(0, my_queues);
	EXPECT_LT(0, order) TH_LOG("the backend offers no multi-page ring");
	EXPECT_LT(11, indirect) TH_LOG("the backend offers no indirect requests");
	EXPECT_LT(1, queues) TH_LOG("the backend offers one ring only");

	queues = MIN(MIN(queues, my_queues), cpus);
	rings = store_key(self->dev, "nodename", "multi-queue-num-queues", 1);
	EXPECT_EQ(queues < 1 ? 1 : queues, rings);
	hw = hw_queues(self->bdev);
	EXPECT_LE(1, hw);
	EXPECT_GE(rings, hw);

	order = MIN(MIN(order, my_order), 4);
	EXPECT_EQ(order, store_key(self->dev, "nodename", "ring-page-order", 0));
	slots = ring_slots(order);
	segs = MIN(MIN(indirect, my_indirect), 512);
	if (segs < 11)
		segs = 11;
	snprintf(path, sizeof(path), "/sys/block/%s/queue/scheduler",
		 self->bdev + 5);
	ASSERT_LT(0, read_file(path, sched, sizeof(sched)));
	/* An I/O scheduler sets its own depth; without one it is the tags'. */
	tags = hw_tags(self->bdev);
	EXPECT_LE(1, tags);
	EXPECT_GE(slots, tags);
	if (strstr(sched, "[none]")) {
		EXPECT_EQ(tags, queue_attr(self->bdev, "nr_requests"));
	} else {
		TH_LOG("scheduler %s: nr_requests not checked", sched);
	}
	got = queue_attr(self->bdev, "max_segments");
	EXPECT_TRUE(got == segs || got == 11) TH_LOG("max_segments %ld", got);
	EXPECT_EQ(got * 4, queue_attr(self->bdev, "max_hw_sectors_kb"));

	reserved = dev_attr(self->dev, "grants_reserved");
	EXPECT_EQ(hw * tags * (got + (got > 11)), reserved);
	full = rings * slots * (segs + (segs > 11));
	TH_LOG("%ld of %ld rings, %ld of %ld tags, %ld of %ld pages per request: %ld of %ld grants reserved; table %ld",
	       hw, rings, tags, slots, got, segs, reserved, full,
	       read_long("/sys/hypervisor/pvkit/grants_total"));
	/* A disk smaller than it could be took at most its share. */
	if (reserved < full)
		EXPECT_GE(read_long("/sys/hypervisor/pvkit/grants_total") / 8,
			  reserved);
}

/*
 * Sizes around the limits: one sector, one page, a page and a sector,
 * the most one ring slot carries (11 pages), more than that (indirect),
 * the most one indirect request carries by default (64 pages) and past
 * it, and 1 MiB; buffers at page offsets 0 and 512 (segments that start
 * and end inside pages).
 */
TEST_F(blk, direct_round_trip)
{
	static const size_t sizes[] = { 512, 4096, 4608, 45056, 49152,
					262144, 266240, 1 << 20 };
	static const size_t buf_offs[] = { 0, 512 };
	unsigned int i, j;
	int fd = open(self->bdev, O_RDWR | O_DIRECT);

	ASSERT_LE(0, fd) TH_LOG("%s: %s", self->bdev, strerror(errno));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < 2; j++)
			EXPECT_EQ(0, direct_round_trip(fd, (i * 2 + j) << 21,
						       sizes[i], buf_offs[j],
						       i * 7 + j))
				TH_LOG("%zu bytes at buffer offset %zu",
				       sizes[i], buf_offs[j]);
	close(fd);
}

/* Through the page cache: write, fsync, drop the cache, read from disk. */
TEST_F(blk, buffered_fsync)
{
	size_t len = 8 << 20, done;
	unsigned char *w = malloc(len), *r = malloc(len);
	int fd = open(self->bdev, O_RDWR);
	ssize_t n;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	fill(w, len, 42);
	ASSERT_EQ((ssize_t)len, pwrite(fd, w, len, 16 << 20));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "3"));
	fd = open(self->bdev, O_RDONLY);
	ASSERT_LE(0, fd);
	for (done = 0; done < len; done += n) {
		n = pread(fd, r + done, len - done, (16 << 20) + done);
		ASSERT_LT(0, n);
	}
	EXPECT_EQ(0, memcmp(w, r, len));
	close(fd);
	free(w);
	free(r);
}

TEST_F(blk, write_cache_and_flush)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/block/%s/queue/write_cache",
		 self->bdev + 5);
	ASSERT_LT(0, read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ("write back", buf);
}

/* Discarded blocks read back as zeros: the hole reached the image. */
TEST_F(blk, discard)
{
	uint64_t range[2] = { 40 << 20, 1 << 20 };
	unsigned char *p;
	char path[128], buf[64];
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/%s/queue/discard_max_bytes",
		 self->bdev + 5);
	ASSERT_LT(0, read_file(path, buf, sizeof(buf)));
	ASSERT_LT(0, atoll(buf)) TH_LOG("backend offers no discard");
	fd = open(self->bdev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&p, 4096, range[1]));
	memset(p, 0xa5, range[1]);
	ASSERT_EQ((ssize_t)range[1], pwrite(fd, p, range[1], range[0]));
	ASSERT_EQ(0, ioctl(fd, BLKDISCARD, range)) TH_LOG("%s",
							   strerror(errno));
	ASSERT_EQ((ssize_t)range[1], pread(fd, p, range[1], range[0]));
	for (i = 0; i < range[1] && !p[i]; i++)
		;
	EXPECT_EQ(range[1], i) TH_LOG("byte %zu is %#x after discard", i,
				      i < range[1] ? p[i] : 0);
	free(p);
	close(fd);
}

/* Checksum of a file's contents (FNV-1a); -1 if unreadable. */
static int64_t file_sum(const char *path)
{
	unsigned char buf[65536];
	uint64_t h = 1469598103934665603ull;
	int fd = open(path, O_RDONLY);
	ssize_t n, i;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
	close(fd);
	return n < 0 ? -1 : (int64_t)(h >> 1);
}

TEST_F(blk, ext4_files_survive_remount)
{
	enum { FILES = 24 };
	int64_t sums[FILES];
	char cmd[256], path[128];
	unsigned char *p;
	int i, fd;

	if (access("/sbin/mkfs.ext4", X_OK) && access("/usr/sbin/mkfs.ext4",
						      X_OK))
		SKIP(return, "no mkfs.ext4 in the image");
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s", self->bdev);
	ASSERT_EQ(0, system(cmd));
	mkdir(MNT, 0755);
	ASSERT_EQ(0, mount(self->bdev, MNT, "ext4", 0, NULL))
		TH_LOG("mount: %s", strerror(errno));
	p = malloc(3 << 20);
	ASSERT_NE(NULL, p);
	for (i = 0; i < FILES; i++) {
		size_t len = (size_t)(i * 131071) % (3 << 20) + 1;

		snprintf(path, sizeof(path), MNT "/f%d", i);
		fill(p, len, i + 1000);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)len, write(fd, p, len));
		ASSERT_EQ(0, fsync(fd));
		close(fd);
		sums[i] = file_sum(path);
	}
	free(p);
	ASSERT_EQ(0, umount(MNT));
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "3"));
	ASSERT_EQ(0, mount(self->bdev, MNT, "ext4", 0, NULL));
	for (i = 0; i < FILES; i++) {
		snprintf(path, sizeof(path), MNT "/f%d", i);
		EXPECT_EQ(sums[i], file_sum(path)) TH_LOG("%s", path);
	}
	EXPECT_EQ(0, umount(MNT));
}

/*
 * A disk the host exports read-only (its backend's info has
 * PVKIT_VDISK_READONLY: the harness's --pv-disk FILE,ro), known by what
 * the host says rather than by the flag under test.
 */
static bool host_exports_read_only(const char *busdev, const char *bdev)
{
	long info = backend_key(busdev, "info", 0);

	return info > 0 && (info & PVKIT_VDISK_READONLY);
}

TEST(read_only_disk_refuses_writes)
{
	char dev[64], bdev[64], path[128], ro[8];
	char buf[4096] = { 1 };
	int fd;

	if (find_disk_where(host_exports_read_only, dev, sizeof(dev), bdev,
			    sizeof(bdev)))
		SKIP(return, "the host exports no read-only pvkit disk");
	snprintf(path, sizeof(path), "/sys/block/%s/ro", bdev + 5);
	ASSERT_LT(0, read_file(path, ro, sizeof(ro)));
	EXPECT_EQ(1, atoi(ro)) TH_LOG("%s is not read-only", bdev);
	fd = open(bdev, O_RDWR);
	if (fd >= 0) {
		EXPECT_GT(0, pwrite(fd, buf, sizeof(buf), 0));
		close(fd);
	} else {
		EXPECT_TRUE(errno == EROFS || errno == EACCES)
			TH_LOG("open: %s", strerror(errno));
	}
	fd = open(bdev, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(buf), pread(fd, buf, sizeof(buf), 0));
	close(fd);
}

/* The harness's QOM/drive name of a kit disk: vdev xvd<x>, 51712 + 16 x. */
static char vdev_letter(const char *busdev)
{
	return 'a' + (atoi(busdev + 4) - 51712) / 16;
}

/*
 * The host grows the disk (QMP block_resize): the backend rewrites its
 * size, the frontend follows while the disk is open, data stays.
 */
TEST_F(blk, capacity_change)
{
	unsigned long long before, after = 0;
	char req[256];
	int fd, ms;

	if (!host_requests_offered())
		SKIP(return, "harness runs no host requests (--host-requests)");
	fd = open(self->bdev, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &before));
	snprintf(req, sizeof(req),
		 "{\"execute\": \"block_resize\", \"arguments\": "
		 "{\"device\": \"drive-xvd%c\", \"size\": %llu}}",
		 vdev_letter(self->dev), before + (16 << 20));
	ASSERT_EQ(0, host_request(req));
	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20)) {
		ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &after));
		if (after != before)
			break;
	}
	EXPECT_EQ(before + (16 << 20), after);
	close(fd);
}

/* Writes until one fails; exit status 0 if it failed with an I/O error. */
static void writer(const char *bdev)
{
	unsigned char *p;
	int fd = open(bdev, O_RDWR | O_DIRECT);
	off_t off = 0;

	if (fd < 0 || posix_memalign((void **)&p, 4096, 1 << 16))
		_exit(2);
	memset(p, 0x5a, 1 << 16);
	for (;;) {
		if (pwrite(fd, p, 1 << 16, off) < 0)
			_exit(errno == EIO || errno == ENODEV ||
			      errno == ENXIO ? 0 : 3);
		off = (off + (1 << 16)) % (32 << 20);
	}
}

/*
 * Grants the disk holds while idle: each ring's pages and, with indirect
 * requests, a page per tag of each hardware queue.
 */
static long idle_grants(const char *dev, const char *bdev)
{
	long order = store_key(dev, "nodename", "ring-page-order", 0);
	long rings = store_key(dev, "nodename", "multi-queue-num-queues", 1);
	long queues = hw_queues(bdev);
	long indirect = queue_attr(bdev, "max_segments") > 11;

	if (order < 0 || rings < 1 || queues < 1)
		return -1;
	return rings * (1L << order) + queues * indirect * hw_tags(bdev);
}

/*
 * Hot-unplug under I/O (must run last: the disk goes away): the writer
 * gets errors, nothing hangs, the device goes, every grant comes back.
 * Runs on the read-write disk while a writer keeps requests in flight.
 */
TEST_F_TIMEOUT(blk, unplug_during_io, 120)
{
	char path[128], id[32];
	long grants, now = -1, held = idle_grants(self->dev, self->bdev);
	struct stat st;
	int ms, status;
	pid_t pid;

	if (!host_requests_offered())
		SKIP(return, "harness runs no host requests (--host-requests)");
	ASSERT_LT(0, held);
	grants = grants_in_use();
	ASSERT_LE(0, grants);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		writer(self->bdev);
	sleep_ms(500);
	snprintf(id, sizeof(id), "pv-xvd%c", vdev_letter(self->dev));
	snprintf(path, sizeof(path),
		 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"%s\"}}",
		 id);
	ASSERT_EQ(0, host_request(path));
	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20))
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	if (ms >= WAIT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ASSERT_LT(ms, WAIT_MS) TH_LOG("writer still running");
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("writer status %#x", status);
	snprintf(path, sizeof(path), "/sys/devices/pvkit/%s", self->dev);
	for (ms = 0; ms < WAIT_MS && !stat(path, &st); ms += 20)
		sleep_ms(20);
	EXPECT_LT(ms, WAIT_MS) TH_LOG("%s still there", self->dev);
	/*
	 * The writer's grants are revoked, and the disk's own, some after
	 * the backend let go of them.
	 */
	for (ms = 0; ms < WAIT_MS; ms += 20, sleep_ms(20)) {
		now = grants_in_use();
		if (now <= grants - held)
			break;
	}
	EXPECT_EQ(grants - held, now);
}

TEST_HARNESS_MAIN
