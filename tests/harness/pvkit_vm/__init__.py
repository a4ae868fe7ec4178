# SPDX-License-Identifier: GPL-2.0
"""pvkit-vm, the kit's VM test harness, as a package (the command is
tests/harness/pvkit-vm; see run.py and tests/harness/README.md).

  ktap     KTAP/TAP parsing, plan checks, known failures, expected skips
  detect   kernel failure reports on the console, and their decoding
  cpio     the per-run initrd
  vm       running QEMU and reading its console live
  qmp      QMP and the host requests a guest may make
  canary   choosing the accelerator (the KVM canary boot)
  netpeer  network devices on the pvkit bus and the host-side test peer
  junit    junit.xml
  run      the command line, one run, its verdict
  common   exit codes, markers and errors shared by all of them
"""
