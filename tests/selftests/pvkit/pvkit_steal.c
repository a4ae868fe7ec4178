// SPDX-License-Identifier: GPL-2.0
/*
 * Steal time (SPEC section 14) as user space sees it: the "steal" column
 * of /proc/stat.  With vCPUs all busy and more of them than the host has
 * CPUs, the host's scheduler must keep some waiting, and the guest must
 * see that time as stolen; with "pvkit_steal=off" it sees none.
 *
 * The stage that runs this says how many CPUs the host has
 * ("pvkit_test_host_cpus=N" on the command line); without that the
 * overcommit test cannot tell what to expect and skips (tests/
 * expected-skips.txt: it runs in the pvops stage).
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "../kselftest_harness.h"
#include "pvkit_util.h"

#define STEAL_SYSFS	"/sys/hypervisor/pvkit/steal"
#define PREEMPTED_SYSFS	"/sys/hypervisor/pvkit/preempted"
#define BUSY_MS		3000
#define MAX_CPUS	64

static bool steal_off_asked(void)
{
	return cmdline_has("pvkit_steal=off");
}

/* Sum of the steal column of /proc/stat's "cpu" line, in ms. */
static long long steal_ms(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	return n == 8 ? (long long)v[7] * 1000 / hz : -1;
}

TEST(steal_time_is_counted_unless_switched_off)
{
	char state[128];

	ASSERT_LT(0, read_file(STEAL_SYSFS, state, sizeof(state)));
	TH_LOG("steal time: %s", state);
	EXPECT_STREQ(steal_off_asked() ? "off: pvkit_steal=off" : "on", state);
}

struct spinner {
	pthread_t thread;
	int cpu;
	long long until;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;

	pin_to_cpu(s->cpu);
	while (now_ms() < s->until)
		;
	return NULL;
}

/*
 * Every vCPU busy for BUSY_MS.  n vCPUs on h < n host CPUs can run at
 * most h/n of the time: the rest, (n - h)/n, is stolen.  Expect at least
 * half of that (the host runs other threads too, and a vCPU thread may
 * leave its CPU for the BQL); with steal time off, none.
 */
TEST(busy_overcommitted_vcpus_see_steal)
{
	struct spinner s[MAX_CPUS];
	long host_cpus = cmdline_long("pvkit_test_host_cpus", 0);
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), i;
	long long before, stolen, busy, expect;

	if (host_cpus <= 0)
		SKIP(return, "no pvkit_test_host_cpus=N: the stage says how many");
	ASSERT_LT(0, cpus);
	if (cpus > MAX_CPUS)
		cpus = MAX_CPUS;
	before = steal_ms();
	ASSERT_LE(0, before);
	for (i = 0; i < cpus; i++) {
		s[i] = (struct spinner){ .cpu = i, .until = now_ms() + BUSY_MS };
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, spin, &s[i]));
	}
	for (i = 0; i < cpus; i++)
		pthread_join(s[i].thread, NULL);
	stolen = steal_ms() - before;
	busy = (long long)cpus * BUSY_MS;
	expect = cpus > host_cpus ? busy * (cpus - host_cpus) / cpus / 2 : 0;
	TH_LOG("%d vCPUs busy for %d ms on %ld host CPUs: %lld ms of %lld stolen",
	       cpus, BUSY_MS, host_cpus, stolen, busy);
	if (steal_off_asked()) {
		expect = 0;
		EXPECT_GE(0, stolen);
	}
	TH_LOG("expected at least %lld ms", expect);
	EXPECT_LE(expect, stolen);
	/* Stolen time is never more than the time there was. */
	EXPECT_GE(busy, stolen);
}

/* All vCPUs' run delay as the host counts it now (ns), or -1. */
static long long host_run_delay(int fd, int cpus)
{
	long long sum = 0;
	int64_t ns;
	int c;

	for (c = 0; c < cpus; c++) {
		ns = pvkit_hcall(fd, PVKIT_HC_TEST_RUN_DELAY, 0, cpu_apicid(c), 0,
				 0, 0, 0);
		if (ns < 0)
			return -1;
		sum += ns;
	}
	return sum;
}

