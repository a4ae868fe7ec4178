// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit network frontend selftests, against the host's real backend.
 *
 * Needs a NIC on the pvkit bus: the kit's harness attaches one with
 * --pv-nic user (QEMU's xen-net-device on user networking, guest address
 * 10.0.2.15, host 10.0.2.2) and runs a test peer on the host with
 * --net-peer, whose address it puts on the kernel command line
 * (pvkit_net_peer=IP:PORT).  Packets must reach the host and come back:
 * ICMP echo through the user network's gateway, 100 MiB each way over TCP
 * with CRC32s that match at both ends, UDP datagrams counted by the peer.
 * The MAC address must be the one the backend put in the store, the
 * counters must add up, and unplugging the NIC in the middle of a
 * transfer must fail that transfer, not hang, and give every grant back.
 * A NIC plugged while the kit's disks keep their rings full of large
 * requests must still connect: the disks' grants must not starve it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"
#include "pvkit_util.h"

#define SYS_DEVS	"/sys/bus/pvkit/devices"
#define GUEST_IP	"10.0.2.15"
#define GATEWAY_IP	"10.0.2.2"
#define TRANSFER_BYTES	(100u << 20)
#define CHUNK		65536
#define IO_TIMEOUT_S	120
/* Grants a NIC holds: a page per id of both 256-slot rings, two rings. */
#define NIC_GRANTS	(2 * 256 + 2)

/* zlib's CRC-32 (reflected, polynomial 0xedb88320), as the peer uses. */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	unsigned int i, k;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			uint32_t c = i;

			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* Deterministic bytes that do not compress or repeat at page size. */
static void fill(unsigned char *p, size_t len, uint64_t *state)
{
	size_t i;

	for (i = 0; i < len; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		p[i] = *state >> 32;
	}
}

/* The first kit NIC: bus device name and interface name. */
static int find_nic(char *busdev, size_t blen, char *ifname, size_t ilen)
{
	DIR *d = opendir(SYS_DEVS);
	struct dirent *de;
	char path[512];
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "vif-", 4))
			continue;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/netdev", de->d_name);
		if (read_file(path, ifname, ilen) > 0) {
			snprintf(busdev, blen, "%s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static long if_stat(const char *ifname, const char *stat)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, stat);
	return read_long(path);
}

static int set_addr(int s, const char *ifname, unsigned long req,
		    const char *ip)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ioctl(s, req, &ifr) ? -errno : 0;
}

/* Up, 10.0.2.15/24, default route via the gateway; wait for carrier. */
static int configure(const char *ifname)
{
	struct sockaddr_in *dst, *gw, *mask;
	struct ifreq ifr = { 0 };
	struct rtentry rt = { 0 };
	char path[512], buf[16];
	int s, ret, ms;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ret = ioctl(s, SIOCGIFFLAGS, &ifr) ? -errno : 0;
	ifr.ifr_flags |= IFF_UP;
	if (!ret)
		ret = ioctl(s, SIOCSIFFLAGS, &ifr) ? -errno : 0;
	if (!ret)
		ret = set_addr(s, ifname, SIOCSIFADDR, GUEST_IP);
	if (!ret)
		ret = set_addr(s, ifname, SIOCSIFNETMASK, "255.255.255.0");
	dst = (struct sockaddr_in *)&rt.rt_dst;
	gw = (struct sockaddr_in *)&rt.rt_gateway;
	mask = (struct sockaddr_in *)&rt.rt_genmask;
	dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
	inet_pton(AF_INET, GATEWAY_IP, &gw->sin_addr);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)ifname;
	if (!ret && ioctl(s, SIOCADDRT, &rt) && errno != EEXIST)
		ret = -errno;
	close(s);
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", ifname);
	for (ms = 0; !ret && ms < 20000; ms += 50) {
		if (read_file(path, buf, sizeof(buf)) > 0 && buf[0] == '1')
			return 0;
		sleep_ms(50);
	}
	return ret ? ret : -ETIMEDOUT;
}

