#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# 64 svcacctctl clients create 64 accounts at once: every request succeeds,
# every account gets its own uid in [uid_min, uid_max], and the audit chain
# stays intact.
. "$(dirname "$0")/../lib.sh"

N=${CONCURRENCY:-64}

start_daemon || bail "daemon starts"

RES="$TMPD/results"
mkdir "$RES"
t0=$(now)
pids=()
for i in $(seq 1 "$N"); do
	name=$(printf 'conc%02d' "$i")
	(
		$CTL account create "$name" --description "concurrent $i" \
			>"$RES/$name.out" 2>"$RES/$name.err" </dev/null
		echo $? >"$RES/$name.rc"
	) &
	pids+=($!)
done
track_pid "${pids[@]}"
# bounded: a client that hangs fails the test instead of the whole run
deadline=$(($(date +%s) + 60))
for p in "${pids[@]}"; do
	while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.05; done
done
for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
t1=$(now)
diag "$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%d requests in %.2f s", n, b - a }')"

bad=0
for i in $(seq 1 "$N"); do
	name=$(printf 'conc%02d' "$i")
	rc=$(cat "$RES/$name.rc" 2>/dev/null || echo "none (hung)")
	if [ "$rc" != 0 ]; then
		bad=$((bad + 1))
		if [ "$bad" -le 5 ]; then
			diag "account create $name: exit $rc: $(head -c 300 "$RES/$name.err" 2>/dev/null)"
		fi
	fi
done
if [ "$bad" = 0 ]; then
	ok "$N concurrent account create requests all exit 0"
else
	not_ok "$N concurrent account create requests all exit 0 ($bad failed)"
fi

if daemon_alive; then ok "daemon alive after $N concurrent clients"; else bail "daemon alive after $N concurrent clients"; fi

if expect_exit 0 $CTL --json account list; then
	printf '%s' "$OUT" >"$TMPD/list.json"
	run_tap "$PY" - "$TMPD/list.json" "$N" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
try:
    d = json.load(open(path))
except ValueError as e:
    print("not ok - account list --json is JSON: %s" % e)
    sys.exit(0)
if not isinstance(d, list):
    print("not ok - account list --json is an array (got %s)" % type(d).__name__)
    sys.exit(0)
want = {"conc%02d" % i for i in range(1, n + 1)}
byname = {a.get("name"): a for a in d if isinstance(a, dict)}
missing = sorted(want - set(byname))
print(("ok" if not missing else "not ok") + " - all %d accounts listed%s"
      % (n, "" if not missing else " (missing: %s)" % " ".join(missing[:10])))
uids = [byname[x].get("uid") for x in sorted(want & set(byname))]
ints = [u for u in uids if isinstance(u, int) and not isinstance(u, bool)]
print(("ok" if len(ints) == len(uids) else "not ok") + " - every uid is an integer")
print(("ok" if len(set(ints)) == len(ints) == n else "not ok")
      + " - %d distinct uids (got %d distinct of %d)" % (n, len(set(ints)), len(ints)))
out = [u for u in ints if not 60000 <= u <= 60999]
print(("ok" if not out and ints else "not ok") + " - uids within [60000, 60999]%s"
      % ("" if not out else " (outside: %s)" % out[:10]))
descs = [x for x in sorted(want & set(byname))
         if byname[x].get("description") != "concurrent %d" % int(x[4:])]
print(("ok" if not descs and byname else "not ok") + " - each account has its own description%s"
      % ("" if not descs else " (wrong: %s)" % descs[:5]))
EOF
else
	not_ok "account list --json after concurrent creates"
fi

check -d "audit verify after concurrent creates" $CTL audit verify

if expect_exit 0 $CTL --json audit list --event account.create --limit 100000; then
	n=$(printf '%s' "$OUT" | json_py 'len({json.dumps(e.get("subject"), sort_keys=True) for e in d if e.get("event") == "account.create"})' 2>/dev/null)
	if [ "$n" = "$N" ]; then
		ok "$N account.create audit events"
	else
		not_ok "$N account.create audit events (got ${n:-unparsable})"
	fi
else
	not_ok "audit list --event account.create"
fi
