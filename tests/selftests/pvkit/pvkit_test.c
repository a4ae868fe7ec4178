// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit selftests: detection, the ABI the host announces, and every
 * hypercall with its error paths.  Hypercalls are issued through
 * /dev/pvkit_test (CONFIG_PVKIT_TEST); CPUID is read directly so sysfs
 * can be checked against what the host really announced.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/pvkit.h>
#include <linux/pvkit_test.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"
#include "pvkit_util.h"

#define SYSFS_HV	"/sys/hypervisor"
#define TEST_DEV	"/dev/pvkit_test"

/* Guest-physical addresses no host may let a guest touch. */
#define GPA_NOWHERE	(1ULL << 50)		/* beyond any guest RAM */
#define GPA_WRAPS	(~0ULL - 8)		/* gpa + len overflows */
#define GPA_LAPIC	0xfee00000ULL		/* device MMIO */
#define GPA_BIOS	0xfffff000ULL		/* read-only firmware */

struct cpuid_info {
	uint32_t base;
	uint32_t abi;
	uint64_t features;
	uint32_t msr;
};

/* The same scan the kernel does: 0x40000000..0x4000ff00, 0x100 apart. */
static int find_pvkit_cpuid(struct cpuid_info *ci)
{
	uint32_t base, eax, sig[3];

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		__cpuid(base, eax, sig[0], sig[1], sig[2]);
		if (memcmp(sig, PVKIT_CPUID_SIGNATURE, 12) ||
		    eax - base < PVKIT_CPUID_INFO)
			continue;
		ci->base = base;
		__cpuid(base + PVKIT_CPUID_INFO, eax, sig[0], sig[1], sig[2]);
		ci->abi = eax;
		ci->features = ((uint64_t)sig[1] << 32) | sig[0];
		ci->msr = sig[2];
		return 0;
	}
	return -1;
}

static int read_sysfs(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int64_t hcall(int fd, uint32_t nr, uint32_t flags, uint64_t a0,
		     uint64_t a1, uint64_t a2, uint64_t a3)
{
	return pvkit_hcall(fd, nr, flags, a0, a1, a2, a3, 0);
}

FIXTURE(pvkit) {
	struct cpuid_info ci;
	int fd;
};

FIXTURE_SETUP(pvkit)
{
	char type[32];

	self->fd = -1;
	if (read_sysfs(SYSFS_HV "/type", type, sizeof(type)) ||
	    strcmp(type, "pvkit"))
		SKIP(return, "not running on a pvkit host");
	ASSERT_EQ(0, find_pvkit_cpuid(&self->ci))
		TH_LOG("sysfs says pvkit but CPUID has no pvkit signature");
	self->fd = open(TEST_DEV, O_RDWR);
	ASSERT_LE(0, self->fd)
		TH_LOG("%s: %s (is pvkit_test loaded?)", TEST_DEV,
		       strerror(errno));
}

FIXTURE_TEARDOWN(pvkit)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(pvkit, sysfs_matches_cpuid)
{
	char buf[64], want[64];

	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/pvkit/cpuid_base", buf,
				sizeof(buf)));
	snprintf(want, sizeof(want), "%#x", self->ci.base);
	EXPECT_STREQ(want, buf);

	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/pvkit/abi_version", buf,
				sizeof(buf)));
	snprintf(want, sizeof(want), "%u.%u", self->ci.abi >> 16,
		 self->ci.abi & 0xffff);
	EXPECT_STREQ(want, buf);

	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/pvkit/features", buf,
				sizeof(buf)));
	EXPECT_EQ(self->ci.features, strtoull(buf, NULL, 0));

	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/pvkit/hypercalls", buf,
				sizeof(buf)));
	EXPECT_STREQ("1", buf);
}

/* KVM's signature anywhere in the hypervisor range, as the kernel scans. */
static int kvm_present(void)
{
	uint32_t base, eax, sig[3];

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		__cpuid(base, eax, sig[0], sig[1], sig[2]);
		if (!memcmp(sig, "KVMKVMKVM\0\0\0", 12))
			return 1;
	}
	return 0;
}

/*
 * Next to KVM the kit layers on top of it instead of claiming the
 * platform; "pvkit_layered" on the command line takes that path anyway.
 * Either way the kit's interface is the same.
 */
TEST_F(pvkit, layered_exactly_with_kvm_or_when_asked)
{
	char buf[64], cmdline[4096];
	int asked, want;

	ASSERT_EQ(0, read_sysfs("/proc/cmdline", cmdline, sizeof(cmdline)));
	asked = strstr(cmdline, "pvkit_layered") != NULL;
	want = asked || kvm_present();
	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/pvkit/layered", buf, sizeof(buf)));
	TH_LOG("KVM %s, pvkit_layered %s: layered %s", kvm_present() ?
	       "present" : "absent", asked ? "given" : "not given", buf);
	EXPECT_EQ(want, atoi(buf));
	ASSERT_EQ(0, read_sysfs(SYSFS_HV "/type", buf, sizeof(buf)));
	EXPECT_STREQ("pvkit", buf);
}

/*
 * Everything the reference host offers as the suite runs it (make check
 * turns test-hypercalls on).  The tests of one feature skip on a host
 * without it; here a missing feature fails, so a host that lost one
 * cannot pass as a run of skips.
 */
TEST_F(pvkit, abi_is_supported)
{
	EXPECT_EQ(PVKIT_ABI_MAJOR, self->ci.abi >> 16);
	EXPECT_EQ(PVKIT_MSR_HYPERCALL_PAGE, self->ci.msr);
	EXPECT_TRUE(self->ci.features & PVKIT_F_HYPERCALL_PAGE);
	EXPECT_TRUE(self->ci.features & PVKIT_F_CONSOLE);
	EXPECT_TRUE(self->ci.features & PVKIT_F_TEST);
	EXPECT_TRUE(self->ci.features & PVKIT_F_EVTCHN);
	EXPECT_TRUE(self->ci.features & PVKIT_F_GNTTAB);
	EXPECT_TRUE(self->ci.features & PVKIT_F_STORE);
	EXPECT_TRUE(self->ci.features & PVKIT_F_VCPU);
}

TEST_F(pvkit, version_hypercall)
{
	EXPECT_EQ((int64_t)self->ci.abi,
		  hcall(self->fd, PVKIT_HC_VERSION, 0, 0, 0, 0, 0));
}

TEST_F(pvkit, features_hypercall)
{
	EXPECT_EQ((int64_t)(self->ci.features & INT64_MAX),
		  hcall(self->fd, PVKIT_HC_FEATURES, 0, 0, 0, 0, 0));
}

TEST_F(pvkit, echo_sums_all_arguments)
{
	uint64_t a[4];
	int i, j;

	EXPECT_EQ(10, hcall(self->fd, PVKIT_HC_TEST_ECHO, 0, 1, 2, 3, 4));
	/* 32-bit wrap: 0xffffffff + 1 is 0. */
	EXPECT_EQ(0, hcall(self->fd, PVKIT_HC_TEST_ECHO, 0,
			   0xffffffff, 1, 0, 0));
	srand(getpid());
	for (i = 0; i < 1000; i++) {
		uint64_t sum = 0;

		for (j = 0; j < 4; j++) {
			a[j] = ((uint64_t)rand() << 33) ^ rand();
			sum += a[j];
		}
		ASSERT_EQ((int64_t)(sum & 0xffffffff),
			  hcall(self->fd, PVKIT_HC_TEST_ECHO, 0,
				a[0], a[1], a[2], a[3]));
	}
}

