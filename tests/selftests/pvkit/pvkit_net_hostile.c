// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit network frontend against a backend that breaks the protocol.
 *
 * Needs the reference host's test NICs (-device pvkit-test-vif, QOM id
 * tvif-<devid>, see backend-qemu/README.md): bus devices whose otherend
 * is a "pvkit-test-vif" backend directory, which also says what the NIC
 * does (test-fault, test-fault-after).  A test NIC loops every packet the
 * guest sends back into the guest's receive ring.  Each variant below
 * finds the NIC with its fault, sends raw Ethernet frames through a
 * packet socket and counts the ones that come back intact:
 *
 * - none: every frame comes back, nothing is counted as bad;
 * - rx-*: the first test-fault-after frames come back, then none does,
 *   and every faulty receive response is counted (rx-overrun: the NIC
 *   stops instead, counted once in ring_errors, carrier off);
 * - tx-bad-id, tx-bad-status: every frame still comes back and the
 *   faulty transmit responses are counted;
 * - tx-silent: frames come back until the transmit ids run out (the
 *   queue stops with a largest packet's worth left), then the transmit
 *   watchdog fires (tx_timeouts) and the guest goes on.
 *
 * Then the guest must be healthy (no warning or oops, no new taint) and
 * the good NIC must still loop frames back; unplugging the test NICs
 * (host request: device_del) gives back all their grants.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/pvkit_netif.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "pvkit_store_util.h"
#include "pvkit_util.h"

#define SYS_DEVS	"/sys/bus/pvkit/devices"
#define BACKEND_TYPE	"/pvkit-test-vif/"
/* A local experimental EtherType: nothing else in the guest takes it. */
#define ETH_P_TEST	0x88b5
#define FRAME_LEN	200
#define FRAMES		40
/*
 * Transmit ids of the frontend; it stops its queue while fewer are free
 * than the largest packet needs, so a silent backend gets this many.
 */
#define TX_IDS		256
#define TX_IDS_OUT	(TX_IDS - PVKIT_NETIF_MAX_TX_SLOTS + 1)
/* Grants a NIC holds: a page per id of both 256-slot rings, two rings. */
#define NIC_GRANTS	(2 * 256 + 2)
/* Taint flags a broken backend must never cause: BAD_PAGE, DIE, WARN,
 * SOFTLOCKUP.
 */
#define BAD_TAINT	((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14))

struct tnic {
	char dev[256];		/* bus device, vif-<devid> */
	char ifname[IFNAMSIZ];
	char fault[32];
	unsigned int fault_after;
	unsigned char mac[ETH_ALEN];
	int ifindex;
};

/* A key of the backend directory @otherend, from the store. */
static int backend_key(const char *otherend, const char *key, char *buf,
		       size_t len)
{
	char path[512];
	int fd = open(STORE_DEV, O_RDWR), n;

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", otherend, key);
	n = store_op(fd, PVKIT_STORE_IOC_READ, path, buf, len - 1);
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

/* The test NIC with @fault; 0 if there is none. */
static int find_nic(const char *fault, struct tnic *t)
{
	char path[512], otherend[256], buf[64];
	DIR *d = opendir(SYS_DEVS);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "vif-", 4))
			continue;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/otherend",
			 de->d_name);
		if (read_file(path, otherend, sizeof(otherend)) <= 0 ||
		    !strstr(otherend, BACKEND_TYPE))
			continue;
		if (backend_key(otherend, "test-fault", t->fault,
				sizeof(t->fault)) <= 0 ||
		    strcmp(t->fault, fault))
			continue;
		if (backend_key(otherend, "test-fault-after", buf,
				sizeof(buf)) <= 0)
			continue;
		t->fault_after = strtoul(buf, NULL, 10);
		snprintf(path, sizeof(path), SYS_DEVS "/%s/netdev",
			 de->d_name);
		if (read_file(path, t->ifname, sizeof(t->ifname)) <= 0)
			continue;
		snprintf(t->dev, sizeof(t->dev), "%s", de->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

/*
 * Bring @t's interface up and learn its index and MAC address.  IPv6 is
 * off on it first: its own packets (router solicitations, DAD) would
 * take responses the test counts.
 */
static int nic_up(struct tnic *t)
{
	struct ifreq ifr = { 0 };
	char path[128];
	int s, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 t->ifname);
	write_file(path, "1");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	if (!ret && ioctl(s, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	memcpy(t->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (!ret && ioctl(s, SIOCGIFINDEX, &ifr))
		ret = -errno;
	t->ifindex = ifr.ifr_ifindex;
	close(s);
	return ret;
}

/* One of the NIC's ethtool -S counters, or -1. */
static long ethtool_stat(const struct tnic *t, const char *name)
{
	struct ethtool_sset_info *info;
	struct ethtool_gstrings *strs;
	struct ethtool_stats *stats;
	struct ifreq ifr = { 0 };
	long val = -1;
	unsigned int n, i;
	int s;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->ifname);
	info = calloc(1, sizeof(*info) + sizeof(__u32));
	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ull << ETH_SS_STATS;
	ifr.ifr_data = (void *)info;
	if (ioctl(s, SIOCETHTOOL, &ifr) || !info->sset_mask) {
		free(info);
		close(s);
		return -1;
	}
	n = info->data[0];
	free(info);
	strs = calloc(1, sizeof(*strs) + n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + n * sizeof(__u64));
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	ifr.ifr_data = (void *)strs;
	if (!ioctl(s, SIOCETHTOOL, &ifr)) {
		ifr.ifr_data = (void *)stats;
		if (!ioctl(s, SIOCETHTOOL, &ifr))
			for (i = 0; i < n; i++)
				if (!strncmp((char *)strs->data +
					     i * ETH_GSTRING_LEN, name,
					     ETH_GSTRING_LEN))
					val = stats->data[i];
	}
	free(strs);
	free(stats);
	close(s);
	return val;
}

static long bad_responses(const struct tnic *t)
{
	char path[512];

	snprintf(path, sizeof(path), SYS_DEVS "/%s/bad_responses", t->dev);
	return read_long(path);
}

/* A packet socket on @t for our test frames. */
static int frame_socket(const struct tnic *t)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_TEST),
		.sll_ifindex = t->ifindex,
	};
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_TEST));

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll))) {
		close(s);
		return -errno;
	}
	return s;
}

