// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit_durable DIR ACKED: one cycle of the kill test (make check).
 *
 * DIR/log holds 512-byte records, each naming its own sequence number and
 * carrying a checksum.  First verify: the file must hold at least ACKED
 * valid records (the count the previous cycle acknowledged before its VM
 * was killed); print "DURABLE-VERIFIED <n>", or "DURABLE-LOST ..." and
 * exit 1.  A torn record after the valid ones (written, never
 * acknowledged) is cut off.  Then append records forever, each followed
 * by fsync() and then "DURABLE-ACK <count>" on stdout: once that line is
 * out, the record must survive anything short of losing the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD		512
#define MAGIC		0x70766b6974647572ull	/* "pvkitdur" */

struct record {
	uint64_t magic;
	uint64_t seq;
	uint64_t sum;
	unsigned char payload[RECORD - 24];
};

_Static_assert(sizeof(struct record) == RECORD, "record size");

static uint64_t record_sum(const struct record *r)
{
	uint64_t h = 1469598103934665603ull ^ r->seq;
	size_t i;

	for (i = 0; i < sizeof(r->payload); i++)
		h = (h ^ r->payload[i]) * 1099511628211ull;
	return h;
}

static void make_record(struct record *r, uint64_t seq)
{
	size_t i;

	r->magic = MAGIC;
	r->seq = seq;
	for (i = 0; i < sizeof(r->payload); i++)
		r->payload[i] = (unsigned char)(seq * 31 + i * 7);
	r->sum = record_sum(r);
}

static int record_ok(const struct record *r, uint64_t seq)
{
	return r->magic == MAGIC && r->seq == seq && r->sum == record_sum(r);
}

/* Print a line with one write(): it must not sit in a stdio buffer. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(1, line, n) != n)
		exit(3);
}

int main(int argc, char **argv)
{
	unsigned long long acked, valid = 0;
	struct record r;
	char path[4096];
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DIR ACKED\n", argv[0]);
		return 2;
	}
	acked = strtoull(argv[2], NULL, 10);
	snprintf(path, sizeof(path), "%s/log", argv[1]);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	while (pread(fd, &r, sizeof(r), valid * RECORD) == sizeof(r) &&
	       record_ok(&r, valid))
		valid++;
	if (valid < acked) {
		say("DURABLE-LOST: %llu records valid, %llu acknowledged\n",
		    valid, acked);
		return 1;
	}
	say("DURABLE-VERIFIED %llu (acknowledged %llu)\n", valid, acked);
	if (ftruncate(fd, valid * RECORD) || fsync(fd)) {
		perror("truncate");
		return 2;
	}
	for (;;) {
		make_record(&r, valid);
		if (pwrite(fd, &r, sizeof(r), valid * RECORD) != sizeof(r) ||
		    fsync(fd)) {
			perror("append");
			return 2;
		}
		valid++;
		say("DURABLE-ACK %llu\n", valid);
	}
}
