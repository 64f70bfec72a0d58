#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tools/svcacct-nss-setup on copies of nsswitch.conf: enable adds svcacct to
# passwd/group/initgroups inside marked blocks, disable restores the file
# byte for byte, both idempotent; odd files (no final newline, trailing
# comments, hand-added svcacct, missing lines, symlinks, modes) keep every
# other byte; the result works with glibc and the module.
. "$(dirname "$0")/../nss/nss_lib.sh"
nss_enter_namespace "$@"
. "$(dirname "$0")/../lib.sh"

SETUP=$REPO_DIR/tools/svcacct-nss-setup
T=$(mktemp -d /tmp/svcacct-nss-setup.XXXXXX) || bail "mktemp"
TMPD=$T # removed by lib.sh's cleanup
chmod 755 "$T"

# the sample: tabs, comments, a trailing comment, an initgroups line
printf '%s\n' '# nsswitch.conf sample' '' \
	'passwd:         files systemd' \
	"group:	files # local groups only" \
	'shadow:         files' \
	'initgroups:     files' \
	'  hosts:        files dns' \
	'#passwd: compat' >"$T/sample"

strip_blocks() { # FILE: the enabled file with the blocks' bookkeeping and the word removed
	sed -e '/^# svcacct begin/d' -e '/^# svcacct end/d' -e '/^#|/d' -e 's/ svcacct//' "$1"
}

cp "$T/sample" "$T/f"
check_exit 3 -d "status before: not enabled (exit 3)" sh "$SETUP" status --file "$T/f"
check -d "enable" sh "$SETUP" enable --file "$T/f"
check_out "passwd line gets svcacct last" "passwd:         files systemd svcacct" grep '^passwd:' "$T/f"
check_out "a trailing comment stays after the services" "group:	files svcacct # local groups only" grep '^group:' "$T/f"
check_out "initgroups gets it too" "initgroups:     files svcacct" grep '^initgroups:' "$T/f"
check_out "three marked blocks" 3 grep -c '^# svcacct begin' "$T/f"
check_out "the original lines kept as comments" 3 grep -c '^#|' "$T/f"
if strip_blocks "$T/f" | cmp -s - "$T/sample"; then ok "every other byte unchanged"; else not_ok "every other byte unchanged"; diff "$T/sample" "$T/f" | diag; fi
check -d "status after enable: exit 0" sh "$SETUP" status --file "$T/f"
cp "$T/f" "$T/once"
check -d "enable again" sh "$SETUP" enable --file "$T/f"
check -d "enable is idempotent" cmp "$T/f" "$T/once"
check -d "disable" sh "$SETUP" disable --file "$T/f"
check -d "disable restores the file byte for byte" cmp "$T/f" "$T/sample"
check -d "disable again" sh "$SETUP" disable --file "$T/f"
check -d "disable is idempotent" cmp "$T/f" "$T/sample"

# --dry-run changes nothing
cp "$T/sample" "$T/f"
check -d "enable --dry-run" sh "$SETUP" enable --file "$T/f" --dry-run
if printf '%s' "$OUT" | grep -q '^+passwd: *files systemd svcacct'; then ok "--dry-run shows the diff"; else not_ok "--dry-run shows the diff"; fi
check -d "--dry-run leaves the file alone" cmp "$T/f" "$T/sample"

# svcacct added by hand: left alone, by enable and by disable
printf 'passwd: files svcacct\ngroup: files\n' >"$T/h"
cp "$T/h" "$T/h.orig"
check -d "enable with a hand-added svcacct" sh "$SETUP" enable --file "$T/h"
check_out "the hand-made passwd line is not wrapped" 1 grep -c '^# svcacct begin' "$T/h"
check -d "disable" sh "$SETUP" disable --file "$T/h"
check -d "the hand-added svcacct stays" cmp "$T/h" "$T/h.orig"

# no final newline
printf 'passwd: files\ngroup: files' >"$T/n"
cp "$T/n" "$T/n.orig"
check -d "enable on a file without a final newline" sh "$SETUP" enable --file "$T/n"
check_out "both lines enabled" 2 grep -c 'svcacct$' "$T/n"
check -d "disable" sh "$SETUP" disable --file "$T/n"
check -d "no-final-newline file restored byte for byte" cmp "$T/n" "$T/n.orig"
printf 'passwd: files svcacct\ngroup: files svcacct' >"$T/n2"
cp "$T/n2" "$T/n2.orig"
check -d "enable with nothing to do (no final newline)" sh "$SETUP" enable --file "$T/n2"
check -d "... leaves that file untouched" cmp "$T/n2" "$T/n2.orig"

