#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A flood of refusals from an unprivileged caller (issue 14, finding 3).
# Every refusal (token.deny for a malformed key, admin.deny) used to be its
# own durable audit write and syslog line: `nobody` could fill the state
# file system and stop every login.  Now, per caller and window, the first
# audit_refusal_burst refusals are recorded one by one and the rest are
# counted into one audit.coalesced record ("suppressed": N), written when
# the window closes and at a clean shutdown; and below state_reserve_mb of
# free space an unprivileged caller's writes are refused (refusals only
# counted), while PAM (root) and root's commands still write.
#
# The state directory is a 16 MiB tmpfs in a private mount namespace.
#   1. flood from nobody: records bounded; PAM auth and an admin change by
#      root succeed; the tick writes the summary; a second flood's counts
#      survive a clean shutdown; individual + suppressed = refusals sent.
#   2. the same over the HTTP front's TCP listener, from rotating loopback
#      addresses (one caller).
#   3. the same on a nearly full file system (burst set very high, so that
#      only the watermark holds the flood): the flood stops costing space
#      at the watermark; PAM and root still work; an unprivileged token
#      exchange is refused there; the counts add up after space returns.
. "$(dirname "$0")/../private_ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/cred_lib.sh"

FLOOD_PY=$TESTS_DIR/faults/refusal_flood.py
NOBODY=65534
records() { $CTL audit verify </dev/null 2>/dev/null | sed -n 's/^audit chain intact: \([0-9]*\) records$/\1/p'; }

_svca_make_tmp
mount -t tmpfs -o size=16m,mode=0700 svcacct-flood "$STATE" || bail "mount a 16 MiB tmpfs on the state directory"
_fl_exit() {
	local rc=$?
	if mountpoint -q "$STATE" 2>/dev/null; then
		[ -n "$DAEMON_PID" ] && stop_daemon
		umount "$STATE" 2>/dev/null || umount -l "$STATE"
	fi
	(exit "$rc")
	_svca_cleanup
}
trap _fl_exit EXIT

# conf LINES...: the config, with the flood settings when this daemon knows
# them (the daemon of an older build refuses unknown settings).
NEWKEYS=1
conf() {
	_svca_write_conf "rate_limit_count = 100000;" "$@"
	if ! "$SVCACCTD" -t -c "$CONF" >/dev/null 2>&1; then
		NEWKEYS=0
		local l old=()
		for l in "$@"; do
			[[ $l =~ ^(audit_refusal_|state_reserve_mb) ]] || old+=("$l")
		done
		_svca_write_conf "rate_limit_count = 100000;" "${old[@]}"
	fi
}
# part 1 keeps clear of the watermark (the tmpfs is small)
conf "audit_refusal_window = 2;" "state_reserve_mb = 1;"
start_daemon_reuse || bail "the daemon starts on the tmpfs"
[ "$NEWKEYS" = 1 ] || diag "this daemon does not know audit_refusal_window: default settings"

# flood N [SECONDS]: N refused requests from nobody, one python process
# (run from a copy nobody can read, wherever the checkout is).
FLOOD_DIR="$TMPD/flood"
mkdir -m 0755 "$FLOOD_DIR" && cp "$FLOOD_PY" "$TESTS_DIR/proto_client.py" "$FLOOD_DIR/" &&
	chmod 0644 "$FLOOD_DIR"/*.py || bail "copy the flood client"
flood() {
	local out
	out=$(run_as_nobody "$PY" "$FLOOD_DIR/refusal_flood.py" "$FLOOD_DIR" "$SOCK" "$@" 2>&1)
	diag "flood: $out"
	FLOOD_SENT=$(printf '%s\n' "$out" | sed -n 's/^sent \([0-9]*\) refused \([0-9]*\).*/\2/p')
	: "${FLOOD_SENT:=0}"
}

# tally: "INDIVIDUAL SUPPRESSED SUMMARIES" for nobody's refusals in the trail.
tally() {
	$CTL --json audit list </dev/null 2>/dev/null | json_eval '
u = int(sys.argv[2])
mine = [e for e in d if (e.get("actor") or {}).get("uid") == u]
ind = len([e for e in mine if e["event"] in ("token.deny", "admin.deny", "key.lockout")])
summ = [e for e in mine if e["event"] == "audit.coalesced"]
"%d %d %d" % (ind, sum(e.get("suppressed", 0) for e in summ), len(summ))' "$NOBODY" 2>/dev/null || echo "-1 -1 -1"
}