/* The host's test peer from the kernel command line. */
static int peer_addr(struct sockaddr_in *sin)
{
	char buf[4096], ip[32];
	unsigned int port;
	char *p;

	if (read_file("/proc/cmdline", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "pvkit_net_peer=");
	if (!p || sscanf(p, "pvkit_net_peer=%31[0-9.]:%u", ip, &port) != 2)
		return 0;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return inet_pton(AF_INET, ip, &sin->sin_addr) == 1;
}

static int peer_connect(const struct sockaddr_in *peer)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (const struct sockaddr *)peer, sizeof(*peer))) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

static int send_all(int s, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(s, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* A line from the peer ("OK ..."), at most @len - 1 bytes. */
static int recv_line(int s, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1) {
		r = recv(s, buf + n, 1, 0);
		if (r <= 0)
			return r ? -errno : -ECONNRESET;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n;
}

FIXTURE(net) {
	char busdev[256];
	char ifname[IFNAMSIZ];
	struct sockaddr_in peer;
	int have_peer;
};

FIXTURE_SETUP(net)
{
	if (!find_nic(self->busdev, sizeof(self->busdev), self->ifname,
		      sizeof(self->ifname)))
		SKIP(return, "no NIC on the pvkit bus (harness --pv-nic)");
	ASSERT_EQ(0, configure(self->ifname))
		TH_LOG("cannot bring %s up with carrier", self->ifname);
	self->have_peer = peer_addr(&self->peer);
}

FIXTURE_TEARDOWN(net)
{
}

TEST_F(net, mac_from_store)
{
	char path[512], store_mac[64], if_mac[64];
	int fd, n;

	fd = open(STORE_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	/* The bus device vif-N is the store's device/vif/N. */
	snprintf(path, sizeof(path), "device/vif/%s/mac", self->busdev + 4);
	n = store_op(fd, PVKIT_STORE_IOC_READ, path, store_mac,
		     sizeof(store_mac) - 1);
	close(fd);
	ASSERT_LT(0, n);
	store_mac[n] = '\0';
	snprintf(path, sizeof(path), "/sys/class/net/%s/address",
		 self->ifname);
	ASSERT_LT(0, read_file(path, if_mac, sizeof(if_mac)));
	EXPECT_STREQ(store_mac, if_mac);
}

static uint16_t icmp_sum(const void *data, size_t len)
{
	const uint16_t *w = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* One echo request with @seq; 1 if its reply came within @ms. */
static int ping_once(int s, const struct sockaddr_in *to, uint16_t ident,
		     uint16_t seq, int ms)
{
	unsigned char pkt[64] = { 0 }, reply[1500];
	struct icmphdr *icmp = (struct icmphdr *)pkt, *r;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	long deadline = now_ms() + ms;
	struct iphdr *ip;
	ssize_t n;

	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(ident);
	icmp->un.echo.sequence = htons(seq);
	memset(pkt + sizeof(*icmp), 0xa5, sizeof(pkt) - sizeof(*icmp));
	icmp->checksum = icmp_sum(pkt, sizeof(pkt));
	if (sendto(s, pkt, sizeof(pkt), 0, (const struct sockaddr *)to,
		   sizeof(*to)) != sizeof(pkt))
		return 0;
	while (now_ms() < deadline) {
		if (poll(&pfd, 1, deadline - now_ms()) <= 0)
			return 0;
		n = recv(s, reply, sizeof(reply), 0);
		ip = (struct iphdr *)reply;
		if (n < (ssize_t)sizeof(*ip) || n < ip->ihl * 4 + 8)
			continue;
		r = (struct icmphdr *)(reply + ip->ihl * 4);
		if (r->type == ICMP_ECHOREPLY && ntohs(r->un.echo.id) == ident &&
		    ntohs(r->un.echo.sequence) == seq &&
		    n - ip->ihl * 4 == (ssize_t)sizeof(pkt) &&
		    !memcmp(reply + ip->ihl * 4 + sizeof(*r),
			    pkt + sizeof(*icmp), sizeof(pkt) - sizeof(*icmp)))
			return 1;
	}
	return 0;
}

TEST_F(net, ping_gateway)
{
	struct sockaddr_in gw = { .sin_family = AF_INET };
	int s, seq, tries, replies = 0;

	inet_pton(AF_INET, GATEWAY_IP, &gw.sin_addr);
	s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ASSERT_LE(0, s);
	/* Each of 10 echoes must be answered; one may need a resend. */
	for (seq = 1; seq <= 10; seq++)
		for (tries = 0; tries < 2; tries++)
			if (ping_once(s, &gw, getpid() & 0xffff, seq, 2000)) {
				replies++;
				break;
			}
	close(s);
	EXPECT_EQ(10, replies);
}

/* SINK: @bytes of data to the peer; both CRCs must agree. */
TEST_F_TIMEOUT(net, tcp_to_host, 600)
{
	unsigned char *buf = malloc(CHUNK);
	uint64_t state = 0x9e3779b97f4a7c15ull;
	unsigned int sent = 0, n, their_crc;
	unsigned long their_len;
	char line[128];
	uint32_t crc = 0;
	long t0;
	int s;

	if (!self->have_peer)
		SKIP(return, "no host peer (harness --net-peer)");
	ASSERT_NE(NULL, buf);
	s = peer_connect(&self->peer);
	ASSERT_LE(0, s) TH_LOG("connect: %s", strerror(-s));
	snprintf(line, sizeof(line), "SINK %u\n", TRANSFER_BYTES);
	ASSERT_EQ(0, send_all(s, line, strlen(line)));
	t0 = now_ms();
	while (sent < TRANSFER_BYTES) {
		n = TRANSFER_BYTES - sent < CHUNK ? TRANSFER_BYTES - sent : CHUNK;
		fill(buf, n, &state);
		crc = crc32_update(crc, buf, n);
		ASSERT_EQ(0, send_all(s, buf, n));
		sent += n;
	}
	ASSERT_LT(0, recv_line(s, line, sizeof(line)));
	close(s);
	free(buf);
	ASSERT_EQ(2, sscanf(line, "OK %lu %x", &their_len, &their_crc))
		TH_LOG("peer said '%s'", line);
	EXPECT_EQ(TRANSFER_BYTES, their_len);
	EXPECT_EQ(crc, their_crc);
	ksft_print_msg("guest->host %u bytes, crc32 %08x both ends, %ld ms\n",
		       sent, crc, now_ms() - t0);
}

/* SOURCE: @bytes from the peer, then its CRC, which must match ours. */
TEST_F_TIMEOUT(net, tcp_from_host, 600)
{
	unsigned char *buf = malloc(CHUNK);
	unsigned int got = 0, their_crc;
	unsigned long their_len;
	char line[128];
	uint32_t crc = 0;
	ssize_t n;
	long t0;
	int s;

	if (!self->have_peer)
		SKIP(return, "no host peer (harness --net-peer)");
	ASSERT_NE(NULL, buf);
	s = peer_connect(&self->peer);
	ASSERT_LE(0, s) TH_LOG("connect: %s", strerror(-s));
	snprintf(line, sizeof(line), "SOURCE %u\n", TRANSFER_BYTES);
	ASSERT_EQ(0, send_all(s, line, strlen(line)));
	t0 = now_ms();
	while (got < TRANSFER_BYTES) {
		size_t want = TRANSFER_BYTES - got < CHUNK ?
			      TRANSFER_BYTES - got : CHUNK;

		n = recv(s, buf, want, 0);
		ASSERT_LT(0, n) TH_LOG("after %u bytes: %s", got,
				       n ? strerror(errno) : "peer closed");
		crc = crc32_update(crc, buf, n);
		got += n;
	}
	ASSERT_LT(0, recv_line(s, line, sizeof(line)));
	close(s);
	free(buf);
	ASSERT_EQ(2, sscanf(line, "OK %lu %x", &their_len, &their_crc))
		TH_LOG("peer said '%s'", line);
	EXPECT_EQ(TRANSFER_BYTES, their_len);
	EXPECT_EQ(crc, their_crc);
	ksft_print_msg("host->guest %u bytes, crc32 %08x both ends, %ld ms\n",
		       got, crc, now_ms() - t0);
}

/* UDP datagrams to the peer, which counts them: loss is counted. */
TEST_F(net, udp_loss_counted)
{
	unsigned long received, distinct;
	const unsigned int count = 2000;
	char tag[32], pkt[1000], line[128];
	unsigned int i;
	int u, s;

	if (!self->have_peer)
		SKIP(return, "no host peer (harness --net-peer)");
	snprintf(tag, sizeof(tag), "pvkit-%d-%ld", getpid(), now_ms());
	u = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, u);
	for (i = 0; i < count; i++) {
		memset(pkt, 'x', sizeof(pkt));
		snprintf(pkt, sizeof(pkt), "%s %u ", tag, i);
		ASSERT_EQ((ssize_t)sizeof(pkt),
			  sendto(u, pkt, sizeof(pkt), 0,
				 (struct sockaddr *)&self->peer,
				 sizeof(self->peer)));
		/* Paced: the point is counting loss, not causing it. */
		if (i % 50 == 49)
			sleep_ms(10);
	}
	close(u);
	sleep_ms(500);
	s = peer_connect(&self->peer);
	ASSERT_LE(0, s);
	snprintf(line, sizeof(line), "UDPCOUNT %s\n", tag);
	ASSERT_EQ(0, send_all(s, line, strlen(line)));
	ASSERT_LT(0, recv_line(s, line, sizeof(line)));
	close(s);
	ASSERT_EQ(2, sscanf(line, "OK %lu %lu", &received, &distinct))
		TH_LOG("peer said '%s'", line);
	ksft_print_msg("udp: %u sent, %lu received, %lu distinct, %lu lost\n",
		       count, received, distinct, count - distinct);
	EXPECT_EQ(received, distinct);	/* nothing duplicated */
	EXPECT_GE(count, distinct);
	EXPECT_LE(count * 9 / 10, distinct);
}

/* Queues of @ifname: entries tx-<n> of its queues directory. */
static int tx_queues(const char *ifname)
{
	char path[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "tx-", 3);
	closedir(d);
	return n;
}

/*
 * One ring pair per CPU, up to what the backend offers; sending from
 * each CPU uses that CPU's pair (its event channel sees the completions).
 */
TEST_F(net, queue_per_cpu)
{
	struct sockaddr_in gw = { .sin_family = AF_INET };
	char path[512], otherend[256], buf[32], name[300];
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), offered = 1, want, cpu;
	long before, after;
	cpu_set_t set;
	int fd, n, s, i;

	snprintf(path, sizeof(path), SYS_DEVS "/%s/otherend", self->busdev);
	ASSERT_LT(0, read_file(path, otherend, sizeof(otherend)));
	fd = open(STORE_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "%s/multi-queue-max-queues", otherend);
	n = store_op(fd, PVKIT_STORE_IOC_READ, path, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		offered = atoi(buf);
	}
	want = cpus < offered ? cpus : offered;
	ASSERT_EQ(want, tx_queues(self->ifname))
		TH_LOG("%d CPUs, backend offers %d queues", cpus, offered);
	inet_pton(AF_INET, GATEWAY_IP, &gw.sin_addr);
	for (cpu = 0; cpu < want; cpu++) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
		snprintf(name, sizeof(name), "%s-q%d", self->busdev, cpu);
		before = irq_count(name);
		s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		ASSERT_LE(0, s);
		for (i = 0; i < 5; i++)
			EXPECT_EQ(1, ping_once(s, &gw, 0x7100 + cpu, i, 2000));
		close(s);
		after = irq_count(name);
		ksft_print_msg("CPU %d: %s took %ld events\n", cpu, name,
			       after - before);
		EXPECT_LT(before, after);
	}
	CPU_ZERO(&set);
	for (cpu = 0; cpu < cpus; cpu++)
		CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The interface's counters follow the traffic; nothing was impossible. */
TEST_F(net, counters)
{
	long tx0 = if_stat(self->ifname, "tx_packets");
	long rx0 = if_stat(self->ifname, "rx_packets");
	struct sockaddr_in gw = { .sin_family = AF_INET };
	char path[512];
	int s, i;

	inet_pton(AF_INET, GATEWAY_IP, &gw.sin_addr);
	s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ASSERT_LE(0, s);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(1, ping_once(s, &gw, 0x7e57, i, 2000));
	close(s);
	EXPECT_LE(tx0 + 5, if_stat(self->ifname, "tx_packets"));
	EXPECT_LE(rx0 + 5, if_stat(self->ifname, "rx_packets"));
	EXPECT_EQ(0, if_stat(self->ifname, "rx_errors"));
	EXPECT_EQ(0, if_stat(self->ifname, "tx_errors"));
	snprintf(path, sizeof(path), SYS_DEVS "/%s/bad_responses",
		 self->busdev);
	EXPECT_EQ(0, read_long(path));
}

/* Requests each disk loader keeps in flight, and their size. */
#define LOAD_DEPTH	128
#define LOAD_BYTES	(256u << 10)
#define LOAD_SPAN	(32ull << 20)

static volatile sig_atomic_t load_stop;

static void load_stop_handler(int sig)
{
	load_stop = 1;
}

/*
 * Keep LOAD_DEPTH O_DIRECT requests of LOAD_BYTES in flight on @bdev
 * until SIGTERM, each resubmitted as it completes: writes (slower for the
 * backend, so more stay in its ring) unless @ro; exit 0 if every request
 * moved its full size, 1 on an I/O error, 2 if it could not start.
 */
static void disk_loader(const char *bdev, int cpu, int ro)
{
	static struct iocb cbs[LOAD_DEPTH], *cbp[LOAD_DEPTH];
	struct io_event ev[LOAD_DEPTH];
	aio_context_t ctx = 0;
	unsigned long long off = 0, span = 0;
	unsigned char *buf;
	int fd, i, n, inflight = 0, bad = 0;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	signal(SIGTERM, load_stop_handler);
	fd = open(bdev, (ro ? O_RDONLY : O_RDWR) | O_DIRECT);
	/* Read the first LOAD_SPAN bytes of the disk, or all of a small one. */
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &span))
		_exit(2);
	span = span < LOAD_SPAN ? span - span % LOAD_BYTES : LOAD_SPAN;
	if (!span || posix_memalign((void **)&buf, 4096,
				     (size_t)LOAD_DEPTH * LOAD_BYTES) ||
	    syscall(__NR_io_setup, LOAD_DEPTH, &ctx))
		_exit(2);
	for (i = 0; i < LOAD_DEPTH; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = ro ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
		cbs[i].aio_buf = (uintptr_t)(buf + (size_t)i * LOAD_BYTES);
		cbs[i].aio_nbytes = LOAD_BYTES;
		cbs[i].aio_offset = off;
		cbs[i].aio_data = i;
		cbp[i] = &cbs[i];
		off = (off + LOAD_BYTES) % span;
	}
	n = syscall(__NR_io_submit, ctx, LOAD_DEPTH, cbp);
	if (n <= 0)
		_exit(2);
	inflight = n;
	while (inflight) {
		n = syscall(__NR_io_getevents, ctx, 1, LOAD_DEPTH, ev, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		inflight -= n;
		for (i = 0; i < n; i++) {
			struct iocb *cb = (struct iocb *)(uintptr_t)ev[i].obj;

			if (ev[i].res != LOAD_BYTES)
				bad++;
			if (load_stop || bad)
				continue;
			cb->aio_offset = off;
			off = (off + LOAD_BYTES) % span;
			if (syscall(__NR_io_submit, ctx, 1, &cb) == 1)
				inflight++;
			else
				bad++;
		}
	}
	_exit(bad ? 1 : 0);
}

/*
 * Start two loaders (one per CPU) on every kit disk; how many started.
 * Unmounted writable disks are the suite's scratch disks and get
 * garbage written; the others are only read.
 */
static int start_disk_load(pid_t *pids, int max)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char path[512], disk[64], bdev[80];
	struct dirent *de;
	int n = 0, c, ro;
	DIR *d;

	d = opendir(SYS_DEVS);
	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		if (strncmp(de->d_name, "vbd-", 4))
			continue;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/disk", de->d_name);
		if (read_file(path, disk, sizeof(disk)) <= 0 || !disk[0])
			continue;
		snprintf(bdev, sizeof(bdev), "/dev/%.60s", disk);
		snprintf(path, sizeof(path), "/sys/block/%.60s/ro", disk);
		ro = read_long(path) != 0 || bdev_mounted(bdev);
		for (c = 0; c < 2 && n < max; c++) {
			pids[n] = fork();
			if (!pids[n])
				disk_loader(bdev, c % (cpus > 0 ? cpus : 1), ro);
			if (pids[n] > 0)
				n++;
		}
	}
	closedir(d);
	return n;
}

