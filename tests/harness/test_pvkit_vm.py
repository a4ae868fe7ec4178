# SPDX-License-Identifier: GPL-2.0
"""Unit tests for pvkit-vm (the pvkit_vm package): KTAP parser, failure
detector, verdict, initrd writer, network peer, and runs on a fake QEMU.

Run: python3 -m unittest discover -s tests/harness -v
"""

import gzip
import json
import io
import os
import re
import sys
import tempfile
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pvkit_vm import (canary, common, cpio, detect, ktap,  # noqa: E402
                      netpeer, qmp, run, vm)


def parse(text):
    p = ktap.KtapParser()
    for i, line in enumerate(text.splitlines()):
        p.feed(line, float(i))
    return p.results()


def by_name(top):
    return {n.full_name: n for r in top for _, n in r.walk()}


# What run_kselftest.sh -c pvkit -c demo prints, with kernel lines mixed in.
KSELFTEST_LOG = """\
[    3.782507] kselftest: Running tests in pvkit
TAP version 13
1..2
# timeout set to 45
# selftests: pvkit: pvkit_test
# TAP version 13
# 1..3
# ok 1 detects_hypervisor
[    3.901000] pvkit: hypercall page at 0x1000
# ok 2 hypercall_page # SKIP no test-hypercalls on this host
# not ok 3 event_channel
# # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
not ok 1 selftests: pvkit: pvkit_test # exit=1
# timeout set to 45
# selftests: pvkit: console.sh
# TAP version 13
# 1..1
# ok 1 hvc0 present
ok 2 selftests: pvkit: console.sh
[    4.100000] kselftest: Running tests in demo
TAP version 13
1..3
# timeout set to 3
# selftests: demo: nameless
# TAP version 13
# 1..2
# ok 1 # SKIP not supported
# ok 2 # XFAIL known bug
ok 1 selftests: demo: nameless
# timeout set to 3
# selftests: demo: slow.sh
#
not ok 2 selftests: demo: slow.sh # TIMEOUT 3 seconds
# timeout set to 3
# selftests: demo: skipped
# 1..0 # SKIP needs root
ok 3 selftests: demo: skipped # SKIP
"""

# KUnit style: subtests indented four spaces with "# Subtest:" headers.
KUNIT_LOG = """\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: pvkit_ring
    1..2
    ok 1 ring_init
        KTAP version 1
        # Subtest: ring_wrap
        ok 1 ring_wrap size=8
        ok 2 ring_wrap size=4096
    # ring_wrap: pass:2 fail:0 skip:0 total:2
    ok 2 ring_wrap
# pvkit_ring: pass:2 fail:0 skip:0 total:2
ok 1 pvkit_ring
"""


class KtapParserTest(unittest.TestCase):

    def test_nested_kselftest_names_and_status(self):
        t = by_name(parse(KSELFTEST_LOG))
        self.assertEqual(t["pvkit:pvkit_test"].status, "fail")
        self.assertEqual(t["pvkit:pvkit_test:detects_hypervisor"].status,
                         "pass")
        skip = t["pvkit:pvkit_test:hypercall_page"]
        self.assertEqual(skip.status, "skip")
        self.assertEqual(skip.reason, "no test-hypercalls on this host")
        self.assertEqual(t["pvkit:pvkit_test:event_channel"].status, "fail")
        self.assertEqual(t["pvkit:console.sh:hvc0 present"].status, "pass")
        self.assertEqual(t["demo:nameless:test_1"].status, "skip")
        self.assertEqual(t["demo:nameless:test_2"].status, "xfail")
        self.assertEqual(t["demo:slow.sh"].status, "fail")
        self.assertEqual(t["demo:slow.sh"].directive, "TIMEOUT")
        self.assertEqual(t["demo:skipped"].status, "skip")

    def test_top_level_order_and_durations(self):
        top = parse(KSELFTEST_LOG)
        self.assertEqual([n.full_name for n in top],
                         ["pvkit:pvkit_test", "pvkit:console.sh",
                          "demo:nameless", "demo:slow.sh", "demo:skipped"])
        # Duration runs from the "# selftests:" header to the result line.
        self.assertEqual(top[0].duration, 8.0)

    def test_summary_counts_leaves(self):
        c = ktap.summarize(parse(KSELFTEST_LOG))
        # leaves: detects_hypervisor pass, hypercall_page skip,
        # event_channel fail, hvc0 present pass, test_1 skip,
        # test_2 xfail, slow.sh fail, skipped skip
        self.assertEqual(c, {"passed": 2, "failed": 2, "skipped": 3,
                             "xfail": 1, "total": 8})

    def test_known_failures_become_xfail_only_when_listed(self):
        top = parse(KSELFTEST_LOG)
        matched = ktap.apply_known_failures(
            top, {"pvkit:pvkit_test:event_channel": "upstream bug",
                  "demo:never-ran": "not in this log"})
        t = by_name(top)
        self.assertEqual(matched, {"pvkit:pvkit_test:event_channel"})
        self.assertEqual(t["pvkit:pvkit_test:event_channel"].status, "xfail")
        self.assertIn("upstream bug", t["pvkit:pvkit_test:event_channel"].reason)
        # Its parent failed only because of it; the unlisted failure stays.
        self.assertEqual(t["pvkit:pvkit_test"].status, "xfail")
        self.assertEqual(t["demo:slow.sh"].status, "fail")
        c = ktap.summarize(top)
        self.assertEqual((c["failed"], c["xfail"]), (1, 2))

    def test_parent_failure_without_failed_children_counts(self):
        log = ("TAP version 13\n1..1\n# selftests: a: b\n# TAP version 13\n"
               "# 1..1\n# ok 1 fine\nnot ok 1 selftests: a: b # exit=139\n")
        c = ktap.summarize(parse(log))
        self.assertEqual((c["passed"], c["failed"]), (1, 1))

    def test_kunit_indentation(self):
        t = by_name(parse(KUNIT_LOG))
        self.assertEqual(t["pvkit_ring"].status, "pass")
        self.assertEqual(t["pvkit_ring:ring_init"].status, "pass")
        self.assertEqual(t["pvkit_ring:ring_wrap:ring_wrap size=4096"].status,
                         "pass")
        self.assertEqual(ktap.summarize(parse(KUNIT_LOG))["passed"], 3)

    def test_kernel_lines_interleaved_are_ignored(self):
        log = ("TAP version 13\n1..2\n"
               "[   12.345678] ok 99 not a test\n"
               "ok 1 a\n"
               "[ 1234.000001] random driver noise\n"
               "not ok 2 b\n")
        top = parse(log)
        self.assertEqual([(n.name, n.status) for n in top],
                         [("a", "pass"), ("b", "fail")])

    def test_guest_died_mid_test(self):
        log = ("TAP version 13\n1..2\n# selftests: pvkit: first\n"
               "ok 1 selftests: pvkit: first\n"
               "# selftests: pvkit: second\n# TAP version 13\n# 1..3\n"
               "# ok 1 one\n[    9.0] Kernel panic - not syncing: boom\n")
        t = by_name(parse(log))
        self.assertEqual(t["pvkit:first"].status, "pass")
        self.assertEqual(t["pvkit:second"].status, "fail")
        self.assertIn("no result line", t["pvkit:second"].reason)
        self.assertEqual(t["pvkit:second:one"].status, "pass")
        # the two results the test never printed count too
        self.assertEqual(t["pvkit:second:missing-results"].reason,
                         "plan 1..3, 1 result: 2 missing")
        # the collection's own plan is met: "second" is its second result
        self.assertNotIn("pvkit:missing-results", t)

    def test_directives(self):
        cases = {
            "ok 1 a # SKIP why": ("skip", "why"),
            "ok 1 a # skip": ("skip", None),
            "not ok 1 a # SKIP": ("skip", None),
            "ok 1 a # XFAIL bug 1": ("xfail", "bug 1"),
            "ok 1 a # XPASS": ("fail", None),
            "not ok 1 a # TODO later": ("xfail", "later"),
            "not ok 1 a # error oops": ("fail", "oops"),
            "not ok 1 a # exit=1": ("fail", "exit=1"),
            "ok 1 - a": ("pass", None),
        }
        for line, (status, reason) in cases.items():
            with self.subTest(line=line):
                n = parse("TAP version 13\n" + line + "\n")[0]
                self.assertEqual((n.name, n.status, n.reason),
                                 ("a", status, reason))

    def test_complete_plans_add_nothing(self):
        for log in (KSELFTEST_LOG, KUNIT_LOG):
            names = by_name(parse(log))
            self.assertFalse([n for n in names if "missing" in n], names)

    def test_plan_not_met_is_a_failure_naming_the_count(self):
        # the test hung after two of five results and was killed; the
        # collection then stopped (two of three tests never ran)
        log = ("TAP version 13\n1..3\n# selftests: a: b\n"
               "# TAP version 13\n# 1..5\n# ok 1 x\n# ok 2 y\n"
               "not ok 1 selftests: a: b # TIMEOUT 45 seconds\n")
        top = parse(log)
        t = by_name(top)
        miss = t["a:b:missing-results"]
        self.assertEqual("fail", miss.status)
        self.assertEqual("plan 1..5, 2 results: 3 missing", miss.reason)
        self.assertEqual("fail", t["a:missing-results"].status)
        self.assertEqual("plan 1..3, 1 result: 2 missing",
                         t["a:missing-results"].reason)
        self.assertEqual(["a:b", "a:missing-results"],
                         [n.full_name for n in top])
        c = ktap.summarize(top)
        self.assertEqual((c["passed"], c["failed"]), (2, 2))

    def test_plan_not_met_when_all_results_passed(self):
        # exit 0 and every line "ok": still three results short
        log = ("TAP version 13\n1..1\n# selftests: a: b\n"
               "# TAP version 13\n# 1..4\n# ok 1 x\n"
               "ok 1 selftests: a: b\n")
        c = ktap.summarize(parse(log))
        self.assertEqual((c["passed"], c["failed"]), (1, 1))
        self.assertEqual(["a:b:missing-results"], ktap.failed_names(parse(log)))

    def test_trailing_plan_is_checked(self):
        t = by_name(parse("TAP version 13\nok 1 a\nok 2 b\n1..3\n"))
        self.assertEqual("plan 1..3, 2 results: 1 missing",
                         t["missing-results"].reason)

    def test_each_document_has_its_own_plan(self):
        log = ("TAP version 13\n1..1\nok 1 selftests: a: one\n"
               "TAP version 13\n1..2\nok 1 selftests: b: one\n")
        top = parse(log)
        self.assertEqual(["a:one", "b:one", "b:missing-results"],
                         [n.full_name for n in top])
        self.assertEqual("plan 1..2, 1 result: 1 missing", top[2].reason)

    def test_results_cut_off_by_a_skip_are_skipped(self):
        # ksft_exit_skip() after the plan: "ok 1 # SKIP", exit 4, and
        # runner.sh says SKIP for the whole test
        log = ("TAP version 13\n1..1\n# selftests: a: b\n"
               "# TAP version 13\n# 1..3\n# ok 1 # SKIP no device\n"
               "ok 1 selftests: a: b # SKIP\n")
        t = by_name(parse(log))
        self.assertEqual("skip", t["a:b:missing-results"].status)
        self.assertIn("2 missing", t["a:b:missing-results"].reason)
        c = ktap.summarize(parse(log))
        self.assertEqual((c["failed"], c["skipped"]), (0, 2))

    def test_result_glued_to_output_is_kept(self):
        # timers/posix_timers printed its diagnostic without a newline
        log = ("TAP version 13\n1..1\n# selftests: timers: posix_timers\n"
               "# TAP version 13\n# 1..3\n# ok 1 ITIMER_VIRTUAL\n"
               "# Diff too high: 3038717..not ok 2 ITIMER_PROF\n"
               "# ok 3 ITIMER_REAL\n"
               "not ok 1 selftests: timers: posix_timers # exit=1\n")
        top = parse(log)
        t = by_name(top)
        self.assertEqual("fail", t["timers:posix_timers:ITIMER_PROF"].status)
        self.assertEqual(["timers:posix_timers:ITIMER_PROF"],
                         ktap.failed_names(top))

    def test_glued_text_with_another_number_is_not_a_result(self):
        log = ("TAP version 13\n1..2\n# selftests: a: b\n"
               "# TAP version 13\n# 1..1\n# ok 1 x\n"
               "# it said ok 7 times\n# went..ok 1 again\n"
               "ok 1 selftests: a: b\n")
        t = by_name(parse(log))
        self.assertEqual(["a:b", "a:b:x", "a:missing-results"], sorted(t))

    def test_plain_ok_text_without_tap_is_not_a_result(self):
        self.assertEqual(parse("ok\nok then\nall ok\n"), [])


