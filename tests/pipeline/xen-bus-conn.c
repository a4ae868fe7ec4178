// SPDX-License-Identifier: GPL-2.0
/*
 * Guest helper of tests/pipeline/xen-bus.py, built on the host without
 * libc (it travels base64-encoded in the guest's command):
 *
 *   xen-bus-conn FILL READONLY SECONDS SEND_AT [blkif]
 *
 * grants a page filled with FILL (read-only if READONLY) through
 * /dev/pvkit_test, allocates an UNBOUND event-channel port, prints
 * "ref port", keeps both for SECONDS seconds and sends on the port three
 * times after SEND_AT seconds: enough to connect a Xen backend to an
 * empty (FILL 0) or garbage (FILL 0xff) ring.
 *
 * With "blkif" the page is a block ring (x86_64 layout) holding the
 * indirect requests of hostile_requests() below, good and malformed,
 * with their segment list and data in two more granted pages; after
 * SECONDS it prints each response in the ring as "rsp ID OP STATUS".
 */
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/time.h>
#include <asm/unistd.h>
#include "linux/pvkit_test.h"
#include <linux/pvkit_blkif.h>

#define HC_EVTCHN_ALLOC_UNBOUND	8
#define HC_EVTCHN_SEND		11

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * gcc may call these for struct initialisers even without a libc.  The
 * stores are volatile so that it does not turn the loops back into calls
 * to themselves.
 */
