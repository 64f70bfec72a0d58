#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lint/spdx.sh: every tracked source file names its licence in an SPDX line
# near its top, and the licence is the one of its folder (LICENSE explains
# the split):
#   common/, pam_svcacct/, nss_svcacct/   LGPL-2.1-or-later (loaded into, or
#                                         linked by, every program that
#                                         authenticates or resolves a user)
#   everything else                       GPL-3.0-or-later (links GDBM)
# Source files: *.c *.h *.map *.sh *.py, Makefiles, and scripts with a #!
# line.  Usage: lint/spdx.sh [--add]   (--add inserts the missing lines)
set -euo pipefail
cd "$(dirname "$0")/.."

add=0
[ "${1:-}" = --add ] && add=1

licence_of() {
	case "$1" in
	common/* | pam_svcacct/* | nss_svcacct/*) echo LGPL-2.1-or-later ;;
	*) echo GPL-3.0-or-later ;;
	esac
}

# comment_for FILE LICENCE: the line to insert, in the file's comment syntax.
comment_for() {
	case "$1" in
	*.c | *.h | *.map) echo "/* SPDX-License-Identifier: $2 */" ;;
	*) echo "# SPDX-License-Identifier: $2" ;;
	esac
}

is_source() {
	case "$1" in
	fuzz/corpus/* | fuzz/crashes/* | fuzz/seeds/*) return 1 ;;
	*.c | *.h | *.map | *.sh | *.py | Makefile | */Makefile | */rules) return 0 ;;
	esac
	[ -f "$1" ] && head -c 2 "$1" | grep -q '^#!'
}

bad=0
while IFS= read -r f; do
	is_source "$f" || continue
	want=$(licence_of "$f")
	if head -n 5 "$f" | grep -q "SPDX-License-Identifier: $want\$\|SPDX-License-Identifier: $want \*/\$"; then
		continue
	fi
	if head -n 5 "$f" | grep -q 'SPDX-License-Identifier:'; then
		echo "$f: SPDX line names another licence than $want" >&2
		bad=1
		continue
	fi
	if [ "$add" = 1 ]; then
		line=$(comment_for "$f" "$want")
		if head -c 2 "$f" | grep -q '^#!'; then
			sed -i "1a $line" "$f"
		else
			sed -i "1i $line" "$f"
		fi
		echo "added: $f"
	else
		echo "$f: no SPDX-License-Identifier: $want line in its first 5 lines" >&2
		bad=1
	fi
done < <(git ls-files)

if [ "$bad" = 0 ]; then
	echo "spdx: every source file names its licence"
else
	echo "spdx: run lint/spdx.sh --add, or fix the lines above" >&2
fi
exit "$bad"
