# SPDX-License-Identifier: GPL-2.0
"""pvkit-vm: boot a guest kernel + test initramfs in QEMU, run a command or
kselftest suites in it, and report the results.

The guest's /init (tests/image/init) prints "PVKIT-BOOTED", runs /pvkit/cmd
(supplied here in a small cpio appended to the initrd), prints
"PVKIT-EXIT: <rc>" and reboots; QEMU runs with -no-reboot, so the VM ends.
The serial console is read live: kernel failure reports (panic, Oops, BUG,
WARNING, KASAN/UBSAN/KFENCE, lockdep, RCU stalls, lockups, hung tasks) and
KTAP/TAP results are picked out of it while it streams.  A user process's
fault (segfault, trap) is its test's business, not a kernel failure.

Exit codes:
   0  all tests passed / the command exited 0 (and every --expect-* matched)
   1  a test failed (a planned result that never came counts, and with
      --expected-skips an unlisted skip), the command exited non-zero, no
      test ran in --kselftest mode, or an --expect-console/--expect-hvc
      did not match
  10  the kernel reported a panic, Oops, BUG, WARNING, KASAN/UBSAN/KFENCE
      report, lockdep report, RCU stall, soft/hard lockup or hung task
  11  idle timeout: no console output for --idle-timeout seconds
  12  wall-clock timeout (--timeout)
  13  QEMU crashed or exited (or the guest stopped) before PVKIT-EXIT
  14  setup or usage error (bad option, missing file, QEMU lacks a device)
In every failure case one line giving the reason and the console log path
is printed on stderr.  Stdlib only.
"""

import argparse
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

from .canary import choose_accel
from .common import (BASE_CMDLINE, BOOT_MARKER, DEFAULT_DATA_DIRS,
                     EXIT_KERNEL, EXIT_IDLE, EXIT_MARKER_RE, EXIT_OK,
                     EXIT_QEMU, EXIT_REASONS, EXIT_SETUP, EXIT_TESTS_FAILED,
                     EXIT_WALL, Failure, SetupError)
from .cpio import build_run_initrd
from .detect import KernelFailureDetector, decode_trace
from .junit import write_junit
from .ktap import (KtapParser, apply_expected_skips, apply_known_failures,
                   failed_names, failed_nodes, failure_label, flat_results,
                   live_result_line, load_expected_skips,
                   load_known_failures, suite_line, summarize)
from .netpeer import (NET_PEER_GUEST_ADDR, PV_NIC_MAC_BASE, NetPeer,
                      check_pv_nic, pv_nic_argv, pv_nic_macs)
from .qmp import HOST_REQUEST_COMMANDS, HOST_REQUEST_RE, Qmp, host_request
from .vm import free_udp_port, qemu_has_device, run_vm


