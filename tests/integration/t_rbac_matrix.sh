#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The PAM authorize decision (DESIGN.md section 3) as a matrix: grants x
# host workspaces x PAM services, one table line per cell.  The decision is
# asked over the native protocol (tests/proto_client.py, as root); a few
# cells are cross-checked with `svcacctctl account access --json`.
#
# The organization (built once, through svcacctctl):
#   team infra : workspaces build-farm (on this host), staging (not)
#   team web   : workspace web-prod (on this host)
#   team data  : workspace data-lake (not on this host)
#   team empty : no workspace
#   host_workspaces = [ "build-farm", "web-prod", "ghost" ]   (ghost: a host
#   workspace that does not exist in the organization)
#
# Setups (the first column of the table):
#   A      default roles and services
#   A-dis  A after `account disable dis`
#   A-en   A-dis after `account enable dis`
#   B      restart with roles = { viewer = [ "login" ]; editor = [ "login", "sudo" ]; }
#   C      restart with services = { login = [ "sshd" ]; sudo = [ "doas" ]; }
# Expected: allow | deny:REASON | unknown (account unknown to the daemon,
# exit 4).
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/rbac_lib.sh"

HOST_WS='host_workspaces = [ "build-farm", "web-prod", "ghost" ];'
ROLES_B='roles = { viewer = [ "login" ]; editor = [ "login", "sudo" ]; };'
SERVICES_C='services = { login = [ "sshd" ]; sudo = [ "doas" ]; };'

# setup  account     service  expected               what it shows
MATRIX=$(cat <<'EOF'
A      ed-ws       sshd     allow                  editor on a host workspace may log in
A      ed-ws       login    allow                  -
A      ed-ws       su       allow                  -
A      ed-ws       su-l     allow                  -
A      ed-ws       cron     allow                  -
A      ed-ws       sudo     deny:no_capability     editor has no sudo
A      ed-ws       sudo-i   deny:no_capability     -
A      ad-ws       sudo     allow                  admin on a host workspace has sudo
A      ad-ws       sudo-i   allow                  -
A      ad-ws       sshd     allow                  -
A      vw-ws       sshd     deny:no_capability     viewer has no capability
A      vw-ws       sudo     deny:no_capability     -
A      vw-ws       cron     deny:no_capability     -
A      ed-off      sshd     deny:no_capability     editor on a workspace not on this host
A      ad-off      sudo     deny:no_capability     admin on a workspace not on this host
A      ad-off      sshd     deny:no_capability     -
A      ed-team     sshd     allow                  team grant applies through build-farm
A      ed-team     sudo     deny:no_capability     -
A      ad-team     sudo     allow                  team admin on web (web-prod is on this host)
A      ad-tnohost  sshd     deny:no_capability     team whose only workspace is not on this host
A      ad-tnohost  sudo     deny:no_capability     -
A      ad-tempty   sshd     deny:no_capability     team without any workspace
A      tadm-wvw    sudo     allow                  team admin + workspace viewer: highest wins
A      tvw-wadm    sudo     allow                  team viewer + workspace admin: highest wins
A      tvw-wed     sshd     allow                  team viewer + workspace editor
A      tvw-wed     sudo     deny:no_capability     -
A      multi       sshd     allow                  editor on web-prod + viewer on build-farm
A      multi       sudo     deny:no_capability     -
A      nogrant     sshd     deny:no_capability     account without grants
A      nogrant     cron     deny:no_capability     -
A      ad-ws       ftp      deny:unknown_service   unmapped PAM service
A      ad-ws       ssh      deny:unknown_service   -
A      ad-ws       SSHD     deny:unknown_service   service names are case-sensitive
A      ad-ws       doas     deny:unknown_service   -
A      ghost       sshd     unknown                not a service account
A      ghost       sudo     unknown                -
A      dis         sudo     allow                  before it is disabled
A-dis  dis         sshd     deny:account_disabled  a disabled account may do nothing
A-dis  dis         sudo     deny:account_disabled  -
A-dis  dis         cron     deny:account_disabled  -
A-dis  dis         ftp      deny:account_disabled  -
A-dis  ad-ws       sudo     allow                  others are not affected
A-en   dis         sudo     allow                  enabled again
A-en   dis         sshd     allow                  -
B      vw-ws       sshd     allow                  roles override: viewer gets login
B      vw-ws       sudo     deny:no_capability     -
B      ed-ws       sudo     allow                  roles override: editor gets sudo
B      ed-ws       sudo-i   allow                  -
B      ad-ws       sudo     allow                  admin keeps its default capabilities
B      nogrant     sshd     deny:no_capability     no role, no capability
B      ed-off      sshd     deny:no_capability     still not on this host
C      ad-ws       sshd     allow                  services mapping: sshd -> login
C      ad-ws       doas     allow                  services mapping: doas -> sudo
C      ad-ws       su       deny:unknown_service   su is no longer mapped
C      ad-ws       sudo     deny:unknown_service   sudo is no longer mapped
C      ad-ws       cron     deny:unknown_service   -
C      ed-ws       doas     deny:no_capability     default roles again: editor has no sudo
C      ed-ws       sshd     allow                  -
C      vw-ws       sshd     deny:no_capability     the roles override is gone
EOF
)

