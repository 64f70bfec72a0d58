#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shell completion (issue 19 item 8): "svcacctctl --commands" prints the
# command table, and etc/bash-completion/svcacctctl completes from it.
# Fails when they drift: every noun and verb of --help is in --commands;
# every option --commands lists is accepted by the command's parser (with
# a value exactly when it says so); every option a command's parser knows
# (the ctl_opt tables in tools/svcacctctl/*.c, the global options of
# svcacctctl.c, the option lines of NOUN VERB --help) is listed; and the
# bash completion offers exactly those words.  No daemon needed.
. "$(dirname "$0")/../lib.sh"

TMPD=$(mktemp -d /tmp/svcacct-test.XXXXXXXX) || bail "mktemp -d"
export TMPD
NOSOCK=$TMPD/no.sock
COMPLETION=$REPO_DIR/etc/bash-completion/svcacctctl

if expect_exit 0 "$SVCACCTCTL" --commands && [ -z "$ERR" ]; then
	ok "svcacctctl --commands exits 0, nothing on stderr"
else
	bail "svcacctctl --commands exits 0"
fi
TABLE=$OUT
printf '%s\n' "$TABLE" >"$TMPD/table"
if [ "$(head -n 1 "$TMPD/table" | cut -d' ' -f1)" = global ] &&
	[ "$(grep -c -v -e '^global ' -e '^command [a-z-]* [a-z-]*' "$TMPD/table")" = 0 ]; then
	ok "--commands: a global line, then 'command NOUN VERB ...' lines"
else
	not_ok "--commands format"
fi
if ! "$SVCACCTCTL" --help | grep -q -e '--commands'; then
	ok "--commands is not in --help (hidden)"
else
	not_ok "--commands is not in --help (hidden)"
fi

# ---- nouns and verbs: --help's command list = --commands --------------------------
"$SVCACCTCTL" --help | awk '/^Commands:/ { f = 1; next } f && /^$/ { exit }
	f { v = ($2 == "" || $2 ~ /^[A-Z[(-]/) ? "-" : $2; print $1, v }' | sort >"$TMPD/help.nv"
awk '$1 == "command" { print $2, $3 }' "$TMPD/table" | sort >"$TMPD/table.nv"
if [ -s "$TMPD/help.nv" ] && cmp -s "$TMPD/help.nv" "$TMPD/table.nv"; then
	ok "every NOUN VERB of --help is in --commands, and no other ($(wc -l <"$TMPD/table.nv") commands)"
else
	not_ok "NOUN VERB of --help = --commands"
	diff "$TMPD/help.nv" "$TMPD/table.nv" | head -n 10 | sed 's/^/# /'
fi

# ---- every listed option is accepted by the command's parser ----------------------
# NOUN VERB --opt=VALUE (or --opt for a flag): whatever else fails (missing
# arguments, bad values, no daemon), the parser must not call the option
# unknown nor disagree about its value.
PARSER_ERR='unknown option|takes no value|needs a value'
bad=""
nopts=0
while read -r kind noun verb rest; do
	[ "$kind" = command ] || continue
	vargs=("$noun")
	[ "$verb" = - ] || vargs+=("$verb")
	for w in $rest; do
		case $w in
		--*=*) arg="${w%%=*}=$TMPD/x" ;;
		--*) arg=$w ;;
		*) continue ;;
		esac
		nopts=$((nopts + 1))
		err=$(timeout 10 "$SVCACCTCTL" -s "$NOSOCK" "${vargs[@]}" "$arg" </dev/null 2>&1 >/dev/null)
		if [[ $err =~ $PARSER_ERR ]]; then bad="$bad [$noun $verb $arg: $err]"; fi
	done
done <"$TMPD/table"
if [ -z "$bad" ] && [ "$nopts" -gt 30 ]; then
	ok "the parser accepts each of the $nopts command options --commands lists, value or not as listed"
else
	not_ok "options the parser does not take as listed:${bad:- (only $nopts options)}"
fi

