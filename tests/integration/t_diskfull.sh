#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Disk full (DESIGN.md sections 6 and 7): the state directory is a 2 MiB
# tmpfs (private mount namespace), filled up to ENOSPC by a filler file.
# Then the daemon refuses every change with a clear error (exit 1) and
# leaves nothing behind (tests/faults/state.py: accounts, keys, grants,
# teams, workspaces, signing keys, audit chain): account create / update /
# delete, grant add, key create (no key printed), signing-key rotate.  A
# token exchange writes a token.issue audit event, so it is refused too:
# fail closed, no token is issued without its audit record.  Reads keep
# working: account list/show, key list, grant list, audit list/verify,
# token verify, jwks, the NSS snapshot.  When the filler goes, the next
# change works without a restart, and a restart gives back the same state.
# Last, the disk fills while GDBM has to grow its files (a few KiB left,
# changes with long descriptions): the daemon must stay up, and after a
# restart with space every acknowledged change is there and no refused one.
. "$(dirname "$0")/../private_ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

STATE_PY=$TESTS_DIR/faults/state.py
state_of() { "$PY" "$STATE_PY" "$SOCK" "$@"; }
state_sans_audit() { state_of | grep -v '^ "audit": '; }
audit_records() { $CTL audit verify </dev/null 2>/dev/null | sed -n 's/^audit chain intact: \([0-9]*\) records$/\1/p'; }
THREW=0
THROUGH=0

_svca_make_tmp
mount -t tmpfs -o size=2m,mode=0700 svcacct-diskfull "$STATE" || bail "mount a 2 MiB tmpfs on the state directory"
# stop the daemon before the tmpfs goes, then lib.sh's cleanup
_df_exit() {
	local rc=$?
	if mountpoint -q "$STATE" 2>/dev/null; then
		[ -n "$DAEMON_PID" ] && stop_daemon
		umount "$STATE" 2>/dev/null || umount -l "$STATE"
	fi
	(exit "$rc")
	_svca_cleanup
}
trap _df_exit EXIT
_svca_write_conf "rate_limit_count = 1000;"
start_daemon_reuse || bail "the daemon starts on the tmpfs"

# fill [KIB]: the filler takes all but KIB KiB (default 0) of the tmpfs.
fill() {
	local left=${1:-0} avail
	rm -f "$STATE/filler"
	avail=$(avail_kib)
	if [ "$avail" -gt "$left" ]; then
		dd if=/dev/zero of="$STATE/filler" bs=1k count=$((avail - left)) 2>/dev/null
	fi
	[ "$left" = 0 ] && dd if=/dev/zero of="$STATE/filler" bs=1k oflag=append conv=notrunc 2>/dev/null
	sync -f "$STATE" 2>/dev/null
	return 0
}

# refused DESC CMD...: exit 1 with a message; the state exactly as before.
refused() {
	local desc=$1 why=""
	shift
	state_of >"$TMPD/st.before" 2>&1 || why="state unreadable before"
	expect_exit 1 "$@"
	THREW=$((THREW + 1))
	[ "$RC" = 1 ] || why="${why:+$why; }exit $RC"
	[ -n "$ERR" ] || why="${why:+$why; }no message"
	daemon_alive || why="${why:+$why; }the daemon died"
	if ! state_of >"$TMPD/st.after" 2>&1; then
		why="${why:+$why; }state unreadable after"
	elif ! cmp -s "$TMPD/st.before" "$TMPD/st.after"; then
		why="${why:+$why; }the state changed: $(diff "$TMPD/st.before" "$TMPD/st.after" | grep '^[<>]' | head -n 6 | tr -s ' \n' ' ')"
	fi
	if [ -z "$why" ]; then ok "$desc: refused, nothing changed (${ERR#svcacctctl: })"; else not_ok "$desc: refused cleanly: $why"; fi
}

