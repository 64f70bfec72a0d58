#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The NSS snapshot through failures (issue 9: the daemon keeps the
# snapshot's view in memory and updates it change by change):
#   - a change whose journal write or fsync fails is refused and never
#     shows in getent, not even after later changes get through;
#   - a failed grant removal or delete leaves sudo_group and passwd as
#     they were;
#   - after all that, a restart (which builds the view from a walk of the
#     store) and a kill -9 + restart write the very same snapshot, byte
#     for byte but for the serial: the incremental view never drifted;
#   - a reload that changes host_workspaces recomputes sudo_group.
# Uses svcacctd-faults (svcacctd/base/fault.h).
. "$(dirname "$0")/../nss/nss_lib.sh"
nss_enter_namespace "$@"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/rbac_lib.sh"

SVCACCTD=$SVCACCT_BUILD/svcacctd-faults
[ -x "$SVCACCTD" ] || bail "fault-injection daemon built: $SVCACCTD (make all builds it)"
_svca_make_tmp
FF=$TMPD/faults
: >"$FF"
export SVCACCTD_FAULTS_FILE=$FF
_svca_write_conf 'host_workspaces = [ "build-farm" ];'
start_daemon_reuse || bail "svcacctd-faults starts"
nss_setup
SNAP=$NSSD/svcacct.snap
SUDO_GID=60999

arm() { printf '%s\n' "$*" >"$FF.new" && mv -f "$FF.new" "$FF"; }
fired() { grep -c "fault injection: $1 fails" "$DAEMON_LOG"; }
# the snapshot without its serial (bytes 32..39: CLOCK_REALTIME of the write)
snap_sans_serial() { "$PY" -c 'import sys; b=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(b[:32]+b[40:])' "$SNAP"; }
# refused_with POINT DESC CMD...: CMD fails because POINT:1 fired.
refused_with() {
	local point=$1 desc=$2 n0
	shift 2
	n0=$(fired "$point")
	arm "$point:1"
	expect_exit 1 "$@"
	local rc=$?
	arm ""
	if [ "$rc" = 0 ] && [ "$(fired "$point")" -gt "$n0" ]; then
		ok "$desc: refused ($point failed)"
	else
		not_ok "$desc: refused ($point failed)"
		diag "exit: $RC; fired: $(fired "$point") (was $n0); ${ERR:0:200}"
	fi
}

check -d "teams, workspaces" sh -c "$CTL team create infra && $CTL team create apps &&
	$CTL workspace create build-farm --team infra && $CTL workspace create other --team apps"
for n in svc-a svc-b svc-c; do
	check -d "account create $n" $CTL account create "$n" --description "account $n"
done
check -d "grant admin svc-b on build-farm" $CTL grant add svc-b --workspace build-farm --role admin
check -d "grant admin svc-c on other" $CTL grant add svc-c --workspace other --role admin
check_out "sudo_group: svc-b" "svcacct-sudo:*:$SUDO_GID:svc-b" getent group svcacct-sudo

# ---- failed batches ------------------------------------------------------------------
refused_with journal_write "account create lost-1 (torn journal write)" $CTL account create lost-1
check_exit 2 -d "lost-1 is not in passwd" getent passwd lost-1
refused_with fsync "account create lost-2 (fsync fails)" $CTL account create lost-2
check_exit 2 -d "lost-2 is not in passwd" getent passwd lost-2
refused_with journal_write "grant remove svc-b (journal write fails)" \
	$CTL grant remove svc-b --workspace build-farm
check_out "svc-b still in sudo_group" "svcacct-sudo:*:$SUDO_GID:svc-b" getent group svcacct-sudo
refused_with journal_write "account delete svc-a (journal write fails)" $CTL account delete svc-a
check_out "svc-a still in passwd" "svc-a" sh -c "getent passwd svc-a | cut -d: -f1"
refused_with journal_write "account update svc-a --description (journal write fails)" \
	$CTL account update svc-a --description "never saved"