TEST_F(pvkit, unknown_numbers_host_enosys)
{
	static const uint32_t nrs[] = {
		PVKIT_HC_COUNT, 0x1000, 0x7fffffff, 0xffffffff,
	};
	unsigned int i;

	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		EXPECT_EQ(-PVKIT_ENOSYS, hcall(self->fd, nrs[i],
					       PVKIT_TEST_UNTABLED,
					       1, 2, 3, 4))
			TH_LOG("nr %#x", nrs[i]);
}

TEST_F(pvkit, unknown_numbers_guest_eopnotsupp)
{
	/* Numbers the hypercall page did not describe never leave the guest. */
	EXPECT_EQ(-EOPNOTSUPP, hcall(self->fd, PVKIT_HC_COUNT, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EOPNOTSUPP, hcall(self->fd, 0xffffffff, 0, 0, 0, 0, 0));
}

TEST_F(pvkit, copy_round_trip)
{
	static const uint32_t lens[] = { 1, 17, 512, 4096 };
	unsigned char src[4096], dst[4096];
	struct pvkit_test_copy cp;
	unsigned int i, k;

	srand(getpid());
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (i = 0; i < sizeof(src); i++)
			src[i] = rand();
		memset(dst, 0xaa, sizeof(dst));
		memset(&cp, 0, sizeof(cp));
		cp.src = (uintptr_t)src;
		cp.dst = (uintptr_t)dst;
		cp.len = lens[k];
		ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_COPY, &cp));
		EXPECT_EQ(lens[k], cp.result);
		EXPECT_EQ(0, memcmp(src, dst, lens[k]))
			TH_LOG("len %u: data differs", lens[k]);
	}

	memset(&cp, 0, sizeof(cp));
	cp.src = (uintptr_t)src;
	cp.dst = (uintptr_t)dst;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_COPY, &cp));
	EXPECT_EQ(0, cp.result);
}

TEST_F(pvkit, copy_oversize_e2big)
{
	EXPECT_EQ(-PVKIT_E2BIG, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				      0, 0, PVKIT_HC_MAX_LEN + 1, 0));
	EXPECT_EQ(-PVKIT_E2BIG, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				      0, 0, ~0ULL, 0));
}

TEST_F(pvkit, copy_bad_addresses_efault)
{
	/* Guest-physical page 0 is RAM the kernel never uses. */
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       GPA_NOWHERE, 0, 16, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       0, GPA_NOWHERE, 16, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       GPA_WRAPS, 0, 16, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       0, GPA_WRAPS, 16, 0));
	/* The host must not read or write devices on a guest's behalf. */
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       GPA_LAPIC, 0, 16, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       0, GPA_LAPIC, 16, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_TEST_COPY, 0,
				       0, GPA_BIOS, 16, 0));
}

TEST_F(pvkit, console_errors)
{
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_CONSOLE_WRITE, 0,
				       GPA_NOWHERE, 16, 0, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_CONSOLE_WRITE, 0,
				       GPA_WRAPS, 16, 0, 0));
	EXPECT_EQ(-PVKIT_E2BIG, hcall(self->fd, PVKIT_HC_CONSOLE_WRITE, 0,
				      0, PVKIT_HC_MAX_LEN + 1, 0, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_CONSOLE_READ, 0,
				       GPA_NOWHERE, 16, 0, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_CONSOLE_READ, 0,
				       GPA_BIOS, 16, 0, 0));
	EXPECT_EQ(-PVKIT_E2BIG, hcall(self->fd, PVKIT_HC_CONSOLE_READ, 0,
				      0, PVKIT_HC_MAX_LEN + 1, 0, 0));
}

TEST_F(pvkit, test_device_rejects_bad_requests)
{
	struct pvkit_test_hypercall hc = { .flags = 0x80000000 };
	struct pvkit_test_copy cp = { .len = 4097 };

	EXPECT_EQ(-1, ioctl(self->fd, PVKIT_TEST_IOC_HYPERCALL, &hc));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, PVKIT_TEST_IOC_COPY, &cp));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(PVKIT_TEST_IOC_MAGIC, 99)));
	EXPECT_EQ(ENOTTY, errno);
}

static int has_evtchn(struct cpuid_info *ci)
{
	return !!(ci->features & PVKIT_F_EVTCHN);
}

/*
 * Ping-pong through the host's echo endpoint: every send must come back
 * exactly once.  PVKIT_EVTCHN_ROUNDS overrides the 1,000,000 rounds.
 */
TEST_F_TIMEOUT(pvkit, evtchn_echo_none_lost_or_duplicated, 600)
{
	struct pvkit_test_evtchn ev = { .rounds = 1000000, .timeout_ms = 1000 };
	const char *env = getenv("PVKIT_EVTCHN_ROUNDS");

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (env)
		ev.rounds = strtoul(env, NULL, 0);
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_EVTCHN_ECHO, &ev))
		TH_LOG("ioctl: %s", strerror(errno));
	EXPECT_EQ(0, ev.result);
	EXPECT_EQ(ev.rounds, ev.sent);
	EXPECT_EQ(0, ev.lost);
	EXPECT_EQ(ev.sent, ev.received);
	TH_LOG("%u rounds: sent %llu received %llu lost %llu", ev.rounds,
	       (unsigned long long)ev.sent, (unsigned long long)ev.received,
	       (unsigned long long)ev.lost);
}

TEST_F(pvkit, evtchn_masked_port_stays_pending)
{
	struct pvkit_test_evtchn_mask mk = { .sends = 3 };

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_EVTCHN_MASK, &mk))
		TH_LOG("ioctl: %s", strerror(errno));
	EXPECT_EQ(0, mk.result);
	EXPECT_EQ(0, mk.received_while_masked);
	EXPECT_EQ(1, mk.pending_while_masked);
	/* Three sends while masked coalesce into one event. */
	EXPECT_EQ(1, mk.received_after_unmask);
}

TEST_F(pvkit, evtchn_port_lifecycle_and_errors)
{
	int64_t port, st;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");

	port = hcall(self->fd, PVKIT_HC_EVTCHN_ALLOC_UNBOUND, 0, 0, 0, 0, 0);
	ASSERT_LT(0, port);
	ASSERT_GT(PVKIT_EVTCHN_PORTS, port);
	st = hcall(self->fd, PVKIT_HC_EVTCHN_STATUS, 0, port, 0, 0, 0);
	EXPECT_EQ(PVKIT_EVTCHN_UNBOUND, PVKIT_EVTCHN_STATE(st));
	EXPECT_EQ(0, hcall(self->fd, PVKIT_HC_EVTCHN_CLOSE, 0, port, 0, 0, 0));
	st = hcall(self->fd, PVKIT_HC_EVTCHN_STATUS, 0, port, 0, 0, 0);
	EXPECT_EQ(PVKIT_EVTCHN_CLOSED, PVKIT_EVTCHN_STATE(st));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_CLOSE, 0,
				       port, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_SEND, 0,
				       port, 0, 0, 0));

	/* Out-of-range ports and endpoints. */
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_SEND, 0,
				       0, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_SEND, 0,
				       PVKIT_EVTCHN_PORTS, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_SEND, 0,
				       ~0ULL, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_UNMASK, 0,
				       ~0ULL, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_STATUS, 0,
				       PVKIT_EVTCHN_PORTS, 0, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_EVTCHN_BIND_HOST, 0,
				       0xffff, 0, 0, 0));
	EXPECT_GT(0, hcall(self->fd, PVKIT_HC_EVTCHN_BIND_IPI, 0,
			   PVKIT_MAX_VCPUS, 0, 0, 0));
	EXPECT_GT(0, hcall(self->fd, PVKIT_HC_VCPU_UPCALL, 0,
			   PVKIT_MAX_VCPUS, 0xf3, 0, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_SHARED_INFO, 0,
				       GPA_LAPIC, 0, 0, 0));
}

