// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit store selftests: requests to the host's xenstore through
 * /dev/pvkit_store, the guest's store client.  The guest is domain 1 and
 * may write only below the directories the host gives it (data, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pvkit.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"

#define BASE		"/local/domain/1/data/pvkit-selftest"
/* The client's counters and checks in debugfs. */
#define DEBUGFS		"/sys/kernel/debug"
#define STORE_DBG	DEBUGFS "/pvkit_store"

static int store_offered(void)
{
	unsigned long long features;
	FILE *f = fopen("/sys/hypervisor/pvkit/features", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llx", &features);
	fclose(f);
	return n == 1 && (features & PVKIT_F_STORE);
}

/* Does the NUL-separated listing hold @name? */
static int listed(const char *list, int len, const char *name)
{
	int i;

	for (i = 0; i < len; i += strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return 1;
	return 0;
}

FIXTURE(store) {
	int fd;
	char buf[PVKIT_STORE_PAYLOAD_MAX];
};

FIXTURE_SETUP(store)
{
	self->fd = -1;
	if (!store_offered())
		SKIP(return, "host offers no store");
	self->fd = open(STORE_DEV, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", STORE_DEV, strerror(errno));
	store_op(self->fd, PVKIT_STORE_IOC_RM, BASE, NULL, 0);
}

FIXTURE_TEARDOWN(store)
{
	if (self->fd >= 0) {
		store_op(self->fd, PVKIT_STORE_IOC_RM, BASE, NULL, 0);
		close(self->fd);
	}
}

TEST_F(store, initial_tree)
{
	int ret;

	ret = store_op(self->fd, PVKIT_STORE_IOC_READ, "domid", self->buf,
		       sizeof(self->buf));
	ASSERT_EQ(1, ret);
	EXPECT_EQ(0, memcmp(self->buf, "1", 1));
	ret = store_op(self->fd, PVKIT_STORE_IOC_READ, "/local/domain/1/name",
		       self->buf, sizeof(self->buf));
	ASSERT_EQ(11, ret);
	EXPECT_EQ(0, memcmp(self->buf, "pvkit-guest", 11));
}

TEST_F(store, write_read)
{
	static const char value[] = "hello, store";
	int ret;

	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/key",
			      (void *)value, strlen(value)));
	ret = store_op(self->fd, PVKIT_STORE_IOC_READ, BASE "/key",
		       self->buf, sizeof(self->buf));
	ASSERT_EQ(strlen(value), ret);
	EXPECT_EQ(0, memcmp(self->buf, value, ret));

	/* The same node by its relative path, and an overwrite. */
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
			      "data/pvkit-selftest/key", "x", 1));
	ret = store_op(self->fd, PVKIT_STORE_IOC_READ, BASE "/key",
		       self->buf, sizeof(self->buf));
	ASSERT_EQ(1, ret);
	EXPECT_EQ('x', self->buf[0]);

	/* An empty value. */
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/empty",
			      "", 0));
	EXPECT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_READ, BASE "/empty",
			      self->buf, sizeof(self->buf)));
}

TEST_F(store, large_value)
{
	/* Longer than the 1024-byte ring, within the 2 KiB node quota. */
	static char value[2000], path[] = BASE "/large";
	int ret, i;

	for (i = 0; i < (int)sizeof(value); i++)
		value[i] = 'a' + i % 26;
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, path, value,
			      sizeof(value)));
	ret = store_op(self->fd, PVKIT_STORE_IOC_READ, path, self->buf,
		       sizeof(self->buf));
	ASSERT_EQ(sizeof(value), ret);
	EXPECT_EQ(0, memcmp(self->buf, value, sizeof(value)));
	/* The host's node size limit: its E2BIG comes through. */
	EXPECT_EQ(-E2BIG, store_op(self->fd, PVKIT_STORE_IOC_WRITE, path,
				   self->buf, 2049));
	/* A buffer too small for it. */
	EXPECT_EQ(-EOVERFLOW, store_op(self->fd, PVKIT_STORE_IOC_READ, path,
				       self->buf, 100));
}