PANIC_LOG = """\
[    1.000000] Run /init as init process
PVKIT-BOOTED
[    2.000000] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.000100] #PF: supervisor read access in kernel mode
[    2.000200] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI
[    2.000250] CPU: 0 UID: 0 PID: 1 Comm: sh Not tainted 6.12.0 #1
[    2.000260] RIP: 0010:pvkit_ring_push+0x12/0x40 [pvkit_test]
[    2.000300] Call Trace:
[    2.000400]  <TASK>
[    2.000410]  ? __die+0x23/0x70
[    2.000420]  pvkit_ring_push+0x12/0x40 [pvkit_test]
[    2.000430]  do_syscall_64+0x50/0x110
[    2.000440]  </TASK>
[    2.000450] Modules linked in: pvkit_test
[    2.000460] CR2: 0000000000000000
[    2.000470] ---[ end trace 0000000000000000 ]---
[    2.000480] RIP: 0010:pvkit_ring_push+0x12/0x40 [pvkit_test]
[    2.100000] Kernel panic - not syncing: Fatal exception
[    2.100100] ---[ end Kernel panic - not syncing: Fatal exception ]---
"""

# A user process dying: show_signal() and show_signal_msg() lines, then
# the test's own output.  None of it is a kernel failure.
USER_FAULT_LOG = """\
[    1.000000] Run /init as init process
PVKIT-BOOTED
[   12.345678] traps: fsgsbase_restor[1513] general protection fault ip:401a2b sp:7ffd1c9e8f00 error:0 in fsgsbase_restore_64[401000+9b000]
[   12.400000] foo[123]: segfault at 0 ip 0000000000401136 sp 00007ffc3a0e2f30 error 4 in foo[401000+1000] likely on CPU 0 (core 0, socket 0)
[   12.400001] Code: 48 89 e5 c7 45 fc 00 00 00 00 8b 45 fc <8b> 00 5d c3
[   12.500000] traps: prog[77] trap invalid opcode ip:401000 sp:7ffc00000000 error:0 in prog[401000+1000]
[   12.600000] traps: prog[78] trap divide error ip:401000 sp:7ffc00000000 error:0 in prog[401000+1000]
Segmentation fault
BUG: a user program printed this
WARNING: CPU: 0 PID: 1 is also just text from user space
# BUG: not the kernel's
# WARNING: test printed this
PVKIT-EXIT: 0
"""


class FailureDetectorTest(unittest.TestCase):

    def detect(self, text):
        d = detect.KernelFailureDetector()
        for line in text.splitlines():
            d.feed(line)
        return d

    def test_panic_log(self):
        d = self.detect(PANIC_LOG)
        self.assertEqual(d.first, ("BUG", "BUG: kernel NULL pointer "
                                   "dereference, address: 0000000000000000"))
        self.assertTrue(d.panicked)
        kinds = [e["kind"] for e in d.events]
        self.assertEqual(kinds, ["BUG", "oops", "kernel panic"])

    def test_trace_runs_to_the_end_marker(self):
        d = self.detect(PANIC_LOG)
        lines = PANIC_LOG.splitlines()
        self.assertEqual(d.trace, lines[2:lines.index(
            "[    2.000470] ---[ end trace 0000000000000000 ]---") + 1])
        self.assertIn("[    2.000420]  pvkit_ring_push+0x12/0x40 "
                      "[pvkit_test]", d.trace)

    def test_user_space_faults_are_not_kernel_failures(self):
        d = self.detect(USER_FAULT_LOG)
        self.assertIsNone(d.first)
        self.assertEqual([], d.events)
        self.assertFalse(d.panicked)
        self.assertEqual(4, len(d.user_faults))
        self.assertTrue(d.user_faults[0].startswith(
            "traps: fsgsbase_restor[1513] general protection fault ip:"))

    def test_user_space_negatives_one_by_one(self):
        for line in USER_FAULT_LOG.splitlines()[2:8] + [
                "[    3.000000] potentially unexpected fatal signal 11.",
                "[    3.000000] a.out[9] vsyscall attempted with vsyscall=none"
                " ip:ffffffffff600000",
                "[    3.000000] pvkit: test asked for a WARNING: CPU: 0 PID: 1"
                " line in its message",
                "[    3.000000] sh (1): drop_caches: 3"]:
            with self.subTest(line=line):
                d = self.detect(line)
                self.assertIsNone(d.first)

    def test_kernel_reports(self):
        for line, kind in [
            ("[    1.000000] Oops: general protection fault, probably for "
             "non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT "
             "SMP KASAN NOPTI", "general protection fault"),
            ("[    1.000000] general protection fault: 0000 [#1] SMP",
             "general protection fault"),
            ("[    1.000000] Oops: invalid opcode: 0000 [#1] PREEMPT SMP",
             "oops"),
            ("[    1.000000] BUG: KASAN: slab-out-of-bounds in f+0x1/0x2",
             "KASAN"),
            ("[    1.000000] BUG: KFENCE: use-after-free read in f+0x1/0x2",
             "KFENCE"),
            ("[    1.000000] UBSAN: shift-out-of-bounds in a.c:1:2", "UBSAN"),
            ("[    1.000000] pagealloc: memory corruption", "page poison"),
            ("[    1.000000] pagealloc: single bit error", "page poison"),
            ("[    1.000000] kernel BUG at mm/slub.c:100!", "BUG"),
            ("[    1.000000] BUG: unable to handle page fault for address: "
             "ffffc90000000000", "BUG"),
            ("[    1.000000] WARNING: CPU: 1 PID: 42 at "
             "arch/x86/paravirt/evtchn.c:42 evtchn_bind+0x1/0x2", "warning"),
            ("[    1.000000] WARNING: possible circular locking dependency "
             "detected", "lockdep"),
            ("[    1.000000] WARNING: possible recursive locking detected",
             "lockdep"),
            ("[    1.000000] WARNING: inconsistent lock state", "lockdep"),
            ("[    1.000000] WARNING: suspicious RCU usage", "lockdep"),
            ("[    1.000000] WARNING: bad unlock balance detected!",
             "lockdep"),
            ("[    1.000000] [ BUG: Invalid wait context ]", "lockdep"),
            ("[    1.000000] BUG: sleeping function called from invalid "
             "context at kernel/locking/mutex.c:585", "sleep in atomic"),
            ("[    1.000000] BUG: scheduling while atomic: sh/1/0x00000002",
             "sleep in atomic"),
            ("[   30.000000] rcu: INFO: rcu_sched detected stalls on "
             "CPUs/tasks:", "RCU stall"),
            ("[   30.000000] rcu: INFO: rcu_preempt self-detected stall on "
             "CPU", "RCU stall"),
            ("[   30.000000] rcu: INFO: rcu_preempt detected expedited "
             "stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 9 root: 0x2/.",
             "RCU stall"),
            ("[   30.000000] watchdog: BUG: soft lockup - CPU#1 stuck for "
             "22s! [pvkit_test:99]", "soft lockup"),
            ("[   30.000000] watchdog: Watchdog detected hard LOCKUP on cpu 1",
             "hard lockup"),
            ("[   30.000000] NMI watchdog: Watchdog detected hard LOCKUP on "
             "cpu 0", "hard lockup"),
            ("[  243.000000] INFO: task kworker/0:1:12 blocked for more than "
             "122 seconds.", "hung task"),
            ("[    1.000000][    T1] BUG: kernel NULL pointer dereference, "
             "address: 0000000000000008", "BUG"),
            # a user's partial line, then the kernel's on the same line
            ("partial output[    2.000000] BUG: kernel NULL pointer "
             "dereference, address: 0000000000000000", "BUG"),
            # no timestamps at all (printk.time=0): the whole line counts
            ("Kernel panic - not syncing: VFS: Unable to mount root fs",
             "kernel panic"),
        ]:
            with self.subTest(line=line):
                d = self.detect(line)
                self.assertIsNotNone(d.first)
                self.assertEqual(d.first[0], kind)

    def test_untimestamped_lines_count_until_the_kernel_stamps(self):
        d = self.detect("BUG: before any kernel line\n")
        self.assertEqual("BUG", d.first[0])
        d = self.detect("[    0.000000] Linux version 6.12\n"
                        "BUG: after a kernel line: user space's\n")
        self.assertIsNone(d.first)

    def test_first_report_wins_and_all_are_listed(self):
        d = self.detect("[    1.000000] WARNING: CPU: 0 PID: 1 at a.c:1 f\n"
                        "[    1.100000] ---[ end trace 0000000000000000 ]---\n"
                        "[    2.000000] INFO: task sh:1 blocked for more "
                        "than 10 seconds.\n")
        self.assertEqual("warning", d.first[0])
        self.assertEqual(["warning", "hung task"],
                         [e["kind"] for e in d.events])
        self.assertEqual(2, len(d.trace))

    def test_trace_without_end_marker_stops_after_the_stack(self):
        log = """\
[  243.000000] INFO: task sh:77 blocked for more than 122 seconds.
[  243.000001]       Not tainted 6.12.0 #1
[  243.000002] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  243.000003] task:sh              state:D stack:0     pid:77
[  243.000004] Call Trace:
[  243.000005]  <TASK>
[  243.000006]  __schedule+0x2a0/0x6c0
[  243.000007]  schedule+0x27/0xa0
[  243.000008]  </TASK>
[  243.100000] pvkit: unrelated message
ok 1 next test
"""
        d = self.detect(log)
        self.assertEqual("hung task", d.first[0])
        self.assertEqual(log.splitlines()[:9], d.trace)

    def test_kasan_trace_ends_at_its_closing_rule(self):
        rule = "=" * 66
        log = f"""\
[    5.000000] {rule}
[    5.000001] BUG: KASAN: slab-use-after-free in ring_pop+0x10/0x20
[    5.000002] Read of size 8 at addr ffff888003e4f000 by task sh/1
[    5.000003] Call Trace:
[    5.000004]  <TASK>
[    5.000005]  ring_pop+0x10/0x20
[    5.000006]  </TASK>
[    5.000007]
[    5.000008] Allocated by task 1:
[    5.000009]  kmalloc_trace+0x1/0x2
[    5.000010] {rule}
[    5.000011] pvkit: later message
"""
        d = self.detect(log)
        self.assertEqual("KASAN", d.first[0])
        self.assertEqual(log.splitlines()[1:11], d.trace)

    def test_trace_skips_user_lines_in_between(self):
        d = self.detect("[    1.000000] WARNING: CPU: 0 PID: 1 at a.c:1 f\n"
                        "a user line\n"
                        "[    1.000001] Call Trace:\n"
                        "[    1.100000] ---[ end trace 0000000000000000 ]---\n")
        self.assertEqual(3, len(d.trace))
        self.assertNotIn("a user line", d.trace)

    def test_clean_log_and_test_output(self):
        d = self.detect(KSELFTEST_LOG + "# WARNING: test printed this\n"
                        "# BUG: not the kernel's\n"
                        "[    1.0] x86/fpu: Supporting XSAVE feature\n"
                        "PVKIT-EXIT: 0\n")
        self.assertIsNone(d.first)
        self.assertFalse(d.panicked)


