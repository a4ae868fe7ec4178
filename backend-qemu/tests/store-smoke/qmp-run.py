#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot guest.elf under TCG with -device pvkit, wait for it to finish, read
# the store counters over QMP and print them and the guest's output.
import json, socket, subprocess, sys, time, os
q, elf, out = sys.argv[1], sys.argv[2], sys.argv[3]
sock = out + '.qmp'
if os.path.exists(sock): os.unlink(sock)
if os.path.exists(out): os.unlink(out)
p = subprocess.Popen([q, '-L', '/usr/share/seabios', '-L', '/usr/share/qemu', '-M', 'pc', '-accel', 'tcg', '-m', '64',
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-no-reboot',
    '-device', 'pvkit,id=pv', '-debugcon', 'file:' + out, '-kernel', elf,
    '-qmp', 'unix:%s,server=on,wait=off' % sock])
t = time.time()
while time.time() - t < 60:
    time.sleep(0.5)
    if os.path.exists(out) and '$' in open(out, errors='replace').read():
        break
s = socket.socket(socket.AF_UNIX); s.connect(sock); f = s.makefile('rw')
def cmd(c, **a):
    f.write(json.dumps({'execute': c, 'arguments': a}) + '\n'); f.flush()
    while True:
        r = json.loads(f.readline())
        if 'return' in r or 'error' in r: return r
f.readline(); cmd('qmp_capabilities')
for n in ('stat-store-requests', 'stat-store-errors', 'stat-store-watch-events'):
    print(n, cmd('qom-get', path='/machine/peripheral/pv', property=n).get('return'))
cmd('quit'); p.wait()
print(open(out, errors='replace').read().replace('\0', '|'))
