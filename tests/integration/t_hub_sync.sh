#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Two hubs on one database are interchangeable (issue 16 items 1, 2, 5;
# DESIGN.md section 9): every command of section 8 on either hub's socket,
# each change made on one hub seen by the other on the very next request
# (accounts, teams, workspaces, grants, key status, token revocations);
# concurrent writes on both hubs give distinct uids and one winner for a
# duplicate name; each hub's NSS snapshot shows an account created,
# renamed or deleted on the other hub within 1 s; a token issued by hub 1
# verifies on hub 2, the JWKS is the same on both, and after a signing-key
# rotation on hub 1 hub 2 signs with the new kid and verifies old and new
# tokens; audit events carry a string host and both hubs list the same
# events.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"
. "$TESTS_DIR/cred_lib.sh"

NSS_LIMIT=1.0
is_asan_build && NSS_LIMIT=2.0 # the snapshot writer is much slower under ASan
CONF_LINES=('rate_limit_count = 10000;' 'host_workspaces = [ "build-farm" ];' 'max_active_keys = 5;')

pg_start
hub_init 1 "${CONF_LINES[@]}"
pg_migrate || bail "svcacctd --migrate"
hub_start 1 || bail "hub 1 starts"
hub_init 2 "${CONF_LINES[@]}"
hub_join 2 || bail "hub 2 gets hub 1's pepper and audit.key"
hub_start 2 || bail "hub 2 starts"
H1="$SVCACCTCTL -s ${HUB_SOCK[1]}"
H2="$SVCACCTCTL -s ${HUB_SOCK[2]}"

# field N NAME EXPR: EXPR over account show --json NAME on hub N
field() { hub_ctl "$1" --json account show "$2" </dev/null 2>/dev/null | json_eval "$3" 2>/dev/null; }
same() { # DESC A B
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "hub 1: ${2:0:300}" "hub 2: ${3:0:300}"; fi
}

# ---- every command, alternating hubs ------------------------------------------------------
check -d "hub 1: team create infra" $H1 team create infra
check -d "hub 2: team list shows infra at once" sh -c "$H2 team list | grep -qw infra"
check -d "hub 2: workspace create build-farm --team infra" $H2 workspace create build-farm --team infra
check -d "hub 1: workspace list shows build-farm at once" sh -c "$H1 workspace list | grep -qw build-farm"
check -d "hub 1: account create ci-a" $H1 account create ci-a --description "made on hub 1"
U1=$(field 1 ci-a 'd["uid"]')
U2=$(field 2 ci-a 'd["uid"]')
[ -n "$U1" ] && [ "$U1" = "$U2" ] && ok "hub 2 shows ci-a at once, same uid ($U2)" || not_ok "hub 2 shows ci-a at once, same uid ($U1 / $U2)"
check -d "hub 2: account update ci-a --description" $H2 account update ci-a --description "changed on hub 2"
r=$(field 1 ci-a 'd["description"]')
[ "$r" = "changed on hub 2" ] && ok "hub 1 sees hub 2's update at once" || not_ok "hub 1 sees hub 2's update at once ($r)"
check -d "hub 2: grant add ci-a --workspace build-farm --role editor" $H2 grant add ci-a --workspace build-farm --role editor
check -d "hub 1: grant list ci-a shows it" sh -c "$H1 grant list ci-a | grep -qw build-farm"
r=$($H1 --json account access ci-a </dev/null | json_eval 'd["role"]')
[ "$r" = editor ] && ok "hub 1: account access ci-a -> editor" || not_ok "hub 1: account access ci-a -> editor ($r)"
check -d "hub 1: account disable ci-a" $H1 account disable ci-a
r=$(field 2 ci-a 'd["status"]')
[ "$r" = disabled ] && ok "hub 2 sees ci-a disabled at once" || not_ok "hub 2 sees ci-a disabled at once ($r)"
check -d "hub 2: account enable ci-a" $H2 account enable ci-a
r=$(field 1 ci-a 'd["status"]')
[ "$r" = active ] && ok "hub 1 sees ci-a active at once" || not_ok "hub 1 sees ci-a active at once ($r)"