# ==============================================================================
diag "set-up on a 2 MiB tmpfs"
check $CTL account create ci --description "deploys"
check $CTL account create web
check $CTL team create infra
check $CTL workspace create build --team infra
check $CTL grant add ci --workspace build --role editor
key_create ci || bail "key create ci"
KCI=$KEY
put_secret "$TMPD/ci.key" "$KCI"
xchg 0 "$KCI" || bail "a token for ci"
TOKEN=$OUT

# went_down CONTEXT: the daemon died with the disk full.  Reports it, shows
# whether it can start again on the full disk (to serve reads), then frees
# the space and starts it, so that the rest of the script can go on.
DOWN=""
went_down() {
	kill9_daemon # reap it: DAEMON_EXIT
	DOWN="exit $DAEMON_EXIT $1: $(grep -v 'journal write failed' "$DAEMON_LOG" | tail -n 1)"
	not_ok "with the disk full the daemon refuses changes and stays up ($DOWN)"
	if start_daemon_reuse 2>/dev/null; then
		ok "it starts again with the disk still full"
	else
		not_ok "it starts again with the disk still full: $(tail -n 1 "$DAEMON_LOG")"
	fi
	rm -f "$STATE/filler"
	daemon_alive || start_daemon_reuse || bail "the daemon starts once the filler is gone"
}

# ==============================================================================
fill
diag "filled: $(avail_kib) KiB left, filler $(du -k "$STATE/filler" | cut -f1) KiB"
# The journal's last page (and GDBM's free blocks) may still hold a change
# or two: find the first change the full disk refuses.
slack=() i=0
while [ "$i" -lt 12 ]; do
	i=$((i + 1))
	THREW=$((THREW + 1))
	$CTL account create "slack-$i" </dev/null >/dev/null 2>"$TMPD/slack.err" || break
	slack+=("slack-$i")