TEST_F(store, directory)
{
	int ret;

	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/a", "1", 1));
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/bb", "2", 1));
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/bb/c",
			      "3", 1));
	ret = store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY, BASE, self->buf,
		       sizeof(self->buf));
	ASSERT_EQ(5, ret);	/* "a\0bb\0" in either order */
	EXPECT_TRUE(listed(self->buf, ret, "a"));
	EXPECT_TRUE(listed(self->buf, ret, "bb"));

	ret = store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY, BASE "/a",
		       self->buf, sizeof(self->buf));
	EXPECT_EQ(0, ret);

	ret = store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY, "/local/domain/1",
		       self->buf, sizeof(self->buf));
	ASSERT_LT(0, ret);
	EXPECT_TRUE(listed(self->buf, ret, "data"));
	EXPECT_TRUE(listed(self->buf, ret, "domid"));
}

TEST_F(store, rm)
{
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/d/e",
			      "v", 1));
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_RM, BASE "/d", NULL, 0));
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_READ,
				    BASE "/d/e", self->buf, sizeof(self->buf)));
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_READ, BASE "/d",
				    self->buf, sizeof(self->buf)));
}

TEST_F(store, missing)
{
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_READ,
				    BASE "/no-such-key", self->buf,
				    sizeof(self->buf)));
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY,
				    BASE "/no-such-dir", self->buf,
				    sizeof(self->buf)));
}

TEST_F(store, outside_domain)
{
	EXPECT_EQ(-EACCES, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				    "/local/domain/0/pvkit-selftest", "x", 1));
	EXPECT_EQ(-EACCES, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				    "/pvkit-selftest", "x", 1));
	/* The domain's own node is the host's; only its subdirectories. */
	EXPECT_EQ(-EACCES, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				    "/local/domain/1/pvkit-selftest", "x", 1));
	EXPECT_EQ(-EACCES, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				    "name", "x", 1));
}

TEST_F(store, bad_requests)
{
	static char path[PVKIT_STORE_PATH_MAX + 2];

	EXPECT_EQ(-EINVAL, store_op(self->fd, PVKIT_STORE_IOC_READ, "",
				    self->buf, sizeof(self->buf)));
	memset(path, 'p', sizeof(path) - 1);
	EXPECT_EQ(-EINVAL, store_op(self->fd, PVKIT_STORE_IOC_READ, path,
				    self->buf, sizeof(self->buf)));
	EXPECT_EQ(-E2BIG, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				   BASE "/big", self->buf, sizeof(self->buf)));
	EXPECT_EQ(-EFAULT, store_op(self->fd, PVKIT_STORE_IOC_READ,
				    (const char *)8, self->buf,
				    sizeof(self->buf)));
	/* The connection survives all of them. */
	EXPECT_EQ(1, store_op(self->fd, PVKIT_STORE_IOC_READ, "domid",
			      self->buf, sizeof(self->buf)));
}

/* Requests from several processes at once are served one at a time. */
TEST_F(store, concurrent)
{
	const int procs = 4, rounds = 50;
	int i, status, failed = 0;

	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			char path[64], val[32], got[32];
			int r, n;

			snprintf(path, sizeof(path), BASE "/proc%d", i);
			for (r = 0; r < rounds; r++) {
				n = snprintf(val, sizeof(val), "%d-%d", i, r);
				if (store_op(self->fd, PVKIT_STORE_IOC_WRITE,
					     path, val, n))
					_exit(1);
				if (store_op(self->fd, PVKIT_STORE_IOC_READ,
					     path, got, sizeof(got)) != n ||
				    memcmp(got, val, n))
					_exit(2);
			}
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		ASSERT_LT(0, wait(&status));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	EXPECT_EQ(0, failed);
}

/* A watch reports a change below its path. */
TEST_F(store, watch)
{
	pid_t pid;
	int ret, status;

	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/w",
			      "", 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Keep changing it: the watch may not be set yet. */
		for (;;) {
			store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/w/key",
				 "v", 1);
			usleep(50000);
		}
	}
	ret = store_op(self->fd, PVKIT_STORE_IOC_WATCH, BASE "/w", self->buf,
		       sizeof(self->buf));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_EQ(strlen(BASE "/w/key"), ret);
	EXPECT_STREQ(BASE "/w/key", self->buf);

	/* Nothing changes: the wait ends, the watch is gone. */
	EXPECT_EQ(-ETIMEDOUT, store_op(self->fd, PVKIT_STORE_IOC_WATCH,
				       BASE "/quiet", self->buf,
				       sizeof(self->buf)));
	/* And the connection is fine. */
	EXPECT_EQ(1, store_op(self->fd, PVKIT_STORE_IOC_READ, "domid",
			      self->buf, sizeof(self->buf)));
}

