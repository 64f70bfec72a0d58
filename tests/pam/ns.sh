# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# tests/pam/ns.sh: sourced first (before tests/lib.sh) by the PAM tests.
#
# Re-executes the test script in a private mount namespace (unshare -m,
# propagation private), so that the bind mounts over /etc/pam.d,
# /etc/passwd, /etc/sudoers, /run, /dev ... that tests/pam/pamlib.sh makes
# exist only for the test's own processes and vanish with them, also when
# the test fails or is killed.  The machine's real configuration is never
# written to.
#
# Needs root (the tests run sshd, sudo and su for real).  Without it the
# script prints one "ok - ... # SKIP" line and exits 0.

if [ -z "${SVCA_PAM_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "ok - $(basename "$0" .sh): # SKIP needs root (mount namespace, pamtester, sshd, sudo, su)"
		exit 0
	fi
	if ! unshare --mount --propagation private -- true 2>/dev/null; then
		echo "not ok - $(basename "$0" .sh): a private mount namespace (unshare --mount) is available"
		exit 1
	fi
	export SVCA_PAM_NS=1
	exec unshare --mount --propagation private -- /bin/bash "$0" "$@"
fi
