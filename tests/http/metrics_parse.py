#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strict check of a Prometheus text exposition (format 0.0.4), for tests.

    metrics_parse.py FILE   prints one "series value" line per sample
                            (series as written, labels in their order);
                            exit 1 with the faults on stderr

Checked: every line is a HELP, a TYPE or a sample; names and label names
are valid; a family has one HELP and one TYPE, before its samples, and its
samples are together; values are numbers; no series twice; a counter's
samples end in _total; a histogram's buckets are cumulative, ascending in
le, end with le="+Inf" equal to _count, and have a _sum.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
META = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % NAME)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errs = []
    if not text.endswith("\n"):
        errs.append("the text does not end with a newline")
    helps, types, seen, done, out = set(), {}, set(), set(), []
    current = None
    hist = {}  # family -> {"buckets": [(le, v)], "count": v, "sum": v}
    for n, line in enumerate(text.splitlines(), 1):
        m = META.match(line)
        if m:
            kind, name, rest = m.groups()
            if name in done:
                errs.append("%d: %s %s after its samples" % (n, kind, name))
            if kind == "HELP":
                if name in helps:
                    errs.append("%d: a second HELP for %s" % (n, name))
                helps.add(name)
            else:
                if name in types or rest not in TYPES:
                    errs.append("%d: bad or second TYPE for %s: %r" % (n, name, rest))
                types[name] = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            errs.append("%d: not a sample, HELP or TYPE: %r" % (n, line))
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam = family_of(name, types)
        if fam not in types:
            errs.append("%d: %s has no TYPE before it" % (n, name))
        if current != fam:
            if fam in done:
                errs.append("%d: the samples of %s are not together" % (n, fam))
            if current:
                done.add(current)
            current = fam
        try:
            v = float(value)
        except ValueError:
            errs.append("%d: value %r is not a number" % (n, value))
            continue
        if name + labels in seen:
            errs.append("%d: %s%s twice" % (n, name, labels))
        seen.add(name + labels)
        if types.get(fam) == "counter" and (not name.endswith("_total") or v < 0):
            errs.append("%d: counter %s: name without _total or negative" % (n, name))
        if types.get(fam) == "histogram":
            h = hist.setdefault(fam, {"buckets": [], "count": None, "sum": None})
            if name.endswith("_bucket"):
                le = re.search(r'le="([^"]*)"', labels)
                if not le:
                    errs.append("%d: bucket without le" % n)
                    continue
                h["buckets"].append((float(le.group(1)), v))
            elif name.endswith("_count"):
                h["count"] = v
            elif name.endswith("_sum"):
                h["sum"] = v
        out.append("%s%s %s" % (name, labels, value))
    for fam, h in hist.items():
        b = h["buckets"]
        les = [x[0] for x in b]
        vals = [x[1] for x in b]
        if not b or les != sorted(les) or les[-1] != float("inf"):
            errs.append("%s: buckets not ascending in le or no +Inf: %r" % (fam, les))
        if vals != sorted(vals):
            errs.append("%s: buckets not cumulative: %r" % (fam, vals))
        if h["count"] is None or h["sum"] is None or (b and vals[-1] != h["count"]):
            errs.append("%s: _count/_sum missing or +Inf != _count" % fam)
    if errs:
        sys.stderr.write("\n".join(errs) + "\n")
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