# pam_auth NAME KEY: PAM_AUTH as a PAM stack sends it (root); prints the status.
pam_auth() {
	"$PY" -c '
import sys
sys.path.insert(0, sys.argv[1])
import proto_client as pc
st, f = pc.send(sys.argv[2], "PAM_AUTH", [(pc.F_NAME, sys.argv[3]), (pc.F_SERVICE, "sshd"),
                                       (pc.F_KEY, sys.argv[4].encode())])
print(st, pc.get(f, pc.F_REASON) or pc.get(f, pc.F_MESSAGE) or "")
' "$TESTS_DIR" "$SOCK" "$@" 2>&1
}

check_pam_and_root() { # WHEN
	local r
	r=$(pam_auth ci "$KCI")
	if [ "${r%% *}" = 0 ]; then ok "$1: PAM auth (root) with ci's key is allowed"; else not_ok "$1: PAM auth (root) with ci's key is allowed (got: $r)"; fi
	check -d "$1: root's account create $2 succeeds" $CTL account create "$2"
}

# wait_summary WANT: polls up to 30 s for nobody's suppressed total >= WANT.
wait_summary() {
	local i t
	for i in $(seq 60); do
		t=$(tally)
		set -- "$1" $t
		[ "$3" -ge "$1" ] 2>/dev/null && break
		sleep 0.5
	done
	TALLY=$(tally)
}

# ==============================================================================
diag "set-up"
check $CTL account create ci
key_create ci || bail "key create ci"
KCI=$KEY

# ==============================================================================
diag "1. a flood of refusals from nobody"
r0=$(records)
flood 3000 60
SENT1=$FLOOD_SENT
r1=$(records)
added=$((r1 - r0))
if [ "$SENT1" -ge 2900 ]; then ok "nobody's flood was refused ($SENT1 refusals)"; else not_ok "nobody's flood was refused (only $SENT1 refusals)"; fi
if [ "$added" -le 100 ]; then
	ok "the flood cost $added audit records, not one per refusal ($SENT1)"
else
	not_ok "the flood cost $added audit records for $SENT1 refusals (at most 100 wanted)"
fi
check_pam_and_root "after the flood" after-flood-1
wait_summary 1
read -r ind sup nsum <<<"$TALLY"
if [ "$nsum" -ge 1 ] && [ $((ind + sup)) = "$SENT1" ]; then
	ok "the trail counts every refusal: $ind recorded + $sup coalesced in $nsum audit.coalesced record(s) = $SENT1"
else
	not_ok "the trail counts every refusal: $ind recorded + $sup coalesced ($nsum summaries) != $SENT1 sent"
fi
if grep -q '"event":"audit.coalesced"' "$SYSLOG_LOG"; then ok "the summary went to syslog"; else not_ok "the summary went to syslog"; fi
n=$(grep -c '"uid":65534' "$SYSLOG_LOG")
if [ "$n" -le 100 ]; then ok "syslog got $n lines about nobody, not $SENT1"; else not_ok "syslog got $n lines about nobody for $SENT1 refusals"; fi

diag "a second flood, then at once a clean shutdown: the counts are not lost"
flood 500 30
SENT2=$FLOOD_SENT
stop_daemon || not_ok "the daemon stops cleanly"
start_daemon_reuse || bail "restart"
read -r ind sup nsum <<<"$(tally)"
if [ $((ind + sup)) = $((SENT1 + SENT2)) ]; then
	ok "after a clean shutdown: $ind recorded + $sup coalesced = $((SENT1 + SENT2)) refusals sent"
else
	not_ok "after a clean shutdown: $ind recorded + $sup coalesced != $((SENT1 + SENT2)) refusals sent"
fi
check -d "audit verify after the floods" $CTL audit verify

