# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/nss/nss_lib.sh: helpers for the NSS integration tests
# (tests/integration/t_nss_*.sh).
#
# How the module is made visible without touching the host:
#   - the script re-executes itself in a private mount namespace
#     (unshare -m --propagation private), where a test nsswitch.conf is
#     bind-mounted over /etc/nsswitch.conf;
#   - glibc dlopen()s "libnss_svcacct.so.2" by soname, and dlopen honours
#     LD_LIBRARY_PATH for programs that are not setuid: a private directory
#     holding a copy of the built module comes first on it;
#   - the module reads the snapshot from $SVCACCT_NSS_DIR (honoured for
#     non-setuid processes when the snapshot belongs to root or to the
#     caller) = the daemon's nss_dir under the test's temp dir.
#
# Usage, at the very top of a test script:
#   . "$(dirname "$0")/../nss/nss_lib.sh"
#   nss_enter_namespace "$@"
#   . "$(dirname "$0")/../lib.sh"
# then, after start_daemon:
#   nss_setup ["passwd: files svcacct" ...]   nsswitch lines (default: files svcacct)
#
# Provides: NSS_SO (module copy), NSS_BIN (compiled helpers: nss_call,
# nss_erange, nss_threads), nss_call ARGS (the module's entry points,
# direct), nss_switch LINES... (rewrites the bind-mounted nsswitch.conf).

nss_enter_namespace() {
	if [ "${SVCA_NSS_IN_NS:-}" != 1 ]; then
		export SVCA_NSS_IN_NS=1
		if ! unshare -m --propagation private true 2>/dev/null; then
			echo "not ok - a private mount namespace (unshare -m, needs root)"
			exit 1
		fi
		exec unshare -m --propagation private bash "$0" "$@"
	fi
}

# Compiles the C helpers of tests/nss/ (without sanitizers: they load the
# module, which is built without them).
_nss_build_helpers() {
	local src=$REPO_DIR/tests/nss f
	NSS_BIN=$TMPD/nssbin
	mkdir -p "$NSS_BIN"
	for f in nss_call nss_erange nss_threads; do
		if ! cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$NSS_BIN/$f" "$src/$f.c" -ldl \
			>"$TMPD/cc.$f.log" 2>&1; then
			diag_file "$TMPD/cc.$f.log"
			bail "compile tests/nss/$f.c"
		fi
	done
	export NSS_BIN
}

nss_switch() { # LINES...
	printf '%s\n' "# written by tests/nss/nss_lib.sh" "$@" >"$TMPD/nsswitch.conf"
}

nss_setup() {
	[ "${SVCA_NSS_IN_NS:-}" = 1 ] || bail "nss_setup outside the private mount namespace"
	local so=$SVCACCT_BUILD/libnss_svcacct.so.2
	[ -f "$so" ] || bail "module built: $so"
	mkdir -p "$TMPD/nsslib"
	cp "$so" "$TMPD/nsslib/libnss_svcacct.so.2"
	NSS_SO=$TMPD/nsslib/libnss_svcacct.so.2
	if [ $# -eq 0 ]; then
		set -- "passwd: files svcacct" "group: files svcacct"
	fi
	nss_switch "$@"
	mount --bind "$TMPD/nsswitch.conf" /etc/nsswitch.conf || bail "bind-mount a test nsswitch.conf"
	export LD_LIBRARY_PATH=$TMPD/nsslib
	export SVCACCT_NSS_DIR=$NSSD
	export NSS_SO
	_nss_build_helpers
}

nss_call() { "$NSS_BIN/nss_call" "$NSS_SO" "$@"; }

# check_out DESC EXPECTED CMD...: ok when CMD exits 0 and prints EXPECTED.
check_out() {
	local desc=$1 want=$2
	shift 2
	if expect_exit 0 "$@" && [ "$OUT" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected: $want"
		diag "got:      $OUT"
	fi
}

# getent_line DB KEY: the line getent prints, or "(exit N)".
getent_line() {
	local out rc
	out=$(getent "$1" "$2" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then printf '%s\n' "$out"; else printf '(exit %s)\n' "$rc"; fi
}

# uid_of NAME: the account's uid from svcacctctl.
uid_of() {
	$CTL --json account show "$1" | json_py 'd["uid"]'
}
