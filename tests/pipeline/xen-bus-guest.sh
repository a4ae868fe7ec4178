# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest half of tests/pipeline/xen-bus.py (busybox sh, run as /pvkit/cmd).
# Checks the store layout QEMU's Xen backends create on the reference
# host, asks the host to hot-plug and unplug a xen-console ("XB-REQ"
# lines, answered over QMP), connects the backends to rings granted by
# /tmp/xen-bus-conn (tests/pipeline/xen-bus-conn.c, put there by the
# command's preamble) and feeds them garbage.  Prints "XB-FAIL ..." for
# each failed check; exits non-zero if any failed.
S=$(command -v pvkit-store || echo /kselftest/pvkit/pvkit-store)
FE=/local/domain/1/device
BE=/local/domain/0/backend
fail=0

tree() {	# tree PATH: every node below PATH with its value
	for c in $($S ls "$1" 2>/dev/null); do
		echo "XB-TREE $1/$c = \"$($S read "$1/$c" 2>/dev/null)\""
		tree "$1/$c"
	done
}

expect() {	# expect PATH VALUE
	v=$($S read "$1" 2>/dev/null)
	if [ "$v" = "$2" ]; then
		echo "XB-ok $1 = $2"
	else
		echo "XB-FAIL $1 = '$v', expected '$2'"
		fail=1
	fi
}

wait_for() {	# wait_for PATH VALUE ("-": PATH gone), at most 20 s
	i=0
	while [ $i -lt 20 ]; do
		if v=$($S read "$1" 2>/dev/null); then
			[ "$v" = "$2" ] && break
		else
			[ "$2" = - ] && break
		fi
		sleep 1
		i=$((i + 1))
	done
	expect_gone=$2
	if [ "$expect_gone" = - ]; then
		if $S read "$1" >/dev/null 2>&1; then
			echo "XB-FAIL $1 still there"
			fail=1
		else
			echo "XB-ok $1 gone"
		fi
	else
		expect "$1" "$2"
	fi
}

not_connected() {	# not_connected BACKEND-DIR: state leaves 2, never 4
	sleep 2
	v=$($S read "$1/state" 2>/dev/null)
	case "$v" in
	4 | "") echo "XB-FAIL $1/state = '$v' after garbage"; fail=1 ;;
	*) echo "XB-ok $1/state = $v after garbage" ;;
	esac
}

echo "XB-BEGIN"
tree "$FE"
# the guest may read the device directories, not their parents
tree "$BE/console/1/1"
tree "$BE/qdisk/1/51712"

# xen-console,chardev=... on the command line: console 1
expect "$FE/console/1/state" 1
expect "$FE/console/1/backend" "$BE/console/1/1"
expect "$FE/console/1/backend-id" 0
expect "$BE/console/1/1/state" 2
expect "$BE/console/1/1/online" 1
expect "$BE/console/1/1/frontend" "$FE/console/1"
expect "$BE/console/1/1/frontend-id" 1

# xen-disk,vdev=xvda (the xen-block family) on a 1 MiB raw file: vbd 51712 (202 << 8)
expect "$FE/vbd/51712/state" 1
expect "$FE/vbd/51712/backend" "$BE/qdisk/1/51712"
expect "$BE/qdisk/1/51712/state" 2
expect "$BE/qdisk/1/51712/sectors" 2048
expect "$BE/qdisk/1/51712/sector-size" 512
expect "$BE/qdisk/1/51712/feature-flush-cache" 1

# hot-plug and unplug
echo "XB-REQ plug"
wait_for "$FE/console/2/state" 1
wait_for "$BE/console/1/2/state" 2
echo "XB-REQ unplug"
wait_for "$FE/console/2" -
wait_for "$BE/console/1/2" -

