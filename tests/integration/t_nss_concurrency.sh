#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# 8 threads x 10,000 lookups through glibc while svcacctd keeps replacing
# the snapshot (accounts created and deleted, descriptions changed, sudo
# granted and removed): no error, no torn or mixed read, and the churning
# account is always either absent or whole.
. "$(dirname "$0")/../nss/nss_lib.sh"
nss_enter_namespace "$@"
. "$(dirname "$0")/../lib.sh"

THREADS=${NSS_THREADS:-8}
LOOKUPS=${NSS_LOOKUPS:-10000}
MIN_SECS=${NSS_MIN_SECS:-4}

start_daemon 'host_workspaces = [ "build-farm" ];' || bail "daemon starts"
nss_setup

check -d "setup: team, workspace, stable accounts and grants" sh -c "
	$CTL team create infra && $CTL workspace create build-farm --team infra &&
	$CTL account create stable-a --description 'stable A' &&
	$CTL account create stable-b --description 'stable B' &&
	$CTL account create stable-c --description 'stable C' &&
	$CTL account create churn-desc --description 'gen 0' &&
	$CTL grant add stable-a --workspace build-farm --role admin &&
	$CTL grant add stable-b --workspace build-farm --role editor" >/dev/null

# The churn: every request below rewrites the snapshot before it returns.
STOP=$TMPD/stop-churn
: >"$TMPD/churn.log"
(
	i=0
	while [ ! -e "$STOP" ]; do
		i=$((i + 1))
		$CTL account create churn --description "churn $i" >>"$TMPD/churn.log" 2>&1
		$CTL account update churn-desc --description "gen $i" >>"$TMPD/churn.log" 2>&1
		$CTL grant add churn-desc --workspace build-farm --role admin >>"$TMPD/churn.log" 2>&1
		$CTL account delete churn >>"$TMPD/churn.log" 2>&1
		$CTL grant remove churn-desc --workspace build-farm >>"$TMPD/churn.log" 2>&1
		echo "round $i" >>"$TMPD/churn.rounds"
	done
) &
CHURN=$!
track_pid "$CHURN"
# let it start replacing the snapshot
for _ in $(seq 100); do [ -s "$TMPD/churn.rounds" ] && break; sleep 0.05; done

run_tap "$NSS_BIN/nss_threads" -t "$THREADS" -n "$LOOKUPS" -s "$MIN_SECS" -c churn \
	stable-a stable-b stable-c

touch "$STOP"
wait "$CHURN" 2>/dev/null
ROUNDS=$(wc -l <"$TMPD/churn.rounds" 2>/dev/null || echo 0)
diag "the churn ran $ROUNDS rounds (5 snapshot rewrites each)"
if [ "$ROUNDS" -gt 0 ]; then ok "the daemon kept rewriting the snapshot during the run"; else not_ok "the churn ran"; fi
if grep -q "svcacctctl:" "$TMPD/churn.log"; then
	not_ok "every churn request succeeded"
	diag_file "$TMPD/churn.log" 10
else
	ok "every churn request succeeded"
fi
if daemon_alive; then ok "daemon alive"; else not_ok "daemon alive"; fi

# the final state is what the daemon says
check -d "after the churn: churn-desc resolves with its last description" \
	sh -c "getent passwd churn-desc | grep -q ':gen $ROUNDS:'"
check_exit 2 -d "after the churn: churn is gone" getent passwd churn
check -d "after the churn: sudo_group lists stable-a only" \
	sh -c "[ \"\$(getent group svcacct-sudo | cut -d: -f4)\" = stable-a ]"