def decide(mode, o, kernel_failure, counts, top, failures, limits,
           qemu_err=""):
    """(exit code, reason, failures) of a finished run, most severe first:
    a kernel failure report, the wall limit (or --kill-after), the idle
    limit, QEMU ending before PVKIT-EXIT, then the command's status (cmd
    mode) or the tests (kselftest mode), then the --expect-* failures
    already in `failures`.

    o: the run's Outcome (timeout, guest_rc, qemu_rc, booted_at);
    kernel_failure: the detector's (kind, message) or None; counts:
    summarize(top); limits: anything with the options timeout,
    idle_timeout, kill_after and kill_delay.  Returns a new failures list
    with the harness's own failure (a "vm:..." entry) first."""
    failures = list(failures)
    if kernel_failure:
        code = EXIT_KERNEL
        reason = f"kernel failure ({kernel_failure[0]}): {kernel_failure[1]}"
    elif o.timeout == "wall":
        code, reason = EXIT_WALL, f"wall timeout after {limits.timeout:g}s"
    elif o.timeout == "killed":
        code = EXIT_WALL
        reason = f"killed with SIGKILL {limits.kill_delay:g}s after " \
            f"{limits.kill_after!r} (--kill-after)"
    elif o.timeout == "idle":
        code = EXIT_IDLE
        reason = f"no console output for {limits.idle_timeout:g}s"
    elif o.guest_rc is None:
        code = EXIT_QEMU
        how = (f"killed by signal {-o.qemu_rc}" if o.qemu_rc < 0
               else f"exited with status {o.qemu_rc}")
        where = "before PVKIT-BOOTED" if o.booted_at is None else \
            "before PVKIT-EXIT"
        reason = f"QEMU {how} {where}" + (f": {qemu_err}" if qemu_err
                                          else "")
    else:
        code, reason = EXIT_OK, "ok"
        unexpected = [failure_label(n) for n in failed_nodes(top)
                      if getattr(n, "unexpected_skip", None) is not None]
        if mode == "cmd" and o.guest_rc != 0:
            code, reason = EXIT_TESTS_FAILED, \
                f"command exited with status {o.guest_rc}"
        elif mode == "cmd" and unexpected:
            # the command's TAP, checked against --expected-skips
            code = EXIT_TESTS_FAILED
            reason = ", ".join(unexpected[:5]) + \
                (" ..." if len(unexpected) > 5 else "")
        elif mode == "kselftest":
            if counts["failed"]:
                code = EXIT_TESTS_FAILED
                names = failed_names(top)
                reason = f"{counts['failed']} test(s) failed: " + \
                    ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            elif counts["total"] == 0:
                code = EXIT_TESTS_FAILED
                reason = f"no test ran (run_kselftest.sh exited " \
                    f"{o.guest_rc})"
                failures.append(Failure("vm:kselftest", reason))
            elif o.guest_rc != 0:
                code = EXIT_TESTS_FAILED
                reason = f"run_kselftest.sh exited {o.guest_rc}"
                failures.append(Failure("vm:kselftest", reason))
        if code == EXIT_OK and failures:
            code = EXIT_TESTS_FAILED
            reason = "; ".join(f.reason for f in failures)
    if code not in (EXIT_OK, EXIT_TESTS_FAILED):
        failures.insert(0, Failure(f"vm:{EXIT_REASONS[code]}", reason))
    elif code == EXIT_TESTS_FAILED and mode == "cmd" and o.guest_rc:
        failures.insert(0, Failure("vm:command", reason))
    return code, reason, failures


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="pvkit-vm",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Boot a kernel + test initramfs in QEMU and run a "
        "command or kselftest suites in it.",
        epilog=__doc__[__doc__.index("Exit codes:"):])
    ap.add_argument("--qemu", required=True, help="QEMU system binary")
    ap.add_argument("--kernel", required=True, help="bzImage to boot")
    ap.add_argument("--initrd", required=True,
                    help="base initramfs from scripts/build-image.sh")
    ap.add_argument("--data-dir", action="append", default=None,
                    metavar="DIR", help="QEMU -L firmware dir (repeatable; "
                    "default: /usr/share/seabios and /usr/share/qemu when "
                    "present)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--pvkit", dest="pvkit", action="store_const",
                   const=True, help="add the kit's pvkit device (console "
                   "to OUT/hvc0.log)")
    g.add_argument("--no-pvkit", dest="pvkit", action="store_const",
                   const=False, help="no pvkit device (stock QEMU)")
    ap.add_argument("--pvkit-opts", default="", metavar="OPTS",
                    help="extra -device pvkit options, e.g. "
                    "test-hypercalls=on")
    m = ap.add_mutually_exclusive_group()
    m.add_argument("--cmd", help="shell command to run in the guest")
    m.add_argument("--kselftest", metavar="'SUITE[:TEST] ...'",
                   help="kselftest collections (or collection:test) to run "
                   "from /kselftest")
    ap.add_argument("--kselftest-cap", type=int, default=0, metavar="SECS",
                    help="with --kselftest: stop a test whose suite sets "
                    "no timeout (settings: timeout=0) after SECS; written "
                    "for hardware, some run for hours under TCG "
                    "(default 0: no cap)")
    ap.add_argument("--kselftest-tcg-scale", type=int, default=1,
                    metavar="N", help="with --kselftest under TCG: give "
                    "each test N times the timeout its suite sets "
                    "(default 1)")
    ap.add_argument("--modprobe", action="append", default=[],
                    metavar="MODULE", help="load MODULE at boot "
                    "(writes /etc/pvkit-modules; repeatable)")
    ap.add_argument("--append", default="", help="extra kernel arguments")
    ap.add_argument("--out", help="output dir (default ./results/<time>)")
    ap.add_argument("--timeout", type=float, default=900,
                    help="wall-clock limit in seconds (default 900)")
    ap.add_argument("--idle-timeout", type=float, default=120,
                    help="kill after this many seconds without console "
                    "output (default 120)")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--mem", default="512", help="guest memory, MiB or "
                    "QEMU size (default 512)")
    ap.add_argument("--machine", default="pc", help="-M (default pc)")
    ap.add_argument("--qemu-arg", action="append", default=[],
                    metavar="ARG", help="extra QEMU argument (repeatable; "
                    "use --qemu-arg=-foo for ones starting with '-')")
    ap.add_argument("--host-requests", action="store_true",
                    help="open a QMP socket (OUT/qmp.sock) and run the "
                    "commands the guest asks for with 'PVKIT-HOST-REQUEST: "
                    "{\"execute\": ...}' console lines (only " +
                    ", ".join(HOST_REQUEST_COMMANDS) + "; harness-cputime "
                    "{\"label\": L} logs QEMU's CPU time)")
    ap.add_argument("--loop-console", action="store_true",
                    help="add a xen-console device (id loopcon, on the "
                    "pvkit bus) whose output comes back as its input "
                    "(a UDP chardev sending to itself)")
    ap.add_argument("--pv-disk", action="append", default=[],
                    metavar="FILE[,ro]", help="attach FILE (raw) as a disk "
                    "on the pvkit bus (QEMU's xen-disk, vdev xvda, xvdb, "
                    "... after --root-disk; QOM id pv-<vdev>; discard "
                    "passed to the file); ',ro' makes it read-only "
                    "(repeatable)")
    ap.add_argument("--pv-nic", action="append", default=[],
                    metavar="NETDEV", help="add a network device on the "
                    "pvkit bus (QEMU's xen-net-device, QOM id pv-vifN, vif "
                    "index N, MAC 52:54:00:12:35:XX with XX = 0x10 + N in "
                    "hex) on a -netdev NETDEV given without id=, e.g. "
                    "'user' or 'socket,listen=127.0.0.1:5000' (repeatable)")
    ap.add_argument("--pv-nic-mac-base", default=PV_NIC_MAC_BASE,
                    metavar="MAC", help="MAC of the first --pv-nic; the N-th "
                    "adds N to the last octet (default " + PV_NIC_MAC_BASE +
                    "; guests on one Ethernet segment need different ones)")
    ap.add_argument("--net-peer", action="store_true",
                    help="run a TCP/UDP test peer on 127.0.0.1:P for the "
                    "VM's lifetime and pass pvkit_net_peer=10.0.2.2:P on "
                    "the kernel command line (reachable through a 'user' "
                    "netdev); requests logged to OUT/net-peer.jsonl")
    ap.add_argument("--root-disk", metavar="IMAGE",
                    help="boot with the root file system on a pvkit disk: "
                    "IMAGE (ext4, from build-image.sh --ext4) is attached "
                    "first (xvda, copy-on-write: the file is not changed) "
                    "and the initramfs switches to it (pvkit_root=)")
    ap.add_argument("--kill-after", metavar="REGEX",
                    help="SIGKILL QEMU --kill-delay seconds after the first "
                    "console line matching REGEX (exit 12, like the wall "
                    "limit): for crash-consistency tests")
    ap.add_argument("--kill-delay", type=float, default=0.0,
                    metavar="SECONDS", help="see --kill-after (default 0)")
    ap.add_argument("--expect-console", action="append", default=[],
                    metavar="REGEX", help="fail unless the console log "
                    "matches (repeatable)")
    ap.add_argument("--known-failures", metavar="FILE",
                    help="tests that fail for reasons outside the kit, one "
                    "'suite:test:subtest  # why' per line: reported as "
                    "xfail (counted as skipped), not failures")
    ap.add_argument("--flavour", metavar="NAME",
                    help="the kernel's flavour (small, debug, suites): "
                    "entries of --known-failures and --expected-skips "
                    "marked '@NAME' hold only for it")
    ap.add_argument("--expected-skips", metavar="FILE",
                    help="the skips this run may have, one "
                    "'suite:test[:subtest]  # why' per line (a name covers "
                    "its subtests): any other skip fails the run "
                    "('unexpected skip: NAME (reason)')")
    ap.add_argument("--expect-hvc", action="append", default=[],
                    metavar="REGEX", help="fail unless hvc0.log (the pvkit "
                    "console as the host saw it) matches (repeatable)")
    ap.add_argument("--vmlinux", metavar="PATH",
                    help="the guest kernel's vmlinux: the first kernel "
                    "failure's report is decoded with the kernel's "
                    "scripts/decode_stacktrace.sh (results.json keeps raw "
                    "and decoded)")
    ap.add_argument("--kernel-src", metavar="DIR",
                    help="the kernel source tree for --vmlinux (its "
                    "scripts/decode_stacktrace.sh, and the base path of "
                    "file names; default: the vmlinux directory's 'source' "
                    "link or the directory itself)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="echo the whole console")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="echo nothing but the result")
    return ap.parse_args(argv)


def main(argv=None):
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return EXIT_SETUP if e.code not in (0, None) else 0
    try:
        return run(args)
    except SetupError as e:
        print(f"pvkit-vm: setup error: {e}", file=sys.stderr)
        return EXIT_SETUP


def run(args):
    with contextlib.ExitStack() as stack:      # stops the net peer
        return Run(args, stack).execute()


class Run:
    """One run of a guest: the options checked, the QEMU command line, the
    console handlers fed while QEMU runs, and the verdict and results
    written at the end."""

    def __init__(self, args, stack):
        self.args = args
        self.check()
        self.select()
        self.make_out()
        self.cmdline = BASE_CMDLINE + (" " + args.append if args.append
                                       else "")
        if args.host_requests:
            # tells the guest's tests that they may ask (init ignores it)
            self.cmdline += " pvkit_host_requests=1"
        if args.root_disk:
            self.cmdline += " pvkit_root=/dev/pvda"
        self.peer = None
        if args.net_peer:
            self.peer = stack.enter_context(NetPeer(self.peer_log))
            self.cmdline += \
                f" pvkit_net_peer={NET_PEER_GUEST_ADDR}:{self.peer.port}"
        self.qmp_path = os.path.join(self.out, "qmp.sock")
        self.qmp = Qmp(self.qmp_path)
        self.detector = KernelFailureDetector()
        self.show_live = not args.quiet
        self.known = load_known_failures(args.known_failures,
                                         args.flavour) \
            if args.known_failures else {}
        self.expected = load_expected_skips(args.expected_skips,
                                            args.flavour) \
            if args.expected_skips is not None else None
        self.matched_skips = set()
        self.parser = KtapParser(self.on_result, self.on_document)
        self.in_cmd = False
        self.qemu_pid = None
        self.kill = {"at": None}
        self.kill_rx = re.compile(args.kill_after) if args.kill_after \
            else None

    def check(self):
        """SetupError for options that cannot work; sets pvkit (use the
        device) and data_dirs."""
        args = self.args
        for what, p in (("--qemu", args.qemu), ("--kernel", args.kernel),
                        ("--initrd", args.initrd)):
            if not os.path.isfile(p):
                raise SetupError(f"{what} {p}: no such file")
        if not os.access(args.qemu, os.X_OK):
            raise SetupError(f"--qemu {args.qemu} is not executable")
        for rx in args.expect_console + args.expect_hvc + \
                ([args.kill_after] if args.kill_after else []):
            try:
                re.compile(rx)
            except re.error as e:
                raise SetupError(f"bad regex {rx!r}: {e}")
        self.data_dirs = args.data_dir
        if self.data_dirs is None:
            self.data_dirs = [d for d in DEFAULT_DATA_DIRS
                              if os.path.isdir(d)]
        has_dev = qemu_has_device(args.qemu, "pvkit")
        pvkit = self.pvkit = has_dev if args.pvkit is None else args.pvkit
        if pvkit and not has_dev:
            raise SetupError(f"{args.qemu} has no 'pvkit' device (stock "
                             "QEMU? use --no-pvkit)")
        if args.expect_hvc and not pvkit:
            raise SetupError("--expect-hvc needs the pvkit device (--pvkit)")
        if (args.pv_disk or args.root_disk) and not pvkit:
            raise SetupError("--pv-disk and --root-disk need the pvkit "
                             "device (--pvkit)")
        if args.root_disk and not os.path.isfile(args.root_disk):
            raise SetupError(f"--root-disk {args.root_disk}: no such file")
        for d in args.pv_disk:
            path = d[:-3] if d.endswith(",ro") else d
            if not os.path.isfile(path):
                raise SetupError(f"--pv-disk {d}: no such file")
        for what, p in (("--known-failures", args.known_failures),
                        ("--expected-skips", args.expected_skips)):
            # /dev/null is fine: nothing is known, no skip is expected
            if p is not None and (not os.path.exists(p) or
                                  os.path.isdir(p)):
                raise SetupError(f"{what} {p}: no such file")
        if args.vmlinux and not os.path.isfile(args.vmlinux):
            raise SetupError(f"--vmlinux {args.vmlinux}: no such file")
        if args.kernel_src and not args.vmlinux:
            raise SetupError("--kernel-src needs --vmlinux")
        if args.kernel_src and not os.path.isdir(args.kernel_src):
            raise SetupError(f"--kernel-src {args.kernel_src}: no such "
                             "directory")
        if args.loop_console and not pvkit:
            raise SetupError("--loop-console needs the pvkit device "
                             "(--pvkit)")
        if args.pv_nic and not pvkit:
            raise SetupError("--pv-nic needs the pvkit device (--pvkit)")
        pv_nic_macs(len(args.pv_nic), args.pv_nic_mac_base)  # SetupError
        for spec in args.pv_nic:
            check_pv_nic(spec)

    def select(self):
        """mode (kselftest, cmd or interactive) and the guest's command."""
        args = self.args
        if args.kselftest is not None:
            self.mode = "kselftest"
            sel = []
            for s in args.kselftest.split():
                sel += ["-t" if ":" in s else "-c", s]
            if not sel:
                raise SetupError("--kselftest needs at least one suite")
            if args.kselftest_cap < 0:
                raise SetupError("--kselftest-cap must be 0 or more")
            if args.kselftest_tcg_scale < 1:
                raise SetupError("--kselftest-tcg-scale must be 1 or more")
            self.ksft_sel = sel
            self.cmd = self.kselftest_cmd("kvm")
        elif args.cmd is not None:
            self.mode, self.cmd = "cmd", args.cmd
        else:
            self.mode, self.cmd = "interactive", None

    def kselftest_cmd(self, accel):
        """The guest's run_kselftest.sh command line; under TCG the
        suites' timeouts are scaled by --kselftest-tcg-scale (the image's
        /usr/bin/timeout reads PVKIT_TIMEOUT_SCALE and _CAP)."""
        args, env = self.args, ""
        if args.kselftest_cap:
            env += f"PVKIT_TIMEOUT_CAP={args.kselftest_cap} "
        if accel == "tcg" and args.kselftest_tcg_scale > 1:
            env += f"PVKIT_TIMEOUT_SCALE={args.kselftest_tcg_scale} "
        return f"cd /kselftest && {env}./run_kselftest.sh " + \
            shlex.join(self.ksft_sel)

    def make_out(self):
        """The output directory, with last run's logs removed."""
        args = self.args
        out = args.out or os.path.join(
            "results", time.strftime("%Y%m%d-%H%M%S"))
        base, n = out, 1
        while args.out is None and os.path.exists(out):
            n += 1
            out = f"{base}-{n}"
        self.out = out = os.path.abspath(out)
        os.makedirs(out, exist_ok=True)
        self.console = os.path.join(out, "console.log")
        self.hvc = os.path.join(out, "hvc0.log")
        self.peer_log = os.path.join(out, "net-peer.jsonl")
        for p in (self.console, self.hvc, self.peer_log):
            if os.path.exists(p):
                os.unlink(p)
        open(self.console, "wb").close()

    def make_argv(self, accel, initrd, pvkit, canary=False):
        args = self.args
        a = [args.qemu, "-M", args.machine, "-accel", accel,
             "-m", str(args.mem), "-smp", str(args.smp),
             "-nodefaults", "-no-user-config", "-display", "none",
             "-no-reboot", "-kernel", args.kernel, "-initrd", initrd,
             "-append", self.cmdline]
        if self.mode == "interactive" and not canary:
            a += ["-serial", "mon:stdio"]
        else:
            a += ["-monitor", "none", "-serial", "stdio"]
        for d in self.data_dirs:
            a += ["-L", d]
        if pvkit:
            dev = "pvkit,chardev=pvkitcon"
            if args.pvkit_opts:
                dev += "," + args.pvkit_opts
            a += ["-chardev", f"file,id=pvkitcon,path={self.hvc}",
                  "-device", dev]
        if pvkit and args.loop_console and not canary:
            port = free_udp_port()
            a += ["-chardev", f"udp,id=loopchr,host=127.0.0.1,port={port},"
                  f"localaddr=127.0.0.1,localport={port}",
                  "-device", "xen-console,chardev=loopchr,id=loopcon"]
        disks = []
        if args.root_disk:
            disks.append(f"file={os.path.abspath(args.root_disk)},"
                         "format=raw,snapshot=on")
        for d in args.pv_disk:
            ro = d.endswith(",ro")
            path = os.path.abspath(d[:-3] if ro else d)
            disks.append(f"file={path},format=raw," +
                         ("readonly=on" if ro else "discard=unmap"))
        for i, drive in enumerate(disks if pvkit and not canary else []):
            vdev = "xvd" + chr(ord("a") + i)
            a += ["-drive", f"{drive},if=none,id=drive-{vdev}", "-device",
                  f"xen-disk,vdev={vdev},drive=drive-{vdev},id=pv-{vdev}"]
        if pvkit and not canary:
            a += pv_nic_argv(args.pv_nic, args.pv_nic_mac_base)
        if args.host_requests and not canary:
            a += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        # The KVM canary boots without the pvkit device: extra devices
        # (a pvkit-test-vbd needs the device's Xen bus) would fail it and
        # cache "tcg" for this QEMU.
        return a + ([] if canary else args.qemu_arg)

    def interactive(self, accel):
        """A shell on the console; no results."""
        args = self.args
        initrd = args.initrd
        if args.modprobe:
            initrd = os.path.join(self.out, "initrd.cpio.gz")
            build_run_initrd(args.initrd, initrd, "exec sh -l",
                             args.modprobe)
        argv = self.make_argv(accel, initrd, self.pvkit)
        print("pvkit-vm: " + shlex.join(argv), file=sys.stderr)
        rc = subprocess.call(argv)
        if self.peer:
            self.peer.stop()
            print(self.peer.summary(), file=sys.stderr)
        return EXIT_OK if rc == 0 else EXIT_QEMU

    # Console handlers, called while QEMU runs

    def judge(self, nodes):
        """Known failures and expected skips applied (idempotent)."""
        if self.known:
            apply_known_failures(nodes, self.known)
        if self.expected is not None:
            self.matched_skips.update(apply_expected_skips(nodes,
                                                           self.expected))

    def on_result(self, node, depth, prefix):
        if self.mode == "kselftest" and self.show_live:
            print(live_result_line(node, depth, prefix, self.known,
                                   self.expected), flush=True)

    def on_document(self, nodes, t0, t1):
        for n in nodes:
            n.qualify()
        self.judge(nodes)
        if self.mode == "kselftest" and self.show_live:
            print(suite_line(nodes, t0, t1), flush=True)

    def on_line(self, line, t):
        args = self.args
        if self.kill_rx and self.kill["at"] is None and \
                self.kill_rx.search(line):
            self.kill["at"] = time.monotonic() + args.kill_delay
        m = HOST_REQUEST_RE.search(line) if args.host_requests else None
        if m:
            report = host_request(self.qmp, m.group(1), self.qemu_pid)
            with open(os.path.join(self.out, "host-requests.log"), "a") as f:
                f.write(f"{t:.3f} {m.group(1)} -> {report}\n")
            if args.verbose:
                print(f"  host request: {m.group(1)} -> {report}",
                      flush=True)
        hit = self.detector.feed(line)
        if hit and self.show_live and not args.verbose and \
                not (self.mode == "cmd" and self.in_cmd):
            print(f"  kernel: {hit[1]}", flush=True)
        if line.strip() == BOOT_MARKER:
            self.in_cmd = True
            return
        if EXIT_MARKER_RE.search(line):
            self.in_cmd = False
        if self.in_cmd:
            self.parser.feed(line, t)

    def echo(self, line):
        if self.args.verbose or (self.mode == "cmd" and self.show_live and
                                 self.in_cmd and
                                 not EXIT_MARKER_RE.search(line)):
            print(line, flush=True)

    def on_start(self, pid):
        self.qemu_pid = pid

    # The run

    def execute(self):
        args = self.args
        accel, accel_why = choose_accel(args, self.make_argv, self.out)
        print(f"accel: {accel} ({accel_why})", flush=True)
        if self.mode == "interactive":
            return self.interactive(accel)

        if self.mode == "kselftest":
            self.cmd = self.kselftest_cmd(accel)
        run_initrd = os.path.join(self.out, "initrd.cpio.gz")
        build_run_initrd(args.initrd, run_initrd, self.cmd, args.modprobe)
        argv = self.make_argv(accel, run_initrd, self.pvkit)
        with open(os.path.join(self.out, "qemu-cmdline.txt"), "w") as f:
            f.write(shlex.join(argv) + "\n")

        t_start = time.monotonic()
        try:
            o = run_vm(argv, self.console, self.on_line, wall=args.timeout,
                       idle=args.idle_timeout, detector=self.detector,
                       stderr_path=os.path.join(self.out, "qemu.log"),
                       echo=self.echo, kill=self.kill,
                       on_start=self.on_start)
        finally:
            self.qmp.close()
        wall_s = time.monotonic() - t_start
        if self.peer:
            self.peer.stop()
            if not args.quiet:
                print(self.peer.summary(), flush=True)
        return self.finish(o, argv, accel, accel_why, wall_s)

    def expectations(self):
        """(expectations for results.json, failures of the unmatched)."""
        args = self.args
        expectations, failures = [], []
        with open(self.console, errors="replace") as f:
            console_text = f.read()
        hvc_text = None
        if self.pvkit:
            try:
                with open(self.hvc, errors="replace") as f:
                    hvc_text = f.read()
            except OSError:
                hvc_text = ""
        for kind, rxs, text in (("console", args.expect_console,
                                 console_text),
                                ("hvc", args.expect_hvc, hvc_text or "")):
            for rx in rxs:
                ok = re.search(rx, text, re.M) is not None
                expectations.append({"kind": kind, "regex": rx,
                                     "matched": ok})
                if not ok:
                    failures.append(Failure(
                        f"expect-{kind}:{rx}",
                        f"{'console.log' if kind == 'console' else 'hvc0.log'}"
                        f" has no match for /{rx}/"))
        return expectations, failures

    def kernel_failure(self):
        """The first kernel failure report for results.json, decoded with
        --vmlinux; None without one."""
        d = self.detector
        if not d.first:
            return None
        kf = {"kind": d.first[0], "line": d.first[1], "trace": d.trace,
              "decoded": None, "decode_error": None}
        if self.args.vmlinux:
            kf["decoded"], kf["decode_error"] = decode_trace(
                d.trace, self.args.vmlinux, self.args.kernel_src)
        return kf

    def finish(self, o, argv, accel, accel_why, wall_s):
        """Verdict, results.json, junit.xml and the closing output;
        returns the exit code."""
        args, mode, out = self.args, self.mode, self.out
        top = self.parser.results()
        self.judge(top)
        counts = summarize(top)
        expectations, failures = self.expectations()
        qemu_err = ""
        try:
            with open(os.path.join(out, "qemu.log"), errors="replace") as f:
                qemu_err = " ".join(f.read().split())[-300:]
        except OSError:
            pass

        code, reason, failures = decide(mode, o, self.detector.first, counts,
                                        top, failures, args, qemu_err)
        kernel_failure = self.kernel_failure()
        tests = flat_results(top) + [
            {"name": f.name, "status": "fail", "level": 0,
             "reason": f.reason} for f in failures]
        peer = self.peer
        results = {
            "mode": mode,
            "command": self.cmd,
            "accel": accel,
            "accel_reason": accel_why,
            "pvkit_device": self.pvkit,
            "kernel": os.path.abspath(args.kernel),
            "initrd": os.path.abspath(args.initrd),
            "qemu_argv": argv,
            "exit_code": code,
            "exit_reason": EXIT_REASONS[code],
            "reason": reason,
            "boot_time": round(o.booted_at, 3) if o.booted_at is not None
            else None,
            "first_output_time": round(o.first_output, 3)
            if o.first_output is not None else None,
            "wall_time": round(wall_s, 3),
            "guest_exit_code": o.guest_rc,
            "qemu_exit_status": o.qemu_rc,
            "kernel_failure": kernel_failure,
            "kernel_failures": self.detector.events,
            "user_faults": self.detector.user_faults,
            "expectations": expectations,
            "summary": counts,
            "expected_skips": None if self.expected is None else {
                "file": os.path.abspath(args.expected_skips),
                "matched": sorted(self.matched_skips),
                "unexpected": [n.full_name for n in failed_nodes(top)
                               if getattr(n, "unexpected_skip", None)
                               is not None]},
            "tests": tests,
            "net_peer": dict(port=peer.port, log=self.peer_log, **peer.stats)
            if peer else None,
        }
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        write_junit(os.path.join(out, "junit.xml"), top, failures)
        self.report(o, wall_s, top, counts, failures, kernel_failure)
        if code != EXIT_OK:
            print(f"pvkit-vm: FAIL ({EXIT_REASONS[code]}, exit {code}): "
                  f"{reason} [console: {self.console}]", file=sys.stderr,
                  flush=True)
        return code

    def report(self, o, wall_s, top, counts, failures, kernel_failure):
        """The closing output on stdout; the counts line comes last."""
        boot = f"{o.booted_at:.2f}s" if o.booted_at is not None else "never"
        print(f"pvkit-vm: boot to {BOOT_MARKER} {boot}, wall {wall_s:.1f}s, "
              f"results in {self.out}", flush=True)
        if kernel_failure:
            print(f"pvkit-vm: first kernel failure "
                  f"({kernel_failure['kind']}): {kernel_failure['line']}")
            for ln in kernel_failure["decoded"] or kernel_failure["trace"]:
                print(f"  {ln}")
            if kernel_failure["decode_error"]:
                print(f"pvkit-vm: trace not decoded: "
                      f"{kernel_failure['decode_error']}")
            sys.stdout.flush()
        if self.mode == "kselftest" or counts["total"]:
            for n in failed_nodes(top):
                if getattr(n, "unexpected_skip", None) is not None:
                    print(f"  {failure_label(n)}")
                    continue
                why = " ".join(x for x in (n.directive, n.reason) if x)
                print(f"  FAILED {n.full_name}" + (f": {why}" if why
                                                   else ""))
            print(f"{counts['passed']} passed, "
                  f"{counts['failed'] + len(failures)} failed, "
                  f"{counts['skipped'] + counts['xfail']} skipped",
                  flush=True)
