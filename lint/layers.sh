#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# lint/layers.sh [-v]: the daemon's layer rule (svcacctd/LAYERS.md), read
# from the sources.  `make lint-layers`, part of `make lint`.
#
# Low to high: common < base < store < model < nss < cmd < net < top
# (svcacctd/*.c, *.h).  Every #include "x.h" of common/ and svcacctd/ is
# resolved the way the compiler does (the including file's folder first,
# then every layer's folder) and gives an edge between folders.  Fails on:
#   - an upward edge (a layer including a higher one), or an include that
#     resolves outside common/ and svcacctd/ (e.g. into nss_svcacct/);
#   - a cycle between folders;
#   - a daemon source compiled by tools/ or the modules: an include from
#     tools/, pam_svcacct/ or nss_svcacct/ that resolves into svcacctd/, or
#     a Makefile or test-script line that compiles a tools/ source together
#     with a svcacctd/ source, or a module's source list (PAM_*, NSS_*,
#     MOD_* in the Makefile) that names a svcacctd/ file.  (The fuzz and
#     unit-test harnesses may link daemon and module code together.)
# -v also prints the edges between folders.  Exit status 0 clean, 1 not.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

exec python3 - "$@" <<'PY'
import glob, os, re, sys

verbose = '-v' in sys.argv[1:]
ORDER = ['common', 'base', 'store', 'model', 'nss', 'cmd', 'net', 'top']
DIRS = {'common': 'common', 'top': 'svcacctd'}
for l in ORDER[1:-1]:
    DIRS[l] = 'svcacctd/' + l
LEVEL = {l: i for i, l in enumerate(ORDER)}
FOLDER_LAYER = {d: l for l, d in DIRS.items()}
SEARCH = [DIRS[l] for l in ORDER]  # where a bare "x.h" may come from
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

def sources(folder):
    return sorted(glob.glob(folder + '/*.c') + glob.glob(folder + '/*.h'))

def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)

def includes(path):
    text = strip_comments(open(path, errors='replace').read())
    for m in INC.finditer(text):
        yield text.count('\n', 0, m.start()) + 1, m.group(1)

def resolve(path, name):
    """The file an include names: the includer's folder, then the layers."""
    for d in [os.path.dirname(path)] + SEARCH:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(cand):
            return cand
    return None

errors, edges = [], {}
for layer in ORDER:
    folder = DIRS[layer]
    for src in sources(folder):
        for line, name in includes(src):
            dst = resolve(src, name)
            if dst is None:
                errors.append(f'{src}:{line}: "{name}" is in no layer folder '
                              f'(a wrong -I path, or a missing file)')
                continue
            to = FOLDER_LAYER.get(os.path.dirname(dst))
            if to is None:
                errors.append(f'{src}:{line}: "{name}" resolves to {dst}, outside '
                              f'common/ and svcacctd/: the daemon may not reach into '
                              f'another component')
                continue
            if to != layer:
                edges.setdefault((layer, to), []).append(f'{src}:{line} -> {dst}')
            if LEVEL[to] > LEVEL[layer]:
                below = ', '.join(ORDER[:LEVEL[layer] + 1])
                errors.append(f'{src}:{line}: includes "{name}" ({dst}, layer {to}): '
                              f'upward edge {layer} -> {to}; {layer} may include only '
                              f'{below}')

# Cycles between folders (none can exist without an upward edge; checked
# on its own so the rule holds whatever the order above says).
graph = {}
for (a, b) in edges:
    graph.setdefault(a, set()).add(b)
state, stack = {}, []
def visit(n):
    state[n] = 1
    stack.append(n)
    for m in sorted(graph.get(n, ())):
        if state.get(m) == 1:
            cyc = stack[stack.index(m):] + [m]
            errors.append('cycle between folders: ' + ' -> '.join(cyc))
        elif not state.get(m):
            visit(m)
    stack.pop()
    state[n] = 2
for n in ORDER:
    if not state.get(n):
        visit(n)

# No daemon source compiled by tools/ or the modules.
# tools/ (and the folders it is being split into: svcacctctl/, bench/)
for folder in ('tools', 'svcacctctl', 'bench', 'pam_svcacct', 'nss_svcacct'):
    for src in sorted(glob.glob(folder + '/**/*.[ch]', recursive=True)):
        for line, name in includes(src):
            dst = resolve(src, name)
            if dst and (dst + '/').startswith('svcacctd/'):
                errors.append(f'{src}:{line}: includes "{name}" ({dst}): {folder}/ '
                              f'may use common/, never a daemon source or header')
DAEMON_SRC = re.compile(r'(?<![\w.-])svcacctd/[\w/]*\w\.c\b')
TOOL_SRC = re.compile(r'(?<![\w.-])(tools|bench|svcacctctl)/[\w/.-]*\.c\b')
# the modules' source lists (the fuzz library may mix them: a test harness)
MODULE_VAR = re.compile(r'^\s*(PAM|NSS|MOD)_\w+\s*[:+?]?=.*svcacctd/', re.S)
for path in ['Makefile'] + sorted(glob.glob('tests/integration/*.sh')):
    text = open(path, errors='replace').read()
    n = 0
    for logical in re.split(r'(?<!\\)\n', text):
        start = n + 1
        n += logical.count('\n') + 1
        code = logical.split('#', 1)[0] if path == 'Makefile' else logical
        if code.lstrip().startswith('#'):
            continue
        if DAEMON_SRC.search(code) and TOOL_SRC.search(code):
            errors.append(f'{path}:{start}: compiles {TOOL_SRC.search(code).group(0)} '
                          f'with the daemon source {DAEMON_SRC.search(code).group(0)}')
        elif path == 'Makefile' and MODULE_VAR.search(code):
            errors.append(f'{path}:{start}: a module\'s sources name a daemon file')

if verbose:
    for (a, b), where in sorted(edges.items(), key=lambda e: (LEVEL[e[0][0]], LEVEL[e[0][1]])):
        print(f'{a:>6} -> {b:<6} {len(where):3d} include(s)')
nfiles = sum(len(sources(DIRS[l])) for l in ORDER)
if errors:
    for e in errors:
        print('layers: ' + e)
    print(f'layers: {len(errors)} problem(s); the rule: svcacctd/LAYERS.md')
    sys.exit(1)
print(f'layers: {nfiles} files in {len(ORDER)} layers, {len(edges)} edges between '
      f'folders, all downward, no cycle; no daemon source in tools/ or the modules')
PY
