# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/lib_pg.sh: a throwaway PostgreSQL cluster and several svcacctd
# hubs on it (DESIGN.md section 9), for tests/integration/t_hub_*.sh.
# Source it after tests/lib.sh (and after tests/pam/ns.sh / pamlib.sh when
# a test needs PAM).
#
# The cluster: initdb + pg_ctl in $TMPD/pg as the unprivileged system user
# "postgres" (another one with PG_USER=), Unix socket only
# (listen_addresses = ''), fsync on, small shared_buffers; local
# connections are trusted (the socket directory is private to the test).
# Roles as the README documents them:
#   postgres        the superuser (pg_psql)
#   svcacct_owner   LOGIN, owns database svcacct, runs svcacctd --migrate
#   svcacct_hubs    NOLOGIN group; the migration grants to it
#   svcacct_hub     LOGIN, IN ROLE svcacct_hubs: what the hubs log in as
#
# Helpers:
#   pg_available                0 when the server binaries are installed
#   pg_start                    initdb (first call), start, roles + db;
#                               sets PG_BIN PGDIR PGDATA PGSOCK PGLOG
#   pg_stop [MODE]              pg_ctl stop -m MODE (default fast)
#   pg_restart                  start again after pg_stop
#   pg_psql [PSQL ARGS...]      psql as the superuser on db svcacct
#                               (-At, ON_ERROR_STOP); stdin or -c
#   pg_psql_as ROLE [ARGS...]   the same as another role
#   pg_conninfo [ROLE] [DB]     "host=$PGSOCK dbname=DB user=ROLE"
#                               (default svcacct_hub, svcacct)
#   pg_migrate [CONF]           svcacctd --migrate as svcacct_owner
#                               (writes $TMPD/owner.conf from hub 1's)
#
#   hub_init N [LINES...]       directory, config of hub N (socket, state,
#                               nss, database = pg_conninfo; extra LINES as
#                               for start_daemon).  Hub 1 is lib.sh's daemon
#                               (SOCK, STATE, NSSD, CONF, DAEMON_PID), so
#                               the PAM helpers and the cleanup check work
#                               on it; hubs >= 2 live in $TMPD/hubN.
#   hub_join N                  copies hub 1's pepper and audit.key into
#                               hub N's state_dir (0600)
#   hub_start N                 starts hub N (HUB_BIN[N], else $SVCACCTD),
#                               waits until it answers; 1 when it does not
#   hub_stop N                  SIGTERM, bounded wait; 1 unless it exited 0
#   hub_kill9 N                 SIGKILL and reap
#   hub_alive N
#   hub_ctl N ARGS...           svcacctctl on hub N's socket (HUB_CTL[N])
#   hub_log N                   path of hub N's stderr log
#   hub_nss N OP ARGS...        libnss_svcacct.so.2's entry point (nss_call)
#                               reading hub N's nss_dir
#   wait_for SECONDS CMD...     polls CMD (every 20 ms) until it exits 0;
#                               1 on timeout; WAITED = seconds it took
#   tls_make_ca DIR / tls_make_cert DIR NAME [SAN]   a CA and a server
#                               certificate (openssl, EC P-256), loopback
#   hub1_https_up [LINES...]    all of the above for one hub on HTTPS:
#                               sets PKI, P1, H1, U1
#   one_agent_init/start/stop, agent_pam_auth, agent_dir_init/start/stop
#                               one agent of the hubs (several numbered
#                               agents: tests/lib_fleet.sh)
#   agent_init DIR HOST_ID [LINES...] / agent_start / agent_stop   an agent
#                               daemon in DIR (AG, ACTL, AGENT_PID)
#
# At exit every hub >= 2 still running is stopped and checked like hub 1
# ("hub N shut down cleanly": exit 0, no sanitizer report in its log), then
# the cluster is stopped (immediate), before lib.sh removes $TMPD.