/*
 * Each watch fires once at once (xenstore semantics) and then exactly
 * once per change, in the order of the changes; nothing more.
 */
TEST_F(store, watch_fires_once_per_change)
{
	const int changes = 20;
	uint32_t id, got;
	char val[16];
	int w, i, ret;

	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/wk/a",
			      "", 0));
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/wk/b",
			      "", 0));
	w = store_watch_add(self->fd, BASE "/wk");
	ASSERT_LT(0, w) TH_LOG("watch: %s", strerror(-w));
	id = w;
	ret = store_watch_next(self->fd, self->buf, sizeof(self->buf), 2000,
			       &got);
	ASSERT_EQ(strlen(BASE "/wk"), ret) TH_LOG("initial event: %d", ret);
	EXPECT_STREQ(BASE "/wk", self->buf);
	EXPECT_EQ(id, got);

	/* Alternate between two children: the order shows in the paths. */
	for (i = 0; i < changes; i++) {
		ret = snprintf(val, sizeof(val), "%d", i);
		ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				      i % 2 ? BASE "/wk/b" : BASE "/wk/a",
				      val, ret));
	}
	for (i = 0; i < changes; i++) {
		ret = store_watch_next(self->fd, self->buf, sizeof(self->buf),
				       2000, &got);
		ASSERT_EQ(strlen(BASE "/wk/a"), ret)
			TH_LOG("event %d of %d: %d", i + 1, changes, ret);
		EXPECT_STREQ(i % 2 ? BASE "/wk/b" : BASE "/wk/a", self->buf);
		EXPECT_EQ(id, got);
	}
	/* No duplicate, no extra. */
	EXPECT_EQ(-ETIMEDOUT, store_watch_next(self->fd, self->buf,
					       sizeof(self->buf), 500, &got))
		TH_LOG("extra event: %s", self->buf);
	EXPECT_EQ(0, store_watch_del(self->fd, id));
	EXPECT_EQ(-ENOENT, store_watch_del(self->fd, id));
}

/* Two watches on one path each get each event once; unwatch stops them. */
TEST_F(store, two_watches_then_unwatch)
{
	int w1, w2, i, ret, n1 = 0, n2 = 0;
	uint32_t got;

	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/tw",
			      "", 0));
	w1 = store_watch_add(self->fd, BASE "/tw");
	w2 = store_watch_add(self->fd, BASE "/tw");
	ASSERT_LT(0, w1);
	ASSERT_LT(0, w2);
	ASSERT_NE(w1, w2);
	/* Initial events, then five changes: six events for each watch. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				      BASE "/tw", "x", 1));
	for (i = 0; i < 12; i++) {
		ret = store_watch_next(self->fd, self->buf, sizeof(self->buf),
				       2000, &got);
		ASSERT_EQ(strlen(BASE "/tw"), ret)
			TH_LOG("event %d of 12: %d", i + 1, ret);
		EXPECT_STREQ(BASE "/tw", self->buf);
		n1 += got == (uint32_t)w1;
		n2 += got == (uint32_t)w2;
	}
	EXPECT_EQ(6, n1);
	EXPECT_EQ(6, n2);
	EXPECT_EQ(-ETIMEDOUT, store_watch_next(self->fd, self->buf,
					       sizeof(self->buf), 500, &got));

	/* Without the first watch: three changes, three events of w2. */
	ASSERT_EQ(0, store_watch_del(self->fd, w1));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE,
				      BASE "/tw", "y", 1));
	for (i = 0; i < 3; i++) {
		ret = store_watch_next(self->fd, self->buf, sizeof(self->buf),
				       2000, &got);
		ASSERT_EQ(strlen(BASE "/tw"), ret);
		EXPECT_EQ((uint32_t)w2, got);
	}
	EXPECT_EQ(-ETIMEDOUT, store_watch_next(self->fd, self->buf,
					       sizeof(self->buf), 500, &got));

	/* Without either: nothing. */
	ASSERT_EQ(0, store_watch_del(self->fd, w2));
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, BASE "/tw",
			      "z", 1));
	EXPECT_EQ(-ETIMEDOUT, store_watch_next(self->fd, self->buf,
					       sizeof(self->buf), 500, &got));
}

