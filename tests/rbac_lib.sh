# SPDX-License-Identifier: GPL-3.0-or-later
# tests/rbac_lib.sh: helpers for the RBAC integration tests, sourced after
# tests/lib.sh.
#
#   authz NAME SERVICE        the PAM authorize decision over the native
#                             protocol (tests/proto_client.py, as root);
#                             sets AZ_RC (0 allow, 1 deny, 4 unknown
#                             account, ...) and AZ_OUT ("allow",
#                             "deny REASON", "unknown")
#   authz_result NAME SERVICE prints the decision as the matrix spells it:
#                             allow | deny:REASON | unknown | error:RC:TEXT
#   check_authz EXPECTED NAME SERVICE [DESC]
#                             one ok / not ok line
#   audit_count EVENT         number of audit events of this type (-1 when
#                             audit list fails)
#   check_audit_delta EVENT BEFORE N DESC
#                             ok when audit_count EVENT == BEFORE + N
#   check_access NAME SPEC... account access --json NAME, checked against
#                             SPEC words (see access_check below)
#   rewrite_conf LINES...     rewrites $CONF like start_daemon does
#   grants_of NAME            "kind:scope:role" lines of grant list --json

PROTO_CLIENT="$TESTS_DIR/proto_client.py"

authz() { # NAME SERVICE
	AZ_OUT=$(timeout 15 "$PY" "$PROTO_CLIENT" "$SOCK" authorize "$1" "$2" </dev/null 2>"$TMPD/authz.err")
	AZ_RC=$?
	AZ_ERR=$(cat "$TMPD/authz.err" 2>/dev/null)
}

authz_result() { # NAME SERVICE
	authz "$1" "$2"
	case "$AZ_RC:$AZ_OUT" in
	"0:allow") echo allow ;;
	"1:deny "*) echo "deny:${AZ_OUT#deny }" ;;
	"4:unknown") echo unknown ;;
	*) echo "error:$AZ_RC:${AZ_OUT:-$AZ_ERR}" ;;
	esac
}

check_authz() { # EXPECTED NAME SERVICE [DESC]
	local want=$1 name=$2 svc=$3 desc=${4:-}
	local got
	got=$(authz_result "$name" "$svc")
	[ -n "$desc" ] || desc="authorize $name $svc -> $want"
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc (got $got)"
	fi
}

audit_count() { # EVENT
	if expect_exit 0 $CTL --json audit list --event "$1"; then
		printf '%s' "$OUT" | json_eval 'len([e for e in d if e.get("event") == sys.argv[2]])' "$1" 2>/dev/null ||
			echo -1
	else
		echo -1
	fi
}

# json_eval EXPR [ARGS...]: json_py with extra arguments (sys.argv[2:]).
json_eval() {
	"$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))
' "$@"
}

check_audit_delta() { # EVENT BEFORE N DESC
	local n
	n=$(audit_count "$1")
	if [ "$n" = $(($2 + $3)) ]; then
		ok "$4 ($1: +$3)"
	else
		not_ok "$4 ($1: expected $(($2 + $3)) events, got $n)"
	fi
}

# access_check JSON-on-stdin SPEC...: SPEC words are
#   role=R  status=S  caps=a,b (exact set; caps= for none)
#   services=a,b (exact list, in order)  svc+=x (x among services)
#   svc-=x (x not among services)  nsrc=N
#   src=TYPE:SCOPE:WORKSPACE:ROLE (one of the sources)
# Prints nothing when all hold, else one line per mismatch.
access_check() {
	"$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError as e:
    print("not JSON: %s" % e); sys.exit(0)
if not isinstance(d, dict):
    print("not an object"); sys.exit(0)
def lst(k):
    v = d.get(k)
    return v if isinstance(v, list) else None
srcs = []
for s in lst("sources") or []:
    if isinstance(s, dict):
        srcs.append("%s:%s:%s:%s" % (s.get("type"), s.get("scope"), s.get("workspace"), s.get("role")))
    else:
        srcs.append(repr(s))
for spec in sys.argv[1:]:
    if "+=" in spec or "-=" in spec:
        op = "+=" if "+=" in spec else "-="
        k, v = spec.split(op, 1)
        have = lst("services")
        if have is None:
            print("services is not an array: %r" % d.get("services"))
        elif (op == "+=") != (v in have):
            print("service %s %s in %s" % (v, "missing" if op == "+=" else "present", have))
        continue
    k, v = spec.split("=", 1)
    if k in ("role", "status", "name"):
        if d.get(k) != v:
            print("%s: want %s, got %r" % (k, v, d.get(k)))
    elif k == "caps":
        want = sorted(x for x in v.split(",") if x)
        have = lst("capabilities")
        if have is None or sorted(have) != want:
            print("capabilities: want %s, got %r" % (want, d.get("capabilities")))
    elif k == "services":
        want = [x for x in v.split(",") if x]
        if lst("services") != want:
            print("services: want %s, got %r" % (want, d.get("services")))
    elif k == "nsrc":
        if lst("sources") is None or len(lst("sources")) != int(v):
            print("sources: want %s entries, got %r" % (v, d.get("sources")))
    elif k == "src":
        if v not in srcs:
            print("sources: want %s among %s" % (v, srcs))
    else:
        print("bad spec %s" % spec)
' "$@"
}

check_access() { # NAME SPEC...
	local name=$1 bad
	shift
	if ! expect_exit 0 $CTL --json account access "$name"; then
		not_ok "account access $name --json: $*"
		return
	fi
	bad=$(printf '%s' "$OUT" | access_check "$@")
	if [ -z "$bad" ]; then
		ok "account access $name: $*"
	else
		not_ok "account access $name: $*"
		printf '%s\n' "$bad" | diag
		diag "json: $OUT"
	fi
}

rewrite_conf() { _svca_write_conf "$@"; }

# grants_of NAME: one "kind:scope:role" line per grant, sorted, from grant
# objects {"account", "scope_type": workspace|team, "scope", "role", ...}.
grants_of() {
	expect_exit 0 $CTL --json grant list "$1" || return 1
	printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
out = []
for g in d:
    k, s = g.get("scope_type"), g.get("scope")
    out.append("%s:%s:%s" % (k, s, g.get("role")))
print("\n".join(sorted(out)))
'
}
