# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/private_ns.sh: sourced first (before tests/lib.sh) by the tests that
# mount a small file system of their own (t_diskfull, t_sec_flood).
#
# Re-executes the test script in a private mount namespace, so its tmpfs
# exists only for the test's own processes and vanishes with them, also
# when the test fails or is killed.  Needs root; without a namespace the
# script fails with one "not ok" line.
if [ "${SVCA_PRIVATE_NS:-}" != 1 ]; then
	export SVCA_PRIVATE_NS=1
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "not ok - a private mount namespace (unshare -m, needs root)"
		exit 1
	fi
	exec unshare -m --propagation private bash "$0" "$@"
fi