# global options: in front of the noun
bad=""
read -r -a globals <<<"$(head -n 1 "$TMPD/table" | cut -d' ' -f2-)"
for w in "${globals[@]}"; do
	case $w in
	-h | --help | --version) args=("$w") ;;
	--hub=*) args=("--hub=https://127.0.0.1:1" account list) ;;
	--trust-uid=*) args=("--trust-uid=0" account list) ;;
	--timeout=*) args=("--timeout=1" account list) ;;
	--*=*) args=("${w%%=*}=$TMPD/x" account list) ;;
	-?=*) args=("${w%%=*}" "$NOSOCK" account list) ;;
	*) args=("$w" account list) ;;
	esac
	err=$(timeout 10 "$SVCACCTCTL" "${args[@]}" </dev/null 2>&1 >/dev/null)
	if [[ $err =~ $PARSER_ERR ]]; then bad="$bad [$w: $err]"; fi
done
if [ -z "$bad" ] && [ "${#globals[@]}" -ge 10 ]; then
	ok "the ${#globals[@]} global options listed are all taken"
else
	not_ok "global options:${bad:- (only ${#globals[@]})}"
fi

# ---- every option the parsers know is listed ---------------------------------------
# the per-command tables: { "name", has_arg, NULL } in the handlers
grep -h -o -E '\{ "[a-z][a-z0-9-]*", [01], NULL \}' "$REPO_DIR"/tools/svcacctctl/*.c |
	sed -E 's/\{ "([^"]*)", ([01]), NULL \}/\1 \2/' | sort -u >"$TMPD/src.opts"
missing=""
while read -r name has; do
	if [ "$has" = 1 ]; then pat=" --$name="; else pat=" --$name( |\$)"; fi
	grep -q -E -e "^command .*$pat" "$TMPD/table" || missing="$missing --$name($has)"
done <"$TMPD/src.opts"
if [ -z "$missing" ] && [ -s "$TMPD/src.opts" ]; then
	ok "each of the $(wc -l <"$TMPD/src.opts") ctl_opt entries of the sources is listed (with its value or not)"
else
	not_ok "ctl_opt entries not in --commands:$missing"
fi
# the global ones: match_long(a, "name", ...) in svcacctctl.c
missing=""
for name in $(grep -o -E 'match_long\(a, "[a-z-]+"' "$REPO_DIR/tools/svcacctctl/svcacctctl.c" |
	sed -E 's/.*"(.*)"/\1/' | sort -u); do
	[[ " ${globals[*]} " =~ \ --${name}[\ =] ]] || missing="$missing --$name"
done
if [ -z "$missing" ]; then
	ok "every global option of svcacctctl.c's parser is on the global line"
else
	not_ok "global options not listed:$missing"
fi
# the option lines of each NOUN VERB --help ("  --name ...")
missing=""
while read -r kind noun verb rest; do
	[ "$kind" = command ] || continue
	vargs=("$noun")
	[ "$verb" = - ] || vargs+=("$verb")
	for o in $("$SVCACCTCTL" "${vargs[@]}" --help | grep -o -E '^  --[a-z][a-z0-9-]*' | sort -u); do
		[[ " $rest " =~ \ ${o}[\ =] ]] || missing="$missing [$noun $verb $o]"
	done
done <"$TMPD/table"
if [ -z "$missing" ]; then
	ok "every option a command's --help describes is listed for that command"
else
	not_ok "options of --help not listed:$missing"
fi

# ---- the bash completion ------------------------------------------------------------
# complete WORD...: what the completion offers for the last word, sorted.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _svcacctctl
		printf "%s\n" "${COMPREPLY[@]}"' sh "$COMPLETION" "$SVCACCTCTL" "$@" 2>/dev/null |
		sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}
words() { tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

check -d "bash -n etc/bash-completion/svcacctctl" bash -n "$COMPLETION"
want=$(awk '$1 == "command" { print $2 }' "$TMPD/table" | words)
got=$(complete_words "")
if [ "$got" = "$want" ]; then ok "svcacctctl <TAB>: every noun"; else not_ok "svcacctctl <TAB>: '$got' want '$want'"; fi

bad=""
for noun in $(awk '$1 == "command" && $3 != "-" { print $2 }' "$TMPD/table" | sort -u); do
	want=$(awk -v n="$noun" '$1 == "command" && $2 == n { print $3 }' "$TMPD/table" | words)
	got=$(complete_words "$noun" "")
	[ "$got" = "$want" ] || bad="$bad [$noun: '$got' want '$want']"
done
if [ -z "$bad" ]; then ok "svcacctctl NOUN <TAB>: exactly its verbs, for every noun"; else not_ok "verbs:$bad"; fi

gl=$(printf '%s\n' "${globals[@]}" | sed 's/=.*//' | grep -E '^--' | grep -v -x -e --version | words)
bad=""
n=0
while read -r kind noun verb rest; do
	[ "$kind" = command ] || continue
	vargs=("$noun")
	[ "$verb" = - ] || vargs+=("$verb")
	want=$( (printf '%s\n' $gl; for w in $rest; do [[ $w == --* ]] && echo "${w%%=*}"; done) | words)
	got=$(complete_words "${vargs[@]}" --)
	[ "$got" = "$want" ] || bad="$bad [$noun $verb: '$got' want '$want']"
	n=$((n + 1))
