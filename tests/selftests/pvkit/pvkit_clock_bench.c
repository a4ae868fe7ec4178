// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit_clock_bench: the cost of clock_gettime(CLOCK_MONOTONIC) on each
 * clocksource the guest has (the kit's, the TSC, the HPET, the ACPI PM
 * timer), switched through sysfs in one boot, in interleaved rounds.
 * Whether a call enters the kernel is measured, not assumed: a child
 * whose clock_gettime system call seccomp refuses either still gets the
 * time (the vDSO answered) or not.  A call that enters the kernel on the
 * HPET or the PM timer also reads an emulated device: a host transition.
 *
 *   pvkit_clock_bench [calls per round] [rounds]    prints a Markdown table
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "pvkit_util.h"

#define CS_DIR		"/sys/devices/system/clocksource/clocksource0"
#define MAX_ROUNDS	15

static const char *const sources[] = { "pvkit-clock", "tsc", "hpet", "acpi_pm" };
#define NR_SOURCES	ARRAY_SIZE(sources)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* 1: the vDSO answers with the system call refused; 0: it does not. */
static int vdso_answers(void)
{
	struct timespec ts;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (refuse_clock_gettime_syscall())
			_exit(2);
		_exit(clock_gettime(CLOCK_MONOTONIC, &ts) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) > 1)
		return -1;
	return WEXITSTATUS(status) == 0;
}

static double round_ns(long calls)
{
	struct timespec ts;
	long long t0 = now_ns();
	long i;

	for (i = 0; i < calls; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(now_ns() - t0) / calls;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? strtol(argv[1], NULL, 0) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	double ns[NR_SOURCES][MAX_ROUNDS];
	int vdso[NR_SOURCES], have[NR_SOURCES] = { 0 };
	char avail[256], orig[64];
	unsigned int s;
	int r;

	if (calls < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [calls >= 1] [rounds 1..%d]\n",
			argv[0], MAX_ROUNDS);
		return 2;
	}
	if (read_file(CS_DIR "/available_clocksource", avail, sizeof(avail)) <= 0 ||
	    read_file(CS_DIR "/current_clocksource", orig, sizeof(orig)) <= 0) {
		fprintf(stderr, "no clocksource sysfs\n");
		return 1;
	}
	strcat(avail, " ");
	for (s = 0; s < NR_SOURCES; s++) {
		char word[32];

		snprintf(word, sizeof(word), "%s ", sources[s]);
		have[s] = !!strstr(avail, word);
	}
	/* Interleaved: every source once per round, rounds after rounds. */
	for (r = 0; r < rounds; r++) {
		for (s = 0; s < NR_SOURCES; s++) {
			if (!have[s])
				continue;
			if (write_file(CS_DIR "/current_clocksource", sources[s])) {
				have[s] = 0;
				continue;
			}
			sleep_ms(100);
			if (!r)
				vdso[s] = vdso_answers();
			ns[s][r] = round_ns(calls);
		}
	}
	write_file(CS_DIR "/current_clocksource", orig);

	printf("| clocksource | enters the kernel | host transitions/call | ");
	printf("ns/call, median (min-max) of %d rounds x %ld calls |\n",
	       rounds, calls);
	printf("|---|---|---|---|\n");
	for (s = 0; s < NR_SOURCES; s++) {
		bool device = !strcmp(sources[s], "hpet") ||
			      !strcmp(sources[s], "acpi_pm");

		if (!have[s]) {
			printf("| %s | - | - | not available |\n", sources[s]);
			continue;
		}
		qsort(ns[s], rounds, sizeof(double), cmp_double);
		printf("| %s | %s | %s | %.0f (%.0f-%.0f) |\n", sources[s],
		       vdso[s] < 0 ? "?" : vdso[s] ? "no (vDSO)" : "yes",
		       vdso[s] ? "0" : device ? ">= 1 (device read)" : "0",
		       ns[s][rounds / 2], ns[s][0], ns[s][rounds - 1]);
	}
	return 0;
}
