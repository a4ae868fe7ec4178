# SPDX-License-Identifier: GPL-2.0
"""Network devices on the pvkit bus (--pv-nic) and the host-side test
peer (--net-peer)."""

import contextlib
import hashlib
import json
import os
import re
import selectors
import socket
import threading
import time
import zlib

from .common import SetupError


# --pv-nic N gets MAC 52:54:00:12:35:XX, XX = 0x10 + N (QEMU's own default
# NIC is 52:54:00:12:34:56, so the two never clash).  Guests that share an
# Ethernet segment (two VMs on one socket netdev) need different MACs:
# --pv-nic-mac-base moves NIC 0's address, NIC N adds N to its last octet.
PV_NIC_MAC_BASE = "52:54:00:12:35:10"
PV_NIC_MAX = 0x100 - int(PV_NIC_MAC_BASE[-2:], 16)    # with that base
MAC_RE = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")


def pv_nic_macs(count, base=PV_NIC_MAC_BASE):
    """The MACs of count --pv-nic devices from NIC 0's address base (last
    octet + N); SetupError for a malformed, multicast or all-zero base, or
    when the last octet would pass ff (a carry would change the rest)."""
    if not MAC_RE.fullmatch(base):
        raise SetupError(f"--pv-nic-mac-base {base!r}: want six hex octets "
                         "such as 52:54:00:12:36:10")
    octets = [int(o, 16) for o in base.split(":")]
    if octets[0] & 1:
        raise SetupError(f"--pv-nic-mac-base {base}: a multicast address "
                         "(low bit of the first octet set)")
    if not any(octets):
        raise SetupError(f"--pv-nic-mac-base {base}: all zero")
    if octets[5] + count - 1 > 0xff:
        raise SetupError(f"--pv-nic: {count} devices from MAC {base} run "
                         f"past :ff (at most {0x100 - octets[5]})")
    return [":".join(f"{o:02x}" for o in octets[:5] + [octets[5] + i])
            for i in range(count)]


def netdev_keys(spec):
    """The option keys of a QEMU -netdev spec ('user,hostfwd=...' ->
    ['type', 'hostfwd']); ',,' is QEMU's escaped comma inside a value."""
    keys = []
    for i, opt in enumerate(spec.replace(",,", "\0").split(",")):
        if "=" in opt:
            keys.append(opt.split("=", 1)[0])
        elif i == 0:
            keys.append("type")        # the first one may omit "type="
        else:
            keys.append(opt)           # a flag: 'ipv6' / 'noipv6' style
    return keys


def check_pv_nic(spec):
    """Raise SetupError unless spec is a -netdev spec the harness can give
    an id to."""
    if not spec.strip() or spec.startswith(","):
        raise SetupError(f"--pv-nic {spec!r}: want a -netdev spec such as "
                         "'user' or 'socket,listen=127.0.0.1:5000'")
    if "id" in netdev_keys(spec):
        raise SetupError(f"--pv-nic {spec!r}: leave out id=, the harness "
                         "names the netdevs itself (pvnet0, pvnet1, ...)")


def pv_nic_argv(specs, mac_base=PV_NIC_MAC_BASE):
    """QEMU arguments for --pv-nic: the N-th spec becomes netdev pvnetN and
    QEMU's xen-net-device pv-vifN (vif index N on the pvkit bus)."""
    a = []
    for i, (spec, mac) in enumerate(zip(specs,
                                        pv_nic_macs(len(specs), mac_base))):
        a += ["-netdev", f"{spec},id=pvnet{i}",
              "-device", f"xen-net-device,netdev=pvnet{i},id=pv-vif{i},"
              f"idx={i},mac={mac}"]
    return a


# QEMU's user networking (slirp) takes the guest's packets to 10.0.2.2 to
# the host's 127.0.0.1, TCP and UDP alike.
NET_PEER_GUEST_ADDR = "10.0.2.2"
NET_PEER_MAX_BYTES = 16 << 30       # largest SINK/SOURCE/ECHO
NET_PEER_IDLE = 60.0                # seconds a connection may stay silent
NET_PEER_CHUNK = 64 << 10
NET_PEER_LINE_MAX = 256             # request line, bytes
NET_PEER_MAX_CONNS = 256            # open at once; more get ERR busy
NET_PEER_MAX_TAGS = 1024            # UDPCOUNT tags tracked
NET_PEER_COUNT_RE = re.compile(r"\d{1,20}")
NET_PEER_TAG_RE = re.compile(r"[!-~]{1,64}")   # printable ASCII, no space