CTL=$H1 key_create ci-a || bail "hub 1: key create ci-a"
KA=$KEY KA_ID=$KEYID
check -d "hub 2: key list ci-a shows the key made on hub 1" sh -c "$H2 key list ci-a | grep -q $KA_ID"
CTL=$H2 xchg 0 "$KA" && TA=$OUT && ok "hub 2 exchanges a key made on hub 1" || not_ok "hub 2 exchanges a key made on hub 1"
check -d "hub 1 verifies the token hub 2 issued" $H1 token verify "$TA"
check -d "hub 1: token revoke" $H1 token revoke "$TA"
check_exit 1 -d "hub 2 refuses the revoked token on the next request" $H2 token verify "$TA"
CTL=$H1 key_create ci-a || bail "hub 1: second key"
KB=$KEY KB_ID=$KEYID
check -d "hub 2: key disable ci-a KB" $H2 key disable ci-a "$KB_ID"
CTL=$H1 xchg 1 "$KB" && ok "hub 1 refuses the key disabled on hub 2 on the next request" ||
	not_ok "hub 1 refuses the key disabled on hub 2 on the next request"
check -d "hub 2: key enable ci-a KB" $H2 key enable ci-a "$KB_ID"
CTL=$H1 xchg 0 "$KB" && TB=$OUT && ok "hub 1 takes the key enabled on hub 2" || not_ok "hub 1 takes the key enabled on hub 2"
check -d "hub 2: key revoke ci-a KA" $H2 key revoke ci-a "$KA_ID"
CTL=$H1 xchg 1 "$KA" && ok "hub 1 refuses the key revoked on hub 2 on the next request" ||
	not_ok "hub 1 refuses the key revoked on hub 2 on the next request"
r=$($H1 --json key list ci-a </dev/null | json_eval '[k["status"] for k in d if k["key_id"] == sys.argv[2]][0]' "$KA_ID")
[ "$r" = revoked ] && ok "hub 1: key list shows it revoked" || not_ok "hub 1: key list shows it revoked ($r)"
check -d "hub 2 verifies hub 1's token TB" $H2 token verify "$TB"
check -d "hub 2: token revoke --account ci-a" $H2 token revoke --account ci-a
check_exit 1 -d "hub 1 refuses ci-a's earlier token at once" $H1 token verify "$TB"
sleep 1.1 # the account-wide revocation is by issue time, in seconds
CTL=$H1 xchg 0 "$KB" && TC=$OUT && ok "hub 1: a token issued after the account-wide revocation" ||
	not_ok "hub 1: a token issued after the account-wide revocation"
check -d "hub 2 verifies it" $H2 token verify "${TC:-}"

check -d "hub 1: account update ci-a --rename ci-b" $H1 account update ci-a --rename ci-b
check_exit 4 -d "hub 2: ci-a is gone at once" $H2 account show ci-a
r=$(field 2 ci-b 'd["uid"]')
[ "$r" = "$U1" ] && ok "hub 2: ci-b has ci-a's uid" || not_ok "hub 2: ci-b has ci-a's uid ($r)"
check -d "hub 2: grant remove ci-b --workspace build-farm" $H2 grant remove ci-b --workspace build-farm
r=$($H1 --json account access ci-b </dev/null | json_eval 'd["role"]')
[ "$r" != editor ] && ok "hub 1: the grant is gone at once ($r)" || not_ok "hub 1: the grant is gone at once ($r)"
check -d "hub 2: account delete ci-b" $H2 account delete ci-b
check_exit 4 -d "hub 1: ci-b is gone at once" $H1 account show ci-b
CTL=$H1 xchg 1 "$KB" && ok "hub 1: the deleted account's key is refused" || not_ok "hub 1: the deleted account's key is refused"
check -d "hub 1: workspace delete build-farm" $H1 workspace delete build-farm
check -d "hub 2: team delete infra" $H2 team delete infra
r=$($H1 --json team list </dev/null | json_eval 'len(d)')
[ "$r" = 0 ] && ok "hub 1: no team left" || not_ok "hub 1: no team left ($r)"
check -d "hub 1: team create infra, workspace create build-farm again" \
	sh -c "$H1 team create infra && $H2 workspace create build-farm --team infra"

# ---- concurrent writes on both hubs ---------------------------------------------------------
# (wait for these pids only: the hubs and the syslog sink are children too)
PIDS=()
for i in $(seq 8); do
	($H1 account create "par-1-$i" </dev/null >/dev/null 2>"$TMPD/par-1-$i.err"; echo $? >"$TMPD/par-1-$i.rc") &
	PIDS+=($!)
	($H2 account create "par-2-$i" </dev/null >/dev/null 2>"$TMPD/par-2-$i.err"; echo $? >"$TMPD/par-2-$i.rc") &
	PIDS+=($!)