# A stand-in for the kernel's scripts/decode_stacktrace.sh: turns
# "f+0x12/0x40" into "f (a.c:12)" and checks its arguments.
FAKE_DECODER = """\
#!/bin/bash
[ -f "$1" ] || { echo "no vmlinux $1" >&2; exit 2; }
echo "base=$2"
sed -E 's#([a-z_]+)\\+0x([0-9a-f]+)/0x[0-9a-f]+#\\1 (a.c:\\2)#'
"""


class DecodeTest(unittest.TestCase):

    def tree(self, tmp, script=FAKE_DECODER):
        src = os.path.join(tmp, "src")
        os.makedirs(os.path.join(src, "scripts"))
        with open(os.path.join(src, "scripts", "decode_stacktrace.sh"),
                  "w") as f:
            f.write(script)
        vmlinux = os.path.join(tmp, "vmlinux")
        open(vmlinux, "w").close()
        return vmlinux, src

    def test_decoded_with_the_source_tree(self):
        with tempfile.TemporaryDirectory() as tmp:
            vmlinux, src = self.tree(tmp)
            lines, err = detect.decode_trace(
                ["[ 2.0] Call Trace:", "[ 2.0]  pvkit_ring_push+0x12/0x40"],
                vmlinux, src)
        self.assertIsNone(err)
        self.assertEqual([f"base={src}", "[ 2.0] Call Trace:",
                          "[ 2.0]  pvkit_ring_push (a.c:12)"], lines)

    def test_source_link_of_the_build_dir(self):
        with tempfile.TemporaryDirectory() as tmp:
            vmlinux, src = self.tree(tmp)
            os.symlink(src, os.path.join(tmp, "source"))
            lines, err = detect.decode_trace(["x"], vmlinux)
        self.assertIsNone(err)
        self.assertEqual(["base=auto", "x"], lines)

    def test_failures_are_reported_not_raised(self):
        with tempfile.TemporaryDirectory() as tmp:
            vmlinux, src = self.tree(tmp, "#!/bin/bash\necho bad >&2\n"
                                     "exit 3\n")
            lines, err = detect.decode_trace(["x"], vmlinux, src)
            self.assertIsNone(lines)
            self.assertIn("exited 3: bad", err)
            lines, err = detect.decode_trace(["x"], vmlinux,
                                         os.path.join(tmp, "nowhere"))
            self.assertIsNone(lines)
            self.assertIn("no scripts/decode_stacktrace.sh", err)


def parse_with(text, known=None, expected=None):
    top = parse(text)
    if known:
        ktap.apply_known_failures(top, known)
    if expected is not None:
        ktap.apply_expected_skips(top, expected)
    return top


# posix_timers with the three 6.12 failures listed in known-failures.txt;
# the parent's line varies per test.
def posix_timers_log(parent_line, plan=4, results=4):
    subs = ["# ok 1 check_itimer", "# not ok 2 check_rearm",
            "# not ok 3 check_delete", "# ok 4 check_timer_create"]
    return ("TAP version 13\n1..1\n# selftests: timers: posix_timers\n"
            f"# TAP version 13\n# 1..{plan}\n" +
            "\n".join(subs[:results]) + "\n" + parent_line + "\n")


POSIX_KNOWN = {"timers:posix_timers:check_rearm": "6.13",
               "timers:posix_timers:check_delete": "6.13"}


class KnownFailuresTest(unittest.TestCase):

    def test_parent_excused_when_its_children_explain_it(self):
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # exit=1"),
            POSIX_KNOWN)
        self.assertEqual("xfail", top[0].status)
        self.assertIn("only known failures failed", top[0].reason)
        self.assertEqual([], ktap.failed_names(top))

    def test_parent_listed_by_name_is_excused_children_still_judged(self):
        known = dict(POSIX_KNOWN)
        known["timers:posix_timers"] = "one long kselftest"
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # TIMEOUT 45 seconds"),
            known)
        self.assertEqual("xfail", top[0].status)
        self.assertEqual([], ktap.failed_names(top))
        del known["timers:posix_timers:check_rearm"]
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # TIMEOUT 45 seconds"),
            known)
        self.assertEqual("xfail", top[0].status)
        self.assertEqual(["timers:posix_timers:check_rearm"],
                         ktap.failed_names(top))

    def test_parent_timeout_is_its_own_failure(self):
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # TIMEOUT 45 seconds"),
            POSIX_KNOWN)
        self.assertEqual("fail", top[0].status)
        self.assertEqual(["timers:posix_timers"], ktap.failed_names(top))
        self.assertEqual(1, ktap.summarize(top)["failed"])

    def test_parent_crash_is_its_own_failure(self):
        for line in ("not ok 1 selftests: timers: posix_timers # exit=139",
                     "not ok 1 selftests: timers: posix_timers # exit=124",
                     "not ok 1 selftests: timers: posix_timers # error x"):
            with self.subTest(line=line):
                top = parse_with(posix_timers_log(line), POSIX_KNOWN)
                self.assertEqual("fail", top[0].status)
                self.assertEqual(["timers:posix_timers"],
                                 ktap.failed_names(top))

    def test_parent_with_missing_results_is_not_excused(self):
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # exit=1",
            plan=6), POSIX_KNOWN)
        self.assertEqual("fail", top[0].status)
        self.assertEqual(["timers:posix_timers:missing-results"],
                         ktap.failed_names(top))

    def test_unknown_child_failure_keeps_the_parent_failed(self):
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # exit=1"),
            {"timers:posix_timers:check_rearm": "6.13"})
        self.assertEqual("fail", top[0].status)
        self.assertEqual(["timers:posix_timers:check_delete"],
                         ktap.failed_names(top))

    def test_applying_twice_changes_nothing(self):
        top = parse_with(posix_timers_log(
            "not ok 1 selftests: timers: posix_timers # exit=1"),
            POSIX_KNOWN)
        before = ktap.flat_results(top)
        ktap.apply_known_failures(top, POSIX_KNOWN)
        self.assertEqual(before, ktap.flat_results(top))