class PeerClosed(Exception):
    """The guest's end went away in the middle of a request."""


class PeerBadRequest(Exception):
    """A request the peer answers with 'ERR <reason>'."""


class NetPeer:
    """The host end of the guest's network tests (--net-peer).

    A TCP and a UDP socket on the same port of 127.0.0.1.  One request per
    TCP connection, an ASCII line ending in '\\n':
      SINK <n>        read n bytes, reply 'OK <n> <crc32 as 8 hex>'
      SOURCE <n>      send n random bytes, then 'OK <n> <crc32>'
      ECHO <n>        read n bytes, writing each chunk straight back; close
      UDPCOUNT <tag>  'OK <received> <distinct>': UDP datagrams so far whose
                      payload starts with '<tag> ', and distinct payloads
    anything else: 'ERR <reason>'.  A connection ending early gets no reply.
    Each request is a JSON line in log_path ({"op", "bytes", "crc", "ok",
    "seconds"}, plus "error" when not ok); a connection closed without a
    byte is not a request.  A thread per connection; silent for `idle`
    seconds ends it.  Use as a context manager or start()/stop()."""

    def __init__(self, log_path=None, host="127.0.0.1", idle=NET_PEER_IDLE,
                 max_bytes=NET_PEER_MAX_BYTES):
        self.log_path, self.host = log_path, host
        self.idle, self.max_bytes = idle, max_bytes
        self.port = None
        self.tcp = self.udp = self.log = None
        self.wake = None                    # pipe: stop() wakes the loops
        self.lock = threading.Lock()        # stats, log, UDP counters
        self.udp_lock = threading.Lock()    # reading the UDP socket
        self.stopping = threading.Event()
        self.threads = []                   # accept and UDP loops
        self.conns = {}                     # socket -> its thread
        self.udp_tags = {}                  # tag -> [received, {digest}]
        self.stats = {"requests": 0, "transfers": 0, "bytes": 0,
                      "errors": 0, "udpcount": 0, "udp_datagrams": 0,
                      "udp_untracked": 0}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Bind both sockets (retrying when the TCP port's UDP twin is
        taken) and start serving; returns self."""
        for _ in range(50):
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                tcp.bind((self.host, 0))
                udp.bind((self.host, tcp.getsockname()[1]))
                break
            except OSError:
                tcp.close()
                udp.close()
        else:
            raise SetupError(f"--net-peer: no port on {self.host} free for "
                             "both TCP and UDP in 50 tries")
        self.tcp, self.udp = tcp, udp
        self.port = tcp.getsockname()[1]
        tcp.listen(64)
        tcp.setblocking(False)
        udp.setblocking(False)
        self.wake = os.pipe()
        try:                                # bursts while the peer sleeps
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        if self.log_path:
            self.log = open(self.log_path, "a")
        for fn in (self._accept_loop, self._udp_loop):
            t = threading.Thread(target=fn, name=f"net-peer{fn.__name__}",
                                 daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        """Stop serving: connections still open are cut (and logged as
        failed); safe to call twice."""
        if self.tcp is None or self.stopping.is_set():
            return
        self.stopping.set()
        os.write(self.wake[1], b"x")
        for t in self.threads:
            t.join(5)
        with self.lock:
            conns = list(self.conns.items())
        for c, _ in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for _, t in conns:
            t.join(5)
        self.tcp.close()
        self._drain_udp()
        self.udp.close()
        for fd in self.wake:
            os.close(fd)
        if self.log:
            self.log.close()

    def summary(self):
        s = self.stats
        return (f"net-peer: {s['transfers']} transfers, {s['bytes']} bytes, "
                f"{s['udpcount']} UDPCOUNT, {s['udp_datagrams']} UDP "
                f"datagrams, {s['errors']} errors (port {self.port})")

    # UDP

    def _wait(self, sock):
        """Block until sock is readable (True) or stop() was called."""
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_READ)
            sel.register(self.wake[0], selectors.EVENT_READ)
            while not self.stopping.is_set():
                if sel.select(timeout=5):
                    return not self.stopping.is_set()
        return False

    def _udp_loop(self):
        while self._wait(self.udp):
            self._drain_udp()

    def _drain_udp(self):
        """Count every datagram waiting in the socket (UDPCOUNT calls this
        too, so its answer includes all that reached the host)."""
        with self.udp_lock:
            while True:
                try:
                    data = self.udp.recv(65536)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:             # closed
                    return
                self._count_datagram(data)

    def _count_datagram(self, data):
        sp = data.find(b" ", 0, 65)
        digest = hashlib.blake2b(data, digest_size=8).digest()
        with self.lock:
            self.stats["udp_datagrams"] += 1
            entry = self.udp_tags.get(data[:sp]) if sp > 0 else None
            if entry is None:
                if sp <= 0 or len(self.udp_tags) >= NET_PEER_MAX_TAGS:
                    self.stats["udp_untracked"] += 1
                    return
                entry = self.udp_tags[data[:sp]] = [0, set()]
            entry[0] += 1
            entry[1].add(digest)

    def udp_count(self, tag):
        """(received, distinct) for payloads starting with '<tag> '."""
        self._drain_udp()
        with self.lock:
            entry = self.udp_tags.get(tag.encode(), [0, ()])
            return entry[0], len(entry[1])

    # TCP

    def _accept_loop(self):
        while self._wait(self.tcp):
            try:
                conn, _ = self.tcp.accept()
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:                 # e.g. out of descriptors
                time.sleep(0.1)
                continue
            conn.setblocking(True)
            t = threading.Thread(target=self._serve, args=(conn,),
                                 name="net-peer-conn", daemon=True)
            with self.lock:
                busy = len(self.conns) >= NET_PEER_MAX_CONNS
                if not busy:
                    self.conns[conn] = t
            if busy:
                self._record({"op": None, "bytes": 0, "crc": None,
                              "ok": False, "seconds": 0.0,
                              "error": f"busy: {NET_PEER_MAX_CONNS} "
                              "connections open"})
                with contextlib.suppress(OSError):
                    conn.sendall(b"ERR busy\n")
                conn.close()
                continue
            try:
                t.start()
            except RuntimeError as e:       # no more threads: drop this one
                with self.lock:
                    self.conns.pop(conn, None)
                conn.close()
                self._record({"op": None, "bytes": 0, "crc": None,
                              "ok": False, "seconds": 0.0,
                              "error": f"cannot serve: {e}"})

    def _serve(self, conn):
        rec = {"op": None, "bytes": 0, "crc": None, "ok": False,
               "seconds": 0.0}
        t0 = time.monotonic()
        asked = False
        try:
            conn.settimeout(self.idle)
            got = self._read_line(conn)
            if got is not None:
                asked = True
                t0 = time.monotonic()
                self._request(conn, *got, rec)
        except PeerBadRequest as e:
            asked = True
            rec["error"] = str(e)
            with contextlib.suppress(OSError):
                conn.sendall(f"ERR {e}\n".encode())
        except socket.timeout:
            asked = True
            rec["error"] = f"no data for {self.idle:g}s"
        except PeerClosed as e:
            asked = True
            rec["error"] = str(e)
        except OSError as e:
            asked = True
            rec["error"] = f"connection failed: {e.strerror or e}"
        except Exception as e:              # never take the harness down
            asked = True
            rec["error"] = f"peer bug: {e!r}"
        finally:
            rec["seconds"] = round(time.monotonic() - t0, 6)
            if self.stopping.is_set() and not rec["ok"]:
                rec["error"] = "VM ended: " + rec.get("error", "")
            self._close(conn)
            with self.lock:
                self.conns.pop(conn, None)
            if asked:
                self._record(rec)

    def _close(self, conn):
        """Close after the guest has read our last bytes: half-close, then
        wait (1 s at most) for its end, so a reply is not lost to a reset
        caused by data we did not read."""
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(1.0)
            end = time.monotonic() + 1.0
            while time.monotonic() < end and conn.recv(65536):
                pass
        except OSError:
            pass
        conn.close()

    def _read_line(self, conn):
        """(request line, bytes after it), or None if the connection
        closed before a byte came."""
        buf = b""
        while b"\n" not in buf:
            if len(buf) > NET_PEER_LINE_MAX:
                raise PeerBadRequest("request line longer than "
                                     f"{NET_PEER_LINE_MAX} bytes")
            chunk = conn.recv(4096)
            if not chunk:
                if buf:
                    raise PeerClosed("connection closed inside the "
                                     "request line")
                return None
            buf += chunk
        line, rest = buf.split(b"\n", 1)
        if len(line) > NET_PEER_LINE_MAX:
            raise PeerBadRequest("request line longer than "
                                 f"{NET_PEER_LINE_MAX} bytes")
        return line, rest

    def _count(self, op, word):
        if not NET_PEER_COUNT_RE.fullmatch(word):
            raise PeerBadRequest(f"{op}: bad byte count {word[:32]!r}")
        n = int(word)
        if n > self.max_bytes:
            raise PeerBadRequest(f"{op}: {n} bytes is over the limit of "
                                 f"{self.max_bytes}")
        return n

    def _request(self, conn, line, rest, rec):
        try:
            words = line.decode("ascii").rstrip("\r").split()
        except UnicodeDecodeError:
            raise PeerBadRequest("request line is not ASCII")
        if not words:
            raise PeerBadRequest("empty request line")
        op = rec["op"] = words[0][:32]
        if op in ("SINK", "SOURCE", "ECHO"):
            if len(words) != 2:
                raise PeerBadRequest(f"usage: {op} <bytes>")
            n = self._count(op, words[1])
            getattr(self, "_" + op.lower())(conn, n, rest, rec)
        elif op == "UDPCOUNT":
            if len(words) != 2 or not NET_PEER_TAG_RE.fullmatch(words[1]):
                raise PeerBadRequest("usage: UDPCOUNT <tag> (1-64 "
                                     "printable ASCII characters)")
            received, distinct = self.udp_count(words[1])
            rec.update(tag=words[1], received=received, distinct=distinct)
            conn.sendall(f"OK {received} {distinct}\n".encode())
            rec["ok"] = True
        else:
            raise PeerBadRequest(f"unknown request {op!r} (want SINK, "
                                 "SOURCE, ECHO or UDPCOUNT)")

    def _receive(self, conn, n, rest, rec, echo):
        """Read n bytes (the first of them already in rest), CRC them and,
        with echo, write each chunk back."""
        head = rest[:n]
        crc, got = zlib.crc32(head), len(head)
        if echo and head:
            conn.sendall(head)
        rec["bytes"] = got
        buf = memoryview(bytearray(4 * NET_PEER_CHUNK))
        while got < n:
            k = conn.recv_into(buf, min(len(buf), n - got))
            if k == 0:
                raise PeerClosed(f"connection closed after {got} of {n} "
                                 "bytes")
            crc = zlib.crc32(buf[:k], crc)
            if echo:
                conn.sendall(buf[:k])
            got += k
            rec["bytes"] = got
        rec["crc"] = f"{crc:08x}"
        return crc

    def _sink(self, conn, n, rest, rec):
        crc = self._receive(conn, n, rest, rec, echo=False)
        conn.sendall(f"OK {n} {crc:08x}\n".encode())
        rec["ok"] = True

    def _echo(self, conn, n, rest, rec):
        self._receive(conn, n, rest, rec, echo=True)
        rec["ok"] = True

    def _source(self, conn, n, rest, rec):
        crc = sent = 0
        while sent < n:
            chunk = os.urandom(min(NET_PEER_CHUNK, n - sent))
            conn.sendall(chunk)
            crc = zlib.crc32(chunk, crc)
            sent += len(chunk)
            rec["bytes"] = sent
        rec["crc"] = f"{crc:08x}"
        conn.sendall(f"OK {n} {crc:08x}\n".encode())
        rec["ok"] = True

    def _record(self, rec):
        with self.lock:
            s = self.stats
            s["requests"] += 1
            if not rec["ok"]:
                s["errors"] += 1
            elif rec["op"] in ("SINK", "SOURCE", "ECHO"):
                s["transfers"] += 1
                s["bytes"] += rec["bytes"]
            elif rec["op"] == "UDPCOUNT":
                s["udpcount"] += 1
            if self.log:
                self.log.write(json.dumps(rec) + "\n")
                self.log.flush()
