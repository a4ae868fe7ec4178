#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare two pvkit-vm runs of the same kselftests, test by test.

    compare-results.py [--known FILE] [--out TABLE] PV_RESULTS ORDINARY_RESULTS

Each argument is a results.json written by tests/harness/pvkit-vm: the
first from the PV guest (-device pvkit), the second from an ordinary guest
(same kernel, same image, no pvkit device).  The kit's conformance claim
is that the port changes nothing a test can see, so every test must end
the same way in both.  A test that differs is a failure unless FILE (the
format of tests/known-failures.txt: "suite:test[:subtest]  # why") lists
it; a test that ran in one guest only is a difference too.

Prints a TAP line per compared test and a closing "N passed, N failed,
0 skipped" line (a test skipped on both sides ended alike: it counts as
passed); writes a markdown table of the differences to TABLE if given.
Exit status 0 when nothing unexplained differs, 1 otherwise, 2 on bad
input (a missing or unreadable results file, a run that crashed).
"""

import argparse
import json
import sys

# What a test's end looks like from outside: known failures were turned
# into xfail by the harness, so fold them back to fail for the comparison.
OUTCOME = {"pass": "pass", "fail": "fail", "xfail": "fail", "skip": "skip"}


def load(path):
    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"compare-results: {path}: {e}")
    if res.get("exit_reason") not in ("ok", "tests-failed"):
        raise SystemExit(f"compare-results: {path}: the run ended with "
                         f"{res.get('exit_reason')} ({res.get('reason')}): "
                         "nothing to compare")
    tests = {}
    for t in res.get("tests", []):
        name = t.get("name", "")
        # vm:* entries are the harness's own verdicts, not tests
        if not name or name.startswith("vm:"):
            continue
        tests[name] = OUTCOME.get(t.get("status"), t.get("status"))
    return tests


def load_known(path):
    known = {}
    if not path:
        return known
    with open(path) as f:
        for line in f:
            name, _, why = line.partition("#")
            name = name.strip()
            if name:
                known[name] = why.strip()
    return known


def explained(name, known):
    """A listed name explains itself and every subtest under it."""
    parts = name.split(":")
    for i in range(len(parts), 0, -1):
        why = known.get(":".join(parts[:i]))
        if why is not None:
            return why
    return None


def compare(pv, ordinary, known):
    """Yield (name, pv outcome, ordinary outcome, ok, note) per test."""
    for name in sorted(set(pv) | set(ordinary)):
        a, b = pv.get(name, "absent"), ordinary.get(name, "absent")
        if a == b:
            yield name, a, b, True, ""
            continue
        why = explained(name, known)
        yield name, a, b, why is not None, why or "differs"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--known", help="known differences (known-failures format)")
    ap.add_argument("--out", help="write the table of differences here")
    ap.add_argument("pv")
    ap.add_argument("ordinary")
    try:
        args = ap.parse_args(argv)
        pv, ordinary = load(args.pv), load(args.ordinary)
        known = load_known(args.known)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        return 2
    if not pv or not ordinary:
        print("compare-results: a run reported no tests", file=sys.stderr)
        return 2

    passed = failed = 0
    rows = []
    for name, a, b, ok, note in compare(pv, ordinary, known):
        if a != b:
            rows.append(f"| {name} | {a} | {b} | "
                        f"{'known: ' + note if ok else 'UNEXPLAINED'} |")
        if ok:
            passed += 1
            extra = f" # known difference: {note}" if a != b else ""
            print(f"ok - same in both guests: {name} ({a}){extra}")
        else:
            failed += 1
            print(f"not ok - PV guest {a}, ordinary guest {b}: {name}")
    table = ["| test | PV guest | ordinary guest | |",
             "|---|---|---|---|"] + rows
    print(f"# {len(rows)} of {passed + failed} tests differ, "
          f"{failed} unexplained")
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(table) + "\n")
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
