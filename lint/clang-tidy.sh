#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lint/clang-tidy.sh [FILE...]: clang-tidy with the checks of .clang-tidy
# over the C sources (default: common/ svcacctd/ tools/svcacctctl/ bench/
# pam_svcacct/ nss_svcacct/), LINT_JOBS (2) files at a time.  `make lint-clang-tidy`.
#
# Every finding fails, unless an entry of lint/clang-tidy-baseline.txt
# matches it (same file, same check, the entry's text in the message).  An
# entry that matches nothing fails too: the bug was fixed, remove the entry.
# A source that does not compile fails.  Exit status 0 clean, 1 otherwise.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
export TIDY=${CLANG_TIDY:-clang-tidy}
JOBS=${LINT_JOBS:-2}
# Every daemon layer's folder (svcacctd/LAYERS.md): clang-tidy reads one
# file at a time; the layer rule itself is lint/layers.sh's.
LAYER_INC="-Isvcacctd/base -Isvcacctd/store -I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) -Isvcacctd/model -Isvcacctd/nss -Isvcacctd/cmd -Isvcacctd/net -Isvcacctd"
export LINT_CFLAGS="-std=c11 -D_GNU_SOURCE -Icommon $LAYER_INC -Inss_svcacct -Ipam_svcacct -Itools/svcacctctl"

if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(ls common/*.c svcacctd/*.c svcacctd/*/*.c tools/svcacctctl/*.c bench/*.c \
		bench/svcacct-bench/*.c pam_svcacct/*.c nss_svcacct/*.c 2>/dev/null)
fi
command -v "$TIDY" >/dev/null || { echo "lint: $TIDY not found (make lint-deps)" >&2; exit 1; }

OUT=$(mktemp -d /tmp/svcacct-tidy.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export OUT

# One clang-tidy per file; its output and exit status under $OUT.
printf '%s\0' "${files[@]}" | xargs -0 -r -n 1 -P "$JOBS" bash -c '
	f=$1; n=${f//\//_}
	# shellcheck disable=SC2086
	"$TIDY" --quiet "$f" -- $LINT_CFLAGS >"$OUT/$n.log" 2>&1
	echo $? >"$OUT/$n.rc"' _

python3 - "$ROOT" "$OUT" "$ROOT/lint/clang-tidy-baseline.txt" "${files[@]}" <<'PY'
import os, re, sys

root, out, baseline_path, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
diag = re.compile(r'^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?P<col>\d+): '
                  r'(?P<sev>warning|error): (?P<msg>.*?)(?: \[(?P<checks>[^\]]+)\])?$')

baseline = []  # [file, check, text, reason, used]
with open(baseline_path) as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = [p.strip() for p in line.split(' | ')]
        if len(parts) != 4:
            print(f'lint/clang-tidy-baseline.txt:{n}: want "file | check | text | reason"')
            sys.exit(1)
        baseline.append(parts + [0, n])

findings, failed = {}, False
for src in files:
    name = src.replace('/', '_')
    try:
        rc = int(open(os.path.join(out, name + '.rc')).read().strip() or 1)
        log = open(os.path.join(out, name + '.log'), errors='replace').read().splitlines()
    except OSError:
        print(f'{src}: clang-tidy did not run')
        failed = True
        continue
    compiled = True
    for l in log:
        m = diag.match(l)
        if not m:
            continue
        path = os.path.relpath(m['file'], root) if os.path.isabs(m['file']) else m['file']
        if m['sev'] == 'error' and not m['checks']:
            compiled = False
        key = (path, int(m['line']), m['msg'], m['checks'] or 'clang-diagnostic-error')
        findings.setdefault(key, l)  # a header's finding comes once per includer
    if rc != 0 and compiled:
        # clang-tidy without WarningsAsErrors fails only when it cannot
        # process the file
        print(f'{src}: clang-tidy exited with status {rc}')
        failed = True

reported = 0
for (path, line, msg, checks), _ in sorted(findings.items()):
    hit = None
    for b in baseline:
        if b[0] == path and b[1] in checks.split(',') and b[2] in msg:
            hit = b
            break
    if hit:
        hit[4] += 1
        continue
    print(f'{path}:{line}: {msg} [{checks}]')
    reported += 1
stale = [b for b in baseline if b[4] == 0 and (not files or b[0] in files)]
for b in stale:
    print(f'lint/clang-tidy-baseline.txt:{b[5]}: matches nothing any more '
          f'({b[0]}, {b[1]}): remove the entry')
known = sum(b[4] for b in baseline)
print(f'clang-tidy: {len(files)} files, {reported} finding(s), {known} known '
      f'(lint/clang-tidy-baseline.txt), {len(stale)} stale baseline entr{"y" if len(stale) == 1 else "ies"}')
sys.exit(1 if failed or reported or stale else 0)
PY
