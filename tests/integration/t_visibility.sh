#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# What a reply promises holds while the daemon writes batches in the
# background (pipelined group commit): with token exchanges over the native
# protocol and the HTTP front keeping batches in flight (the HTTP front makes
# its change durable with a synchronous flush, which can collect the batch
# in flight), every `account create` that returns has its account already
# resolvable through NSS, and every `account delete` that returns has it
# gone.  Then the audit chain verifies and every acknowledged exchange has
# its token.issue event.
. "$(dirname "$0")/../nss/nss_lib.sh"
nss_enter_namespace "$@"
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/http/http_lib.sh"
. "$TESTS_DIR/cred_lib.sh"

ROUNDS=${VIS_ROUNDS:-40}

start_http_daemon "rate_limit_count = 100000;" "rate_limit_window = 1;" ||
	bail "svcacctd starts with http_socket"
nss_setup

check -d "an account with a key for the load" $CTL account create load
KEY=$($CTL key create load 2>/dev/null </dev/null | tail -n 1)
[ -n "$KEY" ] || bail "key for load created"
printf '%s' "$KEY" >"$TMPD/key"
printf 'x-api-key: %s\n' "$KEY" >"$TMPD/key.header"
chmod 600 "$TMPD/key" "$TMPD/key.header"

STOP=$TMPD/stop
LOAD_PIDS=()
: >"$TMPD/native.ok"
: >"$TMPD/http.ok"
# native exchanges: 3 loops (the key on stdin, never in argv)
for n in 1 2 3; do
	(
		while [ ! -e "$STOP" ]; do
			if $CTL token create --key-file "$TMPD/key" >/dev/null 2>&1; then
				echo ok >>"$TMPD/native.ok"
			fi
		done
	) &
	LOAD_PIDS+=($!)
done
# HTTP exchanges: 2 loops
for n in 1 2; do
	(
		while [ ! -e "$STOP" ]; do
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
				--unix-socket "$HSOCK" -X POST -H @"$TMPD/key.header" \
				"$HB/service-account-tokens")
			[ "$code" = 200 ] && echo ok >>"$TMPD/http.ok"
		done
	) &
	LOAD_PIDS+=($!)
done

bad_create=0 bad_delete=0 failed=0
for i in $(seq "$ROUNDS"); do
	if ! $CTL account create "vis$i" >/dev/null 2>"$TMPD/err"; then
		failed=$((failed + 1))
		continue
	fi
	getent passwd "vis$i" >/dev/null || bad_create=$((bad_create + 1))
	if [ $((i % 2)) = 0 ]; then
		if $CTL account delete "vis$i" >/dev/null 2>"$TMPD/err"; then
			getent passwd "vis$i" >/dev/null && bad_delete=$((bad_delete + 1))
		else
			failed=$((failed + 1))
		fi
	fi
done
touch "$STOP"
wait "${LOAD_PIDS[@]}" # not a bare wait: the syslog sink runs until the end

nat=$(wc -l <"$TMPD/native.ok")
htt=$(wc -l <"$TMPD/http.ok")
diag "$ROUNDS creates (half deleted again) during $nat native and $htt HTTP exchanges"
if [ "$failed" = 0 ]; then ok "every create and delete succeeded under load"; else not_ok "every create and delete succeeded under load ($failed failed: $(cat "$TMPD/err"))"; fi
if [ "$bad_create" = 0 ]; then
	ok "every created account resolved through NSS as soon as the create returned"
else
	not_ok "every created account resolved through NSS as soon as the create returned ($bad_create did not)"
fi
if [ "$bad_delete" = 0 ]; then
	ok "every deleted account was gone from NSS as soon as the delete returned"
else
	not_ok "every deleted account was gone from NSS as soon as the delete returned ($bad_delete were not)"
fi
if [ "$nat" -gt 0 ] && [ "$htt" -gt 0 ]; then
	ok "exchanges went through on both fronts meanwhile"
else
	not_ok "exchanges went through on both fronts meanwhile (native $nat, HTTP $htt)"
fi
check -d "audit verify" $CTL audit verify
issued=$($CTL --json audit list --event token.issue --limit 1000000 </dev/null 2>/dev/null |
	json_eval 'len(d)')
if [ -n "$issued" ] && [ "$issued" -ge $((nat + htt)) ]; then
	ok "every acknowledged exchange has its token.issue event ($issued >= $((nat + htt)))"
else
	not_ok "every acknowledged exchange has its token.issue event (${issued:-?} < $((nat + htt)))"
fi
