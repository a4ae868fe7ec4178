#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot guest.elf under TCG with -device pvkit, wait for it to finish, read
# the store counters over QMP and print them and the guest's output.
# Migration (to "exec:cat > /dev/null") is tried three times: before the
# guest runs (the kit unused: must complete), once the guest has finished
# with the store connected (must fail with the device's blocker), and
# after a reset of the stopped VM (unused again: must complete).
import subprocess, sys, time, os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', '..', 'tests', 'harness'))
from pvkit_vm.qmp import Qmp  # noqa: E402  (the kit's one QMP client)
q, elf, out = sys.argv[1], sys.argv[2], sys.argv[3]
sock = out + '.qmp'
if os.path.exists(sock): os.unlink(sock)
if os.path.exists(out): os.unlink(out)
p = subprocess.Popen([q, '-L', '/usr/share/seabios', '-L', '/usr/share/qemu', '-M', 'pc', '-accel', 'tcg', '-m', '64',
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-no-reboot',
    '-device', 'pvkit,id=pv', '-debugcon', 'file:' + out, '-kernel', elf,
    '-qmp', 'unix:%s,server=on,wait=off' % sock, '-S'])
cmd = Qmp(sock, timeout=30, connect_wait=30).cmd
def migrate():
    """'completed', or the error QEMU gave."""
    r = cmd('migrate', uri='exec:cat > /dev/null')
    if 'error' in r: return 'error: ' + r['error']['desc']
    t = time.time()
    while time.time() - t < 60:
        st = cmd('query-migrate').get('return', {})
        if st.get('status') in ('completed', 'failed', 'cancelled'):
            return st['status'] + (': ' + st['error-desc'] if 'error-desc' in st else '')
        time.sleep(0.2)
    return 'timeout'
mig = ['migrate unused: ' + migrate()]
cmd('cont')
t = time.time()
while time.time() - t < 60:
    time.sleep(0.5)
    if os.path.exists(out) and '$' in open(out, errors='replace').read():
        break
mig.append('migrate in use: ' + migrate())
# -no-reboot would make system_reset a shutdown
cmd('set-action', reboot='reset'); cmd('stop'); cmd('system_reset')
t = time.time()
while True:
    r = migrate()
    if r == 'completed' or time.time() - t > 10: break
    time.sleep(0.5)
mig.append('migrate after reset: ' + r)
for n in ('stat-store-requests', 'stat-store-errors', 'stat-store-watch-events'):
    print(n, cmd('qom-get', path='/machine/peripheral/pv', property=n).get('return'))
print('\n'.join(mig))
cmd('quit'); p.wait()
print(open(out, errors='replace').read().replace('\0', '|'))