# missing lines are added in a block, and removed again
printf '# only hosts\nhosts: files dns\n' >"$T/m"
cp "$T/m" "$T/m.orig"
check -d "enable without passwd/group lines" sh "$SETUP" enable --file "$T/m"
check_out "passwd and group lines added" "passwd: files svcacct group: files svcacct" \
	sh -c "grep -E '^(passwd|group):' '$T/m' | tr '\n' ' ' | sed 's/ \$//'"
check -d "disable removes them" sh "$SETUP" disable --file "$T/m"
check -d "... byte for byte" cmp "$T/m" "$T/m.orig"

# mode, owner and symlinks
cp "$T/sample" "$T/p" && chmod 640 "$T/p" && chown 0:65534 "$T/p" 2>/dev/null
check -d "enable a 0640 file" sh "$SETUP" enable --file "$T/p"
check_out "mode and owner kept" "640 0:65534" stat -c '%a %u:%g' "$T/p"
cp "$T/sample" "$T/target" && ln -s target "$T/link"
check -d "enable through a symlink" sh "$SETUP" enable --file "$T/link"
if [ -L "$T/link" ] && grep -q 'svcacct' "$T/target"; then ok "the link stays a link; its target is edited"; else not_ok "the link stays a link; its target is edited"; fi

# a damaged block is refused
printf '# svcacct begin: x\n#|passwd: files\npasswd: files svcacct\n' >"$T/d"
cp "$T/d" "$T/d.orig"
check_exit 1 -d "disable refuses an unterminated block" sh "$SETUP" disable --file "$T/d"
check -d "... and changes nothing" cmp "$T/d" "$T/d.orig"
check_exit 2 -d "usage error: exit 2" sh "$SETUP" frobnicate
# --help is a request: the help on stdout, exit 0, nothing on stderr
if expect_exit 0 sh "$SETUP" --help && printf '%s\n' "$OUT" | grep -q '^usage: svcacct-nss-setup ' &&
	printf '%s\n' "$OUT" | grep -q -e '--dry-run' && [ -z "$ERR" ]; then
	ok "--help prints the help on stdout and exits 0"
else
	not_ok "--help prints the help on stdout and exits 0"
fi
cp "$T/sample" "$T/h" && cp "$T/sample" "$T/h.orig"
check -d "enable --file F --help: help, exit 0" sh "$SETUP" enable --file "$T/h" --help
check -d "... and the file is unchanged" cmp "$T/h" "$T/h.orig"
check_exit 1 -d "missing file: exit 1" sh "$SETUP" status --file "$T/nonexistent"

# the snippet and an enabled file work with glibc and the module
NSSD=$T/nss
SVCACCT_BUILD_DIR=$SVCACCT_BUILD
mkdir -p "$T/lib" "$T/bin"
cp "$SVCACCT_BUILD_DIR/libnss_svcacct.so.2" "$T/lib/" || bail "module built"
cc -O2 -D_GNU_SOURCE -I"$REPO_DIR/common" -o "$T/bin/nss-gen" "$REPO_DIR/bench/nss-gen.c" \
	"$REPO_DIR/common/nss_format.c" || bail "compile bench/nss-gen.c"
check -d "nss-gen writes a snapshot of 50 accounts" "$T/bin/nss-gen" -n 50 -p gen "$NSSD"
grep -v '^#' "$REPO_DIR/etc/nsswitch.svcacct" >"$T/snippet"
check_out "etc/nsswitch.svcacct has the two lines" "passwd: files svcacct group: files svcacct" \
	sh -c "tr '\n' ' ' <'$T/snippet' | sed 's/ \$//'"
cp /etc/nsswitch.conf "$T/host.conf"
check -d "enable on a copy of the host's nsswitch.conf" sh "$SETUP" enable --file "$T/host.conf"
for conf in snippet host.conf; do
	mount --bind "$T/$conf" /etc/nsswitch.conf || bail "bind-mount $conf"
	check_out "$conf: a generated account resolves" "gen000042:60041" \
		env LD_LIBRARY_PATH="$T/lib" SVCACCT_NSS_DIR="$NSSD" sh -c 'getent passwd gen000042 | cut -d: -f1,3'
	check_out "$conf: root still comes from files" "root:0" \
		env LD_LIBRARY_PATH="$T/lib" SVCACCT_NSS_DIR="$NSSD" sh -c 'getent passwd root | cut -d: -f1,3'
	check_out "$conf: sudo_group members via getent group" "svcacct-sudo:*:60050:gen000007,gen000014,gen000021,gen000028,gen000035,gen000042,gen000049" \
		env LD_LIBRARY_PATH="$T/lib" SVCACCT_NSS_DIR="$NSSD" getent group svcacct-sudo
	umount /etc/nsswitch.conf
done
cp /etc/nsswitch.conf "$T/host.orig"
check -d "disable restores the copy of the host's file" sh -c "sh '$SETUP' disable --file '$T/host.conf' >/dev/null && cmp '$T/host.conf' '$T/host.orig'"
