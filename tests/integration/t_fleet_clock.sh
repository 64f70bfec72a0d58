#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# An agent's max_staleness window against clock steps (issue 17 item 4,
# DESIGN.md section 9): the window runs on the monotonic clock while the
# agent runs, so its wall clock jumping an hour forward does not end it and
# jumping an hour back does not extend it; across a restart it starts from
# the persisted time of the last sync (the downtime counts; a clock set
# back counts as no downtime, never as negative age).  The agent's wall
# clock is moved with libfaketime (a timestamp file read on every call;
# monotonic time stays real).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/lib_fleet.sh"
. "$TESTS_DIR/http/http_lib.sh"

command -v openssl >/dev/null || bail "openssl is needed (make deps)"
FT_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1)
[ -n "$FT_LIB" ] || bail "libfaketime is installed (make deps)"

pg_start
fleet_tls || bail "a CA and the hub's certificate"
P1=$(free_port)
FLEET_HUBS=("https://127.0.0.1:$P1")
hub_init 1 "https_listen = \"127.0.0.1:$P1\";" "tls_cert = \"$FLEET_PKI/hub.crt\";" \
	"tls_key = \"$FLEET_PKI/hub.key\";" "host_id = \"hub1\";"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
for c in "team create ta" "workspace create wa --team ta" "account create svc-a" \
	"grant add svc-a --workspace wa --role editor"; do
	# shellcheck disable=SC2086
	$CTL $c </dev/null >/dev/null 2>&1 || bail "hub: $c"
done

FT=$TMPD/faketime.rc
echo "+0" >"$FT"
cat >"$TMPD/svcacctd-clock" <<EOF
#!/bin/sh
# svcacctd whose wall clock is what $FT says (re-read on every call)
export LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$FT" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec "$SVCACCTD" "\$@"
EOF
chmod 0755 "$TMPD/svcacctd-clock"
MAXS=6
agent_init 1 clock-1 "max_staleness = $MAXS;" || bail "the agent's directory"
AG_BIN[1]=$TMPD/svcacctd-clock
agent_start 1 || bail "the agent starts (under libfaketime)"
agent_enroll 1 wa || bail "the agent enrolls"

status() { # -> STALE AGE
	local s
	s=$(agent_ctl 1 --json fleet status </dev/null 2>/dev/null | json_py '"%s %s" % (str(d["stale"]).lower(), d.get("age_s"))')
	STALE=${s%% *} AGE=${s#* }
}

# ---- the wall clock jumps an hour forward while the agent runs -----------------------------------
echo "+1h" >"$FT"
sleep 1.5
status
if [ "$STALE" = false ] && [ "$AGE" != None ] && [ "$AGE" -lt "$MAXS" ]; then
	ok "wall clock +1 h (max_staleness $MAXS s): not stale, age_s $AGE"
else
	not_ok "wall clock +1 h: not stale (stale $STALE, age_s $AGE)"
fi
sleep $((MAXS + 2))
status
if [ "$STALE" = false ] && [ "$AGE" -lt "$MAXS" ]; then
	ok "$((MAXS + 3)) s later, hub up: still not stale (age_s $AGE): the jump did not end the window"
else
	not_ok "$((MAXS + 3)) s after a +1 h jump, hub up: not stale (stale $STALE, age_s $AGE)"
	diag_file "${AG_LOG[1]}" 10
fi
echo "+0" >"$FT"

# ---- the wall clock jumps an hour back while the hubs are away -----------------------------------
wait_for 10 agent_caught_up 1
hub_stop 1
T0=$(now)
sleep 2
echo "-1h" >"$FT"
stale() { status; [ "$STALE" = true ]; }
if wait_for $((MAXS + 10)) stale; then
	DT=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	if awk -v d="$DT" -v m="$MAXS" 'BEGIN{exit !(d >= m - 1 && d <= m + 6)}'; then
		ok "hub stopped, then wall clock -1 h: stale ${DT} s after the last contact (max_staleness $MAXS): the jump did not extend the window"
	else
		not_ok "hub stopped, then wall clock -1 h: stale after about $MAXS s (took ${DT} s)"
	fi
else
	not_ok "hub stopped, then wall clock -1 h: stale within $((MAXS + 10)) s (stale $STALE, age_s $AGE)"
fi

# ---- across restarts ---------------------------------------------------------------------------
echo "+0" >"$FT"
hub_start 1 || bail "hub 1 starts again"
notstale() { status; [ "$STALE" = false ]; }
wait_for 20 notstale || not_ok "the agent syncs again with the hub back"
hub_stop 1
agent_stop 1 || not_ok "the agent stops cleanly"
sleep 2
agent_start 1 || bail "the agent starts again"
status
if [ "$AGE" != None ] && [ "$AGE" -ge 2 ] && [ "$AGE" -lt "$MAXS" ] && [ "$STALE" = false ]; then
	ok "restarted after 2 s down with the hub away: age_s $AGE (the downtime counts), not stale yet"
else
	not_ok "restarted after 2 s down: age_s >= 2 and not stale (stale $STALE, age_s $AGE)"
fi
if wait_for $((MAXS + 5)) stale; then
	ok "and stale about $MAXS s after the last sync, across the restart (age_s $AGE)"
else
	not_ok "stale $MAXS s after the last sync, across the restart (age_s $AGE)"
fi
agent_stop 1 || not_ok "the agent stops cleanly"
echo "-1h" >"$FT"
agent_start 1 || bail "the agent starts with its clock an hour back"
status
if [ "$AGE" != None ] && [ "$AGE" -ge 0 ] && [ "$AGE" -lt 3 ]; then
	ok "restarted with the wall clock an hour before the last sync: age_s $AGE (0 + time since start, never negative)"
else
	not_ok "restarted with the clock set back: age_s small and not negative (age_s $AGE)"
fi
T0=$(now)
if wait_for $((MAXS + 5)) stale; then
	DT=$(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')
	ok "clock set back across the restart: stale again ${DT} s after the start (max_staleness $MAXS): it cannot hide more than the downtime"
else
	not_ok "clock set back across the restart: stale within max_staleness of the start"
fi
echo "+0" >"$FT"