static int read_int(int fd, uint32_t tx, const char *path, long *v)
{
	char buf[32];
	int ret = store_tx_op(fd, PVKIT_STORE_IOC_TX_READ, tx, path, buf,
			      sizeof(buf) - 1);

	if (ret < 0)
		return ret;
	buf[ret] = '\0';
	*v = strtol(buf, NULL, 10);
	return 0;
}

static int write_int(int fd, uint32_t tx, const char *path, long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld", v);

	return store_tx_op(fd, PVKIT_STORE_IOC_TX_WRITE, tx, path, buf, n);
}

/* Two transactions on one node: the first commit wins, the second EAGAIN. */
TEST_F(store, transaction_conflict_and_abort)
{
	int a, b, c;
	long v;

	ASSERT_EQ(0, write_int(self->fd, 0, BASE "/c", 0));
	a = store_tx_start(self->fd);
	b = store_tx_start(self->fd);
	ASSERT_LT(0, a) TH_LOG("start: %s", strerror(-a));
	ASSERT_LT(0, b);
	ASSERT_NE(a, b);
	ASSERT_EQ(0, read_int(self->fd, a, BASE "/c", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, read_int(self->fd, b, BASE "/c", &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, write_int(self->fd, a, BASE "/c", 1));
	ASSERT_EQ(0, write_int(self->fd, b, BASE "/c", 2));
	/* Inside: its own write; outside: nothing before the commit. */
	ASSERT_EQ(0, read_int(self->fd, a, BASE "/c", &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/c", &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, store_tx_end(self->fd, a, 1));
	EXPECT_EQ(-EAGAIN, store_tx_end(self->fd, b, 1));
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/c", &v));
	EXPECT_EQ(1, v);
	/* Ended transactions are gone. */
	EXPECT_EQ(-ENOENT, store_tx_end(self->fd, b, 1));
	EXPECT_EQ(-ENOENT, write_int(self->fd, a, BASE "/c", 3));

	/* Abort drops everything: a write, a new directory, a removal. */
	c = store_tx_start(self->fd);
	ASSERT_LT(0, c);
	ASSERT_EQ(0, write_int(self->fd, c, BASE "/c", 9));
	ASSERT_EQ(0, write_int(self->fd, c, BASE "/cd/x", 1));
	EXPECT_EQ(2, store_tx_op(self->fd, PVKIT_STORE_IOC_TX_DIRECTORY, c,
				 BASE "/cd", self->buf, sizeof(self->buf)));
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY,
				    BASE "/cd", self->buf, sizeof(self->buf)));
	/*
	 * (Inside the transaction QEMU's engine still finds a node removed
	 * in it, with no value; only what the others see is checked.)
	 */
	EXPECT_EQ(0, store_tx_op(self->fd, PVKIT_STORE_IOC_TX_RM, c, BASE "/c",
				 NULL, 0));
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/c", &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(0, store_tx_end(self->fd, c, 0));
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/c", &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-ENOENT, store_op(self->fd, PVKIT_STORE_IOC_DIRECTORY,
				    BASE "/cd", self->buf, sizeof(self->buf)));

	/* A commit applies the same kind of changes. */
	c = store_tx_start(self->fd);
	ASSERT_LT(0, c);
	ASSERT_EQ(0, write_int(self->fd, c, BASE "/cd/x", 5));
	EXPECT_EQ(0, store_tx_op(self->fd, PVKIT_STORE_IOC_TX_RM, c, BASE "/c",
				 NULL, 0));
	EXPECT_EQ(0, store_tx_end(self->fd, c, 1));
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/cd/x", &v));
	EXPECT_EQ(5, v);
	EXPECT_EQ(-ENOENT, read_int(self->fd, 0, BASE "/c", &v));
}