/*
 * Wake-ups between two CPUs need IPIs; on a pvkit guest they must arrive
 * through the IPI event channels, not the APIC.
 */
/* IPIs CPU @cpu has taken on the kit's event channels so far. */
static long long pvkit_ipis_on(int cpu)
{
	/* "pvkit-callfunc" names the call-function-single ports too. */
	return irq_count_on("pvkit-resched", cpu) +
	       irq_count_on("pvkit-callfunc", cpu);
}

/*
 * A ping-pong between tasks pinned to CPU 0 and CPU 1: each wakeup finds
 * the other CPU idle in HLT, so it takes a reschedule or call-function
 * IPI, and each must come on the kit's event channels, on both CPUs.
 * Not every wakeup needs one (the target may still be busy), so a
 * quarter of the round trips is the floor.
 */
#define PVKIT_IPI_ROUNDS	2000

/*
 * Run PVKIT_IPI_ROUNDS round trips between CPU 0 (the caller, pinned
 * there) and CPU 1; @delta gets the kit IPIs each CPU took meanwhile.
 * Returns 0, or -1 if the ping-pong could not run.
 */
static int ipi_ping_pong(long long delta[2])
{
	int ping[2] = { -1, -1 }, pong[2] = { -1, -1 }, i = 0, cpu;
	long long before[2];
	char c = 0;
	pid_t pid;

	for (cpu = 0; cpu < 2; cpu++)
		before[cpu] = pvkit_ipis_on(cpu);
	if (pipe(ping) || pipe(pong))
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		pin_to_cpu(1);
		while (read(ping[0], &c, 1) == 1 && c)
			if (write(pong[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	pin_to_cpu(0);
	for (i = 0; i < PVKIT_IPI_ROUNDS; i++) {
		c = 1;
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			break;
	}
	c = 0;
	if (write(ping[1], &c, 1) != 1)
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (cpu = 0; cpu < 2; cpu++)
		delta[cpu] = pvkit_ipis_on(cpu) - before[cpu];
out:
	for (cpu = 0; cpu < 2; cpu++) {
		if (ping[cpu] >= 0)
			close(ping[cpu]);
		if (pong[cpu] >= 0)
			close(pong[cpu]);
	}
	return i == PVKIT_IPI_ROUNDS ? 0 : -1;
}

TEST_F(pvkit, ipis_use_event_channels)
{
	long long delta[2];
	int cpu;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_LE(0, pvkit_ipis_on(0)) TH_LOG("cannot read /proc/interrupts");
	ASSERT_LT(0, irq_named("pvkit-resched"))
		TH_LOG("no pvkit IPI interrupts in /proc/interrupts");
	ASSERT_EQ(0, ipi_ping_pong(delta));
	TH_LOG("pvkit IPIs in %d round trips: CPU 0 %lld, CPU 1 %lld",
	       PVKIT_IPI_ROUNDS, delta[0], delta[1]);
	for (cpu = 0; cpu < 2; cpu++)
		EXPECT_LE(PVKIT_IPI_ROUNDS / 4, delta[cpu])
			TH_LOG("CPU %d took too few IPIs on event channels", cpu);
}

/*
 * Every online CPU registered its own vcpu_info (VCPU_INFO), so the
 * host flags its events there; the event and IPI tests show that they
 * arrive.  VCPU_INFO's errors, without moving anyone's area.
 */
TEST_F(pvkit, vcpu_info_areas_are_per_cpu)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	ASSERT_TRUE(self->ci.features & PVKIT_F_VCPU);
	EXPECT_EQ(cpus, read_long("/sys/hypervisor/pvkit/vcpu_areas"));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_VCPU_INFO, 0,
				       PVKIT_MAX_VCPUS, 0x1000, 0, 0));
	EXPECT_EQ(-PVKIT_ENOENT, hcall(self->fd, PVKIT_HC_VCPU_INFO, 0,
				       PVKIT_MAX_VCPUS - 1, 0x1000, 0, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_VCPU_INFO, 0,
				       0, 0x1008, 0, 0));
	EXPECT_EQ(-PVKIT_EFAULT, hcall(self->fd, PVKIT_HC_VCPU_INFO, 0,
				       0, GPA_LAPIC, 0, 0));
	/* The refused calls moved nothing: events still come. */
	EXPECT_EQ(cpus, read_long("/sys/hypervisor/pvkit/vcpu_areas"));
}

#define RESCHEDULE_VECTOR	0xfd
#define PVKIT_SET_ROUNDS	50

/* Wait up to a second for CPU 0's and CPU 1's counts to pass @seen. */
static bool reschedules_arrive(const long long seen[2])
{
	int tries, cpu, more;

	for (tries = 0; tries < 1000; tries++) {
		for (cpu = 0, more = 0; cpu < 2; cpu++)
			more += irq_count_on("Rescheduling interrupts", cpu) >
				seen[cpu];
		if (more == 2)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * VCPU_SEND_IPI raises a vector on a set of vCPUs in one call: the
 * reschedule vector (harmless when nothing is to be done) on APIC IDs 0
 * and 1, from CPU 0.  Each round waits until both CPUs counted one more
 * reschedule interrupt: every set must reach both.
 */
TEST_F(pvkit, vcpu_send_ipi_reaches_the_set)
{
	long long seen[2];
	int i, cpu, arrived = 0;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_TRUE(self->ci.features & PVKIT_F_VCPU);
	pin_to_cpu(0);
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_VCPU_SEND_IPI, 0,
				       0, 3, 0x10, 0));
	EXPECT_EQ(-PVKIT_EINVAL, hcall(self->fd, PVKIT_HC_VCPU_SEND_IPI, 0,
				       PVKIT_MAX_VCPUS, 1, RESCHEDULE_VECTOR, 0));
	EXPECT_EQ(-PVKIT_ENOENT, hcall(self->fd, PVKIT_HC_VCPU_SEND_IPI, 0,
				       0, 3 | 1ULL << 63, RESCHEDULE_VECTOR, 0));
	EXPECT_EQ(0, hcall(self->fd, PVKIT_HC_VCPU_SEND_IPI, 0, 0, 0,
			   RESCHEDULE_VECTOR, 0));
	ASSERT_LE(0, irq_count_on("Rescheduling interrupts", 0))
		TH_LOG("no RES line in /proc/interrupts");
	for (i = 0; i < PVKIT_SET_ROUNDS; i++) {
		for (cpu = 0; cpu < 2; cpu++)
			seen[cpu] = irq_count_on("Rescheduling interrupts", cpu);
		ASSERT_EQ(2, hcall(self->fd, PVKIT_HC_VCPU_SEND_IPI, 0, 0, 3,
				   RESCHEDULE_VECTOR, 0));
		arrived += reschedules_arrive(seen);
	}
	TH_LOG("%d sets {0, 1}: %d reached both CPUs", PVKIT_SET_ROUNDS,
	       arrived);
	EXPECT_EQ(PVKIT_SET_ROUNDS, arrived);
}

