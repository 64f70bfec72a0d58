#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Teams, workspaces and grants (DESIGN.md sections 3 and 8): every refusal
# path and rule of the management plane, the cascades of team / workspace /
# account deletion, renames, who may do what (non-admin, admin group, Super
# Admin), and that every change is audited.
. "$(dirname "$0")/../private_ns.sh"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/rbac_lib.sh"

# ---- an admin group (Admins, not Super Admins) ---------------------------------
# The daemon reads privileged groups from /etc/group only: this test's own
# copy, bind-mounted in its private mount namespace (the machine's file is
# never written).
ADMIN_GROUP=svcacct-test-admin
[ -n "$TMPD" ] || _svca_make_tmp
if ! getent group "$ADMIN_GROUP" >/dev/null; then
	AGID=59000
	while getent group "$AGID" >/dev/null; do AGID=$((AGID + 1)); done
	cp /etc/group "$TMPD/group" && printf '%s:x:%s:\n' "$ADMIN_GROUP" "$AGID" >>"$TMPD/group" &&
		chmod 0644 "$TMPD/group" && mount --bind "$TMPD/group" /etc/group ||
		bail "a private /etc/group with $ADMIN_GROUP"
fi
AGID=$(getent group "$ADMIN_GROUP" | cut -d: -f3)
[ -n "$AGID" ] || bail "gid of $ADMIN_GROUP"

_svca_write_conf 'host_workspaces = [ "build-farm" ];' "admin_groups = [ \"$ADMIN_GROUP\" ];"
start_daemon_reuse || bail "daemon starts"

# run_as_admin CMD...: uid/gid nobody, member of the admin group only.
run_as_admin() { run_as_uid_groups 65534 65534 "$AGID" "$@"; }

# Expected audit events, counted as the changes succeed.
declare -A EXP=()
expect_event() { EXP[$1]=$((${EXP[$1]:-0} + ${2:-1})); }

# mut EVENT [N] -- CMD...: a change that must succeed and adds N events.
mut() {
	local ev=$1 n=1
	shift
	if [ "$1" != "--" ]; then n=$1; shift; fi
	shift
	if expect_exit 0 "$@"; then
		ok "$(_svca_cmdstr "$@")"
		expect_event "$ev" "$n"
	else
		not_ok "$(_svca_cmdstr "$@")"
	fi
}

# json_has DESC EXPR [ARGS...]: ok when EXPR (python; d = $OUT as JSON,
# ARGS in sys.argv[2:]) is true.
json_has() {
	local r
	r=$(printf '%s' "$OUT" | json_eval "$2" "${@:3}" 2>&1)
	if [ "$r" = true ]; then ok "$1"; else not_ok "$1 (got: ${r:0:300})"; diag "json: ${OUT:0:600}"; fi
}

err_has() { # DESC TEXT: the last command's stderr contains TEXT
	if [[ $ERR == *"$2"* ]]; then ok "$1"; else not_ok "$1 (stderr: ${ERR:0:300})"; fi
}