static long grants_attr(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/hypervisor/pvkit/grants_%s", name);
	return read_long(path);
}

/*
 * The NIC goes and comes back while every kit disk has its rings full of
 * 256 KiB requests (two loaders of 128 each per disk, more than the
 * grant table holds).  The new NIC must connect and carry traffic: the disks
 * take their grants from what they reserved when they connected, so the
 * NIC's come back to it.  The requests must all succeed, no revoke may
 * fail, and once the disks are idle the grants in use are what they
 * were before.
 */
TEST_F_TIMEOUT(net, replug_while_disks_busy, 300)
{
	char req[512], mac[32], path[512];
	long before, failed, now = -1;
	pid_t pids[16];
	int i, n, ms, idx, status;

	if (!host_requests_offered())
		SKIP(return, "the harness runs no host requests");
	ASSERT_EQ(1, sscanf(self->busdev, "vif-%d", &idx));
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", self->ifname);
	ASSERT_LT(0, read_file(path, mac, sizeof(mac)));
	before = grants_in_use();
	failed = grants_attr("revoke_failed");
	ASSERT_LT(0, before);
	if (failed < 0)
		ksft_print_msg("no grants_revoke_failed in sysfs: not checked\n");
	n = start_disk_load(pids, 16);
	if (!n)
		SKIP(return, "no disk on the pvkit bus (harness --pv-disk)");
	sleep_ms(3000);
	ksft_print_msg("%d disk loaders: grants in use %ld, free %ld, reserved %ld\n",
		       n, grants_in_use(), grants_attr("free"),
		       grants_attr("reserved"));

	snprintf(req, sizeof(req),
		 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"pv-vif%d\"}}",
		 idx);
	ASSERT_EQ(0, host_request(req));
	snprintf(path, sizeof(path), SYS_DEVS "/%s", self->busdev);
	for (ms = 0; ms < 60000 && !access(path, F_OK); ms += 100)
		sleep_ms(100);
	ASSERT_NE(0, access(path, F_OK)) TH_LOG("%s still there", path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"xen-net-device\", \"netdev\": \"pvnet%d\", \"id\": \"pv-vif%d\", \"idx\": %d, \"mac\": \"%s\"}}",
		 idx, idx, idx, mac);
	ASSERT_EQ(0, host_request(req));
	for (ms = 0; ms < 60000; ms += 100, sleep_ms(100))
		if (find_nic(self->busdev, sizeof(self->busdev), self->ifname,
			     sizeof(self->ifname)))
			break;
	EXPECT_LT(ms, 60000) TH_LOG("the NIC did not come back");
	/* configure() waits for carrier: the NIC connected. */
	EXPECT_EQ(0, configure(self->ifname))
		TH_LOG("%s did not connect while the disks were busy",
		       self->ifname);
	ksft_print_msg("NIC back: grants in use %ld, free %ld, reserved %ld\n",
		       grants_in_use(), grants_attr("free"),
		       grants_attr("reserved"));

	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("disk loader %d: status %#x", i, status);
	}
	for (ms = 0; ms < 20000; ms += 200, sleep_ms(200)) {
		now = grants_in_use();
		if (now == before && grants_attr("deferred_pending") <= 0)
			break;
	}
	EXPECT_EQ(before, now);
	if (failed >= 0) {
		EXPECT_EQ(0, grants_attr("deferred_pending"));
		EXPECT_EQ(failed, grants_attr("revoke_failed"));
	}
}