/*
 * The kernel's own call-function IPIs to several CPUs go to the host as
 * sets: smp_call_function() to every other CPU, each run counted, at
 * least one VCPU_SEND_IPI per call.  Needs three CPUs (two targets; one
 * target is a single IPI); the grants stage runs it with four.
 */
TEST_F(pvkit, call_function_ipis_use_vcpu_sets)
{
	struct pvkit_test_call_func cf = { .rounds = 500 };

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 3)
		SKIP(return, "needs three CPUs");
	ASSERT_TRUE(self->ci.features & PVKIT_F_VCPU);
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_CALL_FUNC, &cf))
		TH_LOG("CALL_FUNC: %s", strerror(errno));
	TH_LOG("%u calls to %u CPUs: %llu runs, %llu VCPU_SEND_IPI",
	       cf.rounds, cf.targets, (unsigned long long)cf.ran,
	       (unsigned long long)cf.set_sends);
	EXPECT_EQ((uint64_t)cf.rounds * cf.targets, cf.ran);
	EXPECT_LE(cf.rounds, cf.set_sends);
}

#define RTC_WAKEALARM	"/sys/class/rtc/rtc0/wakealarm"

/*
 * Suspend to RAM, woken by the RTC a few seconds later.  The host keeps
 * the kit across the wakeup (SPEC section 6): afterwards events still go
 * both ways through the host, and CPU 1, taken down and up again by the
 * suspend, has its IPIs on event channels again.  The tests after this
 * one (store, bus, disks, NICs) then run on a guest that was suspended.
 */
TEST_F_TIMEOUT(pvkit, suspend_to_ram_keeps_the_kit, 120)
{
	struct pvkit_test_evtchn ev = { .rounds = 1000, .timeout_ms = 1000 };
	long long delta[2];
	char states[64];
	int cpu;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	if (read_file("/sys/power/state", states, sizeof(states)) <= 0 ||
	    !strstr(states, "mem"))
		SKIP(return, "no suspend to RAM in this kernel (CONFIG_SUSPEND)");
	ASSERT_EQ(0, write_file(RTC_WAKEALARM, "0"));
	ASSERT_EQ(0, write_file(RTC_WAKEALARM, "+3"))
		TH_LOG("%s: cannot set the wake alarm", RTC_WAKEALARM);
	/* Returns once the guest is back, or fails if it never went. */
	ASSERT_EQ(0, write_file("/sys/power/state", "mem"))
		TH_LOG("suspend to RAM failed");

	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_EVTCHN_ECHO, &ev))
		TH_LOG("echo after resume: %s", strerror(errno));
	EXPECT_EQ(0, ev.result);
	EXPECT_EQ(ev.rounds, ev.sent);
	EXPECT_EQ(ev.sent, ev.received);
	ASSERT_EQ(0, ipi_ping_pong(delta));
	TH_LOG("after resume: %llu events echoed, pvkit IPIs CPU 0 %lld, CPU 1 %lld",
	       (unsigned long long)ev.received, delta[0], delta[1]);
	for (cpu = 0; cpu < 2; cpu++)
		EXPECT_LE(PVKIT_IPI_ROUNDS / 4, delta[cpu])
			TH_LOG("CPU %d lost its IPI event channels", cpu);
}

static int grant_page(int fd, int readonly, int fill)
{
	struct pvkit_test_grant g = { .readonly = readonly, .fill = fill };

	return ioctl(fd, PVKIT_TEST_IOC_GRANT, &g) ? -errno : g.ref;
}

static struct pvkit_test_grant revoke_page(int fd, int ref)
{
	struct pvkit_test_grant g = { .ref = ref };

	if (ioctl(fd, PVKIT_TEST_IOC_REVOKE, &g))
		g.result = -errno;
	return g;
}

static int64_t test_grant(int fd, int64_t ref, int op, uint64_t off,
			  uint64_t len, uint64_t value)
{
	struct pvkit_test_hypercall hc = {
		.nr = PVKIT_HC_TEST_GRANT,
		.args = { ref, op, off, len, value },
	};

	if (ioctl(fd, PVKIT_TEST_IOC_HYPERCALL, &hc))
		return INT64_MIN;
	return hc.result;
}

/* What the host may and may not do with granted pages. */
TEST_F(pvkit, grant_refusals_leave_memory_unchanged)
{
	struct pvkit_test_grant g;
	int rw, ro, held;

	if (!(self->ci.features & PVKIT_F_GNTTAB))
		SKIP(return, "host offers no grant tables");

	rw = grant_page(self->fd, 0, 0x11);
	ASSERT_LT(0, rw);
	EXPECT_EQ(4096 * 0x11, test_grant(self->fd, rw, PVKIT_GNTTEST_READ,
					  0, 4096, 0));
	EXPECT_EQ(4096, test_grant(self->fd, rw, PVKIT_GNTTEST_WRITE, 0,
				   4096, 0x22));
	g = revoke_page(self->fd, rw);
	EXPECT_EQ(0, g.result);
	EXPECT_EQ(4096 * 0x22, g.sum) TH_LOG("host write not in the page");
	/* Revoked: the host is refused and nothing changes. */
	EXPECT_EQ(-PVKIT_EPERM, test_grant(self->fd, rw, PVKIT_GNTTEST_READ,
					   0, 16, 0));

	ro = grant_page(self->fd, 1, 0x33);
	ASSERT_LT(0, ro);
	EXPECT_EQ(-PVKIT_EPERM, test_grant(self->fd, ro, PVKIT_GNTTEST_WRITE,
					   0, 16, 0x44));
	EXPECT_EQ(-PVKIT_EPERM, test_grant(self->fd, ro, PVKIT_GNTTEST_MAP,
					   0, 0, 0));
	EXPECT_EQ(4096 * 0x33, test_grant(self->fd, ro, PVKIT_GNTTEST_READ,
					  0, 4096, 0));
	EXPECT_EQ(-PVKIT_EINVAL, test_grant(self->fd, ro, PVKIT_GNTTEST_READ,
					    4000, 200, 0));
	EXPECT_EQ(-PVKIT_EINVAL, test_grant(self->fd, ro, 99, 0, 16, 0));
	g = revoke_page(self->fd, ro);
	EXPECT_EQ(0, g.result);
	EXPECT_EQ(4096 * 0x33, g.sum) TH_LOG("read-only page was changed");

	/* References that were never granted. */
	EXPECT_EQ(-PVKIT_EPERM, test_grant(self->fd, 0, PVKIT_GNTTEST_READ,
					   0, 16, 0));
	EXPECT_EQ(-PVKIT_EINVAL, test_grant(self->fd, 1 << 30,
					    PVKIT_GNTTEST_READ, 0, 16, 0));
	EXPECT_EQ(-PVKIT_EINVAL, test_grant(self->fd, ~0ULL,
					    PVKIT_GNTTEST_READ, 0, 16, 0));

	/* A page the host holds cannot be taken back until it lets go. */
	held = grant_page(self->fd, 0, 0x55);
	ASSERT_LT(0, held);
	EXPECT_EQ(0, test_grant(self->fd, held, PVKIT_GNTTEST_MAP_RO, 0, 0, 0));
	EXPECT_EQ(-EBUSY, revoke_page(self->fd, held).result);
	EXPECT_EQ(0, test_grant(self->fd, held, PVKIT_GNTTEST_UNMAP, 0, 0, 0));
	EXPECT_EQ(0, revoke_page(self->fd, held).result);
}

