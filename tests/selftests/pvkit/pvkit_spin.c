// SPDX-License-Identifier: GPL-2.0
/*
 * Paravirtual spinlocks (SPEC section 15) under the kernel's own lock
 * torture test: on a guest with more vCPUs than the host has CPUs, the
 * spinlock and mutex runs of locktorture must end in SUCCESS with no
 * failed acquisition, and with the kit's spinlocks on, waiters must
 * really have parked in the host and been kicked (the guest's counters
 * of SPIN_WAIT and SPIN_KICK); with "pvkit_spin=off" (native queued
 * spinlocks) none are made.  Each run's throughput is logged for the
 * overcommit benchmark.  The stage that overcommits says so
 * ("pvkit_test_host_cpus=N"); elsewhere the runs skip (tests/
 * expected-skips.txt).
 */
#define _GNU_SOURCE
#include <sys/klog.h>

#include "../kselftest_harness.h"
#include "pvkit_util.h"

/* No state: a fixture only for the per-test timeouts. */
FIXTURE(spin) {};
FIXTURE_SETUP(spin) {}
FIXTURE_TEARDOWN(spin) {}

#define SYSFS_HV	"/sys/hypervisor/pvkit/"
#define RUN_S		10
#define LOG_SIZE	(1 << 20)
#define SYSLOG_READ_ALL	3

static bool spin_off_asked(void)
{
	return cmdline_has("pvkit_spin=off");
}

static long counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS_HV "%s", name);
	return read_long(path);
}

TEST(spinlocks_park_in_the_host_unless_switched_off)
{
	char state[128];

	ASSERT_LT(0, read_file(SYSFS_HV "spinlocks", state, sizeof(state)));
	TH_LOG("spinlocks: %s", state);
	EXPECT_STREQ(spin_off_asked() ? "off: pvkit_spin=off" : "on", state);
}

/*
 * The last line of the kernel log that holds @what, after the last
 * "<type>-torture:--- Start of test" line, into @line; 0 or -1.
 */
static int torture_line(const char *type, const char *what, char *line,
			size_t len)
{
	char *log = malloc(LOG_SIZE), *p, *start, *hit = NULL, mark[64];
	int n;

	if (!log)
		return -1;
	n = klogctl(SYSLOG_READ_ALL, log, LOG_SIZE - 1);
	if (n < 0) {
		free(log);
		return -1;
	}
	log[n] = '\0';
	snprintf(mark, sizeof(mark), "%s-torture:--- Start of test", type);
	start = log;
	for (p = strstr(log, mark); p; p = strstr(p + 1, mark))
		start = p;
	for (p = strstr(start, what); p; p = strstr(p + 1, what))
		hit = p;
	if (hit) {
		n = strcspn(hit, "\n");
		snprintf(line, len, "%.*s", n, hit);
	}
	free(log);
	return hit ? 0 : -1;
}

/* Writes: Total: N ... Fail: F of the last run of @type; -1 unknown. */
static long long torture_writes(const char *type, int *fail)
{
	char line[512];
	long long total;
	char *f;

	if (torture_line(type, "Writes:  Total:", line, sizeof(line)) ||
	    sscanf(line, "Writes:  Total: %lld", &total) != 1)
		return -1;
	f = strstr(line, "Fail: ");
	*fail = f ? atoi(f + 6) : -1;
	return total;
}

/* Run locktorture with @type for RUN_S seconds; 0 or -1. */
static int torture_run(const char *type)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "modprobe locktorture torture_type=%s stat_interval=0 stutter=0 shuffle_interval=0",
		 type);
	if (system(cmd))
		return -1;
	sleep(RUN_S);
	return system("rmmod locktorture") ? -1 : 0;
}

static void torture_check(struct __test_metadata *_metadata, const char *type)
{
	long waits = counter("spin_waits"), parks = counter("spin_parks");
	long kicks = counter("spin_kicks");
	char end[512];
	long long writes;
	int fail = -1;

	if (cmdline_long("pvkit_test_host_cpus", 0) <= 0)
		SKIP(return, "no pvkit_test_host_cpus=N: the pvops stage overcommits");
	ASSERT_LE(0, waits);
	ASSERT_EQ(0, torture_run(type)) TH_LOG("locktorture %s", type);
	waits = counter("spin_waits") - waits;
	parks = counter("spin_parks") - parks;
	kicks = counter("spin_kicks") - kicks;
	ASSERT_EQ(0, torture_line(type, "End of test:", end, sizeof(end)));
	writes = torture_writes(type, &fail);
	TH_LOG("%s: %lld writes in %d s (%lld/s), spinlocks %s: %ld waits, %ld parked, %ld kicks",
	       type, writes, RUN_S, writes / RUN_S,
	       spin_off_asked() ? "native" : "kit", waits, parks, kicks);
	TH_LOG("%s", strstr(end, "End of test:"));
	EXPECT_TRUE(strstr(end, "End of test: SUCCESS") != NULL);
	EXPECT_LT(0, writes);
	EXPECT_EQ(0, fail);
	if (spin_off_asked()) {
		EXPECT_EQ(0, waits + kicks);
	} else if (!strcmp(type, "spin_lock")) {
		/* Eight writers on four vCPUs over two host CPUs contend. */
		EXPECT_LT(0, parks);
		EXPECT_LT(0, kicks);
	}
}

TEST_F_TIMEOUT(spin, locktorture_spin_lock_overcommitted, 120)
{
	torture_check(_metadata, "spin_lock");
}

TEST_F_TIMEOUT(spin, locktorture_mutex_lock_overcommitted, 120)
{
	torture_check(_metadata, "mutex_lock");
}

TEST_HARNESS_MAIN