check_grants() { # NAME EXPECTED-LINES DESC
	local got
	got=$(grants_of "$1")
	if [ "$?" = 0 ] && [ "$got" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "want: $(printf '%s' "$2" | tr '\n' ' ')"
		diag "got:  $(printf '%s' "$got" | tr '\n' ' ') (exit $RC)"
	fi
}

ws_names() { # the workspace names of workspace list --json, sorted, one line
	expect_exit 0 $CTL --json workspace list &&
		printf '%s' "$OUT" | json_eval '" ".join(sorted((w.get("name") or w.get("workspace") or "?") for w in d))'
}
team_names() {
	expect_exit 0 $CTL --json team list &&
		printf '%s' "$OUT" | json_eval '" ".join(sorted((t.get("name") or t.get("team") or "?") for t in d))'
}

# ================================================================================
diag "teams and workspaces: creation rules"

mut team.create -- $CTL team create infra
check_audit_delta team.create 0 1 "team create is audited"
check_exit 1 -d "duplicate team create exits 1" $CTL team create infra
err_has "duplicate team: the message names it" "infra"
for bad in Infra "bad name" _infra .dot "tëam" "a/b" "$(printf 'a%.0s' $(seq 65))" ""; do
	check_exit 2 -d "team create '${bad:0:20}' (invalid name) exits 2" $CTL team create "$bad"
done
mut team.create -- $CTL team create "$(printf 'b%.0s' $(seq 64))"
mut team.create -- $CTL team create 0ps.web_1-x
mut team.create -- $CTL team create other

check_exit 4 -d "workspace create with a team that does not exist exits 4" \
	$CTL workspace create ws1 --team nosuch
err_has "missing team: the message names it" "nosuch"
check_exit 2 -d "workspace create without --team exits 2" $CTL workspace create ws1
check_exit 2 -d "workspace create with an invalid name exits 2" $CTL workspace create Build --team infra
check_exit 2 -d "workspace create with an invalid team name exits 2" $CTL workspace create ws1 --team 'In fra'
mut workspace.create -- $CTL workspace create build-farm --team infra
mut workspace.create -- $CTL workspace create staging --team infra
check_exit 1 -d "duplicate workspace create exits 1" $CTL workspace create build-farm --team infra
check_exit 1 -d "a workspace name is unique across teams (exit 1)" $CTL workspace create build-farm --team other
if expect_exit 0 $CTL --json workspace list; then
	json_has "workspace list: build-farm belongs to infra" \
		'any((w.get("name") or w.get("workspace")) == "build-farm" and w.get("team") == "infra" for w in d)'
else
	not_ok "workspace list --json"
fi
got=$(team_names)
if [[ " $got " == *" infra "* && " $got " == *" other "* ]]; then ok "team list names infra and other"; else not_ok "team list names infra and other (got $got)"; fi
check_audit_delta workspace.create 0 2 "workspace create is audited, refusals are not changes"

# ================================================================================
diag "grants: rules and refusals"

for a in ci ci2 ci3 solo-acct; do mut account.create -- $CTL account create "$a"; done
ga0=$(audit_count grant.add)
mut grant.add -- $CTL grant add ci --workspace build-farm --role editor
check_audit_delta grant.add "$ga0" 1 "grant add is audited"
if expect_exit 0 $CTL --json audit list --event grant.add --limit 1; then
	json_has "grant.add event names account, workspace and actor" \
		'd[-1]["subject"]["account"] == "ci" and (d[-1].get("scope") or {}).get("workspace") == "build-farm" and d[-1]["actor"].get("uid") == 0'
else
	not_ok "audit list --event grant.add"
fi
check_exit 4 -d "grant add on a workspace that does not exist exits 4" \
	$CTL grant add ci --workspace nosuch --role editor
check_exit 4 -d "grant add on a team that does not exist exits 4" \
	$CTL grant add ci --team nosuch --role editor
check_exit 4 -d "grant add for an account that does not exist exits 4" \
	$CTL grant add nosuch --workspace build-farm --role viewer
check_exit 2 -d "grant add with an unknown role exits 2" \
	$CTL grant add ci --workspace build-farm --role owner
check_exit 2 -d "grant add with an org role (super-admin) as grant role exits 2" \
	$CTL grant add ci --workspace build-farm --role super-admin
check_exit 2 -d "grant add with both --workspace and --team exits 2" \
	$CTL grant add ci --workspace build-farm --team infra --role viewer
check_exit 2 -d "grant add without a scope exits 2" $CTL grant add ci --role viewer
check_exit 2 -d "grant add without --role exits 2" $CTL grant add ci --workspace build-farm
check_exit 2 -d "grant add with an invalid workspace name exits 2" \
	$CTL grant add ci --workspace 'Build!' --role viewer
check_exit 2 -d "grant add with an invalid account name exits 2" \
	$CTL grant add 'CI' --workspace build-farm --role viewer
check_exit 4 -d "grant remove of a grant that does not exist exits 4" \
	$CTL grant remove ci --workspace staging
check_exit 4 -d "grant remove of a team grant that does not exist exits 4" \
	$CTL grant remove ci --team infra
check_exit 4 -d "grant list of an unknown account exits 4" $CTL grant list nosuch
check_exit 2 -d "grant remove without a scope exits 2" $CTL grant remove ci
check_audit_delta grant.add "$ga0" 1 "refused grant adds change nothing"

mut grant.add -- $CTL grant add ci --team infra --role viewer
check_grants ci "team:infra:viewer
workspace:build-farm:editor" "grant list ci: a workspace and a team grant"
check_authz "deny:no_capability" ci sudo "editor via build-farm: no sudo"
mut grant.add -- $CTL grant add ci --workspace build-farm --role admin
check_grants ci "team:infra:viewer
workspace:build-farm:admin" "grant add on the same scope changes the role (no duplicate)"
check_authz allow ci sudo "after the role change to admin: sudo"
check_access ci role=admin caps=login,sudo nsrc=2
mut grant.add -- $CTL grant add ci --workspace build-farm --role editor
check_authz "deny:no_capability" ci sudo "back to editor: no sudo"
gr0=$(audit_count grant.remove)
mut grant.remove -- $CTL grant remove ci --team infra
check_audit_delta grant.remove "$gr0" 1 "grant remove is audited"
check_grants ci "workspace:build-farm:editor" "grant remove removes just that grant"

# ================================================================================
diag "team delete: refused while it has workspaces or grants; --force cascades"

mut team.create -- $CTL team create solo
mut grant.add -- $CTL grant add solo-acct --team solo --role admin
check_exit 1 -d "team delete of a team with a grant (no workspace) exits 1" $CTL team delete solo
err_has "the refusal mentions --force" "--force"
check_grants solo-acct "team:solo:admin" "refused team delete keeps the grant"
gr0=$(audit_count grant.remove)
mut team.delete -- $CTL team delete solo --force
expect_event grant.remove 1
check_audit_delta grant.remove "$gr0" 1 "team delete --force audits the removed team grant"
check_grants solo-acct "" "team delete --force removed the team grant"
check_exit 4 -d "team delete of a deleted team exits 4" $CTL team delete solo

mut team.create -- $CTL team create wsonly
mut workspace.create -- $CTL workspace create wsonly-ws --team wsonly
check_exit 1 -d "team delete of a team with a workspace (no grant) exits 1" $CTL team delete wsonly
if [[ " $(ws_names) " == *" wsonly-ws "* ]]; then ok "refused team delete keeps the workspace"; else not_ok "refused team delete keeps the workspace"; fi
wd0=$(audit_count workspace.delete)
mut team.delete -- $CTL team delete wsonly --force
expect_event workspace.delete 1
check_audit_delta workspace.delete "$wd0" 1 "team delete --force audits workspace.delete"
if [[ " $(ws_names) " != *" wsonly-ws "* ]]; then ok "team delete --force removed its workspace"; else not_ok "team delete --force removed its workspace"; fi

mut team.create -- $CTL team create bare
mut team.delete -- $CTL team delete bare
check_exit 4 -d "team delete of a team that does not exist exits 4" $CTL team delete nosuch

# infra: workspaces build-farm (ci editor) and staging (ci3 viewer), team grant ci2 admin
mut grant.add -- $CTL grant add ci2 --team infra --role admin
mut grant.add -- $CTL grant add ci3 --workspace staging --role viewer
check_authz allow ci2 sudo "team admin on infra: sudo through build-farm"
gr0=$(audit_count grant.remove)
wd0=$(audit_count workspace.delete)
td0=$(audit_count team.delete)
check_exit 1 -d "team delete infra (2 workspaces, 3 grants) exits 1" $CTL team delete infra
err_has "the refusal mentions --force" "--force"
check_grants ci "workspace:build-farm:editor" "refused team delete: ci keeps its workspace grant"
check_grants ci2 "team:infra:admin" "refused team delete: ci2 keeps its team grant"
check_audit_delta grant.remove "$gr0" 0 "refused team delete removes nothing"
mut team.delete -- $CTL team delete infra --force
expect_event grant.remove 3
expect_event workspace.delete 2
check_audit_delta grant.remove "$gr0" 3 "team delete --force: one grant.remove per grant"
check_audit_delta workspace.delete "$wd0" 2 "team delete --force: one workspace.delete per workspace"
check_audit_delta team.delete "$td0" 1 "team delete --force: team.delete"
if expect_exit 0 $CTL --json audit list --event grant.remove --limit 3; then
	json_has "the 3 grant.remove events name each account and scope" \
		'sorted("%s/%s/%s" % (e["subject"].get("account"), (e.get("scope") or {}).get("workspace"), (e.get("scope") or {}).get("team")) for e in d) == ["ci/build-farm/None", "ci2/None/infra", "ci3/staging/None"]'
else
	not_ok "audit list --event grant.remove"
fi
for a in ci ci2 ci3; do check_grants "$a" "" "team delete --force removed the grants of $a"; done
got=$(ws_names)
if [[ " $got " != *" build-farm "* && " $got " != *" staging "* ]]; then ok "team delete --force removed build-farm and staging"; else not_ok "team delete --force removed build-farm and staging (left: $got)"; fi
if [[ " $(team_names) " != *" infra "* ]]; then ok "team list no longer names infra"; else not_ok "team list no longer names infra"; fi
check_authz "deny:no_capability" ci2 sudo "after team delete: ci2 has no sudo"
check_access ci2 role=none caps= nsrc=0

# ================================================================================
diag "workspace delete: refused while it has grants; --force cascades"

mut team.create -- $CTL team create infra
mut workspace.create -- $CTL workspace create build-farm --team infra
check_authz "deny:no_capability" ci sshd "a re-created workspace does not bring old grants back"
mut grant.add -- $CTL grant add ci --workspace build-farm --role editor
mut grant.add -- $CTL grant add ci2 --workspace build-farm --role viewer
mut grant.add -- $CTL grant add ci3 --team infra --role viewer
gr0=$(audit_count grant.remove)
wd0=$(audit_count workspace.delete)
check_exit 1 -d "workspace delete with grants exits 1" $CTL workspace delete build-farm
err_has "the refusal mentions --force" "--force"
check_grants ci "workspace:build-farm:editor" "refused workspace delete keeps the grant"
mut workspace.delete -- $CTL workspace delete build-farm --force
expect_event grant.remove 2
check_audit_delta grant.remove "$gr0" 2 "workspace delete --force: one grant.remove per workspace grant"
check_audit_delta workspace.delete "$wd0" 1 "workspace delete --force: workspace.delete"
check_grants ci "" "workspace delete --force removed ci's grant"
check_grants ci3 "team:infra:viewer" "workspace delete --force keeps team grants"
check_exit 4 -d "workspace delete of a workspace that does not exist exits 4" $CTL workspace delete build-farm
mut workspace.create -- $CTL workspace create scratch --team infra
mut workspace.delete -- $CTL workspace delete scratch
mut workspace.create -- $CTL workspace create build-farm --team infra
check_authz "deny:no_capability" ci sshd "after workspace delete + re-create: no access"
check_access ci3 role=viewer caps= nsrc=1 src=team:infra:build-farm:viewer

# ================================================================================
diag "rename keeps grants and access; delete removes them"

mut grant.add -- $CTL grant add ci --workspace build-farm --role editor
mut grant.add -- $CTL grant add ci --team infra --role viewer
check_authz allow ci sshd "ci may log in before the rename"
mut account.update -- $CTL account update ci --rename ci-renamed
check_grants ci-renamed "team:infra:viewer
workspace:build-farm:editor" "grant list after rename shows both grants"
check_exit 4 -d "grant list of the old name exits 4" $CTL grant list ci
check_access ci-renamed name=ci-renamed role=editor caps=login nsrc=2
check_authz allow ci-renamed sshd "the renamed account may log in"
check_authz unknown ci sshd "the old name is unknown to authorize"
gr0=$(audit_count grant.remove)
mut account.delete -- $CTL account delete ci-renamed
expect_event grant.remove 2
check_audit_delta grant.remove "$gr0" 2 "account delete audits one grant.remove per grant"
if expect_exit 0 $CTL --json audit list --event grant.remove --account ci-renamed; then
	json_has "the grant.remove events of the delete name the account" 'len(d) == 2'
else
	not_ok "audit list --event grant.remove --account ci-renamed"
fi
mut account.create -- $CTL account create ci-renamed
check_grants ci-renamed "" "a re-created account starts without grants"
check_access ci-renamed role=none caps= nsrc=0
check_authz "deny:no_capability" ci-renamed sshd "a re-created account may not log in"

# ================================================================================
diag "non-admins: refused (exit 3) and audited as admin.deny"

ad0=$(audit_count admin.deny)
nref=0
refuse() { # DESC CMD...
	local desc=$1
	shift
	check_exit 3 -d "nobody: $desc exits 3" run_as_nobody "$@"
	nref=$((nref + 1))
}
refuse "team create" $CTL team create x
refuse "team list" $CTL team list
refuse "team delete --force" $CTL team delete infra --force
refuse "workspace create" $CTL workspace create x --team infra
refuse "workspace list" $CTL workspace list
refuse "workspace delete --force" $CTL workspace delete build-farm --force
refuse "grant add" $CTL grant add ci2 --workspace build-farm --role admin
refuse "grant remove" $CTL grant remove ci3 --team infra
refuse "grant list" $CTL grant list ci3
refuse "account access" $CTL account access ci3
refuse "account access of an unknown account (no existence leak)" $CTL account access nosuch
expect_event admin.deny "$nref"
check_audit_delta admin.deny "$ad0" "$nref" "every refusal is an admin.deny event"
if expect_exit 0 $CTL --json audit list --event admin.deny --limit "$nref"; then
	json_has "the admin.deny events name uid 65534 as actor" \
		'len(d) == int(sys.argv[2]) and all(e["actor"].get("uid") == 65534 and e.get("outcome") == "denied" for e in d)' "$nref"
else
	not_ok "audit list --event admin.deny"
fi
if [[ " $(team_names) " != *" x "* ]]; then ok "refused team create made no team"; else not_ok "refused team create made no team"; fi
check_grants ci3 "team:infra:viewer" "refused grant remove kept the grant"
check_grants ci2 "" "refused grant add made no grant"

# An account may ask about itself (its own uid), not about others.
if expect_exit 0 $CTL --json account show ci3; then
	uid3=$(printf '%s' "$OUT" | json_py 'd["uid"]')
	check_exit 0 -d "ci3's own uid: account access ci3" run_as_uid_groups "$uid3" "$uid3" "" $CTL account access ci3
	check_exit 0 -d "ci3's own uid: grant list ci3" run_as_uid_groups "$uid3" "$uid3" "" $CTL grant list ci3
	check_exit 3 -d "ci3's uid: account access ci2 exits 3" run_as_uid_groups "$uid3" "$uid3" "" $CTL account access ci2
	check_exit 3 -d "ci3's uid: grant add exits 3" run_as_uid_groups "$uid3" "$uid3" "" \
		$CTL grant add ci3 --workspace build-farm --role admin
	expect_event admin.deny 2
else
	not_ok "account show ci3 --json"
fi

# ================================================================================
diag "admins (admin_groups) manage, only Super Admins change org roles"

mut account.create -- run_as_admin $CTL account create grp-made
mut team.create -- run_as_admin $CTL team create grp-team
mut workspace.create -- run_as_admin $CTL workspace create grp-ws --team grp-team
mut grant.add -- run_as_admin $CTL grant add grp-made --workspace build-farm --role editor
check -d "admin: grant list" run_as_admin $CTL grant list grp-made
check -d "admin: account access" run_as_admin $CTL account access grp-made
if expect_exit 0 $CTL --json audit list --event team.create --limit 1; then
	json_has "the admin's team.create names uid 65534" 'd[-1]["actor"].get("uid") == 65534'
else
	not_ok "audit list --event team.create"
fi
ad0=$(audit_count admin.deny)
check_exit 3 -d "admin: account create --role admin exits 3" run_as_admin $CTL account create grp-adm --role admin
check_exit 3 -d "admin: account create --role super-admin exits 3" run_as_admin $CTL account create grp-sup --role super-admin
check_exit 3 -d "admin: account update --role super-admin exits 3" run_as_admin $CTL account update grp-made --role super-admin
check_exit 3 -d "admin: account update --role admin exits 3" run_as_admin $CTL account update grp-made --role admin
expect_event admin.deny 4
check_audit_delta admin.deny "$ad0" 4 "the admin's org-role refusals are audited"
check_exit 4 -d "the refused account create made no account" $CTL account show grp-adm
if expect_exit 0 $CTL --json account show grp-made; then
	json_has "the refused update left org_role member" 'd.get("org_role") == "member"'
else
	not_ok "account show grp-made"
fi
mut account.create -- run_as_admin $CTL account create grp-mem --role member
mut account.update -- $CTL account update grp-made --role admin
if expect_exit 0 $CTL --json account show grp-made; then
	json_has "root (Super Admin) gave org_role admin" 'd.get("org_role") == "admin"'
else
	not_ok "account show grp-made"
fi
check_exit 3 -d "admin: taking the admin role away (--role member) exits 3" \
	run_as_admin $CTL account update grp-made --role member
expect_event admin.deny 1
mut account.create -- $CTL account create root-adm --role admin
mut account.update -- $CTL account update grp-made --role super-admin
check_exit 3 -d "nobody (no group) is refused account create" run_as_nobody $CTL account create nob-made
expect_event admin.deny 1

# ================================================================================
diag "every change is audited"

for ev in team.create team.delete workspace.create workspace.delete grant.add grant.remove \
	account.create account.update account.delete; do
	n=$(audit_count "$ev")
	if [ "$n" = "${EXP[$ev]:-0}" ]; then
		ok "$ev: ${EXP[$ev]:-0} audit events"
	else
		not_ok "$ev: ${EXP[$ev]:-0} audit events (got $n)"
	fi
done
n=$(audit_count admin.deny)
if [ "$n" = "${EXP[admin.deny]}" ]; then ok "admin.deny: ${EXP[admin.deny]} audit events"; else not_ok "admin.deny: ${EXP[admin.deny]} audit events (got $n)"; fi
check -d "audit verify" $CTL audit verify