check_out "svc-a's GECOS as it was" "account svc-a" sh -c "getent passwd svc-a | cut -d: -f5"
refused_with fsync "workspace delete build-farm --force (fsync fails)" \
	$CTL workspace delete build-farm --force
check_out "svc-b still in sudo_group after the failed workspace delete" \
	"svcacct-sudo:*:$SUDO_GID:svc-b" getent group svcacct-sudo

# later changes go through; the undone ones stay out
check -d "account create ok-1" $CTL account create ok-1 --description "after the failures"
check_out "ok-1 in passwd at once" "ok-1" sh -c "getent passwd ok-1 | cut -d: -f1"
check_exit 2 -d "lost-1 still not in passwd" getent passwd lost-1
check_exit 2 -d "lost-2 still not in passwd" getent passwd lost-2
check -d "grant admin ok-1 on build-farm" $CTL grant add ok-1 --workspace build-farm --role admin
check_out "sudo_group: ok-1, svc-b" "svcacct-sudo:*:$SUDO_GID:ok-1,svc-b" getent group svcacct-sudo
check -d "account disable svc-b" $CTL account disable svc-b
check_out "disabled: out of sudo_group" "svcacct-sudo:*:$SUDO_GID:ok-1" getent group svcacct-sudo
check -d "account update ok-1 --rename ok-2" $CTL account update ok-1 --rename ok-2
check_out "renamed: sudo_group follows" "svcacct-sudo:*:$SUDO_GID:ok-2" getent group svcacct-sudo
check_exit 2 -d "the old name is gone" getent passwd ok-1
check -d "account delete svc-a" $CTL account delete svc-a
check_exit 2 -d "deleted: not in passwd" getent passwd svc-a

# ---- the incremental view equals a walk of the store -------------------------------------
snap_sans_serial >"$TMPD/snap.live"
restart_daemon || bail "daemon restarts"
snap_sans_serial >"$TMPD/snap.restart"
if cmp -s "$TMPD/snap.live" "$TMPD/snap.restart"; then
	ok "after a restart (view built by a walk): the same snapshot, byte for byte"
else
	not_ok "after a restart (view built by a walk): the same snapshot, byte for byte"
fi
check -d "account create after-restart" $CTL account create after-restart
snap_sans_serial >"$TMPD/snap.live"
kill9_daemon
start_daemon_reuse || bail "daemon restarts after kill -9"
snap_sans_serial >"$TMPD/snap.kill9"
if cmp -s "$TMPD/snap.live" "$TMPD/snap.kill9"; then
	ok "after kill -9 and a restart: the same snapshot, byte for byte"
else
	not_ok "after kill -9 and a restart: the same snapshot, byte for byte"
fi

# ---- reload: another host workspace -------------------------------------------------------
rewrite_conf 'host_workspaces = [ "other" ];'
INO=$(stat -c %i "$SNAP")
kill -HUP "$DAEMON_PID"
for _ in $(seq 100); do [ "$(stat -c %i "$SNAP")" != "$INO" ] && break; sleep 0.05; done
check_out "after SIGHUP with host_workspaces = other: sudo_group is svc-c" \
	"svcacct-sudo:*:$SUDO_GID:svc-c" getent group svcacct-sudo
check -d "grant admin after-restart on other" $CTL grant add after-restart --workspace other --role admin
check_out "a grant after the reload: sudo_group follows" \
	"svcacct-sudo:*:$SUDO_GID:after-restart,svc-c" getent group svcacct-sudo
snap_sans_serial >"$TMPD/snap.live"
restart_daemon || bail "daemon restarts"
snap_sans_serial >"$TMPD/snap.restart"
if cmp -s "$TMPD/snap.live" "$TMPD/snap.restart"; then
	ok "after the reload and more changes, a restart writes the same snapshot"
else
	not_ok "after the reload and more changes, a restart writes the same snapshot"
fi
