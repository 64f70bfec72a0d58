#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Moving in (issue 16 item 8): svcacctd --import STATE_DIR moves a
# standalone host's state into an empty hub database, so that a key made
# before the move logs in on the hub, uids stay, and the audit chain goes
# on from the host's records.  Refusals change nothing: a database that
# already holds an organization, a standalone daemon still running, a hub
# that already has another pepper, a config without `database`.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/lib_pg.sh"

pg_start
hub_init 1
hub_init 2 # its directories are the standalone host's
sed -i '/^database *=/d' "${HUB_CONF[2]}"
STANDALONE=${HUB_STATE[2]}

# ---- the standalone host, with an account, a grant, a key ------------------------
hub_start 2 || bail "the standalone daemon did not start"
check -d "standalone: account create old-bot" hub_ctl 2 account create old-bot --description "before the fleet"
check -d "standalone: team and workspace" hub_ctl 2 team create ops
check hub_ctl 2 workspace create build --team ops
check hub_ctl 2 grant add old-bot --workspace build --role editor
expect_exit 0 hub_ctl 2 key create old-bot --label pre-import
KEY=$(printf '%s\n' "$OUT" | tail -n 1)
UID_BEFORE=$(hub_ctl 2 --json account show old-bot | jq -r .uid)
KEYF=$TMPD/old.key
printf '%s\n' "$KEY" >"$KEYF"
chmod 0600 "$KEYF"
check -d "standalone: the key exchanges before the move" hub_ctl 2 token create --key-file "$KEYF"
N_AUDIT=$(hub_ctl 2 --json audit list | jq length)

# ---- refusals that change nothing ------------------------------------------------
pg_migrate
check_exit 1 -d "import while the standalone daemon runs is refused" \
	"$SVCACCTD" -c "$CONF" --import "$STANDALONE"
grep -q 'another svcacctd' <<<"$ERR" && ok "  ...naming the running daemon" ||
	{ not_ok "  ...naming the running daemon"; diag "$ERR"; }
hub_stop 2

grep -v '^database *=' "$CONF" >"$TMPD/nodb.conf"
check_exit 1 -d "import without 'database' in the config is refused" \
	"$SVCACCTD" -c "$TMPD/nodb.conf" --import "$STANDALONE"
grep -q "needs 'database'" <<<"$ERR" && ok "  ...saying it needs 'database'" ||
	{ not_ok "  ...saying it needs 'database'"; diag "$ERR"; }

head -c 32 /dev/urandom >"$STATE/pepper"
chmod 0600 "$STATE/pepper"
check_exit 1 -d "import onto a hub that has another pepper is refused" \
	"$SVCACCTD" -c "$CONF" --import "$STANDALONE"
grep -q 'already holds another secret' <<<"$ERR" && ok "  ...naming the pepper file" ||
	{ not_ok "  ...naming the pepper file"; diag "$ERR"; }
n=$(pg_psql -c 'SELECT count(*) FROM svcacct_kv')
[ "$n" = 0 ] && ok "nothing was written to the database" || not_ok "nothing was written ($n rows)"
rm -f "$STATE/pepper"

# ---- the move ------------------------------------------------------------------------
check -d "svcacctd --import moves the standalone state" "$SVCACCTD" -c "$CONF" --import "$STANDALONE"
grep -q 'imported' <<<"$ERR$OUT" && ok "  ...and says how much" || not_ok "  ...and says how much"
check_exit 1 -d "a second import into the same database is refused" \
	"$SVCACCTD" -c "$CONF" --import "$STANDALONE"
grep -q 'already holds an organization' <<<"$ERR" && ok "  ...the database is not empty" ||
	{ not_ok "  ...the database is not empty"; diag "$ERR"; }
cmp -s "$STATE/pepper" "$STANDALONE/pepper" && ok "the hub took the host's pepper" ||
	not_ok "the hub took the host's pepper"

hub_start 1 || bail "the hub did not start after the import"
check -d "hub: the key made before the import exchanges" $CTL token create --key-file "$KEYF"
uid=$($CTL --json account show old-bot | jq -r .uid)
[ "$uid" = "$UID_BEFORE" ] && ok "hub: old-bot keeps its uid ($uid)" ||
	not_ok "hub: old-bot keeps its uid ($UID_BEFORE -> $uid)"
desc=$($CTL --json account show old-bot | jq -r .description)
[ "$desc" = "before the fleet" ] && ok "hub: the description came along" || not_ok "hub: description ($desc)"
$CTL --json grant list old-bot | jq -e '.[] | select(.scope_type == "workspace" and .scope == "build" and .role == "editor")' >/dev/null &&
	ok "hub: the grant came along" || not_ok "hub: the grant came along"
$CTL --json key list old-bot | jq -e '.[] | select(.label == "pre-import" and .status == "active")' >/dev/null &&
	ok "hub: the key is listed active" || not_ok "hub: the key is listed active"
check -d "hub: audit verify checks the imported records with the new ones" $CTL audit verify
n=$($CTL --json audit list | jq length)
[ "$n" -gt "$N_AUDIT" ] && ok "hub: the audit trail holds the host's $N_AUDIT events and more ($n)" ||
	not_ok "hub: the audit trail holds the host's events ($N_AUDIT before, $n now)"
$CTL --json audit list --event account.create | jq -e '.[] | select(.subject.account == "old-bot")' >/dev/null &&
	ok "hub: the standalone account.create event is in the trail" ||
	not_ok "hub: the standalone account.create event is in the trail"
check -d "hub: a new account gets the next uid" $CTL account create new-bot
uid2=$($CTL --json account show new-bot | jq -r .uid)
[ "$uid2" != "$UID_BEFORE" ] && ok "hub: no uid issued twice ($uid2)" || not_ok "hub: uid $uid2 issued twice"