/* Keep @busy vCPUs (0..@busy-1) busy for BUSY_MS. */
static void keep_busy(int busy)
{
	struct spinner s[MAX_CPUS];
	int i;

	for (i = 0; i < busy; i++) {
		s[i] = (struct spinner){ .cpu = i, .until = now_ms() + BUSY_MS };
		if (pthread_create(&s[i].thread, NULL, spin, &s[i]))
			s[i].thread = 0;
	}
	for (i = 0; i < busy; i++) {
		if (s[i].thread)
			pthread_join(s[i].thread, NULL);
	}
}

/*
 * /proc/stat's steal against the host's own run delay for the vCPUs'
 * threads (TEST_RUN_DELAY), over a busy period: within 10% (and a tick
 * per CPU for /proc/stat's resolution and the record's age).  @busy
 * vCPUs busy: all of them overcommit the host; one leaves it mostly
 * idle, and then both are close to nothing.  With steal time off the
 * guest counts none whatever the host says.
 */
static void steal_against_host(struct __test_metadata *_metadata, int busy)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), fd;
	long long guest, host, slack;

	fd = open("/dev/pvkit_test", O_RDWR);
	if (fd < 0)
		SKIP(return, "no /dev/pvkit_test (load pvkit_test)");
	if (cpus > MAX_CPUS)
		cpus = MAX_CPUS;
	if (busy > cpus)
		busy = cpus;
	guest = steal_ms();
	host = host_run_delay(fd, cpus);
	if (host < 0)
		SKIP(return, "the host does not say its run delay (no F_STEAL)");
	keep_busy(busy);
	/* Let the last tick's steal reach /proc/stat. */
	sleep_ms(100);
	guest = steal_ms() - guest;
	host = (host_run_delay(fd, cpus) - host) / 1000000;
	close(fd);
	slack = host / 10 + 2 * 10 * cpus;
	TH_LOG("%d of %d vCPUs busy for %d ms: guest steal %lld ms, host run delay %lld ms",
	       busy, cpus, BUSY_MS, guest, host);
	if (steal_off_asked()) {
		EXPECT_GE(0, guest);
		return;
	}
	EXPECT_LE(host - slack, guest);
	EXPECT_GE(host + slack, guest);
}

TEST(steal_agrees_with_the_hosts_run_delay_all_busy)
{
	steal_against_host(_metadata, MAX_CPUS);
}

TEST(steal_agrees_with_the_hosts_run_delay_one_busy)
{
	steal_against_host(_metadata, 1);
}

/*
 * The host holds a vCPU stopped (TEST_HOLD): meanwhile its steal record
 * says preempted (/sys/hypervisor/pvkit/preempted lists it), and not
 * once it runs again.
 */
TEST(a_held_vcpu_is_preempted)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), fd, last = cpus - 1;
	char during[64], after[64];
	int64_t ret;

	if (cpus < 2)
		SKIP(return, "one CPU: none to hold");
	fd = open("/dev/pvkit_test", O_RDWR);
	if (fd < 0)
		SKIP(return, "no /dev/pvkit_test (load pvkit_test)");
	/* Not from the CPU to hold: the host holds any vCPU but the caller. */
	ASSERT_EQ(0, pin_to_cpu(0));
	ret = pvkit_hcall(fd, PVKIT_HC_TEST_HOLD, 0, cpu_apicid(last), 1000, 0,
			  0, 0);
	close(fd);
	ASSERT_EQ(0, ret);
	sleep_ms(200);
	ASSERT_LE(0, read_file(PREEMPTED_SYSFS, during, sizeof(during)));
	sleep_ms(1500);
	ASSERT_LE(0, read_file(PREEMPTED_SYSFS, after, sizeof(after)));
	TH_LOG("CPU %d held: preempted \"%s\", after: \"%s\"", last, during,
	       after);
	if (steal_off_asked()) {
		EXPECT_STREQ("", during);
		return;
	}
	/* Other vCPUs may be preempted too, by the host's scheduler. */
	EXPECT_TRUE(cpulist_has(during, last));
	EXPECT_FALSE(cpulist_has(after, last));
}

TEST_HARNESS_MAIN
