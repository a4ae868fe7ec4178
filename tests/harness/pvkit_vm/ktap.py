# SPDX-License-Identifier: GPL-2.0
"""KTAP/TAP parsing, plan checks, known failures, expected skips and
counting."""

import re

from .common import KERNEL_TS_RE

RESULT_RE = re.compile(
    r"^(?P<res>not ok|ok)(?:\s+(?P<num>\d+))?(?:\s+-)?"
    r"(?:\s+(?P<desc>[^#]*?))?\s*(?:#\s*(?P<dir>.*?))?\s*$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
VERSION_RE = re.compile(r"^K?TAP version \d+")
SELFTEST_HDR_RE = re.compile(r"^selftests: (\S+?): (.+?)\s*$")
SUBTEST_RE = re.compile(r"^Subtest: (.+?)\s*$")
# A result at the end of a line of other output (see _glued_result()).
GLUED_RESULT_RE = re.compile(r"(?<=[^\w#])((?:not )?ok \d+\b.*)$")
DIRECTIVE_RE = re.compile(
    r"^(SKIP|TODO|XFAIL|XPASS|TIMEOUT|error)\b\s*(.*)$", re.I)


class TestNode:
    """One test result (possibly with subtests)."""

    def __init__(self, name, status, number=None, duration=None,
                 directive=None, reason=None, children=None):
        self.name = name
        self.status = status      # pass | fail | skip | xfail
        self.number = number
        self.duration = duration
        self.directive = directive
        self.reason = reason
        self.children = children or []
        self.full_name = name

    def qualify(self, prefix=""):
        self.full_name = f"{prefix}:{self.name}" if prefix else self.name
        for c in self.children:
            c.qualify(self.full_name)

    def walk(self, level=0):
        yield level, self
        for c in self.children:
            yield from c.walk(level + 1)

    def to_dict(self, level=0):
        d = {"name": self.full_name, "status": self.status, "level": level}
        if self.duration is not None:
            d["duration"] = round(self.duration, 3)
        if self.directive:
            d["directive"] = self.directive
        if self.reason:
            d["reason"] = self.reason
        if self.children:
            d["subtests"] = len(self.children)
        return d


def classify(res, directive):
    """(status, directive, reason) from 'ok'/'not ok' and the text after '#'."""
    directive = (directive or "").strip()
    m = DIRECTIVE_RE.match(directive)
    kw = m.group(1).upper() if m else None
    why = (m.group(2) if m else directive) or None
    if kw == "SKIP":
        return "skip", "SKIP", why
    if kw == "XFAIL":
        return "xfail", "XFAIL", why
    if kw == "TODO":
        return ("xfail" if res == "not ok" else "pass"), "TODO", why
    if kw == "XPASS":
        return "fail", "XPASS", why
    if kw == "TIMEOUT":
        return "fail", "TIMEOUT", why
    if kw == "ERROR":
        return "fail", "error", why
    return ("pass" if res == "ok" else "fail"), None, why


def split_depth(line):
    """Nesting depth of a TAP line and the line without its prefixes.

    kselftest's runner nests a test's own output under "# "; KUnit indents
    subtests by four spaces.  Both are accepted, mixed.
    """
    depth = 0
    while True:
        if line.startswith("# "):
            line = line[2:]
        elif line == "#":
            line = ""
        elif line.startswith("    "):
            line = line[4:]
        elif line.startswith("\t"):
            line = line[1:]
        else:
            return depth, line
        depth += 1


class KtapParser:
    """Streaming, nested KTAP/TAP parser tolerant of interleaved kernel lines.

    feed(line, t) takes one console line and the host time it arrived;
    results() returns the top-level TestNodes with qualified names
    (e.g. "pvkit:pvkit_test:detects_hypervisor").  on_result(node, depth,
    prefix) is called as results arrive (prefix: the names of the tests it
    is nested in, as far as known yet); on_document(nodes, t0, t1) when a
    top-level document (a kselftest collection) is complete.

    A document's plan ("1..N") is checked when the document ends (its
    parent's result line, the next "TAP version" line at its depth, or the
    end of the output): fewer results than planned adds a failed
    "missing-results" entry naming the count, or a skipped one when the
    parent itself reported SKIP (ksft_exit_skip() in the middle of a plan).
    """

    MISSING = "missing-results"

    def __init__(self, on_result=None, on_document=None):
        self.on_result = on_result
        self.on_document = on_document
        self.pending = {}     # depth -> [TestNode] awaiting their parent
        self.header = {}      # depth -> (name, t) from "selftests: D: T"
        self.subtest = {}     # depth -> name from "# Subtest: X"
        self.mark = {}        # depth -> t of the last event at that depth
        self.docs = {}        # depth -> the open document at that depth
        self.saw_tap = False
        self.folded_doc = None  # the document _fold_below() last closed
        self.last_t = None
        self._final = None

    def feed(self, line, t=None):
        self.last_t = t
        line = line.rstrip("\r\n")
        if KERNEL_TS_RE.match(line):
            return
        depth, body = split_depth(line)
        body = body.rstrip()
        if VERSION_RE.match(body):
            self.saw_tap = True
            self._close_doc(depth)
            self.mark[depth] = t
            self._doc(depth, t)
            return
        m = PLAN_RE.match(body)
        if m:
            self.saw_tap = True
            doc = self._doc(depth, t)
            doc["plan"] = int(m.group(1))
            doc["plan_directive"] = m.group(2)
            self.mark[depth] = t
            self._check_complete(depth, t)
            return
        m = RESULT_RE.match(body)
        if m and (m.group("num") is not None or self.saw_tap):
            self._result(depth, m, t)
            return
        m = self._glued_result(depth, body)
        if m:
            self._result(depth, m, t)
            return
        m = SELFTEST_HDR_RE.match(body)
        if m and depth > 0:
            # runner.sh's "# selftests: DIR: TEST" is a diagnostic of the
            # enclosing document: it names that document's next result.
            self.header[depth - 1] = (f"{m.group(1)}:{m.group(2)}", t)
            return
        m = SUBTEST_RE.match(body)
        if m and depth > 0:
            self.subtest[depth - 1] = m.group(1)

    def _glued_result(self, depth, body):
        """A result line glued to the end of a test's unfinished output line
        ("Diff too high: 3038717..not ok 2 ITIMER_PROF": a printf() without
        a newline, then ksft_test_result()), taken only when its number is
        the next one the planned document at that depth expects."""
        doc = self.docs.get(depth)
        g = GLUED_RESULT_RE.search(body)
        if doc is None or doc["plan"] is None or g is None:
            return None
        m = RESULT_RE.match(g.group(1))
        done = len(self.pending.get(depth, [])) - doc["start"]
        if m is None or m.group("num") is None or \
                int(m.group("num")) != done + 1:
            return None
        return m

    def prefix(self, depth):
        """The names of the (unfinished) tests a result at depth is nested
        in, outermost first."""
        names = []
        for d in range(depth):
            name = (self.header.get(d, (None, None))[0] or
                    self.subtest.get(d))
            if name:
                names.append(name)
        return names

    def _doc(self, depth, t):
        """The open document at depth, opened here if there is none."""
        doc = self.docs.get(depth)
        if doc is None:
            doc = self.docs[depth] = {
                "plan": None, "t0": t,
                "start": len(self.pending.get(depth, []))}
        return doc

    def _close_doc(self, depth, parent_status=None, t1=None):
        """End the document at depth: check its plan (see the class).
        t1: when it ended, default the time of its last result."""
        doc = self.docs.pop(depth, None)
        if doc is None:
            return None
        nodes = self.pending.get(depth, [])[doc["start"]:]
        plan = doc["plan"]
        if plan is not None and len(nodes) < plan:
            missing = plan - len(nodes)
            why = f"plan 1..{plan}, {len(nodes)} " \
                f"result{'' if len(nodes) == 1 else 's'}: {missing} missing"
            if parent_status == "skip":
                status, why = "skip", why + " (the test skipped them)"
            else:
                status = "fail"
            name = self.MISSING
            if depth == 0 and nodes and ":" in nodes[0].name:
                name = nodes[0].name.split(":", 1)[0] + ":" + name
            node = TestNode(name, status, reason=why)
            node.missing = missing
            self.pending.setdefault(depth, []).append(node)
            nodes = nodes + [node]
        if depth == 0 and self.on_document and nodes:
            if t1 is None:
                t1 = self.mark.get(0, self.last_t)
            self.on_document(nodes, doc["t0"], t1)
        return doc

    def _check_complete(self, depth, t):
        """A top-level document is complete once its plan is met: report
        it now rather than at the next document."""
        doc = self.docs.get(depth)
        if depth == 0 and doc and doc["plan"] is not None and \
                len(self.pending.get(0, [])) - doc["start"] >= doc["plan"]:
            self._close_doc(0)

    def _fold_below(self, depth, parent_status=None):
        """Children for a result at `depth`: the documents nested below it
        closed (deepest first), deeper orphans (their parent line never
        came) wrapped, and pending[depth+1] returned."""
        self._wrap_deeper(depth)
        self.folded_doc = self._close_doc(depth + 1, parent_status)
        return self.pending.pop(depth + 1, [])

    def _wrap_deeper(self, depth):
        """Close the documents deeper than depth + 1 and wrap their results
        into a failed entry one level up (their parent line never came)."""
        deepest = max(list(self.pending) + list(self.docs) + [depth])
        for d in range(deepest, depth + 1, -1):
            self._close_doc(d)
            orphans = self.pending.pop(d, [])
            if not orphans:
                continue
            name = (self.header.pop(d - 1, (None, None))[0]
                    or self.subtest.pop(d - 1, None) or "incomplete")
            self.pending.setdefault(d - 1, []).append(TestNode(
                name, "fail", reason="no result line for this test",
                children=orphans))

    def _result(self, depth, m, t):
        self.saw_tap = True
        status, directive, why = classify(m.group("res"), m.group("dir"))
        num = int(m.group("num")) if m.group("num") else None
        desc = (m.group("desc") or "").strip()
        hm = SELFTEST_HDR_RE.match(desc)
        if hm:
            name = f"{hm.group(1)}:{hm.group(2)}"
        elif desc:
            name = desc
        else:
            name = self.subtest.get(depth) or f"test_{num}"
        start = None
        hdr = self.header.pop(depth, None)
        if hdr:
            start = hdr[1]
        elif depth in self.mark:
            start = self.mark[depth]
        duration = (t - start) if (t is not None and start is not None) \
            else None
        self._doc(depth, t)
        children = self._fold_below(depth, status)
        if status == "skip" and not why and self.folded_doc:
            # runner.sh's "ok N ... # SKIP" has no reason; the test's
            # "1..0 # SKIP why" has
            pm = DIRECTIVE_RE.match(self.folded_doc.get("plan_directive")
                                    or "")
            if pm and pm.group(1).upper() == "SKIP" and pm.group(2):
                why = pm.group(2)
        for k in [k for k in self.header if k > depth]:
            del self.header[k]
        self.subtest.pop(depth, None)
        node = TestNode(name, status, num, duration, directive, why,
                        children)
        self.pending.setdefault(depth, []).append(node)
        self.mark[depth] = t
        if self.on_result:
            self.on_result(node, depth, self.prefix(depth))
        self._check_complete(depth, t)

    def results(self):
        """Top-level results; tests whose result never came (the guest
        stopped mid-test) are reported as failed, and so are the results
        missing from a plan."""
        if self._final is not None:
            return self._final
        # A "selftests: D: T" header whose result never arrived.
        for d in sorted(self.header, reverse=True):
            name, t0 = self.header.pop(d)
            kids = self._fold_below(d)
            dur = (self.last_t - t0) if (self.last_t is not None and
                                         t0 is not None) else None
            self.pending.setdefault(d, []).append(TestNode(
                name, "fail", duration=dur,
                reason="no result line (guest stopped during this test)",
                children=kids))
        self._wrap_deeper(-1)       # everything below depth 0
        self._close_doc(0, t1=self.last_t)
        top = self.pending.get(0, [])
        for n in top:
            n.qualify()
        self._final = top
        return top


def summarize(top):
    """Counts over leaf tests; a parent that failed although none of its
    subtests did (e.g. it crashed or exited non-zero) counts as a failure."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "xfail": 0}

    def visit(n):
        if not n.children:
            counts[{"pass": "passed", "fail": "failed", "skip": "skipped",
                    "xfail": "xfail"}[n.status]] += 1
            return n.status == "fail"
        failed = False
        for c in n.children:
            failed |= visit(c)
        if n.status == "fail" and not failed:
            counts["failed"] += 1
            failed = True
        return failed

    for n in top:
        visit(n)
    counts["total"] = sum(counts.values())
    return counts


def load_test_list(path, default_reason, flavour=None):
    """{qualified test name: reason} from a file of "name  # reason" lines
    ("#" starts a comment; blank lines and comment lines are skipped).
    A line that starts with "@flavour[,flavour...]" holds only for a
    kernel of one of those flavours (build-kernel.sh's FLAVOUR: small,
    debug, suites); it is left out when `flavour` is another one, or
    None (not said)."""
    known = {}
    with open(path) as f:
        for line in f:
            name, _, why = line.partition("#")
            name = name.strip()
            if name.startswith("@"):
                scope, _, name = name.partition(" ")
                if flavour not in scope[1:].split(","):
                    continue
                name = name.strip()
            if name:
                known[name] = why.strip() or default_reason
    return known


def load_known_failures(path, flavour=None):
    return load_test_list(path, "known failure", flavour)


def load_expected_skips(path, flavour=None):
    return load_test_list(path, "expected skip", flavour)


# A parent's own "not ok" that its failed subtests explain: no reason
# (KUnit), or runner.sh's "# exit=1" (KSFT_FAIL, the status of a test
# with failed cases).  A timeout, a signal ("exit=139") or any other
# status is the parent's own failure.
IMPLIED_PARENT_REASONS = (None, "exit=1")


def parent_excused(n):
    """A failed parent may be excused (xfail) when its failure is explained
    by its subtests alone: at least one of them a known failure, none still
    failed (a plan that was not met left a failed "missing-results"), and
    no failure of its own beyond what they imply."""
    return (n.children and n.directive is None and
            n.reason in IMPLIED_PARENT_REASONS and
            any(getattr(c, "known", False) for c in n.children) and
            not any(c.status == "fail" for c in n.children))


def apply_known_failures(top, known):
    """Turn failures listed in `known` into xfail, so they are reported but
    do not fail the run; a parent whose "not ok" is explained by them
    (parent_excused()) becomes xfail too.  A parent listed by name (a
    suite that is one kselftest, like mm's run_vmtests.sh, timing out)
    is excused itself; its children are still judged one by one.
    Returns the names matched.  Applying it twice changes nothing more."""
    matched = set()

    def visit(n):
        for c in n.children:
            visit(c)
        if n.status != "fail":
            return
        if n.full_name in known:
            n.status, n.reason = "xfail", f"known failure: {known[n.full_name]}"
            n.known = True
            matched.add(n.full_name)
        elif parent_excused(n):
            n.status, n.known = "xfail", True
            n.reason = "only known failures failed" + \
                (f" ({n.reason})" if n.reason else "")

    for n in top:
        visit(n)
    return matched


def apply_expected_skips(top, expected):
    """Turn every skipped test that `expected` does not list into a
    failure ("unexpected skip"): a skip can hide a test that no longer
    runs.  A listed name covers the test itself and everything under it
    ("pvkit:pvkit_blk_hostile" covers its subtests' skips).  Returns the
    listed names that matched.  Applying it twice changes nothing more."""
    matched = set()
    for root in top:
        for _, n in root.walk():
            if n.status != "skip" or n.children:
                continue
            hit = next((e for e in expected if n.full_name == e or
                        n.full_name.startswith(e + ":")), None)
            if hit is not None:
                matched.add(hit)
                continue
            n.unexpected_skip = n.reason or ""
            n.status = "fail"
            n.reason = "unexpected skip" + (f": {n.reason}" if n.reason
                                            else "")
    return matched


def failed_nodes(top):
    """The failures summarize() counts: failed leaf tests, and failed
    parents none of whose subtests failed (a crash, a timeout)."""
    out = []

    def visit(n):
        if not n.children:
            if n.status == "fail":
                out.append(n)
            return n.status == "fail"
        failed = False
        for c in n.children:
            failed |= visit(c)
        if n.status == "fail" and not failed:
            out.append(n)
            failed = True
        return failed

    for n in top:
        visit(n)
    return out


def failure_label(n):
    """How the summary names a failure: the test's name, or
    "unexpected skip: NAME (reason)"."""
    if getattr(n, "unexpected_skip", None) is not None:
        return f"unexpected skip: {n.full_name}" + \
            (f" ({n.unexpected_skip})" if n.unexpected_skip else "")
    return n.full_name


def failed_names(top):
    """failure_label() of every failure summarize() counts."""
    return [failure_label(n) for n in failed_nodes(top)]
STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP",
                "xfail": "XFAIL"}


def live_result_line(node, depth, prefix, known=None, expected=None):
    """The line printed as a result arrives: status, qualified name,
    duration, the reason of a failure or skip, and whether a failure is a
    known one or a skip is not expected (the verdict comes at the end)."""
    name = ":".join(prefix + [node.name])
    dur = f" ({node.duration:.1f}s)" if node.duration else ""
    why = " ".join(x for x in (node.directive, node.reason)
                   if x and node.status != "pass" and x != "SKIP")
    note = ""
    if not node.children and node.status == "fail" and known and \
            name in known:
        note = " [known failure]"
    elif not node.children and node.status == "skip" and \
            expected is not None and not any(
                name == e or name.startswith(e + ":") for e in expected):
        note = " [unexpected skip]"
    return f"{'  ' * (depth + 1)}{STATUS_WORDS[node.status]:5} {name}{dur}" \
        + (f": {why}" if why else "") + note


def suite_line(nodes, t0, t1):
    """'# suite NAME: N passed, N failed, N skipped in S s' for a finished
    top-level document (xfail counts as skipped, as in the last line)."""
    c = summarize(nodes)
    names = {n.name.split(":", 1)[0] for n in nodes
             if ":" in n.name and not n.name.endswith(KtapParser.MISSING)}
    suite = " ".join(sorted(names)) or "tap"
    took = f" in {t1 - t0:.1f} s" if t0 is not None and t1 is not None \
        else ""
    return (f"# suite {suite}: {c['passed']} passed, {c['failed']} failed, "
            f"{c['skipped'] + c['xfail']} skipped{took}")


def flat_results(top):
    return [n.to_dict(level) for root in top for level, n in root.walk()]
