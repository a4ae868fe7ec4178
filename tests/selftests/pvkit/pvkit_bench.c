// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit_bench: event-channel cost next to a bare hypercall exit, timed
 * inside the guest kernel by /dev/pvkit_test.  Host transitions are
 * counted, not timed: every hypercall is one exit, every upcall (the
 * "HYP" line of /proc/interrupts) one injected interrupt.
 *
 *   pvkit_bench [iterations]    prints a Markdown table
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pvkit_test.h>

#include "pvkit_util.h"

static const struct {
	unsigned int op;
	const char *name;
} ops[] = {
	{ PVKIT_BENCH_VERSION, "bare hypercall exit (VERSION)" },
	{ PVKIT_BENCH_SEND, "event-channel send (masked port)" },
	{ PVKIT_BENCH_ROUNDTRIP, "event-channel round trip (echo)" },
};

int main(int argc, char **argv)
{
	unsigned int iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	int fd = open("/dev/pvkit_test", O_RDWR);
	unsigned int i;

	if (fd < 0) {
		fprintf(stderr, "/dev/pvkit_test: %s\n", strerror(errno));
		return 1;
	}
	printf("| operation | iterations | ns/op | ops/s | hypercalls/op | upcalls/op | host transitions/op |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct pvkit_test_bench b = {
			.op = ops[i].op,
			.iterations = iterations,
		};
		long long hyp0 = irq_count("HYP:"), hyp1;
		double n, ns, up;

		if (ioctl(fd, PVKIT_TEST_IOC_BENCH, &b) || b.result) {
			fprintf(stderr, "%s: %s (result %lld)\n", ops[i].name,
				strerror(errno), (long long)b.result);
			return 1;
		}
		hyp1 = irq_count("HYP:");
		n = b.hypercalls ? (double)b.hypercalls : 1;
		ns = b.elapsed_ns / n;
		up = (hyp1 - hyp0) / n;
		printf("| %s | %llu | %.0f | %.0f | %.2f | %.2f | %.2f |\n",
		       ops[i].name, (unsigned long long)b.hypercalls, ns,
		       1e9 / ns, b.hypercalls / n, up, b.hypercalls / n + up);
	}
	return 0;
}