static void make_frame(const struct tnic *t, unsigned int seq,
		       unsigned char *f)
{
	struct ether_header *eh = (struct ether_header *)f;
	unsigned int i;

	memcpy(eh->ether_dhost, t->mac, ETH_ALEN);
	memcpy(eh->ether_shost, t->mac, ETH_ALEN);
	eh->ether_type = htons(ETH_P_TEST);
	for (i = sizeof(*eh); i < FRAME_LEN; i++)
		f[i] = (unsigned char)(seq * 31 + i);
	memcpy(f + sizeof(*eh), &seq, sizeof(seq));
}

/* Whether @t has lost its carrier (as rx-overrun's NIC does when it stops). */
static bool no_carrier(const struct tnic *t)
{
	char path[128], buf[8];

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", t->ifname);
	return read_file(path, buf, sizeof(buf)) > 0 && buf[0] == '0';
}

/*
 * Send @count frames, one at a time, each given @wait_ms to come back;
 * return how many came back byte for byte (sent ones only, in order).
 * With @stop_on_bad (receive faults, where a frame answered badly is
 * dropped), stop waiting for a frame once the NIC counts a new bad
 * response or has stopped: it will not come back, and waiting out
 * @wait_ms for each such frame made this the longest of make check's
 * network stages.
 */