done
wait "${PIDS[@]}"
bad=$(cat "$TMPD"/par-*.rc | grep -cv '^0$')
[ "$bad" = 0 ] && ok "16 concurrent account creates on both hubs all succeed" || {
	not_ok "16 concurrent account creates on both hubs all succeed ($bad failed)"
	cat "$TMPD"/par-*.err | sort | uniq -c | head -n 5 | diag
}
L1=$($H1 --json account list </dev/null | json_eval '" ".join("%s:%s" % (a["name"], a["uid"]) for a in sorted(d, key=lambda a: a["name"]))')
L2=$($H2 --json account list </dev/null | json_eval '" ".join("%s:%s" % (a["name"], a["uid"]) for a in sorted(d, key=lambda a: a["name"]))')
same "both hubs list the same accounts with the same uids" "$L1" "$L2"
n=$(tr ' ' '\n' <<<"$L1" | grep -c '^par-')
dupuids=$(tr ' ' '\n' <<<"$L1" | cut -d: -f2 | sort | uniq -d | tr '\n' ' ')
[ "$n" = 16 ] && [ -z "$dupuids" ] && ok "16 accounts, distinct uids" || not_ok "16 accounts, distinct uids ($n; duplicated: $dupuids)"
wins=0
for i in 1 2 3 4 5; do
	($H1 account create "dup-$i" </dev/null >/dev/null 2>&1; echo $? >"$TMPD/dup1.rc") &
	p1=$!
	($H2 account create "dup-$i" </dev/null >/dev/null 2>&1; echo $? >"$TMPD/dup2.rc") &
	wait "$p1" $!
	r="$(cat "$TMPD/dup1.rc")$(cat "$TMPD/dup2.rc")"
	[ "$r" = 01 ] || [ "$r" = 10 ] && wins=$((wins + 1)) || diag "dup-$i: exits $r"
done
[ "$wins" = 5 ] && ok "the same name created on both hubs at once: one succeeds, one exits 1 (5 of 5)" ||
	not_ok "the same name created on both hubs at once: one succeeds, one exits 1 ($wins of 5)"

# ---- NSS snapshots ---------------------------------------------------------------------------
check -d "hub 1: account create nss-x" $H1 account create nss-x
hub_nss_has 1 nss-x && ok "hub 1's own snapshot has nss-x when create returns" || not_ok "hub 1's own snapshot has nss-x when create returns"
if wait_for "$NSS_LIMIT" hub_nss_has 2 nss-x; then
	ok "hub 2's snapshot resolves nss-x within $NSS_LIMIT s (${WAITED} s)"
else
	not_ok "hub 2's snapshot resolves nss-x within $NSS_LIMIT s"
fi
UX=$(field 1 nss-x 'd["uid"]')
r=$(hub_nss 2 pwuid "$UX" 4096 | sed -n 2p | cut -d: -f1,3)
[ "$r" = "nss-x:$UX" ] && ok "hub 2's snapshot: getpwuid($UX) = nss-x" || not_ok "hub 2's snapshot: getpwuid($UX) = nss-x ($r)"
check -d "hub 2: account update nss-x --rename nss-y" $H2 account update nss-x --rename nss-y
if wait_for "$NSS_LIMIT" hub_nss_has 1 nss-y && ! hub_nss_has 1 nss-x; then
	ok "hub 1's snapshot follows a rename on hub 2 within $NSS_LIMIT s (${WAITED} s)"
else
	not_ok "hub 1's snapshot follows a rename on hub 2 within $NSS_LIMIT s"
fi
check -d "hub 2: account delete nss-y" $H2 account delete nss-y
if wait_for "$NSS_LIMIT" sh -c "! SVCACCT_NSS_DIR=${HUB_NSS[1]} $TMPD/nss_call $SVCACCT_BUILD/libnss_svcacct.so.2 pwnam nss-y 4096 | grep -q '^SUCCESS'"; then
	r=$(hub_nss 1 pwnam nss-y 4096 | head -n 1)
	[[ $r == NOTFOUND* ]] && ok "hub 1's snapshot drops an account deleted on hub 2 within $NSS_LIMIT s (${WAITED} s)" ||
		not_ok "hub 1's snapshot drops an account deleted on hub 2: NOTFOUND ($r)"
else
	not_ok "hub 1's snapshot drops an account deleted on hub 2 within $NSS_LIMIT s"
fi
check -d "hub 2: grant add par-1-1 --workspace build-farm --role admin" $H2 grant add par-1-1 --workspace build-farm --role admin
if wait_for "$NSS_LIMIT" sh -c "SVCACCT_NSS_DIR=${HUB_NSS[1]} $TMPD/nss_call $SVCACCT_BUILD/libnss_svcacct.so.2 grnam svcacct-sudo 4096 | grep -q 'par-1-1'"; then
	ok "hub 1's sudo_group lists an admin granted on hub 2 within $NSS_LIMIT s (${WAITED} s)"
