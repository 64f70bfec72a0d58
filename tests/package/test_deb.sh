#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tests/package/test_deb.sh [OUTDIR]: builds the Debian packages
# (packaging/build-deb.sh, into OUTDIR, default build/packages) and runs
# tests/package/in_root.sh against them in a throwaway root, never on the
# machine itself:
#
#   overlay  the machine's own system under overlayfs: /etc, /usr and /var
#            get a tmpfs upper layer, /run and /tmp a fresh tmpfs, all in a
#            private mount and pid namespace (unshare).  dpkg -i writes into
#            the overlay only; when the test ends (also on failure, timeout
#            or kill) the namespace dies with every process started in it
#            and every write.  Fast, offline; the packages' dependencies
#            must be installed on the machine (make deps).
#   chroot   a debootstrap --variant=minbase chroot of this machine's
#            release (cached as a tarball in OUTDIR/cache); apt-get installs
#            the packages there and pulls their dependencies from the
#            mirror, so Depends and the maintainer scripts' fallbacks for a
#            system without systemd (adduser, no systemd-tmpfiles) are
#            tested too.  Needs the mirror.
#
# SVCACCT_PKG_ROOT=auto (default: overlay, then chroot when debootstrap is
# installed and the mirror answers) | overlay | chroot | both.
# PKG_TEST_NO_BUILD=1 tests the .deb files already in OUTDIR; KEEP_TMP=1
# keeps the work directory (logs, the chroot) in /var/tmp.
# Time: each step is bounded (PKG_TEST_TIMEOUT, default 150 s) and the
# whole run by PKG_TEST_BUDGET (default 280 s): in auto mode the chroot is
# skipped when too little of the budget is left or debootstrap does not
# finish in it (a slow mirror is not a failure of the packages).
# Needs root; without it prints one SKIP line.  Ends with "N passed, M failed".

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/build/packages}
MODE=${SVCACCT_PKG_ROOT:-auto}
TMO=${PKG_TEST_TIMEOUT:-150}
DEADLINE=$(($(date +%s) + ${PKG_TEST_BUDGET:-280}))
PASS=0
FAIL=0
W=""

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit
}
cleanup() {
	# The namespaces (and their mounts) are gone once unshare returned:
	# nothing under $W is mounted in this namespace.
	if [ -n "$W" ] && [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $W"
	elif [ -n "$W" ]; then
		rm -rf --one-file-system "$W"
	fi
}
# Long steps run in the background (bounded) so that a signal reaches this
# script at once; the trap takes the step down with it (timeout passes the
# signal on, unshare --kill-child kills the namespace's init, and with it
# every process in the namespace).
CHILD=""
left() { echo $((DEADLINE - $(date +%s))); }
bounded() { # CMD...: sets RC (124 or 137 on timeout)
	local t
	t=$(left)
	[ "$t" -gt "$TMO" ] && t=$TMO
	[ "$t" -lt 1 ] && t=1
	timeout --kill-after=10 "$t" "$@" </dev/null &
	CHILD=$!
	wait "$CHILD"
	RC=$?
	CHILD=""
}
on_signal() {
	[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM HUP

if [ "$(id -u)" != 0 ]; then
	echo "ok - package test # SKIP needs root (dpkg, mount namespaces, chroot)"
	echo "1 passed, 0 failed"
	exit 0
fi
for t in unshare setpriv dpkg-buildpackage; do
	command -v "$t" >/dev/null || { not_ok "$t is installed (make pkg-deps)"; finish; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---- build ----------------------------------------------------------------------
if [ "${PKG_TEST_NO_BUILD:-0}" != 1 ]; then
	t0=$(date +%s)
	bounded "$REPO/packaging/build-deb.sh" "$OUT" >"$OUT/test-build.log" 2>&1
	if [ "$RC" = 0 ]; then
		ok "make deb: packages built, lintian without errors ($(($(date +%s) - t0)) s)"
		grep -E '^[EW]: ' "$OUT/lintian.txt" 2>/dev/null | sed 's/^/#   lintian /'
	else
		not_ok "make deb: packages built, lintian without errors"
		tail -n 40 "$OUT/test-build.log" | sed 's/^/#   /'
		finish
	fi
fi
DEBS=()
for p in svcacct libpam-svcacct libnss-svcacct; do
	f=$(ls -t "$OUT/${p}_"*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] || { not_ok "$OUT holds ${p}_*.deb"; finish; }
	DEBS+=("$f")
done

# Work directories of runs that were killed outright (SIGKILL): their
# namespaces, hence their mounts, died with them.
for d in /var/tmp/svcacct-pkgtest.*; do
	[ -f "$d/pid" ] || continue
	kill -0 "$(cat "$d/pid")" 2>/dev/null || rm -rf --one-file-system "$d"
done
W=$(mktemp -d /var/tmp/svcacct-pkgtest.XXXXXX)
echo $$ >"$W/pid"
mkdir -p "$W/payload"
cp "${DEBS[@]}" "$HERE/in_root.sh" "$W/payload/"

# Runs in_root.sh and counts its ok / not ok lines.
tally() { # LABEL LOG RC
	local label=$1 log=$2 rc=$3 p f
	sed -e "/^[0-9]* passed, [0-9]* failed$/d" -e "s/^\(not \)\{0,1\}ok - /&[$label] /" \
		-e "s/^# \[/# [$label] [/" "$log"
	p=$(grep -c '^ok - ' "$log")
	f=$(grep -c '^not ok - ' "$log")
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		not_ok "[$label] finished in time (PKG_TEST_TIMEOUT, PKG_TEST_BUDGET)"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		not_ok "[$label] in_root.sh exited $rc"
	elif ! grep -q '^[0-9]* passed, [0-9]* failed$' "$log"; then
		not_ok "[$label] in_root.sh ran to its end"
	fi
}

# ---- overlay ----------------------------------------------------------------------
run_overlay() {
	local p
	for p in svcacct libpam-svcacct libnss-svcacct; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
			not_ok "[overlay] $p is not installed on this machine (the overlay starts from it)"
			return
		fi
	done
	# shellcheck disable=SC2016
	bounded unshare --mount --pid --fork --kill-child \
		--mount-proc --propagation private -- /bin/bash -c '
		set -e
		W=$1
		mount -t tmpfs -o mode=0755,size=2g tmpfs /run
		mkdir -p /run/pkgtest/payload
		cp "$W"/payload/* /run/pkgtest/payload/
		for d in etc usr var; do
			mkdir -p /run/pkgtest/ovl/$d/u /run/pkgtest/ovl/$d/w
			mount -t overlay overlay \
				-o lowerdir=/$d,upperdir=/run/pkgtest/ovl/$d/u,workdir=/run/pkgtest/ovl/$d/w /$d
		done
		mount -t tmpfs -o mode=1777 tmpfs /tmp
		set +e
		/bin/bash /run/pkgtest/payload/in_root.sh /run/pkgtest/payload dpkg
		' overlay "$W" >"$W/overlay.log" 2>&1
	tally overlay "$W/overlay.log" "$RC"
}

# ---- chroot -------------------------------------------------------------------------
mirror_url() {
	local u
	u=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	[ -n "$u" ] || u=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	echo "${u:-http://deb.debian.org/debian}"
}
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
MIRROR=$(mirror_url)

chroot_possible() {
	command -v debootstrap >/dev/null && [ -n "$SUITE" ] &&
		command -v curl >/dev/null &&
		curl -fsI --max-time 10 "$MIRROR/dists/$SUITE/Release" >/dev/null 2>&1
}

run_chroot() {
	local R=$W/root cache=$OUT/cache/$SUITE-minbase.tar t0
	mkdir -p "$R" "$OUT/cache"
	t0=$(date +%s)
	if [ -f "$cache" ] && [ -n "$(find "$cache" -mtime -7)" ]; then
		tar -C "$R" -xf "$cache" || { not_ok "[chroot] unpack $cache"; return; }
	else
		rm -f "$cache"
		bounded unshare --mount --propagation private -- debootstrap \
			--variant=minbase --include=pamtester,sudo "$SUITE" "$R" "$MIRROR" \
			>"$W/debootstrap.log" 2>&1
		if [ "$RC" = 0 ]; then
			tar -C "$R" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
		elif { [ "$RC" = 124 ] || [ "$RC" = 137 ]; } && [ "$MODE" = auto ]; then
			echo "ok - [chroot] # SKIP debootstrap did not finish within the time budget"
			PASS=$((PASS + 1))
			return
		else
			not_ok "[chroot] debootstrap $SUITE from $MIRROR"
			tail -n 20 "$W/debootstrap.log" | sed 's/^/#   /'
			return
		fi
	fi
	echo "# [chroot] $SUITE minbase root ready in $(($(date +%s) - t0)) s"
	mkdir -p "$R/payload"
	cp "$W"/payload/* "$R/payload/"
	cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	# shellcheck disable=SC2016
	bounded unshare --mount --pid --fork --kill-child \
		--mount-proc --propagation private -- /bin/bash -c '
		set -e
		R=$1
		mount -t proc proc "$R/proc"
		mount --rbind /dev "$R/dev"
		mount -t tmpfs -o mode=0755 tmpfs "$R/run"
		mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
		set +e
		chroot "$R" /bin/sh -c "apt-get update -q >/tmp/apt-update.log 2>&1 || cat /tmp/apt-update.log"
		chroot "$R" /bin/bash /payload/in_root.sh /payload apt
		' chroot "$R" >"$W/chroot.log" 2>&1
	tally chroot "$W/chroot.log" "$RC"
}

case $MODE in
overlay) run_overlay ;;
chroot)
	if chroot_possible; then run_chroot; else not_ok "[chroot] debootstrap and $MIRROR are available"; fi
	;;
auto | both)
	run_overlay
	if [ "$MODE" = auto ] && [ "$(left)" -lt 60 ]; then
		echo "ok - [chroot] # SKIP less than 60 s of PKG_TEST_BUDGET left"
		PASS=$((PASS + 1))
	elif chroot_possible; then
		run_chroot
	elif [ "$MODE" = both ]; then
		not_ok "[chroot] debootstrap and $MIRROR are available"
	else
		echo "ok - [chroot] # SKIP debootstrap or the mirror $MIRROR is not available"
		PASS=$((PASS + 1))
	fi
	;;
*)
	not_ok "SVCACCT_PKG_ROOT is auto, overlay, chroot or both (not '$MODE')"
	;;
esac
finish
