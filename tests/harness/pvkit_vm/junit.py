# SPDX-License-Identifier: GPL-2.0
"""junit.xml from the results."""

import xml.etree.ElementTree as ET


def write_junit(path, top, failures):
    root = ET.Element("testsuites")
    suites = {}
    for n in top:
        for level, node in n.walk():
            if node.children:
                continue
            suite, _, rest = node.full_name.partition(":")
            suites.setdefault(suite, []).append((rest or suite, node))
    for f in failures:
        suites.setdefault("pvkit-vm", []).append((f.name, f))
    tot = {"tests": 0, "failures": 0, "skipped": 0}
    for suite, cases in suites.items():
        s = ET.SubElement(root, "testsuite", name=suite)
        nf = ns = 0
        for name, node in cases:
            tc = ET.SubElement(s, "testcase", classname=suite, name=name)
            if node.duration is not None:
                tc.set("time", f"{node.duration:.3f}")
            if node.status == "fail":
                nf += 1
                ET.SubElement(tc, "failure",
                              message=node.reason or node.directive or
                              "failed")
            elif node.status == "skip":
                ns += 1
                ET.SubElement(tc, "skipped", message=node.reason or "")
        s.set("tests", str(len(cases)))
        s.set("failures", str(nf))
        s.set("skipped", str(ns))
        tot["tests"] += len(cases)
        tot["failures"] += nf
        tot["skipped"] += ns
    for k, v in tot.items():
        root.set(k, str(v))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