/*
 * Add 1 to the number at @path in a read-increment-write transaction,
 * pausing @pause_us between read and write so that concurrent callers
 * collide; a commit that says EAGAIN is redone and counted in
 * *@conflicts.  Returns 0, or the step that failed (2 start, 3 read,
 * 4 write, 5 commit) as a child's exit status.
 */
static int tx_increment(int fd, const char *path, int pause_us,
			long *conflicts)
{
	long val;
	int tx, ret;

	do {
		tx = store_tx_start(fd);
		if (tx <= 0)
			return 2;
		if (read_int(fd, tx, path, &val))
			return 3;
		usleep(pause_us);
		if (write_int(fd, tx, path, val + 1))
			return 4;
		ret = store_tx_end(fd, tx, 1);
		if (ret == -EAGAIN)
			(*conflicts)++;
		else if (ret)
			return 5;
	} while (ret == -EAGAIN);
	return 0;
}

/*
 * Two processes each add 1 to a counter K times in read-increment-write
 * transactions, redoing a transaction whose commit says EAGAIN.  Every
 * increment lands exactly once, and the processes did get in each
 * other's way (the pause between read and write makes that certain).
 */
TEST_F(store, transactions_concurrent_increments)
{
	const int procs = 2, rounds = 30;
	long v, conflicts = 0, n;
	int i, status, failed = 0, pipefd[2];

	ASSERT_EQ(0, write_int(self->fd, 0, BASE "/ctr", 0));
	ASSERT_EQ(0, pipe(pipefd));
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			int fd = open(STORE_DEV, O_RDWR), r, ret;
			long mine = 0;

			if (fd < 0)
				_exit(1);
			for (r = 0; r < rounds; r++) {
				ret = tx_increment(fd, BASE "/ctr", 1000, &mine);
				if (ret)
					_exit(ret);
			}
			if (write(pipefd[1], &mine, sizeof(mine)) !=
			    sizeof(mine))
				_exit(6);
			_exit(0);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < procs; i++) {
		ASSERT_LT(0, wait(&status));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("child exit status %d", WEXITSTATUS(status));
			failed++;
		}
	}
	while (read(pipefd[0], &n, sizeof(n)) == sizeof(n))
		conflicts += n;
	close(pipefd[0]);
	EXPECT_EQ(0, failed);
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/ctr", &v));
	TH_LOG("counter %ld after %d x %d increments, %ld EAGAIN retries",
	       v, procs, rounds, conflicts);
	EXPECT_EQ(procs * rounds, v);
	EXPECT_LE(1, conflicts);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the client's debugfs directory there (mounting debugfs if need be)? */
static int store_debugfs(void)
{
	if (!access(STORE_DBG "/stats", R_OK))
		return 1;
	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	return !access(STORE_DBG "/stats", R_OK);
}

/* One counter of STORE_DBG/stats ("name value" lines), or -1. */
static long store_stat(const char *name)
{
	char key[64];
	long v, ret = -1;
	FILE *f = fopen(STORE_DBG "/stats", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			ret = v;
	fclose(f);
	return ret;
}

/* @n reads of "domid" on a file of its own; 0 when all were right. */
static int read_domid(int n)
{
	int fd = open(STORE_DEV, O_RDWR), i, bad = 0;
	char buf[16];

	if (fd < 0)
		return 1;
	for (i = 0; i < n; i++)
		bad += store_op(fd, PVKIT_STORE_IOC_READ, "domid", buf,
				sizeof(buf)) != 1 || buf[0] != '1';
	close(fd);
	return bad;
}

/*
 * Requests of different processes are in flight at once: each waits for
 * its own reply, not for the others'.  What is asserted is the client's
 * count of requests sent while another was in flight, which does not
 * depend on timing; the times of 4 x 100 reads in parallel and of 400 in
 * a row are only reported.
 */
TEST_F(store, parallel_requests_overlap)
{
	const int procs = 4, reads = 100;
	long before, after, t0, parallel, serial;
	int i, status, failed = 0;

	if (!store_debugfs())
		SKIP(return, "no %s", STORE_DBG);
	before = store_stat("overlapped");
	ASSERT_LE(0, before);
	t0 = now_ms();
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid)
			_exit(read_domid(reads) ? 1 : 0);
	}
	for (i = 0; i < procs; i++) {
		ASSERT_LT(0, wait(&status));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	parallel = now_ms() - t0;
	after = store_stat("overlapped");
	t0 = now_ms();
	EXPECT_EQ(0, read_domid(procs * reads));
	serial = now_ms() - t0;
	EXPECT_EQ(0, failed);
	TH_LOG("%d x %d reads: %ld ms in parallel, %ld ms in a row",
	       procs, reads, parallel, serial);
	TH_LOG("%ld sent while another was in flight, at most %ld at once",
	       after - before, store_stat("in_flight_max"));
	EXPECT_LT(0, after - before);
}

