#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# packaging/tree-copy.sh DEST: copies the working tree's source into DEST:
# every tracked file and every untracked one that .gitignore does not
# exclude (build outputs stay out), as they are on disk now.  Without git
# (an unpacked tarball), everything but build directories.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DEST=$1
mkdir -p "$DEST"
cd "$REPO"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# '!*.d/': keep directories named *.d (etc/pam.d, etc/sudoers.d, ...)
	# even if an ignore pattern for dependency files ("*.d") matches them.
	git ls-files -z --cached --others --exclude-standard --exclude='!*.d/' |
		while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$DEST"
else
	tar --exclude=./build --exclude=./build-asan --exclude=./debian -cf - . | tar -xf - -C "$DEST"
fi
