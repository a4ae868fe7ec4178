// SPDX-License-Identifier: GPL-2.0
/*
 * Guest helper of tests/pipeline/xen-bus.py, built on the host without
 * libc (it travels base64-encoded in the guest's command):
 *
 *   xen-bus-conn FILL READONLY SECONDS SEND_AT
 *
 * grants a page filled with FILL (read-only if READONLY) through
 * /dev/pvkit_test, allocates an UNBOUND event-channel port, prints
 * "ref port", keeps both for SECONDS seconds and sends on the port three
 * times after SEND_AT seconds: enough to connect a Xen backend to an
 * empty (FILL 0) or garbage (FILL 0xff) ring.
 */
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/time.h>
#include <asm/unistd.h>
#include "linux/pvkit_test.h"

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

void __attribute__((used, noreturn)) start_c(long *sp)
{
	char **argv = (char **)(sp + 1), buf[64], *p = buf;
	struct pvkit_test_grant g = { 0 };
	struct timespec second = { 1, 0 };
	long fd, port, i, secs, send_at;

	if (*sp != 5)
		quit(2);
	fd = sys3(__NR_open, (long)"/dev/pvkit_test", 2, 0);
	if (fd < 0)
		quit(1);
	g.fill = number(argv[1]);
	g.readonly = number(argv[2]);
	secs = number(argv[3]);
	send_at = number(argv[4]);
	if (sys3(__NR_ioctl, fd, PVKIT_TEST_IOC_GRANT, (long)&g))
		quit(3);
	port = hypercall(fd, HC_EVTCHN_ALLOC_UNBOUND, 0);
	if (port < 0)
		quit(4);
	p = decimal(p, g.ref);
	*p++ = ' ';
	p = decimal(p, port);
	*p++ = '\n';
	out(1, buf, p - buf);
	for (i = 1; i <= secs; i++) {
		sys3(__NR_nanosleep, (long)&second, 0, 0);
		if (i == send_at)
			send3(fd, port);
	}
	quit(0);	/* closing the device revokes the grant */
}

__asm__(".globl _start\n_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n");
