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
#include <sys/wait.h>
#include <unistd.h>

#include <linux/pvkit.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"

#define BASE		"/local/domain/1/data/pvkit-selftest"

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

TEST_HARNESS_MAIN