done
THROUGH=$((THROUGH + ${#slack[@]}))
if ! daemon_alive; then
	went_down "at the first change that did not fit (slack-$i)"
	missing=""
	for n in "${slack[@]}"; do $CTL account show "$n" </dev/null >/dev/null 2>&1 || missing="$missing $n"; done
	if [ -z "$missing" ] && ! $CTL account show "slack-$i" </dev/null >/dev/null 2>&1; then
		ok "after it: the ${#slack[@]} acknowledged change(s) are there, the one it died on is not"
	else
		not_ok "after it: acknowledged changes kept (missing:${missing:- none}), the one it died on absent"
	fi
elif [ "$i" -lt 12 ] || [ "${#slack[@]}" -lt 12 ]; then
	ok "disk full: ${#slack[@]} change(s) still fit in space already allocated, then refused ($(cat "$TMPD/slack.err"))"
else
	not_ok "disk full: changes are refused (12 went through)"
fi

if [ -z "$DOWN" ]; then
	diag "changes, with the disk full"
	refused "account create" $CTL account create full-1
	refused "account update" $CTL account update ci --description "while full"
	refused "account delete" $CTL account delete web
	refused "grant add" $CTL grant add web --team infra --role admin
	refused "key create" $CTL key create web
	if [[ $OUT =~ svca_ ]]; then not_ok "the refused key create printed no key"; else ok "the refused key create printed no key"; fi
	refused "token create (fail closed: its token.issue event cannot be written)" $CTL token create --key-file "$TMPD/ci.key"
	if [ -z "$OUT" ]; then ok "the refused exchange printed no token"; else not_ok "the refused exchange printed no token"; fi
	refused "signing-key rotate" $CTL signing-key rotate
	refused "team create" $CTL team create full-team
	daemon_alive || went_down "during the refused changes"
fi
if [ -z "$DOWN" ]; then
	diag "reads, with the disk full"
	snap_sum=$(sha256sum "$NSSD/svcacct.snap" | cut -d' ' -f1)
	check -d "account list" $CTL account list
	check -d "account show ci" $CTL account show ci
	check -d "key list ci" $CTL key list ci
	check -d "grant list ci" $CTL grant list ci
	check -d "audit list" $CTL audit list --limit 5
	check -d "audit verify" $CTL audit verify
	check -d "token verify (a token issued before)" $CTL token verify "$TOKEN"
	check -d "jwks" $CTL jwks
	if [ "$(sha256sum "$NSSD/svcacct.snap" | cut -d' ' -f1)" = "$snap_sum" ] && grep -aq ci "$NSSD/svcacct.snap"; then
		ok "the NSS snapshot is unchanged and still names ci"
	else
		not_ok "the NSS snapshot is unchanged and still names ci"
	fi
	daemon_alive && ok "the daemon is alive with the disk full" || went_down "during the reads"
else
	not_ok "changes refused cleanly and reads served with the disk full: not tested, the daemon went down"
fi

# ==============================================================================
diag "space returns"
rm -f "$STATE/filler"
check -d "account create after-full, without a restart" $CTL account create after-full
key_create web && ok "key create web" || not_ok "key create web"
xchg 0 "$KCI" && ok "token create works again" || not_ok "token create works again"
check -d "account update ci" $CTL account update ci --description "space is back"
check -d "audit verify" $CTL audit verify
THROUGH=$((THROUGH + 4))
state_sans_audit >"$TMPD/st.before-restart"
r0=$(audit_records)
restart_daemon || bail "restart"
if state_sans_audit | cmp -s - "$TMPD/st.before-restart"; then
	ok "restart: the same state (none of the refused changes replayed)"
else
	not_ok "restart: the same state"
	state_sans_audit | diff "$TMPD/st.before-restart" - | head -n 20 | diag
fi
r1=$(audit_records)
if [ -n "$r0" ] && [ "$r1" = $((r0 + 2)) ]; then ok "audit chain intact: $r0 records + daemon.stop + daemon.start"; else not_ok "audit chain after the restart ($r0 before, ${r1:-broken} after)"; fi

# ==============================================================================
diag "the disk fills while GDBM has to grow its files"
desc=$(head -c 250 /dev/zero | tr '\0' 'x')
acked=() refused_names=() died=""
for left in 0 4 8 12 16 24 32 48 64 96; do
	fill "$left"
	for i in $(seq 1 10); do
		name="g$left-$i"
		THREW=$((THREW + 1))
		if $CTL account create "$name" --description "$desc" </dev/null >/dev/null 2>&1; then
			acked+=("$name")
		else
			refused_names+=("$name")
		fi
		if ! daemon_alive; then
			died="$left KiB left, at $name"
			break 2
		fi
	done
done
THROUGH=$((THROUGH + ${#acked[@]}))
if [ -z "$died" ]; then
	ok "the daemon stays up while the disk fills under GDBM (${#acked[@]} changes acknowledged, ${#refused_names[@]} refused)"
	check -d "audit verify" $CTL audit verify
	rm -f "$STATE/filler"
	stop_daemon
else
	kill9_daemon # reap it
	not_ok "the daemon stays up while the disk fills under GDBM: it exited ($DAEMON_EXIT) with $died: $(grep -v 'journal write failed' "$DAEMON_LOG" | tail -n 1)"
	rm -f "$STATE/filler"
fi
start_daemon_reuse || bail "the daemon starts once there is space again"
lost="" ghosts=""
for n in "${acked[@]}"; do $CTL account show "$n" </dev/null >/dev/null 2>&1 || lost="$lost $n"; done
for n in "${refused_names[@]}"; do $CTL account show "$n" </dev/null >/dev/null 2>&1 && ghosts="$ghosts $n"; done
if [ -z "$lost$ghosts" ]; then
	ok "after a restart with space: all ${#acked[@]} acknowledged changes are there, none of the ${#refused_names[@]} refused ones"
else
	not_ok "after a restart with space: acknowledged but lost:${lost:- none}; refused but there:${ghosts:- none}"
fi
check -d "audit verify at the end" $CTL audit verify
diag "threw: $THREW changes at a full disk (or nearly); got through: $THROUGH; the rest were refused"