done <"$TMPD/table"
if [ -z "$bad" ]; then
	ok "svcacctctl NOUN VERB --<TAB>: its options and the global ones, for all $n commands"
else
	not_ok "options:$bad"
fi

# values: the choices of an option, files where a FILE is expected
bad=""
while read -r kind noun verb rest; do
	[ "$kind" = command ] || continue
	for w in $rest; do
		[[ $w == --*=*'|'* ]] || continue
		want=$(printf '%s\n' "${w#*=}" | tr '|' '\n' | grep -E '^[a-z0-9][a-z0-9_.-]*$' | words)
		got=$(complete_words "$noun" "$verb" x "${w%%=*}" "")
		[ "$got" = "$want" ] || bad="$bad [$noun $verb ${w%%=*}: '$got' want '$want']"
	done
done <"$TMPD/table"
if [ -z "$bad" ]; then ok "an option's choices (--role, --break-glass, --expires never)"; else not_ok "choices:$bad"; fi
got=$(complete_words account create x --role "a")
if [ "$got" = admin ]; then ok "--role a<TAB>: admin"; else not_ok "--role a<TAB>: '$got'"; fi
mkdir "$TMPD/files" && touch "$TMPD/files/ci-deploy.key" "$TMPD/files/ci-deploy.pub"
got=$(cd "$TMPD/files" && complete_words key create ci --out "ci-d")
if [ "$got" = "ci-deploy.key ci-deploy.pub" ]; then ok "--out <TAB>: file names"; else not_ok "--out <TAB>: '$got'"; fi
got=$(cd "$TMPD/files" && complete_words -s /x ssh sign "ci-deploy.p")
if [ "$got" = "ci-deploy.pub" ]; then
	ok "ssh sign <TAB> (after -s VALUE): the PUBKEY_FILE is a file name"
else
	not_ok "ssh sign <TAB>: '$got'"
fi
got=$(complete_words host token "")
if [ "$got" = create ]; then ok "host token <TAB>: create"; else not_ok "host token <TAB>: '$got'"; fi
got=$(complete_words key create ci --label "")
if [ -z "$got" ]; then ok "--label <TAB>: nothing (free text)"; else not_ok "--label <TAB>: '$got'"; fi
got=$(complete_words --json --timeout 5 ke)
if [ "$got" = key ]; then ok "global options and their values are skipped before the noun"; else not_ok "skipped globals: '$got'"; fi

# ---- installed -------------------------------------------------------------------------
# (make -n only prints; its output is read whole: no SIGPIPE under pipefail)
INSTALL_CMDS=$(make -s -n -C "$REPO_DIR" install DESTDIR="$TMPD/root" BUILD="$SVCACCT_BUILD" 2>/dev/null)
if [[ $INSTALL_CMDS == *"etc/bash-completion/svcacctctl $TMPD/root/"*"/bash-completion/completions/svcacctctl"* ]] &&
	grep -q -x 'usr/share/bash-completion/completions/svcacctctl' "$REPO_DIR/packaging/debian/svcacct.install" &&
	grep -q -x '%{_datadir}/bash-completion/completions/svcacctctl' "$REPO_DIR/packaging/rpm/svcacct.spec"; then
	ok "make install, the .deb and the .rpm install the completion"
else
	not_ok "make install, the .deb and the .rpm install the completion"
fi