static int loop_frames(const struct tnic *t, int s, unsigned int count,
		       int wait_ms, bool stop_on_bad)
{
	unsigned char f[FRAME_LEN], r[2048];
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	unsigned int seq, back = 0;
	long deadline, left, bad0;
	ssize_t n;

	for (seq = 0; seq < count; seq++) {
		make_frame(t, seq, f);
		bad0 = bad_responses(t);
		if (send(s, f, sizeof(f), 0) != sizeof(f))
			continue;
		deadline = now_ms() + wait_ms;
		while ((left = deadline - now_ms()) > 0) {
			if (poll(&pfd, 1, stop_on_bad && left > 20 ? 20 : left) > 0) {
				n = recv(s, r, sizeof(r), 0);
				if (n == FRAME_LEN && !memcmp(r, f, FRAME_LEN)) {
					back++;
					break;
				}
			} else if (stop_on_bad && (bad_responses(t) != bad0 ||
						   no_carrier(t))) {
				break;
			}
		}
	}
	return back;
}

static long tainted(void)
{
	return read_long("/proc/sys/kernel/tainted");
}

FIXTURE(hostile) {
	struct tnic t;
	int s;
};

FIXTURE_VARIANT(hostile) {
	const char *fault;
};

FIXTURE_VARIANT_ADD(hostile, none) { .fault = "none" };
FIXTURE_VARIANT_ADD(hostile, rx_bad_id) { .fault = "rx-bad-id" };
FIXTURE_VARIANT_ADD(hostile, rx_bad_size) { .fault = "rx-bad-size" };
FIXTURE_VARIANT_ADD(hostile, rx_bad_offset) { .fault = "rx-bad-offset" };
FIXTURE_VARIANT_ADD(hostile, rx_bad_flags) { .fault = "rx-bad-flags" };
FIXTURE_VARIANT_ADD(hostile, rx_bad_status) { .fault = "rx-bad-status" };
FIXTURE_VARIANT_ADD(hostile, rx_garbage) { .fault = "rx-garbage" };
FIXTURE_VARIANT_ADD(hostile, rx_overrun) { .fault = "rx-overrun" };
FIXTURE_VARIANT_ADD(hostile, tx_bad_id) { .fault = "tx-bad-id" };
FIXTURE_VARIANT_ADD(hostile, tx_bad_status) { .fault = "tx-bad-status" };
FIXTURE_VARIANT_ADD(hostile, tx_silent) { .fault = "tx-silent" };

FIXTURE_SETUP(hostile)
{
	char path[512], buf[8];
	int ms;

	self->s = -1;
	if (!find_nic(variant->fault, &self->t))
		SKIP(return, "no pvkit-test-vif NIC with fault=%s",
		     variant->fault);
	ASSERT_EQ(0, nic_up(&self->t)) TH_LOG("%s", self->t.ifname);
	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier",
		 self->t.ifname);
	for (ms = 0; ms < 10000; ms += 50, sleep_ms(50))
		if (read_file(path, buf, sizeof(buf)) > 0 && buf[0] == '1')
			break;
	ASSERT_GT(10000, ms) TH_LOG("%s: no carrier", self->t.ifname);
	self->s = frame_socket(&self->t);
	ASSERT_LE(0, self->s) TH_LOG("packet socket: %s", strerror(-self->s));
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->s >= 0)
		close(self->s);
}

TEST_F_TIMEOUT(hostile, frames, 120)
{
	const char *fault = self->t.fault;
	unsigned int after = self->t.fault_after;
	long bad0 = bad_responses(&self->t), bad, taint0 = tainted();
	int back;

	ASSERT_EQ(0, bad0);
	if (!strcmp(fault, "tx-silent")) {
		/*
		 * The first test-fault-after ids come back, then every id
		 * goes out for good: the frames beyond wait in the queue.
		 */
		back = loop_frames(&self->t, self->s, TX_IDS + after + 20, 200,
				   false);
		TH_LOG("tx-silent: %d of %u frames came back", back,
		       TX_IDS + after + 20);
		EXPECT_EQ(TX_IDS_OUT + after, back);
		sleep_ms(8000);	/* the transmit watchdog: 5 s */
		EXPECT_LE(1, ethtool_stat(&self->t, "tx_timeouts"));
		EXPECT_EQ(0, bad_responses(&self->t));
	} else {
		back = loop_frames(&self->t, self->s, FRAMES, 500,
				   !strncmp(fault, "rx-", 3));
		bad = bad_responses(&self->t);
		TH_LOG("%s: %d of %d frames came back, bad_responses %ld, ring_errors %ld",
		       fault, back, FRAMES, bad,
		       ethtool_stat(&self->t, "ring_errors"));
		if (!strcmp(fault, "none")) {
			EXPECT_EQ(FRAMES, back);
			EXPECT_EQ(0, bad);
		} else if (!strncmp(fault, "tx-", 3)) {
			EXPECT_EQ(FRAMES, back);
			EXPECT_EQ(FRAMES - after, ethtool_stat(&self->t,
							      "tx_bad_responses"));
		} else if (!strcmp(fault, "rx-overrun")) {
			EXPECT_EQ((int)after, back);
			EXPECT_EQ(1, ethtool_stat(&self->t, "ring_errors"));
		} else if (!strcmp(fault, "rx-garbage")) {
			/* A random slot may name a buffer that is out. */
			EXPECT_GE((int)after + 1, back);
			EXPECT_LE((int)after, back);
			EXPECT_LE(FRAMES - after - 2, bad);
		} else {
			EXPECT_EQ((int)after, back);
			EXPECT_EQ(FRAMES - after, ethtool_stat(&self->t,
							      "rx_bad_responses"));
		}
	}
	EXPECT_EQ(0, tainted() & ~taint0 & BAD_TAINT);
}

