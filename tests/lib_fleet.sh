# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/lib_fleet.sh: agents of a test fleet (DESIGN.md section 9), each an
# svcacctd with its own socket, state_dir and nss_dir under $TMPD/agentN,
# following the hubs of tests/lib_pg.sh over HTTPS.  Source it after
# tests/lib_pg.sh.
#
#   fleet_tls                   a CA and a certificate for the hubs:
#                               FLEET_PKI ($TMPD/pki), FLEET_CA (its ca.crt)
#   FLEET_HUBS=(URL...)         the hubs every new agent's config names
#   agent_init N HOST_ID [LINES...]   $TMPD/agentN: state (0700), nss,
#                               svcacctd.conf (socket, state_dir, nss_dir,
#                               hubs, hub_ca, host_id, refresh_interval 5,
#                               syslog to the test's sink; LINES replace or
#                               add settings); sets AG_DIR[N] AG_SOCK[N]
#                               AG_CONF[N] AG_NSS[N] AG_LOG[N]
#   agent_start N               starts it (AG_BIN[N], else $SVCACCTD), waits
#                               until it answers (1 if not)
#   agent_stop N                SIGTERM; 1 unless it exited 0 with no
#                               sanitizer report in its log
#   agent_kill9 N               SIGKILL and reap
#   agent_ctl N ARGS...         svcacctctl on its socket
#   agent_enroll N WS[,WS...]   a one-time token on hub 1 (host token
#                               create), host enroll on the agent; waits
#                               until the first snapshot is applied
#   agent_seq N                 its snapshot_seq (fleet status)
#   hub_seq                     the organization's change-log seq (psql)
#   agent_caught_up N           0 when agent N applied hub_seq
#
# Every agent still running at exit is stopped and checked ("agent N shut
# down cleanly") before lib_pg.sh's and lib.sh's cleanups run.

declare -a AG_DIR=() AG_SOCK=() AG_CONF=() AG_NSS=() AG_LOG=() AG_PID=() AG_BIN=()
FLEET_HUBS=()
FLEET_PKI=""
FLEET_CA=""
_AG_MAX=0

fleet_tls() {
	FLEET_PKI=$TMPD/pki
	FLEET_CA=$FLEET_PKI/ca.crt
	tls_make_ca "$FLEET_PKI" && tls_make_cert "$FLEET_PKI" hub
}

agent_init() { # N HOST_ID [LINES...]
	local n=$1 id=$2 d line key extra skip hubs=""
	shift 2
	[ "$n" -gt "$_AG_MAX" ] && _AG_MAX=$n
	d=$TMPD/agent$n
	mkdir -m 0755 "$d" && mkdir -m 0700 "$d/state" && mkdir -m 0755 "$d/nss" || return 1
	AG_DIR[n]=$d AG_SOCK[n]=$d/svcacctd.sock AG_CONF[n]=$d/svcacctd.conf
	AG_NSS[n]=$d/nss AG_LOG[n]=$d/daemon.log
	for line in "${FLEET_HUBS[@]}"; do hubs="${hubs:+$hubs, }\"$line\""; done
	local defaults=(
		"socket = \"$d/svcacctd.sock\";"
		"state_dir = \"$d/state\";"
		"nss_dir = \"$d/nss\";"
		"hubs = [ $hubs ];"
		"hub_ca = \"$FLEET_CA\";"
		"host_id = \"$id\";"
		"refresh_interval = 5;"
		"syslog = true;"
		"syslog_socket = \"$SYSLOG_SOCK\";"
	)
	{
		echo "# written by tests/lib_fleet.sh for $TEST_NAME"
		for line in "${defaults[@]}"; do
			key=${line%% *}
			skip=0
			for extra in "$@"; do
				[[ $extra =~ ^[[:space:]]*${key}[[:space:]]*[=:] ]] && skip=1
			done
			[ "$skip" = 1 ] || echo "$line"
		done
		for extra in "$@"; do echo "$extra"; done
	} >"${AG_CONF[n]}"
	chmod 0644 "${AG_CONF[n]}"
}

agent_alive() {
	local pid=${AG_PID[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}

agent_ctl() { # N ARGS...
	local n=$1
	shift
	$SVCACCTCTL -s "${AG_SOCK[n]}" "$@"
}

agent_start() { # N
	local n=$1 i
	_svca_start_syslog || return 1
	echo "=== $(date +%T.%N) start" >>"${AG_LOG[n]}"
	"${AG_BIN[n]:-$SVCACCTD}" -f -c "${AG_CONF[n]}" </dev/null >>"${AG_LOG[n]}" 2>&1 &
	AG_PID[n]=$!
	for ((i = 0; i < 750; i++)); do
		if ! agent_alive "$n"; then
			wait "${AG_PID[n]}" 2>/dev/null
			diag "agent $n exited during startup (status $?)"
			diag_file "${AG_LOG[n]}" 20
			AG_PID[n]=""
			return 1
		fi
		[ -S "${AG_SOCK[n]}" ] && timeout 5 $SVCACCTCTL -s "${AG_SOCK[n]}" fleet status \
			</dev/null >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	diag "agent $n did not answer within 15 s"
	diag_file "${AG_LOG[n]}" 20
	return 1
}

agent_stop() { # N
	local n=$1 pid st
	pid=${AG_PID[n]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if ! wait_pid_gone "$pid" "$([ -n "${ASAN_OPTIONS:-}" ] && echo 30 || echo 10)"; then
		diag "agent $n (pid $pid) ignored SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	st=$?
	AG_PID[n]=""
	if [ "$st" != 0 ] && [ "$st" != 143 ]; then
		diag "agent $n exited with status $st after SIGTERM"
		diag_file "${AG_LOG[n]}" 20
		return 1
	fi
	if grep -qE "$_SVCA_SAN_RE" "${AG_LOG[n]}" 2>/dev/null; then
		grep -E -A14 "$_SVCA_SAN_RE" "${AG_LOG[n]}" | head -n 60 | diag
		return 1
	fi
	return 0
}

agent_kill9() { # N
	local n=$1 pid=${AG_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	AG_PID[n]=""
}

hub_seq() {
	pg_psql -c "SELECT coalesce(max(seq), 0) FROM svcacct_changes" 2>/dev/null
}

agent_seq() { # N
	agent_ctl "$1" --json fleet status </dev/null 2>/dev/null | json_py 'd["snapshot_seq"]' 2>/dev/null
}

agent_caught_up() { # N
	local want got
	want=$(hub_seq) got=$(agent_seq "$1")
	[ -n "$want" ] && [ -n "$got" ] && [ "$got" -ge "$want" ]
}

agent_enroll() { # N WS[,WS...]
	local n=$1 ws tok args=()
	IFS=, read -ra ws <<<"$2"
	for tok in "${ws[@]}"; do args+=(--workspace "$tok"); done
	tok=$(hub_ctl 1 host token create "${args[@]}" </dev/null 2>/dev/null | tail -n 1)
	[ -n "$tok" ] || return 1
	printf '%s\n' "$tok" | agent_ctl "$n" host enroll - >/dev/null 2>&1 || return 1
	wait_for 20 agent_caught_up "$n"
}

_fleet_cleanup() {
	local rc=$? n
	for ((n = 1; n <= _AG_MAX; n++)); do
		[ -n "${AG_PID[n]:-}" ] || continue
		if agent_stop "$n"; then ok "agent $n shut down cleanly"; else not_ok "agent $n shut down cleanly"; fi
	done
	(exit "$rc")
	_pg_cleanup
}
trap _fleet_cleanup EXIT
