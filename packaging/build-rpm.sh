#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# packaging/build-rpm.sh OUTDIR: builds the RPMs (svcacct, svcacct-pam,
# svcacct-nss) with rpmbuild -bb from packaging/rpm/svcacct.spec and a
# source tarball made from the working tree (tracked and untracked files,
# as packaging/tree-copy.sh copies them), copies them to OUTDIR and runs
# rpmlint on them when it is installed (rpmlint.txt).
#
# On a system whose rpm database does not hold the build dependencies
# (Debian, Ubuntu), rpmbuild runs with --nodeps and without debuginfo
# packages: the RPMs then link the build host's libraries and serve to
# check the spec; build the RPMs to ship on the target distribution (mock,
# or rpmbuild -ta on the tarball).  KEEP_TMP=1 keeps the temporary tree.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/build/packages}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SPEC=$REPO/packaging/rpm/svcacct.spec

TMP=$(mktemp -d /tmp/svcacct-rpm.XXXXXXXX)
cleanup() {
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

version=$(rpmspec -q --srpm --qf '%{version}' "$SPEC" 2>/dev/null ||
	sed -n 's/^Version:[[:space:]]*//p' "$SPEC")
upstream=$(sed -n 's/^#define SVCA_VERSION "\(.*\)"/\1/p' "$REPO/common/defaults.h")
if [ -n "$upstream" ] && [ "$version" != "$upstream" ]; then
	echo "build-rpm: svcacct.spec says $version, common/defaults.h says $upstream" >&2
	exit 1
fi

top=$TMP/rpmbuild
mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS}
"$REPO/packaging/tree-copy.sh" "$TMP/svcacct-$version"
tar -C "$TMP" --owner=0 --group=0 -czf "$top/SOURCES/svcacct-$version.tar.gz" "svcacct-$version"
cp "$SPEC" "$top/SPECS/"

args=(-bb --define "_topdir $top")
if ! rpm -q --whatprovides pam-devel >/dev/null 2>&1; then
	args+=(--nodeps --define "debug_package %{nil}")
	echo "build-rpm: build dependencies are not in the rpm database; rpmbuild --nodeps"
fi
echo "build-rpm: rpmbuild ${args[*]}"
rpmbuild "${args[@]}" "$top/SPECS/svcacct.spec" >"$OUT/build-rpm.log" 2>&1 || {
	tail -n 40 "$OUT/build-rpm.log" >&2
	echo "build-rpm: rpmbuild failed; full log: $OUT/build-rpm.log" >&2
	exit 1
}
rm -f "$OUT"/svcacct-*.rpm
find "$top/RPMS" -name '*.rpm' -exec cp {} "$OUT/" \;
ls -1 "$OUT"/*.rpm

if command -v rpmlint >/dev/null; then
	echo "build-rpm: rpmlint"
	set +e
	rpmlint -r "$REPO/packaging/rpm/svcacct.rpmlintrc" "$SPEC" "$OUT"/svcacct-*.rpm \
		>"$OUT/rpmlint.txt" 2>&1
	set -e
	cat "$OUT/rpmlint.txt"
fi