void *memset(void *d, int c, unsigned long n)
{
	volatile char *p = d;

	while (n--)
		*p++ = c;
	return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
	volatile char *p = d;
	const char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

static void out(int fd, const char *s, long len)
{
	sys3(__NR_write, fd, (long)s, len);
}

static __attribute__((noreturn)) void quit(int code)
{
	for (;;)
		sys3(__NR_exit, code, 0, 0);
}

/* Decimal, or hex with 0x. */
static unsigned long number(const char *s)
{
	unsigned long v = 0, base = 10;

	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	for (; *s; s++)
		v = v * base + (*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
	return v;
}

static char *decimal(char *p, long v)
{
	char t[24];
	int n = 0;

	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	do {
		t[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static long hypercall(long fd, __u32 nr, __u64 arg0)
{
	struct pvkit_test_hypercall hc = { .nr = nr, .args = { arg0 } };

	if (sys3(__NR_ioctl, fd, PVKIT_TEST_IOC_HYPERCALL, (long)&hc))
		return -1000;
	return hc.result;
}

static void send3(long fd, long port)
{
	char buf[32], *p;
	int i;

	for (i = 0; i < 3; i++) {
		p = decimal(buf, hypercall(fd, HC_EVTCHN_SEND, port));
		*p++ = '\n';
		out(2, "xen-bus-conn: send -> ", 22);
		out(2, buf, p - buf);
	}
}

static int page_io(long fd, int ref, int write, unsigned int offset,
		   void *buf, unsigned int len)
{
	struct pvkit_test_page_io io = {
		.ref = ref, .write = write, .offset = offset, .len = len,
		.buf = (unsigned long)buf,
	};

	return sys3(__NR_ioctl, fd, PVKIT_TEST_IOC_PAGE_IO, (long)&io);
}

/* A fresh page filled with @fill, granted; its reference. */
static int grant(long fd, int readonly, int fill)
{
	struct pvkit_test_grant g = { .readonly = readonly, .fill = fill };

	if (sys3(__NR_ioctl, fd, PVKIT_TEST_IOC_GRANT, (long)&g))
		quit(3);
	return g.ref;
}

#define NR_HOSTILE	8
#define RING_SLOT(i)	(sizeof(struct pvkit_ring_header) + \
			 (i) * PVKIT_BLKIF_SLOT_SIZE)

/*
 * Indirect requests, ids 100 + slot.  Good: 100 (read one page) and 107
 * (write it).  Bad: 101 an indirect flush, 102 no segments, 103 more
 * than the backend allows, 104 a segment list behind a bogus grant, 105
 * a segment with first_sect > last_sect, 106 past the end of the disk.
 * Segment list (page @ind): entry 0 good, entry 1 inverted.
 */
static void hostile_requests(long fd, int ring, int ind, int data)
{
	struct pvkit_blkif_segment seg[2] = {
		{ .gref = data, .first_sect = 0, .last_sect = 7 },
		{ .gref = data, .first_sect = 7, .last_sect = 0 },
	};
	struct pvkit_ring_header hdr = {
		.req_prod = NR_HOSTILE, .req_event = 1, .rsp_event = 1,
	};
	struct pvkit_blkif_indirect r;
	int i;

	if (page_io(fd, ind, 1, 0, seg, sizeof(seg)))
		quit(5);
	for (i = 0; i < NR_HOSTILE; i++) {
		memset(&r, 0, sizeof(r));
		r.operation = PVKIT_BLKIF_OP_INDIRECT;
		r.indirect_op = i == 7 ? PVKIT_BLKIF_OP_WRITE :
			i == 1 ? PVKIT_BLKIF_OP_FLUSH : PVKIT_BLKIF_OP_READ;
		r.nr_segments = i == 2 ? 0 : i == 3 ? 5000 : i == 5 ? 2 : 1;
		r.id = 100 + i;
		r.sector_number = i == 6 ? 1ULL << 40 : 8;
		r.indirect_grefs[0] = i == 4 ? ind + 100000 : ind;
		if (page_io(fd, ring, 1, RING_SLOT(i), &r, sizeof(r)))
			quit(5);
	}
	if (page_io(fd, ring, 1, 0, &hdr, sizeof(hdr)))
		quit(5);
}

/* "rsp ID OP STATUS" for each response the backend put in the ring. */
static void print_responses(long fd, int ring)
{
	struct pvkit_ring_header hdr;
	struct pvkit_blkif_response rsp;
	char buf[80], *p;
	unsigned int i;

	if (page_io(fd, ring, 0, 0, &hdr, sizeof(hdr)))
		quit(5);
	for (i = 0; i < hdr.rsp_prod && i < NR_HOSTILE; i++) {
		if (page_io(fd, ring, 0, RING_SLOT(i), &rsp, sizeof(rsp)))
			quit(5);
		p = buf;
		*p++ = 'r'; *p++ = 's'; *p++ = 'p'; *p++ = ' ';
		p = decimal(p, (long)rsp.id);
		*p++ = ' ';
		p = decimal(p, rsp.operation);
		*p++ = ' ';
		p = decimal(p, rsp.status);
		*p++ = '\n';
		out(1, buf, p - buf);
	}
}

void __attribute__((used, noreturn)) start_c(long *sp)
{
	char **argv = (char **)(sp + 1), buf[64], *p = buf;
	struct timespec second = { 1, 0 };
	long fd, port, i, secs, send_at;
	int blkif, ref;

	if (*sp != 5 && *sp != 6)
		quit(2);
	blkif = *sp == 6;
	fd = sys3(__NR_open, (long)"/dev/pvkit_test", 2, 0);
	if (fd < 0)
		quit(1);
	ref = grant(fd, number(argv[2]), number(argv[1]));
	secs = number(argv[3]);
	send_at = number(argv[4]);
	if (blkif)
		hostile_requests(fd, ref, grant(fd, 1, 0), grant(fd, 0, 0));
	port = hypercall(fd, HC_EVTCHN_ALLOC_UNBOUND, 0);
	if (port < 0)
		quit(4);
	p = decimal(p, ref);
	*p++ = ' ';
	p = decimal(p, port);
	*p++ = '\n';
	out(1, buf, p - buf);
	for (i = 1; i <= secs; i++) {
		sys3(__NR_nanosleep, (long)&second, 0, 0);
		if (i == send_at)
			send3(fd, port);
	}
	if (blkif)
		print_responses(fd, ref);
	quit(0);	/* closing the device revokes the grant */
}

__asm__(".globl _start\n_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n");
