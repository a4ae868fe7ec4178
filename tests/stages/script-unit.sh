#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage script-unit: the unit tests of the pipeline's own Python scripts
# (tests/pipeline/test_*.py: the PV vs ordinary comparison).  Ends with a
# "N passed, N failed, N skipped" line from unittest's counts.
set -euo pipefail
cd "$(dirname "$0")/../pipeline"
rc=0
out=$(python3 -m unittest discover -v -p 'test_*.py' 2>&1) || rc=$?
echo "$out"
ran=$(sed -nE 's/^Ran ([0-9]+) tests?.*/\1/p' <<< "$out")
failed=$(grep -cE '^(FAIL|ERROR):' <<< "$out" || true)
skipped=$(grep -cE ' \.\.\. skipped' <<< "$out" || true)
echo "$((${ran:-0} - failed - skipped)) passed, $failed failed, $skipped skipped"
exit "$rc"
