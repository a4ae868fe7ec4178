# SPDX-License-Identifier: GPL-2.0
#
# pvkit front door.  "make demo" builds what is missing, boots the PV guest
# on the reference host and runs the kit's kselftests; "make check" runs
# every test and quality gate, 'make check STAGES="fio durability"' only
# those stages (scripts/pipeline.sh lists them).  See README.md.
#
# Inside a kernel tree's build ("make -C $KDIR M=$PWD") this directory is
# an external module directory and Kbuild is used instead.

PIPELINE := scripts/pipeline.sh

.PHONY: demo check compare run bench soak build setup flat-patch clean-cache help

demo:
	@$(PIPELINE) demo

check:
	@$(PIPELINE) check $(STAGES)

compare:
	@$(PIPELINE) compare '$(SUITES)'

run:
	@$(PIPELINE) run '$(CMD)'

bench:
	@$(PIPELINE) bench

soak:
	@MINUTES='$(MINUTES)' $(PIPELINE) soak

build:
	@$(PIPELINE) build

setup:
	@$(PIPELINE) setup

flat-patch:
	@scripts/flat-patch.sh

clean-cache:
	@$(PIPELINE) clean-cache

help:
	@sed -n '1,/^$$/p' README.md; echo "targets: demo check [STAGES=...] compare [SUITES=...] run CMD=... bench build setup flat-patch clean-cache"
