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

#endif /* PVKIT_SELFTEST_UTIL_H */
