# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/compare-results.py (PV vs ordinary guest)."""

import importlib.util
import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location(
    "compare_results", os.path.join(HERE, "..", "..", "scripts",
                                    "compare-results.py"))
cr = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(cr)


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, tests, reason="ok"):
        p = os.path.join(self.dir.name, name)
        with open(p, "w") as f:
            json.dump({"exit_reason": reason, "reason": reason,
                       "tests": [{"name": n, "status": s}
                                 for n, s in tests.items()]}, f)
        return p

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = cr.main(list(argv))
        return rc, out.getvalue(), err.getvalue()

    def test_same_outcomes_pass(self):
        pv = self.write("pv", {"timers:a": "pass", "timers:b": "skip"})
        od = self.write("od", {"timers:a": "pass", "timers:b": "skip"})
        rc, out, _ = self.run_main(pv, od)
        self.assertEqual(rc, 0)
        self.assertIn("2 passed, 0 failed", out)

    def test_difference_fails_and_is_named(self):
        pv = self.write("pv", {"timers:a": "fail", "timers:b": "pass"})
        od = self.write("od", {"timers:a": "pass", "timers:b": "pass"})
        rc, out, _ = self.run_main(pv, od)
        self.assertEqual(rc, 1)
        self.assertIn("not ok - PV guest fail, ordinary guest pass: timers:a",
                      out)
        self.assertIn("1 passed, 1 failed", out)

    def test_test_missing_on_one_side_differs(self):
        pv = self.write("pv", {"x86:a": "pass"})
        od = self.write("od", {"x86:a": "pass", "x86:b": "pass"})
        rc, out, _ = self.run_main(pv, od)
        self.assertEqual(rc, 1)
        self.assertIn("PV guest absent, ordinary guest pass: x86:b", out)

    def test_known_difference_explains_subtests(self):
        known = os.path.join(self.dir.name, "known")
        with open(known, "w") as f:
            f.write("# comment\nx86:sysret  # needs hardware\n")
        pv = self.write("pv", {"x86:sysret:one": "fail"})
        od = self.write("od", {"x86:sysret:one": "pass"})
        rc, out, _ = self.run_main("--known", known, pv, od)
        self.assertEqual(rc, 0)
        self.assertIn("known difference: needs hardware", out)

    def test_xfail_compares_as_fail(self):
        pv = self.write("pv", {"t:a": "xfail"})
        od = self.write("od", {"t:a": "fail"})
        self.assertEqual(self.run_main(pv, od)[0], 0)

    def test_crashed_run_is_bad_input(self):
        pv = self.write("pv", {"t:a": "pass"}, reason="kernel-failure")
        od = self.write("od", {"t:a": "pass"})
        rc, _, err = self.run_main(pv, od)
        self.assertEqual(rc, 2)
        self.assertIn("nothing to compare", err)

    def test_empty_run_is_bad_input(self):
        pv = self.write("pv", {})
        od = self.write("od", {"t:a": "pass"})
        self.assertEqual(self.run_main(pv, od)[0], 2)


if __name__ == "__main__":
    unittest.main()
