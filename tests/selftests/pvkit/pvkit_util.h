/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the pvkit selftest programs. */
#ifndef PVKIT_SELFTEST_UTIL_H
#define PVKIT_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/pvkit.h>
#include <linux/pvkit_test.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read a small file (sysfs, procfs) into @buf without its trailing
 * newlines.  Returns its length or -errno.
 */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* A number from a small file, or -1. */
static inline long read_long(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Is @bdev (or a partition of it) mounted?  Never write to such a disk. */
static inline int bdev_mounted(const char *bdev)
{
	char line[512];
	FILE *f = fopen("/proc/mounts", "r");
	int found = 0;

	if (!f)
		return 1;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, bdev, strlen(bdev));
	fclose(f);
	return found;
}

static inline long grants_in_use(void)
{
	return read_long("/sys/hypervisor/pvkit/grants_in_use");
}

/*
 * The value of "@key=" on the kernel command line, as a number; @def
 * when it is not there.
 */
static inline long cmdline_long(const char *key, long def)
{
	char buf[4096], *p;
	size_t n = strlen(key);

	if (read_file("/proc/cmdline", buf, sizeof(buf)) <= 0)
		return def;
	for (p = buf; (p = strstr(p, key)); p += n) {
		if ((p == buf || p[-1] == ' ') && p[n] == '=')
			return strtol(p + n + 1, NULL, 0);
	}
	return def;
}

/* Is "@word" one of the kernel command line's words? */
static inline int cmdline_has(const char *word)
{
	char buf[4096], *p;
	size_t n = strlen(word);

	if (read_file("/proc/cmdline", buf, sizeof(buf)) <= 0)
		return 0;
	for (p = buf; (p = strstr(p, word)); p += n) {
		if ((p == buf || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	}
	return 0;
}

/*
 * From now on this process's clock_gettime system call fails with EPERM
 * (a seccomp filter): what still answers clock_gettime() is the vDSO,
 * without entering the kernel.  Returns 0 or -errno.
 */
static inline int refuse_clock_gettime_syscall(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clock_gettime, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
}

/*
 * Hypercall @nr through /dev/pvkit_test (fd @fd); the host's result, or
 * INT64_MIN (no host result is) when the ioctl itself failed.
 */
static inline int64_t pvkit_hcall(int fd, uint32_t nr, uint32_t flags,
				  uint64_t a0, uint64_t a1, uint64_t a2,
				  uint64_t a3, uint64_t a4)
{
	struct pvkit_test_hypercall hc = {
		.nr = nr,
		.flags = flags,
		.args = { a0, a1, a2, a3, a4 },
	};

	if (ioctl(fd, PVKIT_TEST_IOC_HYPERCALL, &hc))
		return INT64_MIN;
	return hc.result;
}

/*
 * Run the calling thread on CPU @cpu only (below 1024); 0 or -errno.
 * The raw system call: no _GNU_SOURCE needed for cpu_set_t.
 */
static inline int pin_to_cpu(int cpu)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };

	if (cpu < 0 || cpu >= 1024)
		return -EINVAL;
	mask[cpu / (8 * sizeof(long))] = 1UL << (cpu % (8 * sizeof(long)));
	return syscall(SYS_sched_setaffinity, 0, sizeof(mask), mask) ? -errno : 0;
}

/* APIC ID of CPU @cpu (/proc/cpuinfo), what the host names vCPUs by. */
static inline long cpu_apicid(int cpu)
{
	char line[256];
	long id = -1, cur = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "processor : %ld", &cur) == 1)
			continue;
		if (cur == cpu && sscanf(line, "apicid : %ld", &id) == 1)
			break;
	}
	fclose(f);
	return id;
}

/* Is @cpu in the kernel's CPU list @list ("0-2,5")? */
static inline int cpulist_has(const char *list, int cpu)
{
	const char *p = list;
	char *end;

	while (*p) {
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p)
			return 0;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (cpu >= lo && cpu <= hi)
			return 1;
		p = *end == ',' ? end + 1 : end;
		if (*end != ',')
			break;
	}
	return 0;
}

/* Does the harness run our QMP requests?  It says so on the cmdline. */
static inline int host_requests_offered(void)
{
	return cmdline_has("pvkit_host_requests=1");
}

/* Ask the harness to run one QMP command (a console line it watches). */
static inline int host_request(const char *json)
{
	char line[512];
	int fd = open("/dev/kmsg", O_WRONLY), n, ret;

	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "<5>PVKIT-HOST-REQUEST: %s\n", json);
	ret = write(fd, line, n) == n ? 0 : -EIO;
	close(fd);
	return ret;
}

/*
 * Sum of the counts of /proc/interrupts lines naming @what, in CPU
 * @cpu's column only, or in every column with @cpu = -1.
 */
static inline long long irq_count_on(const char *what, int cpu)
{
	char line[1024];
	long long total = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;
		int col;

		if (!p || !strstr(line, what))
			continue;
		for (col = 0, p++;; col++, p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			if (cpu < 0 || col == cpu)
				total += v;
		}
	}
	fclose(f);
	return total;
}

/* Sum of the per-CPU counts of /proc/interrupts lines naming @what. */
static inline long long irq_count(const char *what)
{
	return irq_count_on(what, -1);
}

/*
 * Per-CPU counts of interrupt @irq in /proc/interrupts into @counts
 * (at most @n CPUs).  Returns the number of CPUs read, or -1.
 */
static inline int irq_cpu_counts(unsigned int irq, long long *counts, int n)
{
	char line[1024];
	int cpus = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;
		unsigned long num = strtoul(line, &p, 10);

		if (p == line || *p != ':' || num != irq)
			continue;
		for (cpus = 0, p++; cpus < n; cpus++, p = end) {
			counts[cpus] = strtoll(p, &end, 10);
			if (end == p)
				break;
		}
		break;
	}
	fclose(f);
	return cpus;
}

/* The IRQ number of the first /proc/interrupts line naming @what, or -1. */
static inline int irq_named(const char *what)
{
	char line[1024];
	int irq = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p;
		long num = strtol(line, &p, 10);

		if (p != line && *p == ':' && strstr(line, what)) {
			irq = num;
			break;
		}
	}
	fclose(f);
	return irq;
}

#endif /* PVKIT_SELFTEST_UTIL_H */