# ==============================================================================
diag "2. a flood of refused token exchanges over HTTP (TCP), rotating loopback sources"
stop_daemon
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf "audit_refusal_window = 2;" "state_reserve_mb = 1;" "http_listen = \"127.0.0.1:$PORT\";"
start_daemon_reuse || bail "restart with http_listen"
# http_tally: "INDIVIDUAL SUPPRESSED" for refusals of HTTP TCP callers
http_tally() {
	$CTL --json audit list </dev/null 2>/dev/null | json_eval '
web = [e for e in d if str((e.get("actor") or {}).get("user", "")).startswith("http ")]
ind = len([e for e in web if e["event"] == "token.deny"])
"%d %d" % (ind, sum(e.get("suppressed", 0) for e in web if e["event"] == "audit.coalesced"))' 2>/dev/null || echo "-1 -1"
}
h0=$(records)
out=$("$PY" "$TESTS_DIR/faults/http_refusal_flood.py" "$PORT" 600 60 2>&1)
diag "http flood: $out"
SENTH=$(printf '%s\n' "$out" | sed -n 's/^sent \([0-9]*\) refused \([0-9]*\).*/\2/p')
: "${SENTH:=0}"
h1=$(records)
if [ "$SENTH" -ge 590 ] && [ $((h1 - h0)) -le 100 ]; then
	ok "the HTTP flood cost $((h1 - h0)) audit records for $SENTH refusals"
else
	not_ok "the HTTP flood cost $((h1 - h0)) audit records for $SENTH refusals (at most 100 wanted)"
fi
stop_daemon || not_ok "the daemon stops cleanly"
start_daemon_reuse || bail "restart"
read -r ind sup <<<"$(http_tally)"
if [ $((ind + sup)) = "$SENTH" ]; then
	ok "the HTTP flood's refusals are all counted: $ind recorded + $sup coalesced = $SENTH"
else
	not_ok "the HTTP flood's refusals are all counted: $ind recorded + $sup coalesced != $SENTH"
fi

# ==============================================================================
diag "3. the flood on a nearly full file system"
stop_daemon
conf "audit_refusal_window = 2;" "audit_refusal_burst = 1000000;" "state_reserve_mb = 4;"
start_daemon_reuse || bail "restart with state_reserve_mb = 4"
before=$(tally)
# leave the watermark (4 MiB) plus about 1.5 MiB, then flood in steps until
# the refusals no longer cost space (or the disk is full)
avail=$(avail_kib)
want=$((4096 + 1536))
[ "$avail" -gt "$want" ] && dd if=/dev/zero of="$STATE/filler" bs=1k count=$((avail - want)) 2>/dev/null
diag "$(avail_kib) KiB free before the flood"
SENT3=0 step=0 stalled=0
while [ "$step" -lt 12 ]; do
	step=$((step + 1))
	a0=$(records)
	flood 1000 60
	SENT3=$((SENT3 + FLOOD_SENT))
	a1=$(records)
	diag "step $step: $(avail_kib) KiB free, $((a1 - a0)) records for $FLOOD_SENT refusals"
	daemon_alive || break
	if [ $((a1 - a0)) -le 5 ]; then stalled=1; break; fi
done
if [ "$stalled" = 1 ] && [ "$(avail_kib)" -ge 1024 ]; then
	ok "below the watermark nobody's refusals are counted, not written ($(avail_kib) KiB left)"
else
	not_ok "below the watermark nobody's refusals are counted, not written (after $SENT3 refusals: $(avail_kib) KiB left)"
fi
daemon_alive || bail "the daemon is alive after the flood: $(tail -n 2 "$DAEMON_LOG")"
check_pam_and_root "below the watermark" after-flood-2
xchg_as_nobody 1 "$KCI"
if [ "$RC" = 1 ] && [ -z "$OUT" ]; then
	ok "below the watermark an unprivileged token exchange (a valid key) is refused: ${ERR#svcacctctl: }"
else
	not_ok "below the watermark an unprivileged token exchange is refused (exit $RC)"
fi
xchg 0 "$KCI" && ok "below the watermark root's token exchange works" || not_ok "below the watermark root's token exchange works"
rm -f "$STATE/filler"
stop_daemon || not_ok "the daemon stops cleanly"
start_daemon_reuse || bail "restart after the filler is gone"
read -r i0 s0 _ <<<"$before"
read -r i1 s1 _ <<<"$(tally)"
got=$((i1 + s1 - i0 - s0))
if [ "$got" = "$SENT3" ]; then
	ok "after space returns: every refusal of the full-disk flood is in the trail ($((i1 - i0)) recorded + $((s1 - s0)) coalesced = $got)"
else
	not_ok "after space returns: recorded + coalesced = $got, refusals sent $SENT3"
fi
check -d "audit verify at the end" $CTL audit verify
