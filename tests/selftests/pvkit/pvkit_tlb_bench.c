// SPDX-License-Identifier: GPL-2.0
/*
 * TLB shootdown cost, for make bench (scripts/bench-pvops.sh): a thread
 * on every other CPU keeps the process's address space loaded while the
 * first CPU maps a page, touches it and unmaps it, ROUNDS times.  Per
 * munmap(): the time it took and what it cost the host in transitions,
 * counted by the guest: hypercalls (/sys/hypervisor/pvkit/
 * hypercalls_made: TLB_FLUSH with the kit's flush, the IPIs' EVTCHN_SEND
 * or VCPU_SEND_IPI without it) and interrupts taken (the "TLB
 * shootdowns" line of /proc/interrupts).  One line:
 *
 *   PVKIT-BENCH tlb flush=<kit|ipi> vcpus=N rounds=R ns=<median per
 *   munmap> hypercalls=<per munmap> interrupts=<per munmap>
 *
 * Usage: pvkit_tlb_bench [ROUNDS]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "pvkit_util.h"

#define MAX_CPUS	64
#define SYSFS_HV	"/sys/hypervisor/pvkit/"

static atomic_int stop;

/* Stay on the CPU in this address space, so every munmap targets it. */
static void *keep_loaded(void *arg)
{
	pin_to_cpu((int)(long)arg);
	while (!atomic_load(&stop))
		;
	return NULL;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000, cpus, c, r;
	long calls;
	long long irqs, *ns;
	pthread_t th[MAX_CPUS];
	char state[64];

	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > MAX_CPUS)
		cpus = MAX_CPUS;
	ns = calloc(rounds, sizeof(*ns));
	if (rounds <= 0 || cpus < 2 || !ns) {
		fprintf(stderr, "pvkit_tlb_bench: needs 2+ CPUs and ROUNDS > 0\n");
		return 1;
	}
	if (read_file(SYSFS_HV "tlb_flush", state, sizeof(state)) < 0)
		snprintf(state, sizeof(state), "off");
	pin_to_cpu(0);
	for (c = 1; c < cpus; c++)
		pthread_create(&th[c], NULL, keep_loaded, (void *)(long)c);
	sleep_ms(200);
	calls = read_long(SYSFS_HV "hypercalls_made");
	irqs = irq_count("TLB shootdowns");
	for (r = 0; r < rounds; r++) {
		volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		long long t0;

		if (p == MAP_FAILED)
			return 1;
		*p = 1;
		t0 = now_ns();
		munmap((void *)p, 4096);
		ns[r] = now_ns() - t0;
	}
	calls = read_long(SYSFS_HV "hypercalls_made") - calls;
	irqs = irq_count("TLB shootdowns") - irqs;
	atomic_store(&stop, 1);
	for (c = 1; c < cpus; c++)
		pthread_join(th[c], NULL);
	qsort(ns, rounds, sizeof(*ns), cmp_ll);
	printf("PVKIT-BENCH tlb flush=%s vcpus=%d rounds=%d ns=%lld hypercalls=%.2f interrupts=%.2f\n",
	       strcmp(state, "on") ? "ipi" : "kit", cpus, rounds,
	       ns[rounds / 2], (double)calls / rounds,
	       (double)irqs / rounds);
	free(ns);
	return 0;
}