TEST_F_TIMEOUT(pvkit, grant_revoke_cycles_leak_nothing, 600)
{
	struct pvkit_test_grant g;
	unsigned int before, i, cycles = 100000;
	int ref;

	if (!(self->ci.features & PVKIT_F_GNTTAB))
		SKIP(return, "host offers no grant tables");
	ref = grant_page(self->fd, 0, 0);
	ASSERT_LT(0, ref);
	g = revoke_page(self->fd, ref);
	ASSERT_EQ(0, g.result);
	before = g.in_use;

	for (i = 0; i < cycles; i++) {
		ref = grant_page(self->fd, i & 1, i & 0xff);
		ASSERT_LT(0, ref) TH_LOG("cycle %u: %s", i, strerror(-ref));
		ASSERT_EQ(4096 * (i & 0xff),
			  test_grant(self->fd, ref, PVKIT_GNTTEST_READ, 0,
				     4096, 0)) TH_LOG("cycle %u", i);
		g = revoke_page(self->fd, ref);
		ASSERT_EQ(0, g.result) TH_LOG("cycle %u", i);
	}
	EXPECT_EQ(before, g.in_use);
	/* The last reference is dead on the host side too. */
	EXPECT_EQ(-PVKIT_EPERM, test_grant(self->fd, ref, PVKIT_GNTTEST_READ,
					   0, 16, 0));
}

/*
 * Every hypercall, numbers beyond them, and random 32-bit numbers, with
 * arguments from a hostile pool: addresses in holes, MMIO, ROM or that
 * wrap, ports, references and vCPUs out of range, random 64-bit values.
 * Nothing in the pool names guest memory or a port this guest owns, so
 * the guest's own state survives; the host must answer every call with a
 * result or an ABI error and keep running.  PVKIT_FUZZ_CALLS overrides
 * the 1,000,000 calls.
 */
static uint64_t hostile_arg(void)
{
	/*
	 * No value here may be an address of writable guest RAM (a call
	 * like SHARED_INFO or TEST_COPY would then succeed and change the
	 * guest's memory), and every one is also an impossible port, vCPU,
	 * reference and length.  Small numbers are RAM addresses: none.
	 */
	static const uint64_t pool[] = {
		GPA_NOWHERE, GPA_WRAPS, GPA_LAPIC, GPA_BIOS, 0xfec00000ULL,
		~0ULL, 1ULL << 63, 1ULL << 40, (1ULL << 40) + 1,
	};
	unsigned int r = rand();

	if (r % 4 == 0)
		return ((uint64_t)rand() << 62) | ((uint64_t)rand() << 31) |
		       rand() | (1ULL << 45);
	return pool[r % (sizeof(pool) / sizeof(pool[0]))];
}

static int is_abi_error(int64_t r)
{
	switch (-r) {
	case PVKIT_EPERM: case PVKIT_ENOENT: case PVKIT_E2BIG:
	case PVKIT_EFAULT: case PVKIT_EBUSY: case PVKIT_EINVAL:
	case PVKIT_ENOSPC: case PVKIT_ENOSYS: case PVKIT_EIO:
		return 1;
	default:
		return 0;
	}
}

TEST_F_TIMEOUT(pvkit, hypercall_fuzz_host_survives, 900)
{
	const char *env = getenv("PVKIT_FUZZ_CALLS");
	unsigned long calls = env ? strtoul(env, NULL, 0) : 1000000;
	unsigned long i, ok = 0, errors = 0;

	srand(getpid());
	for (i = 0; i < calls; i++) {
		uint32_t nr = (i % 3) ? i % (PVKIT_HC_COUNT + 4) : rand();
		int64_t r = hcall(self->fd, nr, PVKIT_TEST_UNTABLED,
				  hostile_arg(), hostile_arg(), hostile_arg(),
				  hostile_arg());

		ASSERT_NE(INT64_MIN, r) TH_LOG("ioctl failed: %s", strerror(errno));
		if (r < 0) {
			ASSERT_TRUE(is_abi_error(r))
				TH_LOG("nr %u returned %lld, not an ABI error", nr,
				       (long long)r);
			errors++;
			continue;
		}
		ok++;
		/* A port allocated from nothing goes straight back. */
		if (nr == PVKIT_HC_EVTCHN_ALLOC_UNBOUND)
			ASSERT_EQ(0, hcall(self->fd, PVKIT_HC_EVTCHN_CLOSE, 0,
					   r, 0, 0, 0));
		/* Only calls that take no address or port may succeed. */
		ASSERT_TRUE(nr == PVKIT_HC_VERSION || nr == PVKIT_HC_FEATURES ||
			    nr == PVKIT_HC_TEST_ECHO ||
			    nr == PVKIT_HC_GNTTAB_MAX_FRAMES ||
			    nr == PVKIT_HC_EVTCHN_ALLOC_UNBOUND ||
			    nr == PVKIT_HC_CONSOLE_READ ||
			    nr == PVKIT_HC_EVTCHN_STATUS)
			TH_LOG("nr %u succeeded (%lld) with hostile arguments",
			       nr, (long long)r);
	}
	TH_LOG("%lu calls: %lu succeeded, %lu refused", calls, ok, errors);
	/* And the host still answers properly. */
	EXPECT_EQ((int64_t)self->ci.abi,
		  hcall(self->fd, PVKIT_HC_VERSION, 0, 0, 0, 0, 0));
}

/*
 * The CPU and time operations' calls (SPEC sections 13-16) with bad
 * arguments: each gets its defined error, and the host keeps answering.
 * APIC ID 200 is a vCPU no test guest has.
 */
