#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage bad-input: bad input to the pipeline and the harness gets a clear
# reason and the exit code it documents (tests/pipeline/bad-input.sh;
# TAP lines, no build needed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
exec "$KIT/tests/pipeline/bad-input.sh"