PG_USER=${PG_USER:-postgres}
PG_BIN=""
PGDIR=""
PGDATA=""
PGSOCK=""
PGLOG=""
_PG_STARTED=0
declare -a HUB_SOCK=() HUB_STATE=() HUB_NSS=() HUB_CONF=() HUB_LOG=() HUB_PID=() HUB_BIN=() HUB_CTL=()
_HUB_MAX=0
declare -a _HUB_EVER=()
_HUB_BAD=""

# The newest installed server (Debian: /usr/lib/postgresql/VERSION/bin).
_pg_find_bin() {
	local d
	PG_BIN=""
	# version order (sort -V): 9.6 < 15 < 16
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && PG_BIN=$d
	done
	[ -n "$PG_BIN" ]
}

pg_available() { _pg_find_bin; }

_pg_as() { setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --init-groups -- "$@"; }

pg_start() {
	[ -n "$TMPD" ] || _svca_make_tmp
	_pg_find_bin || bail "PostgreSQL server binaries installed (/usr/lib/postgresql/*/bin/initdb; make deps)"
	id "$PG_USER" >/dev/null 2>&1 || bail "the unprivileged system user $PG_USER exists (make deps installs postgresql)"
	if [ -z "$PGDIR" ]; then
		PGDIR=$TMPD/pg
		PGDATA=$PGDIR/data
		PGSOCK=$PGDIR/sock
		PGLOG=$PGDIR/server.log
		mkdir -p "$PGSOCK"
		chown -R "$PG_USER:" "$PGDIR"
		chmod 0755 "$PGDIR" "$PGSOCK"
		if ! _pg_as "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1; then
			diag_file "$PGDIR/initdb.log"
			bail "initdb of a throwaway cluster"
		fi
		cat >>"$PGDATA/postgresql.conf" <<-EOF
			# tests/lib_pg.sh
			listen_addresses = ''
			unix_socket_directories = '$PGSOCK'
			fsync = on
			synchronous_commit = on
			shared_buffers = 16MB
			max_connections = 60
			log_min_messages = warning
			log_line_prefix = '%m [%p] %u '
		EOF
		export PGDIR PGDATA PGSOCK PGLOG PG_BIN
	fi
	_pg_ctl_start || bail "PostgreSQL starts"
	if [ "$_PG_STARTED" = 0 ]; then
		_PG_STARTED=1
		pg_psql -d postgres >/dev/null <<-'EOF' || bail "roles and database created"
			CREATE ROLE svcacct_owner LOGIN;
			CREATE ROLE svcacct_hubs NOLOGIN;
			CREATE ROLE svcacct_hub LOGIN IN ROLE svcacct_hubs;
			CREATE DATABASE svcacct OWNER svcacct_owner;
			REVOKE ALL ON DATABASE svcacct FROM PUBLIC;
			GRANT CONNECT ON DATABASE svcacct TO svcacct_hubs;
		EOF
	fi
	return 0
}

_pg_ctl_start() {
	if ! _pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 60 start >"$PGDIR/ctl.log" 2>&1; then
		diag_file "$PGDIR/ctl.log"
		diag_file "$PGLOG"
		return 1
	fi
	return 0
}

pg_stop() { # [MODE]
	[ -n "$PGDATA" ] || return 0
	_pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -m "${1:-fast}" -w -t 60 stop >"$PGDIR/ctl.log" 2>&1
}

pg_restart() { _pg_ctl_start; }

