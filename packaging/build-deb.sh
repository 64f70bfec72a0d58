#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# packaging/build-deb.sh OUTDIR: builds the Debian binary packages
# (svcacct, libpam-svcacct, libnss-svcacct) with dpkg-buildpackage -us -uc -b
# in a temporary copy of the working tree, copies the .deb files and the
# .buildinfo/.changes to OUTDIR and runs lintian on them (lintian.txt).
#
# The copy holds every tracked and untracked file that .gitignore does not
# exclude (so work not yet committed is packaged too), with packaging/debian
# copied to ./debian; the repository itself is never written to.
#
# Environment: KEEP_TMP=1 keeps the temporary tree; LINTIAN=0 skips lintian;
# DEB_BUILD_OPTIONS is passed through (e.g. nocheck, parallel=N).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/build/packages}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

TMP=$(mktemp -d /tmp/svcacct-deb.XXXXXXXX)
cleanup() {
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

SRC=$TMP/svcacct
mkdir -p "$SRC"
"$REPO/packaging/tree-copy.sh" "$SRC"
rm -rf "$SRC/debian"
cp -a "$SRC/packaging/debian" "$SRC/debian"

version=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
upstream=$(sed -n 's/^#define SVCA_VERSION "\(.*\)"/\1/p' "$SRC/common/defaults.h")
if [ -n "$upstream" ] && [ "${version%%-*}" != "$upstream" ]; then
	echo "build-deb: debian/changelog says $version, common/defaults.h says $upstream;" \
		"add a changelog entry (dch -v $upstream)" >&2
	exit 1
fi

echo "build-deb: dpkg-buildpackage -us -uc -b in $SRC"
(cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 || {
	tail -n 60 "$TMP/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed; full log: $OUT/build-deb.log" >&2
	cp "$TMP/build.log" "$OUT/build-deb.log"
	exit 1
}
cp "$TMP/build.log" "$OUT/build-deb.log"

rm -f "$OUT"/*.deb "$OUT"/svcacct_*.changes "$OUT"/svcacct_*.buildinfo
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
changes=$TMP/svcacct_${version}_${arch}.changes
for f in $(awk '/^Files:/{f=1;next} /^[^ ]/{f=0} f{print $5}' "$changes"); do
	cp "$TMP/$f" "$OUT/"
done
cp "$changes" "$OUT/"
ls -1 "$OUT"/*.deb

if [ "${LINTIAN:-1}" != 0 ] && command -v lintian >/dev/null; then
	echo "build-deb: lintian"
	# Errors fail the build; warnings and info are printed and kept.
	set +e
	lintian --info --display-info --pedantic --no-tag-display-limit \
		"$OUT/$(basename "$changes")" >"$OUT/lintian.txt" 2>&1
	rc=$?
	set -e
	cat "$OUT/lintian.txt"
	if [ $rc -ne 0 ] && grep -q '^E: ' "$OUT/lintian.txt"; then
		echo "build-deb: lintian reported errors" >&2
		exit 1
	fi
fi