TEST_F(pvkit, pv_ops_calls_refuse_bad_input)
{
	static const struct {
		uint64_t feature;
		uint32_t nr;
		uint64_t a[5];
		int64_t want;
		const char *what;
	} cases[] = {
		{ PVKIT_F_CLOCK, PVKIT_HC_CLOCK_SETUP, { 0, 0x1010, 0 },
		  -PVKIT_EINVAL, "time record not 32-byte aligned (crosses a page)" },
		{ PVKIT_F_CLOCK, PVKIT_HC_CLOCK_SETUP, { 0, GPA_NOWHERE, 0 },
		  -PVKIT_EFAULT, "time record outside RAM" },
		{ PVKIT_F_CLOCK, PVKIT_HC_CLOCK_SETUP, { 0, 0, 1 },
		  -PVKIT_EINVAL, "CLOCK_SETUP unknown flags" },
		{ PVKIT_F_CLOCK, PVKIT_HC_CLOCK_SETUP, { 200, 0, 0 },
		  -PVKIT_ENOENT, "CLOCK_SETUP of no vCPU" },
		{ PVKIT_F_CLOCK, PVKIT_HC_CLOCK_WALL, { GPA_LAPIC, 0 },
		  -PVKIT_EFAULT, "wall clock into MMIO" },
		{ PVKIT_F_STEAL, PVKIT_HC_STEAL_SETUP, { 0, 0x1020, 0 },
		  -PVKIT_EINVAL, "steal record not 64-byte aligned" },
		{ PVKIT_F_STEAL, PVKIT_HC_STEAL_SETUP, { 0, GPA_BIOS, 0 },
		  -PVKIT_EFAULT, "steal record in ROM" },
		{ PVKIT_F_STEAL, PVKIT_HC_STEAL_SETUP, { 0, 0, 2 },
		  -PVKIT_EINVAL, "STEAL_SETUP unknown flags" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_KICK, { 200, 0 },
		  -PVKIT_ENOENT, "kick of a vCPU that does not exist" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_KICK, { 256, 0 },
		  -PVKIT_EINVAL, "kick of APIC ID 256" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_KICK, { 0, 1 },
		  -PVKIT_EINVAL, "SPIN_KICK unknown flags" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_WAIT, { GPA_NOWHERE, 0, 0 },
		  -PVKIT_EFAULT, "wait on a byte outside RAM" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_WAIT, { GPA_BIOS, 256, 0 },
		  -PVKIT_EINVAL, "wait for a value above a byte" },
		{ PVKIT_F_SPIN, PVKIT_HC_SPIN_WAIT, { GPA_BIOS, 0, 4 },
		  -PVKIT_EINVAL, "SPIN_WAIT unknown flags" },
		{ PVKIT_F_TLB_FLUSH, PVKIT_HC_TLB_FLUSH, { 0, 1ULL << 63, 0, 0, 0 },
		  -PVKIT_ENOENT, "flush mask with a bit past the last vCPU" },
		{ PVKIT_F_TLB_FLUSH, PVKIT_HC_TLB_FLUSH, { 250, 0xc0, 0, 0, 0 },
		  -PVKIT_EINVAL, "flush mask past APIC ID 255" },
		{ PVKIT_F_TLB_FLUSH, PVKIT_HC_TLB_FLUSH, { 0, 1, 0x1234, 1, 0 },
		  -PVKIT_EINVAL, "flush of a misaligned address" },
		{ PVKIT_F_TLB_FLUSH, PVKIT_HC_TLB_FLUSH, { 0, 1, ~0xfffULL, 2, 0 },
		  -PVKIT_EINVAL, "flush range past 2^64" },
		{ PVKIT_F_TLB_FLUSH, PVKIT_HC_TLB_FLUSH, { 0, 1, 0, 0, 1 },
		  -PVKIT_EINVAL, "TLB_FLUSH unknown flags" },
		{ PVKIT_F_TEST, PVKIT_HC_TEST_HOLD, { 200, 100 },
		  -PVKIT_ENOENT, "hold of a vCPU that does not exist" },
		{ PVKIT_F_TEST, PVKIT_HC_TEST_HOLD, { 0, 0 },
		  -PVKIT_EINVAL, "hold for 0 ms" },
		{ PVKIT_F_TEST, PVKIT_HC_TEST_HOLD, { 0, 10001 },
		  -PVKIT_EINVAL, "hold for too long" },
	};
	unsigned int i, tried = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t r;

		if (!(self->ci.features & cases[i].feature))
			continue;
		r = pvkit_hcall(self->fd, cases[i].nr, 0, cases[i].a[0],
				cases[i].a[1], cases[i].a[2], cases[i].a[3],
				cases[i].a[4]);
		EXPECT_EQ(cases[i].want, r) TH_LOG("%s", cases[i].what);
		tried++;
	}
	TH_LOG("%u of %zu bad calls tried (the others' features are off)",
	       tried, ARRAY_SIZE(cases));
	EXPECT_LT(0, tried);
	EXPECT_EQ((int64_t)self->ci.abi,
		  hcall(self->fd, PVKIT_HC_VERSION, 0, 0, 0, 0, 0));
}

/* The harness checks the host side received this exact line. */
TEST_F(pvkit, hvc_console_reaches_host)
{
	static const char line[] = "pvkit-selftest: hello from the guest\n";
	int fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY);

	ASSERT_LE(0, fd) TH_LOG("/dev/hvc0: %s", strerror(errno));
	EXPECT_EQ((ssize_t)strlen(line), write(fd, line, strlen(line)));
	close(fd);
}

static int write_affinity(int irq, const char *cpus)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, cpus, strlen(cpus)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int read_effective(int irq, char *buf, size_t len)
{
	char path[64];
	int n;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/proc/irq/%d/effective_affinity_list", irq);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fgets(buf, len, f) ? 0 : -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return n;
}

/*
 * Send @rounds echoes on the file's port; per-CPU deltas into @delta.
 * /proc/interrupts has a column per online CPU: with CPU 1 offline, only
 * CPU 0's (CPU 1's delta is then 0).
 */
static int echo_on(int fd, unsigned int irq, int rounds, long long delta[2],
		   struct pvkit_test_echo_port *ep)
{
	long long before[2] = { 0 }, after[2] = { 0 };

	if (irq_cpu_counts(irq, before, 2) < 1)
		return -ENOENT;
	memset(ep, 0, sizeof(*ep));
	ep->rounds = rounds;
	if (ioctl(fd, PVKIT_TEST_IOC_ECHO_SEND, ep))
		return -errno;
	if (irq_cpu_counts(irq, after, 2) < 1)
		return -ENOENT;
	delta[0] = after[0] - before[0];
	delta[1] = after[1] - before[1];
	return 0;
}

TEST_F_TIMEOUT(pvkit, evtchn_affinity_moves_port_between_cpus, 180)
{
	struct pvkit_test_echo_port ep = { 0 };
	struct pvkit_test_affinity af = { 0 };
	long long delta[2];
	char eff[64];
	int ipi;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_BIND, &ep))
		TH_LOG("ioctl: %s", strerror(errno));

	/* To CPU 1: every echo is handled there, none on CPU 0. */
	ASSERT_EQ(0, write_affinity(ep.irq, "1"));
	ASSERT_EQ(0, read_effective(ep.irq, eff, sizeof(eff)));
	EXPECT_STREQ("1", eff);
	ASSERT_EQ(0, echo_on(self->fd, ep.irq, 50, delta, &ep));
	TH_LOG("irq %u port %u on CPU%d: CPU0 +%lld, CPU1 +%lld", ep.irq,
	       ep.port, ep.cpu, delta[0], delta[1]);
	EXPECT_EQ(0, ep.result);
	EXPECT_EQ(0, ep.lost);
	EXPECT_EQ(50, ep.received);
	EXPECT_EQ(1, ep.cpu);
	EXPECT_EQ(0, delta[0]);
	EXPECT_EQ(50, delta[1]);

	/* And back to CPU 0. */
	ASSERT_EQ(0, write_affinity(ep.irq, "0"));
	ASSERT_EQ(0, read_effective(ep.irq, eff, sizeof(eff)));
	EXPECT_STREQ("0", eff);
	ASSERT_EQ(0, echo_on(self->fd, ep.irq, 50, delta, &ep));
	TH_LOG("irq %u port %u on CPU%d: CPU0 +%lld, CPU1 +%lld", ep.irq,
	       ep.port, ep.cpu, delta[0], delta[1]);
	EXPECT_EQ(50, ep.received);
	EXPECT_EQ(0, ep.cpu);
	EXPECT_EQ(50, delta[0]);
	EXPECT_EQ(0, delta[1]);

	/* A driver's irq_set_affinity() takes the same path. */
	af.irq = ep.irq;
	af.cpu = 1;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_SET_AFFINITY, &af));
	EXPECT_EQ(0, af.result);
	ASSERT_EQ(0, echo_on(self->fd, ep.irq, 10, delta, &ep));
	EXPECT_EQ(1, ep.cpu);
	EXPECT_EQ(10, delta[1]);
	EXPECT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_UNBIND));

	/* IPI ports stay on their CPU, from user space and from a driver. */
	ipi = irq_named("pvkit-resched");
	ASSERT_LT(0, ipi) TH_LOG("no pvkit-resched interrupt");
	EXPECT_NE(0, write_affinity(ipi, "1"));
	ASSERT_EQ(0, read_effective(ipi, eff, sizeof(eff)));
	TH_LOG("IPI irq %d stays on CPU %s", ipi, eff);
	af.irq = ipi;
	af.cpu = strcmp(eff, "0") ? 0 : 1;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_SET_AFFINITY, &af));
	EXPECT_EQ(-EINVAL, af.result);
}