SETUP_OK=1
setup_step() { # CMD...: a setup command that must succeed
	if ! expect_exit 0 "$@"; then
		SETUP_OK=0
		not_ok "setup: $(_svca_cmdstr "$@")"
	fi
}

build_org() {
	local t
	for t in infra web data empty; do setup_step $CTL team create "$t"; done
	setup_step $CTL workspace create build-farm --team infra
	setup_step $CTL workspace create staging --team infra
	setup_step $CTL workspace create web-prod --team web
	setup_step $CTL workspace create data-lake --team data
	local a
	for a in ed-ws ad-ws vw-ws ed-off ad-off ed-team ad-team ad-tnohost ad-tempty \
		tadm-wvw tvw-wadm tvw-wed multi nogrant dis; do
		setup_step $CTL account create "$a" --description "matrix $a"
	done
	setup_step $CTL grant add ed-ws --workspace build-farm --role editor
	setup_step $CTL grant add ad-ws --workspace build-farm --role admin
	setup_step $CTL grant add vw-ws --workspace build-farm --role viewer
	setup_step $CTL grant add ed-off --workspace staging --role editor
	setup_step $CTL grant add ad-off --workspace staging --role admin
	setup_step $CTL grant add ad-off --workspace data-lake --role admin
	setup_step $CTL grant add ed-team --team infra --role editor
	setup_step $CTL grant add ad-team --team web --role admin
	setup_step $CTL grant add ad-tnohost --team data --role admin
	setup_step $CTL grant add ad-tempty --team empty --role admin
	setup_step $CTL grant add tadm-wvw --team infra --role admin
	setup_step $CTL grant add tadm-wvw --workspace build-farm --role viewer
	setup_step $CTL grant add tvw-wadm --team infra --role viewer
	setup_step $CTL grant add tvw-wadm --workspace build-farm --role admin
	setup_step $CTL grant add tvw-wed --team infra --role viewer
	setup_step $CTL grant add tvw-wed --workspace build-farm --role editor
	setup_step $CTL grant add multi --workspace web-prod --role editor
	setup_step $CTL grant add multi --workspace build-farm --role viewer
	setup_step $CTL grant add dis --workspace build-farm --role admin
	if [ "$SETUP_OK" = 1 ]; then ok "setup: 4 teams, 4 workspaces, 15 accounts, 19 grants"; fi
}

