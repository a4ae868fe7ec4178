/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the pvkit selftest programs. */
#ifndef PVKIT_SELFTEST_UTIL_H
#define PVKIT_SELFTEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sum of the per-CPU counts of /proc/interrupts lines naming @what. */
static inline long long irq_count(const char *what)
{
	char line[1024];
	long long total = 0;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;

		if (!p || !strstr(line, what))
			continue;
		for (p++;; p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			total += v;
		}
	}
	fclose(f);
	return total;
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