/*
 * A channel moved onto another port keeps its interrupt, its CPU and
 * its handler (what a reconnect after restore or kexec needs): the echo
 * channel, on CPU 1, moves to a new port; its events then come on the
 * same irq, on CPU 1, and the old port is closed.  A bad port from the
 * host is refused and the channel keeps working on the one it has.
 */
TEST_F_TIMEOUT(pvkit, evtchn_rebind_keeps_the_interrupt, 120)
{
	struct pvkit_test_echo_port ep = { 0 }, rb = { 0 }, other = { 0 };
	long long delta[2];
	unsigned int irq, old;
	int cpu, fd2;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	cpu = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 1 : 0;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_BIND, &ep))
		TH_LOG("ioctl: %s", strerror(errno));
	irq = ep.irq;
	old = ep.port;
	if (cpu)
		ASSERT_EQ(0, write_affinity(irq, "1"));

	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_REBIND, &rb));
	TH_LOG("irq %u: port %u -> %u, CPU %d", irq, old, rb.port, rb.cpu);
	EXPECT_EQ(0, rb.result);
	EXPECT_EQ(irq, rb.irq);
	EXPECT_NE(old, rb.port);
	EXPECT_EQ(cpu, rb.cpu);
	EXPECT_EQ(PVKIT_EVTCHN_CLOSED,
		  PVKIT_EVTCHN_STATE(hcall(self->fd, PVKIT_HC_EVTCHN_STATUS, 0,
					   old, 0, 0, 0)));
	EXPECT_EQ(PVKIT_EVTCHN_HOST,
		  PVKIT_EVTCHN_STATE(hcall(self->fd, PVKIT_HC_EVTCHN_STATUS, 0,
					   rb.port, 0, 0, 0)));
	EXPECT_EQ(cpu, PVKIT_EVTCHN_VCPU(hcall(self->fd, PVKIT_HC_EVTCHN_STATUS,
					       0, rb.port, 0, 0, 0)));
	ASSERT_EQ(0, echo_on(self->fd, irq, 50, delta, &ep));
	EXPECT_EQ(0, ep.result);
	EXPECT_EQ(0, ep.lost);
	EXPECT_EQ(50, ep.received);
	EXPECT_EQ(rb.port, ep.port);
	EXPECT_EQ(50, delta[cpu]);

	/* Refused: out of range, and a port some other channel owns. */
	old = rb.port;
	rb.port = PVKIT_EVTCHN_PORTS;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_REBIND, &rb));
	EXPECT_EQ(-EIO, rb.result);
	EXPECT_EQ(old, rb.port);
	fd2 = open(TEST_DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, PVKIT_TEST_IOC_ECHO_BIND, &other));
	rb.port = other.port;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_REBIND, &rb));
	EXPECT_EQ(-EIO, rb.result);
	EXPECT_EQ(old, rb.port);
	/* Both channels still work, each on its own port. */
	ASSERT_EQ(0, echo_on(self->fd, irq, 20, delta, &ep));
	EXPECT_EQ(20, ep.received);
	ASSERT_EQ(0, echo_on(fd2, other.irq, 20, delta, &ep));
	EXPECT_EQ(20, ep.received);
	EXPECT_EQ(other.port, ep.port);
	close(fd2);
	EXPECT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_UNBIND));
}

TEST_F(pvkit, evtchn_ports_leave_offline_cpu)
{
	struct pvkit_test_echo_port ep = { 0 };
	long long delta[2];
	int fd;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	fd = open("/sys/devices/system/cpu/cpu1/online", O_WRONLY);
	if (fd < 0)
		SKIP(return, "CPU 1 cannot go offline (no CPU hotplug)");
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_BIND, &ep));
	ASSERT_EQ(0, write_affinity(ep.irq, "1"));
	ASSERT_EQ(1, write(fd, "0", 1)) TH_LOG("offline: %s", strerror(errno));
	/* No ASSERT until CPU 1 is back: the tests after need it. */
	EXPECT_EQ(0, echo_on(self->fd, ep.irq, 20, delta, &ep));
	TH_LOG("CPU1 offline: port on CPU%d, received %llu", ep.cpu,
	       (unsigned long long)ep.received);
	EXPECT_EQ(0, ep.cpu);
	EXPECT_EQ(20, ep.received);
	EXPECT_EQ(20, delta[0]);
	lseek(fd, 0, SEEK_SET);
	EXPECT_EQ(1, write(fd, "1", 1));
	close(fd);
	/* Back online, the port can move there again. */
	EXPECT_EQ(0, write_affinity(ep.irq, "1"));
	ASSERT_EQ(0, echo_on(self->fd, ep.irq, 10, delta, &ep));
	EXPECT_EQ(1, ep.cpu);
	EXPECT_EQ(10, delta[1]);
}

static int write_online(int fd, const char *v)
{
	if (lseek(fd, 0, SEEK_SET) < 0 || write(fd, v, 1) != 1)
		return -errno;
	return 0;
}

/*
 * disable_irq()/enable_irq() on a port while CPU 1, which the port is
 * delivered to, goes offline and comes back again and again: moving the
 * port must never unmask it while the irq core has it disabled, the
 * handler must not run before enable_irq(), and every event must arrive
 * exactly once after it.  PVKIT_HOTPLUG_CYCLES overrides the 40 cycles.
 */