# connect to a granted ring: empty (fill 0) must connect, a read-only
# grant must not, a garbage ring (fill 0xff) connects but must neither
# hang nor flood the host when the guest notifies.
conn() {	# conn FRONTEND BACKEND PORT-KEY FILL READONLY STATE-WANTED
	/tmp/xen-bus-conn "$4" "$5" 4 2 > /tmp/xen-bus-conn.out &
	sleep 1
	read -r ref port < /tmp/xen-bus-conn.out
	echo "XB-CONN $1 fill=$4 readonly=$5: ref=$ref port=$port"
	$S write "$1/ring-ref" "$ref"
	$S write "$1/$3" "$port"
	[ "$3" = event-channel ] && $S write "$1/protocol" x86_64-abi
	$S write "$1/state" 3
	sleep 1
	expect "$2/state" "$6"
	sleep 1		# the helper sent on the port meanwhile
	expect "$2/state" "$6"
	$S write "$1/state" 5
	$S write "$1/state" 6
	wait_for "$2/state" 6
	$S write "$1/state" 1
	wait_for "$2/state" 2
	wait
}
conn "$FE/console/1" "$BE/console/1/1" port 0 0 4
conn "$FE/console/1" "$BE/console/1/1" port 0 1 5
conn "$FE/vbd/51712" "$BE/qdisk/1/51712" event-channel 0 0 4
conn "$FE/vbd/51712" "$BE/qdisk/1/51712" event-channel 0xff 0 4

# indirect requests, good and malformed, in a ring laid out by hand: the
# backend answers each (read and write OK, the rest -1; an indirect
# flush is not a read or write, so its answer keeps operation 6) and
# stays up.
# The helper sends at 2 s and reads the ring at 7 s, after the backend
# has let go of it (the grants go when the helper exits).
/tmp/xen-bus-conn 0 0 7 2 blkif > /tmp/xen-bus-blkif.out &
sleep 1
read -r ref port < /tmp/xen-bus-blkif.out
echo "XB-CONN $FE/vbd/51712 blkif: ref=$ref port=$port"
$S write "$FE/vbd/51712/ring-ref" "$ref"
$S write "$FE/vbd/51712/event-channel" "$port"
$S write "$FE/vbd/51712/protocol" x86_64-abi
$S write "$FE/vbd/51712/state" 3
sleep 1
expect "$BE/qdisk/1/51712/state" 4
sleep 2
expect "$BE/qdisk/1/51712/state" 4
$S write "$FE/vbd/51712/state" 5
$S write "$FE/vbd/51712/state" 6
wait_for "$BE/qdisk/1/51712/state" 6
wait
sed 's/^/XB-BLKIF /' /tmp/xen-bus-blkif.out
for r in "100 0 0" "101 6 -1" "102 0 -1" "103 0 -1" "104 0 -1" "105 0 -1" \
	"106 0 -1" "107 1 0"; do
	if grep -qx "rsp $r" /tmp/xen-bus-blkif.out; then
		echo "XB-ok indirect request answered: id op status = $r"
	else
		echo "XB-FAIL indirect request: no response 'id op status = $r'"
		fail=1
	fi
done
$S write "$FE/vbd/51712/state" 1
wait_for "$BE/qdisk/1/51712/state" 2

# garbage from the frontend: the backend must refuse, QEMU must survive
$S write "$FE/console/1/ring-ref" 4294967295
$S write "$FE/console/1/port" 77777
$S write "$FE/console/1/state" 3
not_connected "$BE/console/1/1"
$S write "$FE/console/1/state" 6
wait_for "$BE/console/1/1/state" 6
$S write "$FE/console/1/state" 1
$S write "$FE/console/1/ring-ref" 12
$S write "$FE/console/1/port" zzz
$S write "$FE/console/1/state" 4
not_connected "$BE/console/1/1"
$S write "$FE/vbd/51712/ring-ref" 99999999
$S write "$FE/vbd/51712/event-channel" 1
$S write "$FE/vbd/51712/protocol" garbage
$S write "$FE/vbd/51712/state" 3
not_connected "$BE/qdisk/1/51712"
$S write "$FE/vbd/51712/ring-ref" -1
$S write "$FE/vbd/51712/event-channel" 4096
$S write "$FE/vbd/51712/state" 4
not_connected "$BE/qdisk/1/51712"
$S rm "$FE/vbd/51712"
sleep 1

echo "XB-REQ alive"
tree "$FE"
tree "$BE/console/1/1"
tree "$BE/qdisk/1/51712"
echo "XB-END fail=$fail"
exit $fail