/*
 * Four processes add 1 to a counter in read-increment-write transactions
 * (redone on EAGAIN) while a watch on it fires for every commit and its
 * events are read: no deadlock (all done within a bound), every increment
 * lands once, and every commit's event arrives.
 */
TEST_F_TIMEOUT(store, transactions_while_watches_fire, 180)
{
	const int procs = 4, rounds = 15, bound_ms = 120000;
	int i, status, left = procs, failed = 0, w, ret, events = 0;
	pid_t pid, pids[4];
	long v, t0;

	ASSERT_EQ(0, write_int(self->fd, 0, BASE "/tw/ctr", 0));
	w = store_watch_add(self->fd, BASE "/tw");
	ASSERT_LT(0, w);
	for (i = 0; i < procs; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		pids[i] = pid;
		if (!pid) {
			int fd = open(STORE_DEV, O_RDWR), r;
			long conflicts = 0;

			if (fd < 0)
				_exit(1);
			for (r = 0; r < rounds; r++) {
				ret = tx_increment(fd, BASE "/tw/ctr", 500,
						   &conflicts);
				if (ret)
					_exit(ret);
			}
			_exit(0);
		}
	}
	t0 = now_ms();
	while (left && now_ms() - t0 < bound_ms) {
		ret = store_watch_next(self->fd, self->buf, sizeof(self->buf),
				       100, NULL);
		if (ret > 0)
			events++;
		else if (ret != -ETIMEDOUT)
			TH_LOG("watch read: %s", strerror(-ret));
		while (left && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
			left--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				TH_LOG("child exit status %d",
				       WEXITSTATUS(status));
				failed++;
			}
		}
	}
	if (left) {
		for (i = 0; i < procs; i++)
			kill(pids[i], SIGKILL);
		ASSERT_EQ(0, left) TH_LOG("not done after %d ms", bound_ms);
	}
	while ((ret = store_watch_next(self->fd, self->buf, sizeof(self->buf),
				       1000, NULL)) > 0)
		events++;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_EQ(0, failed);
	ASSERT_EQ(0, read_int(self->fd, 0, BASE "/tw/ctr", &v));
	EXPECT_EQ(procs * rounds, v);
	/* The initial event, then one per commit. */
	EXPECT_EQ(1 + procs * rounds, events);
	TH_LOG("%ld increments in %ld ms, %d watch events", v, now_ms() - t0,
	       events);
	EXPECT_EQ(0, store_watch_del(self->fd, w));
}

/*
 * A watch callback sets another watch, whose callback removes its own
 * watch (the client's debugfs check does this in the kernel): neither
 * deadlocks, and each callback runs.
 */
TEST_F(store, watch_callback_sets_watch)
{
	static const char path[] = BASE "/nest";
	int fd, ret;

	if (!store_debugfs())
		SKIP(return, "no %s", STORE_DBG);
	ASSERT_EQ(0, store_op(self->fd, PVKIT_STORE_IOC_WRITE, path, "", 0));
	fd = open(STORE_DBG "/watch_nesting", O_WRONLY);
	ASSERT_LE(0, fd);
	ret = write(fd, path, strlen(path));
	EXPECT_EQ((int)strlen(path), ret) TH_LOG("%s", strerror(errno));
	close(fd);
	/* And the connection is fine. */
	EXPECT_EQ(1, store_op(self->fd, PVKIT_STORE_IOC_READ, "domid",
			      self->buf, sizeof(self->buf)));
}

TEST_HARNESS_MAIN