/*
 * Stream to the peer until the NIC goes, counting the bytes the socket
 * took in *@sent (shared with the parent); exit 0 once a send failed.
 */
static void streamer(const struct sockaddr_in *peer,
		     volatile unsigned long long *sent)
{
	static unsigned char buf[CHUNK];
	char line[64];
	int s = peer_connect(peer);

	if (s < 0)
		_exit(2);
	snprintf(line, sizeof(line), "SINK %u\n", 1u << 31);
	if (send_all(s, line, strlen(line)))
		_exit(3);
	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		if (send_all(s, buf, sizeof(buf)))
			_exit(0);
		*sent += sizeof(buf);
	}
}

/*
 * Last: the NIC does not come back.  Unplug it under a TCP stream: the
 * stream was flowing, stops for good (no interface is left to carry it,
 * so the socket's buffer fills and stays full), and its task is neither
 * stuck nor crashed: it failed a send, or it is still killable.  The
 * NIC's grants go back.
 */
TEST_F_TIMEOUT(net, unplug_during_traffic, 180)
{
	volatile unsigned long long *sent;
	unsigned long long at_unplug, gone, later;
	long before, after = -1;
	char path[512];
	int status, ms, idx;
	pid_t pid;

	if (!self->have_peer)
		SKIP(return, "no host peer (harness --net-peer)");
	if (!host_requests_offered())
		SKIP(return, "the harness runs no host requests");
	ASSERT_EQ(1, sscanf(self->busdev, "vif-%d", &idx));
	sent = mmap(NULL, sizeof(*sent), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)sent);
	*sent = 0;
	before = grants_in_use();
	ASSERT_LT(0, before);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		streamer(&self->peer, sent);
	sleep_ms(3000);
	at_unplug = *sent;
	/* The harness names NIC n's QEMU device pv-vif<n>. */
	snprintf(path, sizeof(path),
		 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"pv-vif%d\"}}",
		 idx);
	ASSERT_EQ(0, host_request(path));
	snprintf(path, sizeof(path), SYS_DEVS "/%s", self->busdev);
	for (ms = 0; ms < 60000 && !access(path, F_OK); ms += 100)
		sleep_ms(100);
	EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s still there", path);
	/* What was queued when the NIC went may drain; nothing after. */
	sleep_ms(1000);
	gone = *sent;
	sleep_ms(2000);
	later = *sent;
	ksft_print_msg("stream: %llu bytes sent before the unplug, %llu once the NIC was gone, %llu 2 s later\n",
		       at_unplug, gone, later);
	EXPECT_LT(0ULL, at_unplug) TH_LOG("the stream never flowed");
	EXPECT_EQ(gone, later) TH_LOG("the stream goes on without a NIC");
	/*
	 * Its sends fail only once TCP gives up, which takes minutes; end
	 * it: it must still be killable, or have failed a send already.
	 */
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
		    (WIFEXITED(status) && !WEXITSTATUS(status)))
		TH_LOG("streamer ended with status %#x", status);
	munmap((void *)sent, sizeof(*sent));
	/* Deferred revokes go through once the backend has unmapped. */
	for (ms = 0; ms < 20000; ms += 200) {
		after = grants_in_use();
		if (after <= before - NIC_GRANTS)
			break;
		sleep_ms(200);
	}
	ksft_print_msg("grants in use: %ld with the NIC, %ld after unplug\n",
		       before, after);
	EXPECT_GE(before - NIC_GRANTS, after);
}

TEST_HARNESS_MAIN