else
	not_ok "hub 1's sudo_group lists an admin granted on hub 2 within $NSS_LIMIT s"
	hub_nss 1 grnam svcacct-sudo 4096 | diag
fi

# ---- one org's signing keys -----------------------------------------------------------------------
J1=$($H1 jwks </dev/null | json_eval 'json.dumps(d, sort_keys=True)')
J2=$($H2 jwks </dev/null | json_eval 'json.dumps(d, sort_keys=True)')
same "jwks is the same on both hubs" "$J1" "$J2"
CTL=$H1 key_create par-1-2 || bail "key create par-1-2"
K=$KEY
CTL=$H1 xchg 0 "$K" || bail "hub 1 issues a token"
T_OLD=$OUT
KID_OLD=$(jwt_part "$T_OLD" header | json_eval 'd["kid"]')
check -d "hub 2 verifies a token issued by hub 1" $H2 token verify "$T_OLD"
CTL=$H2 xchg 0 "$K" && T2=$OUT
r=$(jwt_part "$T2" header | json_eval 'd["kid"]')
[ "$r" = "$KID_OLD" ] && ok "both hubs sign with the same kid ($r)" || not_ok "both hubs sign with the same kid ($KID_OLD / $r)"
check -d "hub 1 verifies a token issued by hub 2" $H1 token verify "$T2"
if expect_exit 0 $H1 signing-key rotate && [[ $OUT =~ ^[A-Za-z0-9_-]{11}$ ]]; then
	KID_NEW=$OUT
	ok "hub 1: signing-key rotate ($KID_NEW)"
else
	KID_NEW=none
	not_ok "hub 1: signing-key rotate (exit $RC)"
fi
kid_on_2() {
	CTL=$H2 xchg 0 "$K" || return 1
	T_NEW2=$OUT
	[ "$(jwt_part "$T_NEW2" header | json_eval 'd["kid"]')" = "$KID_NEW" ]
}
if wait_for 2 kid_on_2; then
	ok "hub 2 signs with the new kid after hub 1's rotation (${WAITED} s)"
else
	not_ok "hub 2 signs with the new kid after hub 1's rotation (within 2 s)"
fi
check -d "hub 2 verifies the token signed before the rotation" $H2 token verify "$T_OLD"
check -d "hub 1 verifies hub 2's token with the new kid" $H1 token verify "$T_NEW2"
J1=$($H1 jwks </dev/null | json_eval 'json.dumps(d, sort_keys=True)')
J2=$($H2 jwks </dev/null | json_eval 'json.dumps(d, sort_keys=True)')
same "jwks is still the same on both hubs after the rotation" "$J1" "$J2"
r=$(json_eval '" ".join(sorted(k["kid"] for k in d["keys"]))' <<<"$J2")
want=$(printf '%s\n' "$KID_OLD" "$KID_NEW" | sort | tr '\n' ' ')
[ "$r " = "$want" ] && ok "the JWKS lists the old and the new kid" || not_ok "the JWKS lists the old and the new kid ($r)"
hub_stop 2 || not_ok "hub 2 stops"
hub_start 2 || bail "hub 2 starts again"
CTL=$H2 xchg 0 "$K" && r=$(jwt_part "$OUT" header | json_eval 'd["kid"]')
[ "$r" = "$KID_NEW" ] && ok "after a restart hub 2 signs with the new kid" || not_ok "after a restart hub 2 signs with the new kid ($r)"
check -d "after a restart hub 2 verifies the oldest token" $H2 token verify "$T_OLD"

# ---- audit -------------------------------------------------------------------------------------------
A1=$($H1 --json audit list --limit 100000 </dev/null | json_eval '" ".join("%s:%s" % (e["seq"], e["event"]) for e in d)')
A2=$($H2 --json audit list --limit 100000 </dev/null | json_eval '" ".join("%s:%s" % (e["seq"], e["event"]) for e in d)')
same "both hubs list the same audit events" "$A1" "$A2"
r=$($H1 --json audit list --limit 100000 </dev/null | json_eval '
bad = [e for e in d if not isinstance(e.get("host"), str) or not e.get("host")]
"%d %d" % (len(d), len(bad))')
[ "${r#* }" = 0 ] && [ "${r% *}" -gt 20 ] && ok "every audit event has a string host (${r% *} events)" ||
	not_ok "every audit event has a string host (events, bad: $r)"
check -d "audit verify on hub 1" $H1 audit verify
check -d "audit verify on hub 2" $H2 audit verify