pg_running() { [ -n "$PGDATA" ] && _pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

pg_psql() { pg_psql_as postgres "$@"; }

pg_psql_as() { # ROLE [ARGS...]
	local role=$1
	shift
	PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PGSOCK" -U "$role" \
		-d svcacct "$@"
}

pg_conninfo() { # [ROLE] [DB]
	printf 'host=%s dbname=%s user=%s' "$PGSOCK" "${2:-svcacct}" "${1:-svcacct_hub}"
}

# pg_migrate [CONF]: svcacctd --migrate -c CONF (default: hub 1's config
# with user=svcacct_owner).  Sets RC, OUT, ERR like expect_exit.
pg_migrate() {
	local conf=${1:-}
	if [ -z "$conf" ]; then
		conf=$TMPD/owner.conf
		sed "s/user=svcacct_hub\\b/user=svcacct_owner/" "${HUB_CONF[1]}" >"$conf"
		chmod 0644 "$conf"
	fi
	expect_exit 0 "$SVCACCTD" --migrate -c "$conf"
}

# ---- hubs ----------------------------------------------------------------------

# hub_init N [CONFIG LINES...]
hub_init() {
	local n=$1
	shift
	[ "$n" -gt "$_HUB_MAX" ] && _HUB_MAX=$n
	[ -n "$TMPD" ] || _svca_make_tmp
	local db_line
	db_line="database = \"$(pg_conninfo)\";"
	local l
	for l in "$@"; do
		[[ $l =~ ^[[:space:]]*database[[:space:]]*= ]] && db_line=""
	done
	if [ "$n" = 1 ]; then
		_svca_write_conf ${db_line:+"$db_line"} "$@"
		HUB_SOCK[1]=$SOCK HUB_STATE[1]=$STATE HUB_NSS[1]=$NSSD HUB_CONF[1]=$CONF
		HUB_LOG[1]=$DAEMON_LOG
	else
		local d=$TMPD/hub$n
		mkdir -p "$d"
		chmod 0755 "$d"
		mkdir -p "$d/state" "$d/nss"
		chmod 0700 "$d/state"
		chmod 0755 "$d/nss"
		HUB_SOCK[n]=$d/svcacctd.sock HUB_STATE[n]=$d/state HUB_NSS[n]=$d/nss
		HUB_CONF[n]=$d/svcacctd.conf HUB_LOG[n]=$d/daemon.log
		# lib.sh's writer, with this hub's paths
		local s=$SOCK st=$STATE nd=$NSSD c=$CONF
		SOCK=${HUB_SOCK[n]} STATE=${HUB_STATE[n]} NSSD=${HUB_NSS[n]} CONF=${HUB_CONF[n]}
		_svca_write_conf ${db_line:+"$db_line"} "$@"
		SOCK=$s STATE=$st NSSD=$nd CONF=$c
	fi
	HUB_CTL[n]="$SVCACCTCTL -s ${HUB_SOCK[n]}"
}

hub_join() { # N: hub 1's org secrets, copied the way the README says
	local n=$1 f
	for f in pepper audit.key; do
		if [ ! -f "${HUB_STATE[1]}/$f" ]; then
			diag "hub 1 has no $f in its state_dir"
			return 1
		fi
		install -m 0600 "${HUB_STATE[1]}/$f" "${HUB_STATE[n]}/$f" || return 1
	done
}

hub_alive() {
	local n=$1 pid
	if [ "$n" = 1 ]; then daemon_alive; return; fi
	pid=${HUB_PID[n]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]
}

hub_start() { # N
	local n=$1
	local bin=${HUB_BIN[n]:-$SVCACCTD}
	if [ "$n" = 1 ]; then
		SVCACCTD=$bin START_TIMEOUT=${START_TIMEOUT:-20} start_daemon_reuse
		HUB_PID[1]=$DAEMON_PID
		return
	fi
	if hub_alive "$n"; then
		diag "hub $n is already running"
		return 1
	fi
	_svca_start_syslog || return 1
	_HUB_EVER[n]=1
	echo "=== $(date +%T.%N) start" >>"${HUB_LOG[n]}"
	"$bin" -f -c "${HUB_CONF[n]}" </dev/null >>"${HUB_LOG[n]}" 2>&1 &
	HUB_PID[n]=$!
	local deadline
	deadline=$(($(date +%s%N) / 1000000 + ${START_TIMEOUT:-20} * 1000))
	while :; do
		if ! hub_alive "$n"; then
			wait "${HUB_PID[n]}" 2>/dev/null
			diag "hub $n exited during startup (status $?)"
			diag_file "${HUB_LOG[n]}" 20
			HUB_PID[n]=""
			return 1
		fi
		if [ -S "${HUB_SOCK[n]}" ] &&
			timeout 5 $SVCACCTCTL -s "${HUB_SOCK[n]}" account list </dev/null >/dev/null 2>&1; then
			return 0
		fi
		if [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ]; then
			diag "hub $n did not answer within ${START_TIMEOUT:-20} s"
			diag_file "${HUB_LOG[n]}" 20
			return 1
		fi
		sleep 0.03
	done
}

hub_stop() { # N
	local n=$1 pid st limit
	if [ "$n" = 1 ]; then stop_daemon; return; fi
	pid=${HUB_PID[n]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	limit=${STOP_TIMEOUT:-$([ -n "${ASAN_OPTIONS:-}" ] && echo 30 || echo 10)}
	if ! wait_pid_gone "$pid" "$limit"; then
		diag "hub $n (pid $pid) ignored SIGTERM for $limit s; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	st=$?
	HUB_PID[n]=""
	if [ "$st" != 0 ] && [ "$st" != 143 ]; then
		_HUB_BAD="$_HUB_BAD hub$n:$st"
		diag "hub $n exited with status $st after SIGTERM"
		return 1
	fi
	return 0
}

hub_kill9() { # N
	local n=$1 pid
	if [ "$n" = 1 ]; then kill9_daemon; HUB_PID[1]=""; return; fi
	pid=${HUB_PID[n]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	HUB_PID[n]=""
}

hub_ctl() { # N ARGS...
	local n=$1
	shift
	$SVCACCTCTL -s "${HUB_SOCK[n]}" "$@"
}

hub_log() { printf '%s\n' "${HUB_LOG[$1]}"; }

# ---- NSS snapshots of each hub ----------------------------------------------------

_HUB_NSS_CALL=""
hub_nss() { # N OP ARGS...
	local n=$1
	shift
	nss_dir_call "${HUB_NSS[n]}" "$@"
}

nss_dir_call() { # NSS_DIR OP ARGS...: tests/nss/nss_call.c on that snapshot
	local dir=$1
	shift
	if [ -z "$_HUB_NSS_CALL" ]; then
		_HUB_NSS_CALL=$TMPD/nss_call
		cc -std=gnu11 -O2 -o "$_HUB_NSS_CALL" "$REPO_DIR/tests/nss/nss_call.c" -ldl \
			>"$TMPD/cc.nss_call.log" 2>&1 || { diag_file "$TMPD/cc.nss_call.log"; bail "compile tests/nss/nss_call.c"; }
	fi
	# The module honours SVCACCT_NSS_DIR for a non-setuid caller when root
	# owns the snapshot (tests/nss/nss_lib.sh).
	SVCACCT_NSS_DIR=$dir "$_HUB_NSS_CALL" "$SVCACCT_BUILD/libnss_svcacct.so.2" "$@"
}

# hub_nss_has N NAME: 0 when hub N's snapshot resolves NAME.
hub_nss_has() { hub_nss "$1" pwnam "$2" 4096 2>/dev/null | head -n 1 | grep -q '^SUCCESS'; }

# ---- waiting ------------------------------------------------------------------------

WAITED=""
wait_for() { # SECONDS CMD...
	local t=$1 t0 now_ns end
	shift
	t0=$(date +%s%N)
	end=$(awk -v a="$t0" -v t="$t" 'BEGIN { printf "%.0f", a + t * 1e9 }')
	while :; do
		if "$@" </dev/null >/dev/null 2>&1; then
			now_ns=$(date +%s%N)
			WAITED=$(awk -v a="$t0" -v b="$now_ns" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
			return 0
		fi
		now_ns=$(date +%s%N)
		if [ "$now_ns" -ge "$end" ]; then
			WAITED=$(awk -v a="$t0" -v b="$now_ns" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
			return 1
		fi
		sleep 0.02
	done
}

# ---- TLS ---------------------------------------------------------------------------

tls_make_ca() { # DIR: DIR/ca.key, DIR/ca.crt
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=svcacct test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		>"$d/openssl.log" 2>&1
}

tls_make_cert() { # DIR NAME [SAN]: DIR/NAME.key, DIR/NAME.crt signed by DIR/ca.*
	local d=$1 name=$2 san=${3:-DNS:localhost,IP:127.0.0.1}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
		-keyout "$d/$name.key" -out "$d/$name.csr" >>"$d/openssl.log" 2>&1 || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$d/$name.ext"
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/$name.ext" -out "$d/$name.crt" >>"$d/openssl.log" 2>&1 || return 1
	chmod 0600 "$d/$name.key"
}

# ---- one hub on HTTPS ---------------------------------------------------------------
# hub1_https_up: PostgreSQL, a CA and the hub's certificate ($PKI), hub 1 with
# https_listen on a free loopback port (host_id hub1), migrated and started;
# sets PKI, P1, H1 (svcacctctl on its socket), U1 (its URL).  Bails on failure.
hub1_https_up() {
	pg_start
	PKI=$TMPD/pki
	tls_make_ca "$PKI" && tls_make_cert "$PKI" hub || bail "a CA and the hub's certificate"
	P1=$(free_port)
	hub_init 1 "https_listen = \"127.0.0.1:$P1\";" "tls_cert = \"$PKI/hub.crt\";" \
		"tls_key = \"$PKI/hub.key\";" "host_id = \"hub1\";" "$@"
	pg_migrate || bail "svcacctd --migrate"
	hub_start 1 || bail "hub 1 starts"
	H1="$SVCACCTCTL -s ${HUB_SOCK[1]}"
	U1="https://127.0.0.1:$P1"
}

# ---- one agent of the hubs (DESIGN.md section 9) -----------------------------------
# (Several agents with their own numbers: tests/lib_fleet.sh.)
# one_agent_init DIR HOST_ID [LINES...]: DIR/state (0700), DIR/nss, DIR/svcacctd.conf
#   (socket, state_dir, nss_dir, host_id, extra LINES: hubs, hub_ca, ...);
#   sets AG=DIR and ACTL (svcacctctl on its socket).
# one_agent_start: starts the agent of $AG (AGENT_PID, log $AG/daemon.log),
#   waits until it answers (bails when it does not); one_agent_stop: SIGTERM, reap.

one_agent_init() {
	AG=$1
	local id=$2 l
	shift 2
	mkdir -m 0755 "$AG" && mkdir -m 0700 "$AG/state" && mkdir -m 0755 "$AG/nss" || return 1
	{
		printf 'socket = "%s";\nstate_dir = "%s";\nnss_dir = "%s";\nhost_id = "%s";\n' \
			"$AG/svcacctd.sock" "$AG/state" "$AG/nss" "$id"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$AG/svcacctd.conf"
	chmod 644 "$AG/svcacctd.conf"
	ACTL="$SVCACCTCTL -s $AG/svcacctd.sock"
}

one_agent_start() {
	"$SVCACCTD" -f -c "$AG/svcacctd.conf" </dev/null >>"$AG/daemon.log" 2>&1 &
	AGENT_PID=$!
	track_pid "$AGENT_PID"
	wait_for 15 $ACTL audit verify >/dev/null 2>&1 || { diag_file "$AG/daemon.log" 20; bail "the agent starts"; }
}

one_agent_stop() { # [SIGNAL]: TERM by default
	kill -"${1:-TERM}" "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	return 0
}

# agent_pam_auth NAME TOKEN: pam.auth on $AG's socket as pam_svcacct
# sends it.  Sets OUT (JSON reply), RC (daemon status).
agent_pam_auth() {
	OUT=$("$PY" "$TESTS_DIR/proto_client.py" "$AG/svcacctd.sock" call PAM_AUTH F_NAME="$1" \
		F_SERVICE=sshd "F_TOKEN=b:$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')" 2>&1)
	RC=$?
}

# ---- agents ------------------------------------------------------------------------
# The agent set-up of t_fleet_agent.sh, for scripts with several agents
# (t_fleet_delta.sh): each in its own DIR (socket, state, NSS dir, log).

declare -A AGENT_PIDS=()

agent_dir_init() { # DIR HOST_ID HUB_URL...: DIR/svcacctd.conf (hub_ca $PKI/ca.crt)
	local d=$1 id=$2 hubs="" u
	shift 2
	for u in "$@"; do hubs="${hubs:+$hubs, }\"$u\""; done
	mkdir -m 0755 "$d" && mkdir -m 0700 "$d/state" && mkdir -m 0755 "$d/nss" || return 1
	cat >"$d/svcacctd.conf" <<AGENTEOF
socket = "$d/svcacctd.sock";
state_dir = "$d/state";
nss_dir = "$d/nss";
hubs = [ $hubs ];
hub_ca = "$PKI/ca.crt";
host_id = "$id";
refresh_interval = 5;
max_staleness = 3600;
AGENTEOF
	chmod 644 "$d/svcacctd.conf"
}

agent_dir_start() { # DIR: starts the agent and waits (15 s) until it answers
	"$SVCACCTD" -f -c "$1/svcacctd.conf" </dev/null >>"$1/daemon.log" 2>&1 &
	AGENT_PIDS[$1]=$!
	track_pid "$!"
	wait_for 15 $SVCACCTCTL -s "$1/svcacctd.sock" audit verify
}

agent_dir_stop() { # DIR: SIGTERM; 1 unless it exits 0 without a sanitizer report
	local pid=${AGENT_PIDS[$1]:-} rc
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	AGENT_PIDS[$1]=""
	[ "$rc" = 0 ] && ! grep -qE "$_SVCA_SAN_RE" "$1/daemon.log"
}

# ---- cleanup -----------------------------------------------------------------------

_pg_cleanup() {
	local rc=$? n bad
	trap - EXIT
	for ((n = 2; n <= _HUB_MAX; n++)); do
		[ -n "${_HUB_EVER[n]:-}" ] || continue
		bad=""
		if [ -n "${HUB_PID[n]:-}" ] && ! hub_alive "$n"; then
			wait "${HUB_PID[n]}" 2>/dev/null
			bad="it had exited by itself (status $?)"
			HUB_PID[n]=""
		elif hub_alive "$n"; then
			hub_stop "$n" || bad="did not stop cleanly on SIGTERM"
		elif [[ $_HUB_BAD == *" hub$n:"* ]]; then
			bad="exit status after SIGTERM:$_HUB_BAD"
		fi
		if [ -f "${HUB_LOG[n]}" ] && grep -qE "$_SVCA_SAN_RE" "${HUB_LOG[n]}"; then
			bad="${bad:+$bad; }sanitizer report in its log"
			grep -E -A14 "$_SVCA_SAN_RE" "${HUB_LOG[n]}" | head -n 60 | diag
		fi
		if [ -n "$bad" ]; then
			not_ok "hub $n shut down cleanly: $bad"
			diag_file "${HUB_LOG[n]}" 30
		else
			ok "hub $n shut down cleanly"
		fi
	done
	# hub 1 first (lib.sh reports on it), then the cluster, then lib.sh
	# removes the temp dir
	if [ -n "$DAEMON_PID" ] && ! daemon_alive; then
		wait "$DAEMON_PID" 2>/dev/null
		not_ok "hub 1 ran until the end (it had exited by itself, status $?)"
		DAEMON_PID=""
	fi
	[ -n "$DAEMON_PID" ] && stop_daemon
	if [ -n "$PGDATA" ] && [ -f "$PGDATA/postmaster.pid" ]; then
		if [ "$_SVCA_FAILS" -gt 0 ] || [ "$rc" != 0 ]; then diag_file "$PGLOG" 15; fi
		pg_stop immediate || {
			local pm
			pm=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)
			[ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null
		}
	fi
	(exit "$rc")
	_svca_cleanup
}
trap _pg_cleanup EXIT