/*
 * Checks after every test NIC has had its turn.  A fixture of their own:
 * the harness runs plain TEST()s before any fixture's tests.
 */
FIXTURE(after) {
};

FIXTURE_SETUP(after)
{
}

FIXTURE_TEARDOWN(after)
{
}

/* The guest is unharmed, and the good NIC still works. */
TEST_F(after, guest_healthy)
{
	static const char *const splats[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN",
		"general protection", "watchdog:", "kernel BUG",
		"list_del corruption", "refcount_t:",
	};
	char line[1024];
	struct tnic t;
	unsigned int i;
	FILE *f;
	int s;

	if (!find_nic("none", &t))
		SKIP(return, "no good test NIC: not the hostile-backend run");
	EXPECT_EQ(0, tainted() & BAD_TAINT);
	f = popen("dmesg", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		for (i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
			EXPECT_EQ(NULL, strstr(line, splats[i]))
				TH_LOG("%s", line);
	pclose(f);
	ASSERT_EQ(0, nic_up(&t));
	s = frame_socket(&t);
	ASSERT_LE(0, s);
	EXPECT_EQ(FRAMES, loop_frames(&t, s, FRAMES, 500, false));
	close(s);
}

/* Unplug every test NIC: all their grants come back. */
TEST_F_TIMEOUT(after, unplug_returns_grants, 120)
{
	char path[512], otherend[256], req[256];
	long before = grants_in_use(), after = -1;
	unsigned int devids[64], nics = 0, i;
	struct dirent *de;
	DIR *d;
	int ms;

	d = opendir(SYS_DEVS);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)) && nics < 64) {
		if (strncmp(de->d_name, "vif-", 4))
			continue;
		snprintf(path, sizeof(path), SYS_DEVS "/%s/otherend",
			 de->d_name);
		if (read_file(path, otherend, sizeof(otherend)) > 0 &&
		    strstr(otherend, BACKEND_TYPE))
			devids[nics++] = strtoul(de->d_name + 4, NULL, 10);
	}
	closedir(d);
	if (!nics)
		SKIP(return, "no pvkit-test-vif NICs");
	if (!host_requests_offered())
		SKIP(return, "the harness runs no host requests");
	ASSERT_LT(0, before);
	for (i = 0; i < nics; i++) {
		snprintf(req, sizeof(req),
			 "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"tvif-%u\"}}",
			 devids[i]);
		ASSERT_EQ(0, host_request(req));
	}
	for (ms = 0; ms < 60000; ms += 200, sleep_ms(200)) {
		after = grants_in_use();
		if (after <= before - (long)nics * NIC_GRANTS)
			break;
	}
	TH_LOG("%u test NICs unplugged: grants in use %ld -> %ld", nics,
	       before, after);
	EXPECT_GE(before - (long)nics * NIC_GRANTS, after);
}

TEST_HARNESS_MAIN