# Moves the daemon to a setup, and checks `account access` there.
CUR=""
enter_setup() { # ID
	case "$1" in
	A)
		start_daemon "$HOST_WS" || bail "daemon starts (setup A)"
		build_org
		check_access ed-ws status=active role=editor caps=login svc+=sshd svc+=cron svc-=sudo \
			nsrc=1 src=workspace:build-farm:build-farm:editor
		check_access ad-ws role=admin caps=login,sudo svc+=sudo svc+=sudo-i svc+=sshd
		check_access vw-ws role=viewer caps= services= src=workspace:build-farm:build-farm:viewer
		check_access ed-off role=none caps= nsrc=0
		check_access ed-team role=editor caps=login nsrc=1 src=team:infra:build-farm:editor
		check_access ad-tnohost role=none caps= nsrc=0
		check_access tadm-wvw role=admin caps=login,sudo nsrc=2 \
			src=team:infra:build-farm:admin src=workspace:build-farm:build-farm:viewer
		check_access tvw-wadm role=admin caps=login,sudo nsrc=2 \
			src=team:infra:build-farm:viewer src=workspace:build-farm:build-farm:admin
		check_access multi role=editor caps=login nsrc=2 \
			src=workspace:web-prod:web-prod:editor src=workspace:build-farm:build-farm:viewer
		check_access nogrant role=none caps= services= nsrc=0
		check_exit 4 -d "account access of an unknown account exits 4" $CTL account access ghost
		;;
	A-dis)
		check -d "account disable dis" $CTL account disable dis
		check_access dis status=disabled caps= services=
		;;
	A-en)
		check -d "account enable dis" $CTL account enable dis
		check_access dis status=active role=admin caps=login,sudo
		;;
	B)
		stop_daemon
		rewrite_conf "$HOST_WS" "$ROLES_B"
		start_daemon_reuse || bail "daemon starts (setup B: roles override)"
		check_access vw-ws role=viewer caps=login svc+=sshd svc-=sudo
		check_access ed-ws role=editor caps=login,sudo svc+=sudo
		;;
	C)
		stop_daemon
		rewrite_conf "$HOST_WS" "$SERVICES_C"
		start_daemon_reuse || bail "daemon starts (setup C: services mapping)"
		check_access ad-ws role=admin caps=login,sudo services=sshd,doas
		check_access ed-ws role=editor caps=login services=sshd
		;;
	*) bail "unknown setup $1 in the matrix" ;;
	esac
	CUR=$1
}

n=0
good=0
n_allow=0
n_deny=0
while read -r setup acct svc want why <&3; do
	case "$setup" in '' | '#'*) continue ;; esac
	[ "$setup" = "$CUR" ] || enter_setup "$setup"
	n=$((n + 1))
	case "$want" in allow) n_allow=$((n_allow + 1)) ;; deny:*) n_deny=$((n_deny + 1)) ;; esac
	got=$(authz_result "$acct" "$svc")
	label="cell $n: [$setup] $acct $svc -> $want"
	[ "$why" != "-" ] && label="$label ($why)"
	if [ "$got" = "$want" ]; then
		good=$((good + 1))
		ok "$label"
	else
		not_ok "$label: got $got"
	fi
done 3<<<"$MATRIX"

if [ "$n" -ge 30 ]; then ok "matrix has $n cells (at least 30)"; else not_ok "matrix has $n cells (at least 30)"; fi

# Every decision is audited: one auth.allow / auth.deny per answered cell.
na=$(audit_count auth.allow)
nd=$(audit_count auth.deny)
if [ "$na" = "$n_allow" ]; then ok "$n_allow auth.allow audit events"; else not_ok "$n_allow auth.allow audit events (got $na)"; fi
if [ "$nd" = "$n_deny" ]; then ok "$n_deny auth.deny audit events"; else not_ok "$n_deny auth.deny audit events (got $nd)"; fi
if expect_exit 0 $CTL --json audit list --event auth.deny; then
	r=$(printf '%s' "$OUT" | json_eval 'sorted({e.get("reason") or "" for e in d})' 2>/dev/null)
	if [ "$r" = '["account_disabled", "no_capability", "unknown_service"]' ]; then
		ok "auth.deny events carry the reasons"
	else
		not_ok "auth.deny events carry the reasons (got $r)"
	fi
else
	not_ok "audit list --event auth.deny"
fi
check -d "audit verify after the matrix" $CTL audit verify

diag "matrix: $n cells, $good as expected"