SKIPS_LOG = """\
TAP version 13
1..3
# selftests: pvkit: pvkit_blk_hostile
# TAP version 13
# 1..2
# ok 1 hostile.bad_id # SKIP no pvkit-test-vbd disks
# ok 2 hostile.garbage # SKIP no pvkit-test-vbd disks
ok 1 selftests: pvkit: pvkit_blk_hostile
# selftests: pvkit: pvkit_blk
# TAP version 13
# 1..2
# ok 1 blk.read
# ok 2 blk.discard # SKIP no discard on this disk
ok 2 selftests: pvkit: pvkit_blk
# selftests: pvkit: pvkit_blk_hostile2
# 1..0 # SKIP nothing to do
ok 3 selftests: pvkit: pvkit_blk_hostile2 # SKIP
"""


class ExpectedSkipsTest(unittest.TestCase):

    def test_unlisted_skips_fail_listed_stay(self):
        top = parse_with(SKIPS_LOG, expected={
            "pvkit:pvkit_blk_hostile": "own stage"})
        t = by_name(top)
        self.assertEqual("skip", t["pvkit:pvkit_blk_hostile:hostile.bad_id"]
                         .status)
        self.assertEqual("fail", t["pvkit:pvkit_blk:blk.discard"].status)
        self.assertEqual("unexpected skip: no discard on this disk",
                         t["pvkit:pvkit_blk:blk.discard"].reason)
        # "pvkit:pvkit_blk_hostile" does not cover "..._hostile2"
        self.assertEqual("fail", t["pvkit:pvkit_blk_hostile2"].status)
        self.assertEqual(
            ["unexpected skip: pvkit:pvkit_blk:blk.discard "
             "(no discard on this disk)",
             "unexpected skip: pvkit:pvkit_blk_hostile2 (nothing to do)"],
            ktap.failed_names(top))
        c = ktap.summarize(top)
        self.assertEqual((1, 2, 2), (c["passed"], c["failed"], c["skipped"]))

    def test_exact_subtest_names(self):
        top = parse_with(SKIPS_LOG, expected={
            "pvkit:pvkit_blk_hostile:hostile.bad_id": "",
            "pvkit:pvkit_blk_hostile:hostile.garbage": "",
            "pvkit:pvkit_blk:blk.discard": "", "pvkit:pvkit_blk_hostile2": "",
            "pvkit:never-skipped": ""})
        self.assertEqual([], ktap.failed_names(top))
        self.assertEqual(4, ktap.summarize(top)["skipped"])

    def test_without_the_option_skips_are_skips(self):
        top = parse(SKIPS_LOG)
        self.assertEqual([], ktap.failed_names(top))
        self.assertEqual(4, ktap.summarize(top)["skipped"])

    def test_only_skips_is_not_success(self):
        log = ("TAP version 13\n1..1\n# selftests: a: b\n"
               "# 1..0 # SKIP needs a device\nok 1 selftests: a: b # SKIP\n")
        top = parse_with(log, expected={})
        counts = ktap.summarize(top)
        self.assertEqual((0, 1, 0), (counts["passed"], counts["failed"],
                                     counts["skipped"]))
        code, reason, _ = run.decide("kselftest", outcome(0), None, counts,
                                    top, [], LIMITS)
        self.assertEqual(common.EXIT_TESTS_FAILED, code)
        self.assertEqual("1 test(s) failed: unexpected skip: a:b (needs a "
                         "device)", reason)

    def test_file_format(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("# comment line\n\n"
                    "timers:posix_timers:check_sig_ign SIGEV_SIGNAL\t# why\n"
                    "pvkit:pvkit_blk_hostile   # own stage\n"
                    "a:b\n")
            f.flush()
            self.assertEqual(
                {"timers:posix_timers:check_sig_ign SIGEV_SIGNAL": "why",
                 "pvkit:pvkit_blk_hostile": "own stage",
                 "a:b": "expected skip"}, ktap.load_expected_skips(f.name))

    def test_flavour_scoped_entries(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("a:all   # every flavour\n"
                    "@suites b:defconfig_only  # needs the big kernel\n"
                    "@small,debug c:tiny  # no such option in tinyconfig\n")
            f.flush()
            load = ktap.load_known_failures
            self.assertEqual({"a:all", "b:defconfig_only"},
                             set(load(f.name, "suites")))
            self.assertEqual({"a:all", "c:tiny"}, set(load(f.name, "debug")))
            self.assertEqual("no such option in tinyconfig",
                             load(f.name, "small")["c:tiny"])
            self.assertEqual({"a:all"}, set(load(f.name)))

    def test_the_kits_list_loads(self):
        path = os.path.join(HERE, "..", "expected-skips.txt")
        skips = ktap.load_expected_skips(path)
        self.assertIn("pvkit:pvkit_blk_hostile", skips)
        self.assertIn("pvkit:pvkit_net_hostile", skips)
        self.assertTrue(all(":" in k and " " not in k.split(":")[0]
                            for k in skips), skips)


def outcome(guest_rc, timeout=None, qemu_rc=0, booted_at=1.0):
    o = vm.Outcome()
    o.guest_rc, o.timeout, o.qemu_rc, o.booted_at = \
        guest_rc, timeout, qemu_rc, booted_at
    return o


LIMITS = types.SimpleNamespace(timeout=900, idle_timeout=120,
                               kill_after="DONE", kill_delay=1.5)


class DecideTest(unittest.TestCase):
    """decide(): the exit code and reason from everything a run saw."""

    def decide(self, mode="kselftest", o=None, kernel=None, log=None,
               failures=(), qemu_err=""):
        top = parse(log if log is not None else KUNIT_LOG)
        return run.decide(mode, o or outcome(0), kernel, ktap.summarize(top),
                         top, list(failures), LIMITS, qemu_err)

    def test_ok(self):
        self.assertEqual((0, "ok", []), self.decide())
        self.assertEqual((0, "ok", []), self.decide("cmd", log=""))

    def test_most_severe_first(self):
        expect = common.Failure("expect-console:x", "console.log has no match")
        bad = KSELFTEST_LOG
        cases = [
            (dict(kernel=("BUG", "BUG: oops"), o=outcome(None, "wall")),
             10, "kernel failure (BUG): BUG: oops"),
            (dict(o=outcome(None, "wall", -9)), 12,
             "wall timeout after 900s"),
            (dict(o=outcome(None, "killed", -9)), 12,
             "killed with SIGKILL 1.5s after 'DONE' (--kill-after)"),
            (dict(o=outcome(None, "idle", -9)), 11,
             "no console output for 120s"),
            (dict(o=outcome(None, None, 1, None)), 13,
             "QEMU exited with status 1 before PVKIT-BOOTED"),
            (dict(o=outcome(None, None, -11), qemu_err="boom"), 13,
             "QEMU killed by signal 11 before PVKIT-EXIT: boom"),
        ]
        for kw, code, reason in cases:
            with self.subTest(code=code, reason=reason):
                got, why, failures = self.decide(log=bad, failures=[expect],
                                                 **kw)
                self.assertEqual((code, reason), (got, why))
                self.assertEqual(f"vm:{common.EXIT_REASONS[code]}",
                                 failures[0].name)
                self.assertEqual(reason, failures[0].reason)
                self.assertIs(expect, failures[1])

    def test_tests_failed(self):
        code, reason, failures = self.decide(log=KSELFTEST_LOG)
        self.assertEqual(1, code)
        self.assertEqual("2 test(s) failed: pvkit:pvkit_test:event_channel, "
                         "demo:slow.sh", reason)
        self.assertEqual([], failures)

    def test_reason_names_five_at_most(self):
        log = "TAP version 13\n1..7\n" + "".join(
            f"not ok {i} t{i}\n" for i in range(1, 8))
        code, reason, _ = self.decide(log=log)
        self.assertEqual("7 test(s) failed: t1, t2, t3, t4, t5 ...", reason)

    def test_no_test_ran(self):
        code, reason, failures = self.decide(log="", o=outcome(1))
        self.assertEqual((1, "no test ran (run_kselftest.sh exited 1)"),
                         (code, reason))
        self.assertEqual(["vm:kselftest"], [f.name for f in failures])

    def test_runner_status_with_all_passed(self):
        code, reason, failures = self.decide(o=outcome(2))
        self.assertEqual((1, "run_kselftest.sh exited 2"), (code, reason))
        self.assertEqual(["vm:kselftest"], [f.name for f in failures])

    def test_command_status(self):
        code, reason, failures = self.decide("cmd", o=outcome(3), log="")
        self.assertEqual((1, "command exited with status 3"), (code, reason))
        self.assertEqual(["vm:command"], [f.name for f in failures])
        # a command's failed TAP lines are its own business: its status
        # decides
        self.assertEqual(0, self.decide("cmd", log=KSELFTEST_LOG)[0])

    def test_expectation_failures(self):
        f = [common.Failure("expect-console:a", "no a"),
             common.Failure("expect-hvc:b", "no b")]
        self.assertEqual((1, "no a; no b", f), self.decide(failures=f))

    def test_unexpected_skip_in_a_command(self):
        top = parse_with(SKIPS_LOG, expected={})
        code, reason, _ = run.decide("cmd", outcome(0), None,
                                    ktap.summarize(top), top, [], LIMITS)
        self.assertEqual(1, code)
        self.assertTrue(reason.startswith("unexpected skip: pvkit:pvkit_blk_"
                                          "hostile:hostile.bad_id (no "), reason)


class SummarizeTest(unittest.TestCase):

    def test_counts(self):
        cases = [
            (KSELFTEST_LOG, (2, 2, 3, 1, 8)),
            (KUNIT_LOG, (3, 0, 0, 0, 3)),
            # a parent failing after its subtests passed counts once
            ("TAP version 13\n1..1\n# selftests: a: b\n# 1..2\n"
             "# ok 1 x\n# ok 2 y\nnot ok 1 selftests: a: b # exit=139\n",
             (2, 1, 0, 0, 3)),
            # the guest died: the unfinished test and 2 planned results
            ("TAP version 13\n1..3\n# selftests: a: b\n",
             (0, 2, 0, 0, 2)),
            ("", (0, 0, 0, 0, 0)),
        ]
        for log, want in cases:
            with self.subTest(log=log[:40]):
                c = ktap.summarize(parse(log))
                self.assertEqual(want, (c["passed"], c["failed"],
                                        c["skipped"], c["xfail"],
                                        c["total"]))

    def test_failed_names_match_the_count(self):
        for log in (KSELFTEST_LOG, SKIPS_LOG, posix_timers_log(
                "not ok 1 selftests: timers: posix_timers # TIMEOUT 4")):
            top = parse_with(log, expected={})
            self.assertEqual(ktap.summarize(top)["failed"],
                             len(ktap.failed_names(top)))


class LiveOutputTest(unittest.TestCase):

    def test_results_and_suite_lines_as_they_come(self):
        lines = []

        def on_document(nodes, t0, t1):
            # as run_in() does: the verdicts on a finished collection
            for n in nodes:
                n.qualify()
            ktap.apply_known_failures(nodes, POSIX_KNOWN)
            ktap.apply_expected_skips(nodes, {})
            lines.append(ktap.suite_line(nodes, t0, t1))

        p = ktap.KtapParser(
            lambda n, d, prefix: lines.append(
                ktap.live_result_line(n, d, prefix, POSIX_KNOWN, {})),
            on_document)
        log = ("TAP version 13\n1..2\n# selftests: timers: posix_timers\n"
               "# TAP version 13\n# 1..3\n# ok 1 check_itimer\n"
               "# not ok 2 check_rearm\n# ok 3 check_x # SKIP no clock\n"
               "not ok 1 selftests: timers: posix_timers # exit=1\n"
               "# selftests: timers: nanosleep\n"
               "ok 2 selftests: timers: nanosleep\n"
               "TAP version 13\n1..1\n")
        seen = []
        for i, line in enumerate(log.splitlines()):
            p.feed(line, 10.0 * i)
            seen.append(len(lines))
        self.assertEqual([
            "    PASS  timers:posix_timers:check_itimer (10.0s)",
            "    FAIL  timers:posix_timers:check_rearm (10.0s) "
            "[known failure]",
            "    SKIP  timers:posix_timers:check_x (10.0s): no clock "
            "[unexpected skip]",
            "  FAIL  timers:posix_timers (60.0s): exit=1",
            "  PASS  timers:nanosleep (10.0s)",
            # check_rearm is known (xfail: skipped), check_x's skip is
            # not expected (failed)
            "# suite timers: 2 passed, 1 failed, 1 skipped in 100.0 s",
        ], lines)
        # the suite line came with the collection's last result, not later
        self.assertEqual(6, seen[10])

    def test_cut_off_collection_reports_at_the_end(self):
        got = []
        p = ktap.KtapParser(None, lambda nodes, t0, t1: got.append(
            ktap.suite_line(nodes, t0, t1)))
        log = ("TAP version 13\n1..2\n# selftests: pvkit: pvkit_test\n"
               "# TAP version 13\n# 1..3\n# ok 1 x\n# ok 2 y\n")
        for i, line in enumerate(log.splitlines()):
            p.feed(line, 10.0 * i)
        self.assertEqual([], got)
        p.results()
        # the unfinished test's missing result, and pvkit's second test
        self.assertEqual(["# suite pvkit: 2 passed, 2 failed, 0 skipped in "
                          "60.0 s"], got)


class InitrdTest(unittest.TestCase):

    def test_run_initrd_appends_cpio(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = os.path.join(tmp, "base.gz")
            with open(base, "wb") as f:
                f.write(gzip.compress(cpio.newc_archive(
                    [("init", 0o100755, b"#!/bin/sh\n")]))[:-1] + b"\0")
            out = os.path.join(tmp, "run.gz")
            cpio.build_run_initrd(base, out, "echo hi", ["pvkit_core"])
            with open(out, "rb") as f:
                data = f.read()
            base_len = os.path.getsize(base)
            start = base_len + (-base_len % 4)
            self.assertEqual(data[base_len:start], b"\0" * (start - base_len))
            archive = gzip.decompress(data[start:])
            self.assertTrue(archive.startswith(b"070701"))
            self.assertIn(b"pvkit/cmd\0", archive)
            self.assertIn(b"echo hi\n", archive)
            self.assertIn(b"etc/pvkit-modules\0", archive)
            self.assertIn(b"TRAILER!!!\0", archive)
            self.assertEqual(len(archive) % 512, 0)

    def test_newc_header_layout(self):
        a = cpio.newc_archive([("x", 0o100644, b"abc")])
        self.assertEqual(a[:6], b"070701")
        self.assertEqual(int(a[54:62], 16), 3)         # filesize
        self.assertEqual(int(a[94:102], 16), 2)        # namesize "x\0"
        self.assertEqual(a[110:112], b"x\0")
        self.assertEqual(a[112:115], b"abc")           # name padded to 4


class CliTest(unittest.TestCase):

    def test_usage_error_is_14(self):
        err = io.StringIO()
        import contextlib
        with contextlib.redirect_stderr(err):
            self.assertEqual(run.main(["--bogus"]), common.EXIT_SETUP)
            self.assertEqual(run.main(["--qemu", "/nonexistent", "--kernel",
                                      "/x", "--initrd", "/y", "--cmd",
                                      "true"]), common.EXIT_SETUP)


class FakeQmp:
    """Records what host_request() passes on; answers like QEMU."""

    def __init__(self):
        self.calls = []

    def execute(self, cmd, arguments=None):
        self.calls.append((cmd, arguments))
        return {"return": {}}


class HostRequestTest(unittest.TestCase):

    def test_whitelisted_command_runs(self):
        q = FakeQmp()
        line = 'x PVKIT-HOST-REQUEST: {"execute": "device_del", ' \
            '"arguments": {"id": "loopcon"}}'
        m = qmp.HOST_REQUEST_RE.search(line)
        self.assertIsNotNone(m)
        self.assertEqual('{"return": {}}', qmp.host_request(q, m.group(1)))
        self.assertEqual([("device_del", {"id": "loopcon"})], q.calls)

    def test_other_commands_refused(self):
        q = FakeQmp()
        for req in ('{"execute": "quit"}', '{"execute": "human-monitor-'
                    'command", "arguments": {"command-line": "q"}}',
                    '["device_del"]', '{"execute": "device_del", '
                    '"arguments": "loopcon"}'):
            self.assertTrue(qmp.host_request(q, req).startswith("refused"),
                            req)
        self.assertEqual([], q.calls)

    def test_garbage_refused(self):
        q = FakeQmp()
        self.assertTrue(qmp.host_request(q, "{nope").startswith("refused"))
        self.assertEqual([], q.calls)

    def test_trace_event_switch_passes(self):
        q = FakeQmp()
        req = '{"execute": "trace-event-set-state", "arguments": ' \
            '{"name": "virtio_notify", "enable": true}}'
        self.assertEqual('{"return": {}}', qmp.host_request(q, req))
        self.assertEqual([("trace-event-set-state",
                           {"name": "virtio_notify", "enable": True})],
                         q.calls)


class QmpClientTest(unittest.TestCase):
    """The one QMP client against a fake QEMU on a Unix socket that
    appears only after the client started waiting for it."""

    def serve(self, path, replies, seen):
        import socket
        import threading

        def run():
            time.sleep(0.3)
            srv = socket.socket(socket.AF_UNIX)
            srv.bind(path)
            srv.listen(1)
            conn, _ = srv.accept()
            f = conn.makefile("rw")
            f.write('{"QMP": {"version": {}, "capabilities": []}}\n')
            f.flush()
            for reply in replies:
                seen.append(json.loads(f.readline()))
                f.write(reply + "\n")
                f.flush()
            conn.close()
            srv.close()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    def test_handshake_events_and_arguments(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "qmp.sock")
            seen = []
            t = self.serve(path, ['{"return": {}}',
                                  '{"event": "RESET"}\n{"return": 7}',
                                  '{"error": {"class": "GenericError"}}'],
                           seen)
            q = qmp.Qmp(path, timeout=5, connect_wait=5)
            self.assertEqual({"return": 7},
                             q.cmd("qom-get", path="/p", property="x"))
            self.assertIn("error", q.execute("query-status"))
            q.close()
            t.join(5)
        self.assertEqual([{"execute": "qmp_capabilities"},
                          {"execute": "qom-get",
                           "arguments": {"path": "/p", "property": "x"}},
                          {"execute": "query-status"}], seen)

    def test_no_socket_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            q = qmp.Qmp(os.path.join(d, "none.sock"), connect_wait=0.2)
            with self.assertRaises(OSError):
                q.cmd("query-status")


class HarnessCputimeTest(unittest.TestCase):
    """harness-cputime is answered by the harness, never sent to QEMU."""

    def request(self, pid, label='"kit-randread-before"'):
        q = FakeQmp()
        text = '{"execute": "harness-cputime", "arguments": {"label": ' \
            + label + '}}'
        report = qmp.host_request(q, text, pid)
        self.assertEqual([], q.calls)
        return json.loads(report)

    def test_reports_cpu_time_of_the_process(self):
        # this process stands in for QEMU: burn some CPU between two samples
        t0 = time.time()
        first = self.request(os.getpid())["return"]
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass
        second = self.request(os.getpid())["return"]
        self.assertEqual("kit-randread-before", first["label"])
        self.assertAlmostEqual(first["cpu"], first["utime"] + first["stime"])
        self.assertGreater(second["cpu"], first["cpu"])
        self.assertLessEqual(t0, first["time"])
        self.assertLessEqual(first["time"], second["time"])

    def test_bad_label_or_pid_is_an_error_reply(self):
        for label in ('"a b"', '"x; rm -rf /"', '""', '42', 'null'):
            self.assertIn("error", self.request(os.getpid(), label), label)
        self.assertIn("error", self.request(None))
        self.assertIn("error", self.request(2 ** 30))

class HarnessPauseTest(unittest.TestCase):
    """harness-pause stops the VM, waits, and lets it run again."""

    def test_stop_wait_cont(self):
        q = FakeQmp()
        t0 = time.monotonic()
        report = qmp.host_request(
            q, '{"execute": "harness-pause", "arguments": {"seconds": 1}}')
        self.assertEqual({"return": {}}, json.loads(report))
        self.assertEqual([("stop", None), ("cont", None)], q.calls)
        self.assertLessEqual(1.0, time.monotonic() - t0)

    def test_bad_durations_refused_without_stopping(self):
        for seconds in ("0", "31", '"5"', "true", "null", "-1"):
            q = FakeQmp()
            report = qmp.host_request(
                q, '{"execute": "harness-pause", "arguments": '
                '{"seconds": ' + seconds + '}}')
            self.assertIn("error", json.loads(report), seconds)
            self.assertEqual([], q.calls, seconds)


class KillAfterTest(unittest.TestCase):

    def test_kill_after_a_line(self):
        """run_vm kills the process once on_line sets kill["at"]."""
        kill = {"at": None}

        def on_line(line, t):
            if line == "GO" and kill["at"] is None:
                kill["at"] = time.monotonic() + 0.2

        with tempfile.TemporaryDirectory() as d:
            o = vm.run_vm(["sh", "-c", "echo GO; sleep 30; echo LATE"],
                          os.path.join(d, "console.log"), on_line,
                          wall=20, idle=20, kill=kill)
            with open(os.path.join(d, "console.log")) as f:
                text = f.read()
        self.assertEqual("killed", o.timeout)
        self.assertNotIn("LATE", text)
        self.assertEqual(-9, o.qemu_rc)


# A stand-in for qemu-system-x86_64: answers "-device help" with a pvkit
# device, logs its argv (one JSON line per run) to $FAKE_QEMU_LOG, asks the
# net peer named on the kernel command line for a SINK, and "boots".
FAKE_QEMU = """\
#!/usr/bin/python3
import json, os, socket, sys
args = sys.argv[1:]
if args == ["-device", "help"]:
    print('name "pvkit", bus ISA, desc "pvkit paravirtual host interface"')
    sys.exit(0)
with open(os.environ["FAKE_QEMU_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
if os.environ.get("FAKE_QEMU_CONSOLE"):
    # the guest's console, as given, then QEMU's exit status
    with open(os.environ["FAKE_QEMU_CONSOLE"]) as f:
        sys.stdout.write(f.read())
    sys.exit(int(os.environ.get("FAKE_QEMU_RC", "0")))
for w in args[args.index("-append") + 1].split():
    if w.startswith("pvkit_net_peer="):
        host, port = w.split("=", 1)[1].rsplit(":", 1)
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        s.sendall(b"SINK 5\\nhello")
        print("peer said: " + s.makefile().readline().strip())
        s.close()
print("PVKIT-BOOTED")
print("PVKIT-EXIT: 0", flush=True)
"""


class FakeQemuRun:
    """Run run.main() against FAKE_QEMU; .runs holds every QEMU argv.
    With console (text), the fake QEMU prints that instead of booting."""

    def __init__(self, tmp, argv, env=None, console=None):
        import contextlib
        from unittest import mock
        qemu = os.path.join(tmp, "qemu-system-x86_64")
        with open(qemu, "w") as f:
            f.write(FAKE_QEMU)
        os.chmod(qemu, 0o755)
        for name in ("bzImage", "initrd.gz"):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(b"\0" * 16)
        self.out = os.path.join(tmp, "out")
        log = os.path.join(tmp, "qemu-argv.jsonl")
        full = ["--qemu", qemu, "--kernel", os.path.join(tmp, "bzImage"),
                "--initrd", os.path.join(tmp, "initrd.gz"),
                "--data-dir", tmp, "--out", self.out,
                "--timeout", "30", "--idle-timeout", "30"] + argv
        if "--kselftest" not in argv:
            full += ["--cmd", "true"]
        env = dict({"PVKIT_ACCEL": "tcg", "FAKE_QEMU_LOG": log}, **(env or {}))
        if console is not None:
            env["FAKE_QEMU_CONSOLE"] = os.path.join(tmp, "console.txt")
            with open(env["FAKE_QEMU_CONSOLE"], "w") as f:
                f.write(console)
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, env), \
                contextlib.redirect_stdout(self.stdout), \
                contextlib.redirect_stderr(self.stderr):
            self.code = run.main(full)
        self.runs = []
        if os.path.exists(log):
            with open(log) as f:
                self.runs = [json.loads(ln) for ln in f]

    def results(self):
        with open(os.path.join(self.out, "results.json")) as f:
            return json.load(f)


def nic_args(argv):
    """The -netdev/-device xen-net-device pairs (and any other NIC option)
    in a QEMU argv."""
    got = []
    for i, a in enumerate(argv):
        if a in ("-netdev", "-nic", "-net") or (
                a == "-device" and "net" in argv[i + 1]):
            got += [a, argv[i + 1]]
    return got


class PvNicTest(unittest.TestCase):

    def test_argv_for_two_nics(self):
        self.assertEqual(
            netpeer.pv_nic_argv(["user", "socket,listen=127.0.0.1:5000"]),
            ["-netdev", "user,id=pvnet0",
             "-device", "xen-net-device,netdev=pvnet0,id=pv-vif0,idx=0,"
             "mac=52:54:00:12:35:10",
             "-netdev", "socket,listen=127.0.0.1:5000,id=pvnet1",
             "-device", "xen-net-device,netdev=pvnet1,id=pv-vif1,idx=1,"
             "mac=52:54:00:12:35:11"])

    def test_mac_is_two_hex_digits(self):
        a = netpeer.pv_nic_argv(["user"] * 17)
        self.assertTrue(a[-1].endswith(",idx=16,mac=52:54:00:12:35:20"),
                        a[-1])
        a = netpeer.pv_nic_argv(["user"] * netpeer.PV_NIC_MAX)
        self.assertTrue(a[-1].endswith("mac=52:54:00:12:35:ff"), a[-1])

    def test_mac_base_moves_every_nic(self):
        a = netpeer.pv_nic_argv(["user", "user"], "52:54:00:12:36:10")
        self.assertTrue(a[3].endswith(",idx=0,mac=52:54:00:12:36:10"), a[3])
        self.assertTrue(a[7].endswith(",idx=1,mac=52:54:00:12:36:11"), a[7])
        self.assertEqual(netpeer.pv_nic_macs(2, "02:AB:cd:00:00:fe"),
                         ["02:ab:cd:00:00:fe", "02:ab:cd:00:00:ff"])
        self.assertEqual(netpeer.pv_nic_macs(1), [netpeer.PV_NIC_MAC_BASE])

    def test_bad_mac_base(self):
        for bad, why in (("52:54:00:12:36", "six hex octets"),
                         ("52:54:00:12:36:1", "six hex octets"),
                         ("52-54-00-12-36-10", "six hex octets"),
                         ("52:54:00:12:36:10,x", "six hex octets"),
                         ("01:00:5e:00:00:01", "multicast"),
                         ("00:00:00:00:00:00", "all zero")):
            with self.subTest(mac=bad):
                with self.assertRaises(common.SetupError) as e:
                    netpeer.pv_nic_macs(1, bad)
                self.assertIn(why, str(e.exception))
        # the last octet may not carry into the fifth
        netpeer.pv_nic_macs(2, "52:54:00:12:36:fe")
        with self.assertRaises(common.SetupError) as e:
            netpeer.pv_nic_macs(3, "52:54:00:12:36:fe")
        self.assertIn("at most 2", str(e.exception))
        self.assertRaises(common.SetupError, netpeer.pv_nic_macs, netpeer.PV_NIC_MAX + 1)

    def test_main_passes_the_mac_base(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, ["--pvkit", "--pv-nic", "user",
                                  "--pv-nic-mac-base", "52:54:00:12:36:10"])
            self.assertEqual(0, r.code, r.stderr.getvalue())
            self.assertEqual(nic_args(r.runs[0]),
                             netpeer.pv_nic_argv(["user"], "52:54:00:12:36:10"))
            self.assertIn("mac=52:54:00:12:36:10", nic_args(r.runs[0])[3])

    def test_id_rejected_other_options_kept(self):
        for bad in ("user,id=n0", "id=n0,type=user", "user,,x,id=y", "",
                    ",user"):
            with self.subTest(spec=bad):
                self.assertRaises(common.SetupError, netpeer.check_pv_nic, bad)
        for good in ("user", "user,hostfwd=tcp::2222-:22",
                     "socket,listen=127.0.0.1:5000", "user,smb=/a,,id=b",
                     "user,guestfwd=tcp:10.0.2.100:1-cmd:x"):
            with self.subTest(spec=good):
                netpeer.check_pv_nic(good)

    def test_main_adds_nics_after_pvkit_and_no_default_nic(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, ["--pvkit", "--pv-nic", "user",
                                  "--pv-nic", "socket,listen=127.0.0.1:5000"])
            self.assertEqual(0, r.code, r.stderr.getvalue())
            [argv] = r.runs
            self.assertEqual(argv, r.results()["qemu_argv"][1:])
            self.assertIn("-nodefaults", argv)
            self.assertEqual(nic_args(argv),
                             netpeer.pv_nic_argv(["user",
                                             "socket,listen=127.0.0.1:5000"]))
            self.assertLess(argv.index("pvkit,chardev=pvkitcon"),
                            argv.index("-netdev"))
            self.assertNotIn("pvkit_net_peer", argv[argv.index("-append") + 1])

    def test_no_nic_without_the_option(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, ["--pvkit"])
            self.assertEqual(0, r.code, r.stderr.getvalue())
            self.assertEqual([], nic_args(r.runs[0]))

    def test_setup_errors(self):
        for argv, why in ((["--pvkit", "--pv-nic", "user,id=x"], "id="),
                          (["--no-pvkit", "--pv-nic", "user"], "--pvkit"),
                          (["--pvkit", "--pv-nic", "user",
                            "--pv-nic-mac-base", "01:00:5e:00:00:01"],
                           "multicast"),
                          (["--pvkit"] + ["--pv-nic", "user"] * 3 +
                           ["--pv-nic-mac-base", "52:54:00:12:36:fe"],
                           "run past :ff")):
            with self.subTest(argv=argv), \
                    tempfile.TemporaryDirectory() as tmp:
                r = FakeQemuRun(tmp, argv)
                self.assertEqual(common.EXIT_SETUP, r.code)
                self.assertIn(why, r.stderr.getvalue())
                self.assertEqual([], r.runs)        # QEMU never started

    def test_kvm_canary_boots_without_nics(self):
        from unittest import mock
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(canary, "kvm_usable", lambda: (True, "ok")):
            r = FakeQemuRun(tmp, ["--pvkit", "--pv-nic", "user"],
                            env={"PVKIT_ACCEL": "",
                                 "PVKIT_CACHE": os.path.join(tmp, "cache")})
            self.assertEqual(0, r.code, r.stderr.getvalue())
            first, real = r.runs
            self.assertIn("kvm", first)
            self.assertEqual([], nic_args(first))
            self.assertEqual(netpeer.pv_nic_argv(["user"]), nic_args(real))


class NetPeerTest(unittest.TestCase):
    """The --net-peer peer on its own, over real sockets."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.log = os.path.join(self.tmp.name, "net-peer.jsonl")
        self.peer = netpeer.NetPeer(self.log, idle=5).start()

    def tearDown(self):
        self.peer.stop()
        self.tmp.cleanup()

    def connect(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.peer.port),
                                     timeout=10)
        self.addCleanup(s.close)
        return s

    def ask(self, data, shut=True):
        """Send data, read to EOF."""
        s = self.connect()
        s.sendall(data)
        if shut:
            import socket
            s.shutdown(socket.SHUT_WR)
        return self.read_all(s)

    @staticmethod
    def read_all(s):
        out = b""
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                return out
            out += chunk

    def records(self, n):
        """The first n log records, once the peer has written them.

        The peer counts a request before its record reaches the log, so
        wait for the records themselves (a loaded machine showed the
        gap), and take only whole lines."""
        end = time.monotonic() + 10
        while True:
            with open(self.log) as f:
                lines = [ln for ln in f if ln.endswith("\n")]
            if len(lines) >= n or time.monotonic() >= end:
                break
            time.sleep(0.01)
        recs = [json.loads(ln) for ln in lines]
        self.assertGreaterEqual(len(recs), n)
        return recs

    def test_tcp_and_udp_share_the_port(self):
        self.assertEqual(self.peer.tcp.getsockname(),
                         ("127.0.0.1", self.peer.port))
        self.assertEqual(self.peer.udp.getsockname(),
                         ("127.0.0.1", self.peer.port))

    def test_sink_crc_matches_zlib(self):
        import zlib
        data = os.urandom(1_000_003)
        # the first bytes travel with the request line
        self.assertEqual(self.ask(b"SINK %d\n" % len(data) + data),
                         b"OK %d %08x\n" % (len(data), zlib.crc32(data)))
        self.assertEqual(self.ask(b"SINK 0\n"), b"OK 0 00000000\n")
        # the log has the requests in the order they ended, and the peer
        # may finish closing the first after the second
        [rec] = [r for r in self.records(2) if r["bytes"]]
        self.assertEqual(("SINK", len(data), "%08x" % zlib.crc32(data), True),
                         (rec["op"], rec["bytes"], rec["crc"], rec["ok"]))
        self.assertIsInstance(rec["seconds"], float)

    def test_sink_cut_short_gets_no_reply(self):
        self.assertEqual(self.ask(b"SINK 100\n0123456789"), b"")
        [rec] = self.records(1)
        self.assertFalse(rec["ok"])
        self.assertEqual(10, rec["bytes"])
        self.assertIn("after 10 of 100 bytes", rec["error"])

    def test_source_length_and_crc(self):
        import zlib
        n = 300_001
        out = self.ask(b"SOURCE %d\n" % n)
        data, line = out[:n], out[n:]
        self.assertEqual(line, b"OK %d %08x\n" % (n, zlib.crc32(data)))
        rec = self.records(1)[0]
        self.assertEqual(("SOURCE", n, True),
                         (rec["op"], rec["bytes"], rec["ok"]))

    def test_echo_returns_the_bytes(self):
        import threading
        data = os.urandom(2_000_000)
        s = self.connect()
        t = threading.Thread(target=s.sendall,
                             args=(b"ECHO %d\n" % len(data) + data,))
        t.start()
        self.assertEqual(self.read_all(s), data)
        t.join()

    def test_udpcount(self):
        import socket
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(u.close)
        for p in (b"t1 0 " + b"x" * 1000, b"t1 1 xx", b"t1 1 xx", b"t2 0",
                  b"t1x 0 other tag", b"no-space-here", b" t1 0"):
            u.sendto(p, ("127.0.0.1", self.peer.port))
        self.assertEqual(self.ask(b"UDPCOUNT t1\n"), b"OK 3 2\n")
        self.assertEqual(self.ask(b"UDPCOUNT t2\n"), b"OK 1 1\n")
        self.assertEqual(self.ask(b"UDPCOUNT none\n"), b"OK 0 0\n")
        self.assertEqual(7, self.peer.stats["udp_datagrams"])
        rec = self.records(3)[0]
        self.assertEqual(("UDPCOUNT", "t1", 3, 2, True),
                         (rec["op"], rec["tag"], rec["received"],
                          rec["distinct"], rec["ok"]))

    def test_err_on_junk_and_too_large(self):
        junk = [b"HELLO\n", b"SINK abc\n", b"SINK -1\n", b"SINK\n",
                b"SINK 1 2\n", b"SINK 0x10\n", b"\xff\xfe\n", b"\n",
                b"UDPCOUNT\n", b"UDPCOUNT a b\n", b"x" * 300,
                b"SINK %d\n" % ((16 << 30) + 1),
                b"SOURCE 99999999999999999999\n",
                b"ECHO 999999999999999999999999\n"]
        for req in junk:
            with self.subTest(req=req[:40]):
                self.assertTrue(self.ask(req).startswith(b"ERR "), req)
        # a SINK with a bad count while the guest streams data still gets
        # its ERR (no reset from the unread bytes)
        self.assertTrue(self.ask(b"SINK -5\n" + b"z" * 500_000, shut=False)
                        .startswith(b"ERR "))
        recs = self.records(len(junk) + 1)
        self.assertTrue(all(not r["ok"] and r["error"] for r in recs))
        self.assertEqual(self.ask(b"SINK 3\nabc"), b"OK 3 352441c2\n")

    def test_concurrent_connections(self):
        import zlib
        # every connection gets half its data, then the second halves go
        # out in reverse order: a peer serving one at a time would stall
        socks, datas = [], []
        for i in range(8):
            d = os.urandom(100_000 + i)
            s = self.connect()
            s.sendall(b"SINK %d\n" % len(d) + d[:50_000])
            socks.append(s)
            datas.append(d)
        for s, d in reversed(list(zip(socks, datas))):
            s.sendall(d[50_000:])
        for s, d in zip(socks, datas):
            self.assertEqual(self.read_all(s),
                             b"OK %d %08x\n" % (len(d), zlib.crc32(d)))

    def test_idle_connection_times_out(self):
        self.peer.stop()
        self.peer = netpeer.NetPeer(self.log, idle=0.3).start()
        s = self.connect()
        s.sendall(b"SINK 10\nabc")
        t0 = time.monotonic()
        self.assertEqual(self.read_all(s), b"")
        self.assertLess(time.monotonic() - t0, 5)
        rec = self.records(1)[-1]
        self.assertEqual((False, 3), (rec["ok"], rec["bytes"]))
        self.assertIn("no data for 0.3s", rec["error"])

    def test_quiet_close_is_not_a_request(self):
        self.assertEqual(self.ask(b""), b"")
        self.assertEqual(self.ask(b"SINK 1\n1"), b"OK 1 83dcefb7\n")
        self.assertEqual(["SINK"], [r["op"] for r in self.records(1)])

    def test_summary(self):
        self.ask(b"SINK 4\nabcd")
        self.ask(b"SOURCE 6\n")
        self.ask(b"NOPE\n")
        self.records(3)
        self.assertTrue(self.peer.summary().startswith(
            "net-peer: 2 transfers, 10 bytes, 0 UDPCOUNT, 0 UDP datagrams, "
            "1 errors"), self.peer.summary())

    def test_stop_cuts_open_connections(self):
        s = self.connect()
        s.sendall(b"SINK 100\n")
        time.sleep(0.2)
        self.peer.stop()
        self.assertEqual(self.read_all(s), b"")
        rec = self.records(1)[0]
        self.assertFalse(rec["ok"])
        self.assertTrue(rec["error"].startswith("VM ended"), rec)
        self.peer.stop()                            # twice is fine


class NetPeerRunTest(unittest.TestCase):

    def test_peer_runs_while_the_vm_does(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, ["--pvkit", "--pv-nic", "user",
                                  "--net-peer"])
            self.assertEqual(0, r.code, r.stderr.getvalue())
            append = r.runs[0][r.runs[0].index("-append") + 1]
            m = re.search(r" pvkit_net_peer=10\.0\.2\.2:(\d+)", append)
            self.assertIsNotNone(m, append)
            with open(os.path.join(r.out, "console.log")) as f:
                self.assertIn("peer said: OK 5 3610a686", f.read())
            with open(os.path.join(r.out, "net-peer.jsonl")) as f:
                [rec] = [json.loads(ln) for ln in f]
            self.assertEqual(("SINK", 5, "3610a686", True),
                             (rec["op"], rec["bytes"], rec["crc"], rec["ok"]))
            np = r.results()["net_peer"]
            self.assertEqual((int(m.group(1)), 1, 5),
                             (np["port"], np["transfers"], np["bytes"]))
            self.assertIn("net-peer: 1 transfers, 5 bytes",
                          r.stdout.getvalue())


class KernelFailureRunTest(unittest.TestCase):
    """pvkit-vm end to end against a fake QEMU printing a console."""

    def test_panic_is_exit_10_with_the_trace(self):
        with tempfile.TemporaryDirectory() as tmp:
            vmlinux, src = DecodeTest().tree(tmp)
            r = FakeQemuRun(tmp, ["--vmlinux", vmlinux, "--kernel-src", src],
                            console=PANIC_LOG)
            self.assertEqual(common.EXIT_KERNEL, r.code, r.stderr.getvalue())
            res = r.results()
        kf = res["kernel_failure"]
        self.assertEqual("BUG", kf["kind"])
        self.assertEqual("BUG: kernel NULL pointer dereference, address: "
                         "0000000000000000", kf["line"])
        self.assertEqual(PANIC_LOG.splitlines()[2:16], kf["trace"])
        self.assertIn("[    2.000420]  pvkit_ring_push (a.c:12) [pvkit_test]",
                      kf["decoded"])
        self.assertIsNone(kf["decode_error"])
        self.assertTrue(res["reason"].startswith("kernel failure (BUG): BUG: "
                                                 "kernel NULL pointer"))
        out = r.stdout.getvalue()
        self.assertIn("pvkit-vm: first kernel failure (BUG): BUG: kernel "
                      "NULL pointer dereference", out)
        self.assertIn("  [    2.000420]  pvkit_ring_push (a.c:12) "
                      "[pvkit_test]\n", out)

    def test_decode_failure_keeps_the_verdict(self):
        with tempfile.TemporaryDirectory() as tmp:
            vmlinux, src = DecodeTest().tree(tmp, "#!/bin/bash\nexit 1\n")
            r = FakeQemuRun(tmp, ["--vmlinux", vmlinux, "--kernel-src", src],
                            console=PANIC_LOG)
            self.assertEqual(common.EXIT_KERNEL, r.code)
            kf = r.results()["kernel_failure"]
        self.assertIsNone(kf["decoded"])
        self.assertIn("exited 1", kf["decode_error"])
        self.assertEqual(14, len(kf["trace"]))
        self.assertIn("  [    2.000420]  pvkit_ring_push+0x12/0x40 "
                      "[pvkit_test]\n", r.stdout.getvalue())
        self.assertIn("trace not decoded", r.stdout.getvalue())

    def test_user_fault_is_the_commands_business(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, [], console=USER_FAULT_LOG)
            self.assertEqual(0, r.code, r.stderr.getvalue())
            res = r.results()
        self.assertIsNone(res["kernel_failure"])
        self.assertEqual([], res["kernel_failures"])
        self.assertEqual(4, len(res["user_faults"]))

    def test_vmlinux_must_exist(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = FakeQemuRun(tmp, ["--vmlinux", os.path.join(tmp, "nope")])
            self.assertEqual(common.EXIT_SETUP, r.code)
            r = FakeQemuRun(tmp, ["--kernel-src", tmp])
            self.assertEqual(common.EXIT_SETUP, r.code)
            self.assertIn("--kernel-src needs --vmlinux", r.stderr.getvalue())


class KselftestRunTest(unittest.TestCase):
    """The closing output and results.json of a kselftest run."""

    CONSOLE = ("[    1.000000] Run /init as init process\nPVKIT-BOOTED\n" +
               SKIPS_LOG + "PVKIT-EXIT: 0\n")

    def run_with(self, tmp, extra):
        skips = os.path.join(tmp, "skips.txt")
        with open(skips, "w") as f:
            f.write("# the hostile suite runs in its own stage\n"
                    "pvkit:pvkit_blk_hostile  # own stage\n")
        return FakeQemuRun(tmp, ["--kselftest", "pvkit"] + [
            a.replace("SKIPS", skips) for a in extra], console=self.CONSOLE)

    def test_unexpected_skips_fail_the_run(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.run_with(tmp, ["--expected-skips", "SKIPS"])
            self.assertEqual(1, r.code, r.stderr.getvalue())
            res = r.results()
        out = [re.sub(r" \(\d+\.\ds\)| in \d+\.\d s$", "", ln)
               for ln in r.stdout.getvalue().splitlines()]
        self.assertIn("    SKIP  pvkit:pvkit_blk:blk.discard: no discard on "
                      "this disk [unexpected skip]", out)
        self.assertIn("# suite pvkit: 1 passed, 2 failed, 2 skipped", out)
        self.assertLess(out.index("  SKIP  pvkit:pvkit_blk_hostile2: "
                                  "nothing to do [unexpected skip]"),
                        out.index("# suite pvkit: 1 passed, 2 failed, "
                                  "2 skipped"))
        self.assertEqual(out[-3:], [
            "  unexpected skip: pvkit:pvkit_blk:blk.discard (no discard on "
            "this disk)",
            "  unexpected skip: pvkit:pvkit_blk_hostile2 (nothing to do)",
            "1 passed, 2 failed, 2 skipped"])
        self.assertEqual("2 test(s) failed: unexpected skip: pvkit:pvkit_blk:"
                         "blk.discard (no discard on this disk), unexpected "
                         "skip: pvkit:pvkit_blk_hostile2 (nothing to do)",
                         res["reason"])
        self.assertEqual(["pvkit:pvkit_blk_hostile"],
                         res["expected_skips"]["matched"])
        self.assertEqual(["pvkit:pvkit_blk:blk.discard",
                          "pvkit:pvkit_blk_hostile2"],
                         res["expected_skips"]["unexpected"])
        self.assertIn("unexpected skip: pvkit:pvkit_blk:blk.discard",
                      r.stderr.getvalue())

    def test_without_the_option_skips_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.run_with(tmp, [])
            self.assertEqual(0, r.code, r.stderr.getvalue())
            self.assertIsNone(r.results()["expected_skips"])
        out = [re.sub(r" in \d+\.\d s$", "", ln)
               for ln in r.stdout.getvalue().splitlines()]
        self.assertIn("# suite pvkit: 1 passed, 0 failed, 4 skipped", out)
        self.assertEqual("1 passed, 0 failed, 4 skipped", out[-1])

    def test_dev_null_expects_no_skip(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.run_with(tmp, ["--expected-skips", "/dev/null"])
            self.assertEqual(1, r.code, r.stderr.getvalue())
            self.assertEqual(4, len(r.results()["expected_skips"]
                                    ["unexpected"]))

    def test_missing_list_is_a_setup_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.run_with(tmp, ["--expected-skips", "/nonexistent"])
            self.assertEqual(common.EXIT_SETUP, r.code)
            self.assertEqual([], r.runs)


class KselftestCapTest(unittest.TestCase):
    """--kselftest-cap: the guest command, and the image's timeout wrapper
    that applies it to tests without a timeout of their own."""

    WRAPPER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "image", "timeout")

    def guest_cmd(self, tmp, argv):
        r = FakeQemuRun(tmp, ["--kselftest", "rseq"] + argv,
                        console="PVKIT-BOOTED\nPVKIT-EXIT: 0\n")
        with open(os.path.join(r.out, "initrd.cpio.gz"), "rb") as f:
            data = f.read()
        return gzip.decompress(data[16:])      # after the 16-byte base

    def test_cap_goes_into_the_guest_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = self.guest_cmd(tmp, ["--kselftest-cap", "600"])
        self.assertIn(b"cd /kselftest && PVKIT_TIMEOUT_CAP=600 "
                      b"./run_kselftest.sh -c rseq\n", data)

    def test_tcg_scale_goes_into_the_guest_command_under_tcg(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = self.guest_cmd(tmp, ["--kselftest-tcg-scale", "4",
                                        "--kselftest-cap", "60"])
        self.assertIn(b"cd /kselftest && PVKIT_TIMEOUT_CAP=60 "
                      b"PVKIT_TIMEOUT_SCALE=4 ./run_kselftest.sh -c rseq\n",
                      data)

    def test_no_cap_by_default(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = self.guest_cmd(tmp, [])
        self.assertIn(b"cd /kselftest && ./run_kselftest.sh -c rseq\n", data)

    def wrapper(self, secs, cap, scale=None):
        import subprocess
        env = dict(os.environ)
        env.pop("PVKIT_TIMEOUT_CAP", None)
        env.pop("PVKIT_TIMEOUT_SCALE", None)
        if cap is not None:
            env["PVKIT_TIMEOUT_CAP"] = cap
        if scale is not None:
            env["PVKIT_TIMEOUT_SCALE"] = scale
        t0 = time.monotonic()
        p = subprocess.run(["sh", self.WRAPPER, secs, "sleep", "3"],
                           env=env, capture_output=True, text=True)
        return p.returncode, time.monotonic() - t0, p.stderr

    def test_wrapper_caps_a_test_without_timeout(self):
        rc, took, err = self.wrapper("0", "1")
        self.assertEqual(124, rc)
        self.assertLess(took, 2.5)
        self.assertIn("stopped at the run's cap of 1s", err)

    def test_wrapper_without_cap_runs_to_the_end(self):
        rc, took, _ = self.wrapper("0", None)
        self.assertEqual(0, rc)
        self.assertGreaterEqual(took, 3)

    def test_scale_stretches_a_declared_timeout(self):
        rc, took, err = self.wrapper("1", None, scale="4")
        self.assertEqual(0, rc, err)
        self.assertGreaterEqual(took, 3)

    def test_scaled_timeout_still_stops_and_says_so(self):
        rc, took, err = self.wrapper("1", None, scale="2")
        self.assertEqual(124, rc)
        self.assertLess(took, 2.9)
        self.assertIn("stopped after 1s x 2", err)

    def test_unscaled_declared_timeout_stops(self):
        rc, took, err = self.wrapper("1", None)
        self.assertEqual(124, rc)
        self.assertNotIn("timeout:", err)

    def test_cap_leaves_a_declared_timeout_alone(self):
        rc, took, err = self.wrapper("5", "1")
        self.assertEqual(0, rc)
        self.assertGreaterEqual(took, 3)
        self.assertEqual("", err)


if __name__ == "__main__":
    unittest.main()