TEST_F_TIMEOUT(pvkit, evtchn_disable_survives_cpu_hotplug, 600)
{
	struct pvkit_test_echo_port ep = { 0 };
	struct pvkit_test_echo_gate g, sum = { 0 };
	const char *env = getenv("PVKIT_HOTPLUG_CYCLES");
	int cycles = env ? atoi(env) : 40;
	int fd, i, status = 0, calls = 0;
	pid_t pid;

	if (!has_evtchn(&self->ci))
		SKIP(return, "host offers no event channels");
	fd = open("/sys/devices/system/cpu/cpu1/online", O_WRONLY);
	if (fd < 0)
		SKIP(return, "CPU 1 cannot go offline (no CPU hotplug)");
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_BIND, &ep));
	ASSERT_EQ(0, write_affinity(ep.irq, "1"));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		for (i = 0; i < cycles; i++) {
			bad |= write_online(fd, "0") ? 1 : 0;
			bad |= write_online(fd, "1") ? 2 : 0;
			/* Offline moved it to CPU 0: back to CPU 1. */
			bad |= write_affinity(ep.irq, "1") ? 4 : 0;
		}
		_exit(bad);
	}
	do {
		memset(&g, 0, sizeof(g));
		/*
		 * Events flow in one call of four; the others toggle as
		 * fast as they can, to meet a move in its few microseconds.
		 */
		g.op = calls % 4 ? PVKIT_GATE_TOGGLES : PVKIT_GATE_CYCLES;
		g.rounds = calls % 4 ? 1000 : 100;
		g.hold_us = calls % 4 ? 10 : 100;
		if (ioctl(self->fd, PVKIT_TEST_IOC_ECHO_GATE, &g)) {
			TH_LOG("ECHO_GATE: %s", strerror(errno));
			sum.result = -errno;
			break;
		}
		calls++;
		sum.sent += g.sent;
		sum.received += g.received;
		sum.unmasked_while_disabled += g.unmasked_while_disabled;
		sum.early += g.early;
		sum.lost += g.lost;
		if (g.result && !sum.result)
			sum.result = g.result;
	} while (waitpid(pid, &status, WNOHANG) == 0);
	if (sum.result)
		waitpid(pid, &status, 0);
	close(fd);
	TH_LOG("%d hotplug cycles, %d gate calls: sent %llu received %llu, unmasked while disabled %llu, early %llu, lost %llu",
	       cycles, calls, (unsigned long long)sum.sent,
	       (unsigned long long)sum.received,
	       (unsigned long long)sum.unmasked_while_disabled,
	       (unsigned long long)sum.early, (unsigned long long)sum.lost);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("hotplug child: offline/online/affinity failed (%#x)",
		       WEXITSTATUS(status));
	EXPECT_EQ(0, sum.result);
	EXPECT_LT(0, calls);
	EXPECT_EQ(0, sum.unmasked_while_disabled);
	EXPECT_EQ(0, sum.early);
	EXPECT_EQ(0, sum.lost);
	EXPECT_EQ(sum.sent, sum.received);

	/* The single-step ops refuse to nest or to unbalance the depth. */
	memset(&g, 0, sizeof(g));
	g.op = PVKIT_GATE_DISABLE;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_GATE, &g));
	EXPECT_EQ(-1, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_GATE, &g));
	EXPECT_EQ(EBUSY, errno);
	g.op = PVKIT_GATE_ENABLE;
	ASSERT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_GATE, &g));
	EXPECT_EQ(-1, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_GATE, &g));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl(self->fd, PVKIT_TEST_IOC_ECHO_UNBIND));
}

/* The test frontend's device directories (as pvkit_bus plays them). */
#define PVTEST_FRONT	"/local/domain/1/device/pvtest"
#define PVTEST_BACK	"/local/domain/1/data/pvtest-backend"
#define PVTEST_DRV	"/sys/bus/pvkit/drivers/pvtest"

static int sput(int fd, const char *dir, const char *key, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return store_op(fd, PVKIT_STORE_IOC_WRITE, path, (void *)value,
			strlen(value));
}

/* Wait up to 10 s for @dir/state to read @want; the last value seen. */
static int wait_store_state(int fd, const char *dir, int want)
{
	char path[256], buf[16];
	int ms, ret, state = -1;

	snprintf(path, sizeof(path), "%s/state", dir);
	for (ms = 0; ms < 10000; ms += 10) {
		ret = store_op(fd, PVKIT_STORE_IOC_READ, path, buf,
			       sizeof(buf) - 1);
		if (ret > 0) {
			buf[ret] = '\0';
			state = atoi(buf);
			if (state == want)
				break;
		}
		sleep_ms(10);
	}
	return state;
}

/*
 * A device whose backend an earlier kernel left Connected (kexec, crash):
 * the bus takes the frontend through Closing and Closed, waits for the
 * backend's Closed, starts over at Initialising and waits for InitWait;
 * only then does the driver connect.
 */
TEST_F(pvkit, bus_resets_backend_left_connected)
{
	char front[128], back[128], devid[16];
	int sfd;

	if (access(PVTEST_DRV, F_OK))
		SKIP(return, "no pvtest frontend (modprobe pvkit_testfront)");
	sfd = open(STORE_DEV, O_RDWR);
	ASSERT_LE(0, sfd);
	snprintf(devid, sizeof(devid), "%u", 20000 + getpid());
	snprintf(front, sizeof(front), PVTEST_FRONT "/%s", devid);
	snprintf(back, sizeof(back), PVTEST_BACK "/%s", devid);

	/* As the previous kernel left it: both sides Connected. */
	ASSERT_EQ(0, sput(sfd, back, "frontend", front));
	ASSERT_EQ(0, sput(sfd, back, "frontend-id", "1"));
	ASSERT_EQ(0, sput(sfd, back, "state", "4"));
	/* The device appears with "backend": its state is there by then. */
	ASSERT_EQ(0, sput(sfd, front, "state", "4"));
	ASSERT_EQ(0, sput(sfd, front, "backend-id", "0"));
	ASSERT_EQ(0, sput(sfd, front, "backend", back));

	EXPECT_EQ(PVKIT_BUS_CLOSED,
		  wait_store_state(sfd, front, PVKIT_BUS_CLOSED));
	/* Not before the backend has closed. */
	sleep_ms(200);
	EXPECT_EQ(PVKIT_BUS_CLOSED,
		  wait_store_state(sfd, front, PVKIT_BUS_CLOSED));
	ASSERT_EQ(0, sput(sfd, back, "state", "6"));
	EXPECT_EQ(PVKIT_BUS_INITIALISING,
		  wait_store_state(sfd, front, PVKIT_BUS_INITIALISING));
	sleep_ms(200);
	EXPECT_EQ(PVKIT_BUS_INITIALISING,
		  wait_store_state(sfd, front, PVKIT_BUS_INITIALISING));
	ASSERT_EQ(0, sput(sfd, back, "state", "2"));
	EXPECT_EQ(PVKIT_BUS_INITIALISED,
		  wait_store_state(sfd, front, PVKIT_BUS_INITIALISED));

	/* Unplug it again: the frontend closes, the directories go. */
	EXPECT_EQ(0, sput(sfd, back, "online", "0"));
	EXPECT_EQ(0, sput(sfd, back, "state", "5"));
	EXPECT_EQ(PVKIT_BUS_CLOSED,
		  wait_store_state(sfd, front, PVKIT_BUS_CLOSED));
	EXPECT_EQ(0, sput(sfd, back, "state", "6"));
	store_op(sfd, PVKIT_STORE_IOC_RM, front, NULL, 0);
	store_op(sfd, PVKIT_STORE_IOC_RM, back, NULL, 0);
	close(sfd);
}

TEST_HARNESS_MAIN
