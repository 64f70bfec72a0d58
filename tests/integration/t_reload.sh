#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SIGHUP reloads the configuration: host_workspaces, roles and services take
# effect for the next decision; a configuration with errors is refused, the
# daemon keeps running with the old one and says why.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/rbac_lib.sh"

RELOAD_WAIT=${RELOAD_WAIT:-10}

start_daemon 'host_workspaces = [ "build-farm" ];' || bail "daemon starts"

check -d "team create infra" $CTL team create infra
check -d "workspace create build-farm" $CTL workspace create build-farm --team infra
check -d "workspace create other" $CTL workspace create other --team infra
check -d "account create ci" $CTL account create ci
check -d "grant add ci editor on build-farm" $CTL grant add ci --workspace build-farm --role editor

check_authz allow ci sshd "before reload: editor on build-farm may use sshd"
check_authz "deny:no_capability" ci sudo "before reload: no sudo"
check_access ci role=editor caps=login src=workspace:build-farm:build-farm:editor

# hup_and_wait DESC: SIGHUP, then wait (bounded) for one more daemon.reload
# audit event.  0 when it came.
hup_and_wait() {
	local before n t0
	before=$(audit_count daemon.reload)
	kill -HUP "$DAEMON_PID"
	t0=$(date +%s)
	while :; do
		n=$(audit_count daemon.reload)
		if [ "$n" -gt "$before" ] 2>/dev/null; then
			ok "$1: daemon.reload audited after SIGHUP"
			return 0
		fi
		if [ $(($(date +%s) - t0)) -ge "$RELOAD_WAIT" ] || ! daemon_alive; then
			not_ok "$1: daemon.reload audited within $RELOAD_WAIT s after SIGHUP (count $before -> $n)"
			return 1
		fi
		sleep 0.1
	done
}

# hup_refused DESC: SIGHUP with a broken config; waits (bounded) for the
# refusal in daemon.log, then checks that no daemon.reload was audited.
hup_refused() {
	local before n t0 lines
	before=$(audit_count daemon.reload)
	lines=$(wc -l <"$DAEMON_LOG")
	kill -HUP "$DAEMON_PID"
	t0=$(date +%s)
	while ! tail -n +$((lines + 1)) "$DAEMON_LOG" | grep -q 'reload.*error\|error.*reload\|keeping'; do
		if [ $(($(date +%s) - t0)) -ge "$RELOAD_WAIT" ] || ! daemon_alive; then
			break
		fi
		sleep 0.1
	done
	local new
	new=$(tail -n +$((lines + 1)) "$DAEMON_LOG")
	if printf '%s' "$new" | grep -q 'keeping the running configuration'; then
		ok "$1: the daemon logs that it keeps the running configuration"
	else
		not_ok "$1: the daemon logs that it keeps the running configuration"
		printf '%s\n' "$new" | diag
	fi
	if printf '%s' "$new" | grep -q "$CONF:[0-9]"; then
		ok "$1: the log names the file and line"
	else
		not_ok "$1: the log names the file and line"
	fi
	if daemon_alive; then ok "$1: daemon still running"; else bail "$1: daemon still running"; fi
	n=$(audit_count daemon.reload)
	if [ "$n" = "$before" ]; then ok "$1: no daemon.reload event"; else not_ok "$1: no daemon.reload event (count $before -> $n)"; fi
}

# ---- host_workspaces changes ----------------------------------------------------
rewrite_conf 'host_workspaces = [ "other" ];'
hup_and_wait "host_workspaces -> other"
check_authz "deny:no_capability" ci sshd "after reload (host is in 'other'): sshd denied"
check_access ci role=none caps= nsrc=0
if expect_exit 0 $CTL --json workspace list; then
	r=$(printf '%s' "$OUT" | json_py '" ".join("%s=%s" % (w.get("name") or w.get("workspace"), "absent" if "on_host" not in w else bool(w["on_host"])) for w in sorted(d, key=lambda w: w.get("name") or w.get("workspace") or ""))')
	case "$r" in
	"build-farm=False other=True") ok "workspace list shows on_host from the new config" ;;
	*absent*) diag "workspace list --json has no on_host field ($r); not checked" ;;
	*) not_ok "workspace list shows on_host from the new config (got $r)" ;;
	esac
else
	not_ok "workspace list --json"
fi

# ---- a syntax error: refused, the old configuration stays -------------------------
# (the same file as before, with a missing "]")
rewrite_conf 'host_workspaces = [ "build-farm" ;'
hup_refused "syntax error"
check_authz "deny:no_capability" ci sshd "after a refused reload: still denied (old config kept)"
check_access ci role=none caps=

# ---- a valid syntax with a bad value: refused too -----------------------------------
rewrite_conf 'host_workspaces = [ "build-farm" ];' 'token_ttl = 5;'
hup_refused "token_ttl out of range"
check_authz "deny:no_capability" ci sshd "after a refused reload (bad value): still denied"
rewrite_conf 'host_workspaces = [ "build-farm" ];' 'no_such_setting = 1;'
hup_refused "unknown setting"
check_authz "deny:no_capability" ci sshd "after a refused reload (unknown setting): still denied"

# ---- back to build-farm: the reload path still works after refusals -------------------
rewrite_conf 'host_workspaces = [ "build-farm" ];'
hup_and_wait "host_workspaces -> build-farm again"
check_authz allow ci sshd "after reload back to build-farm: sshd allowed"
check_access ci role=editor caps=login

# ---- roles and services are reloaded too ----------------------------------------------
rewrite_conf 'host_workspaces = [ "build-farm" ];' 'roles = { editor = [ "login", "sudo" ]; };'
hup_and_wait "roles override"
check_authz allow ci sudo "after reload with editor = login, sudo: sudo allowed"
check_access ci role=editor caps=login,sudo
rewrite_conf 'host_workspaces = [ "build-farm" ];' 'services = { login = [ "sshd" ]; };'
hup_and_wait "services mapping"
check_authz allow ci sshd "after reload with login = [ sshd ]: sshd allowed"
check_authz "deny:unknown_service" ci cron "after reload with login = [ sshd ]: cron unmapped"
check_authz "deny:unknown_service" ci sudo "after reload without a sudo mapping: sudo unmapped"

check -d "audit verify after the reloads" $CTL audit verify
if daemon_alive; then ok "daemon alive after all reloads"; else not_ok "daemon alive after all reloads"; fi
