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
#include <sched.h>

#include "../kselftest_harness.h"
#include "pvkit_util.h"

#define STEAL_SYSFS	"/sys/hypervisor/pvkit/steal"
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
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
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

TEST_HARNESS_MAIN
