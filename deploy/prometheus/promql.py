"""The PromQL scanner both lints share (deploy/prometheus/lint.py for rule files,
dashboards/lint.py for dashboards): an expression's metric names, ranges and label matchers,
and the counters it uses outside rate(), irate() or increase(). Not a parser: promtool checks
the syntax. Python's standard library only (the dashboard lint needs nothing else)."""

import collections
import re

RATES = ("rate", "irate", "increase")
# A counter: `*_total`, or a histogram's `*_bucket`, `*_count`, `*_sum` (no recorded name).
COUNTER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*_(?:total|bucket|count|sum)$")
# Words whose parenthesised list holds label names, not expressions.
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# PromQL words that are not metric names (operators, modifiers, literals).
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"} | LABEL_LISTS
# Aggregations, which may take `by (…)`/`without (…)` before their parenthesis.
AGGREGATIONS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "limitk", "limit_ratio",
}

TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>[0-9][0-9a-zA-Z_.]*|\.[0-9][0-9a-zA-Z_.]*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# What `scan` finds: metric names in order, the text inside each `[…]` and each `{…}`, and
# the counters that are not the range vector of rate(), irate() or increase().
Scan = collections.namedtuple("Scan", "names ranges matchers counter_misuses")


def tokens(expr):
    """The significant tokens of a PromQL expression as (kind, text, position)."""
    return [
        (m.lastgroup, m.group(), m.start())
        for m in TOKEN.finditer(expr)
        if m.lastgroup != "space"
    ]


def scan(expr):
    """The metric names, ranges, matchers and misused counters of `expr` (see `Scan`)."""
    toks = tokens(expr)
    out = Scan([], [], [], [])
    stack = []  # (what, opening token's position): what is call NAME, labels, paren, …
    for i, (kind, text, pos) in enumerate(toks):
        prev = toks[i - 1][:2] if i else (None, None)
        nxt = toks[i + 1][:2] if i + 1 < len(toks) else (None, None)
        if kind == "open":
            if text in "{[":
                what = "matchers" if text == "{" else "range"
            elif prev[0] == "ident" and prev[1].lower() in LABEL_LISTS:
                what = "labels"
            elif prev[0] == "ident" and prev[1].lower() not in KEYWORDS:
                what = f"call {prev[1]}"
            else:
                what = "paren"
            stack.append((what, pos))
        elif kind == "close" and stack:
            what, start = stack.pop()
            if what in ("matchers", "range"):
                (out.matchers if what == "matchers" else out.ranges).append(expr[start + 1 : pos])
        elif kind == "ident":
            if stack and stack[-1][0] in ("matchers", "labels", "range"):
                continue
            if text.lower() in KEYWORDS or nxt == ("open", "("):
                continue  # a keyword, a function or an aggregation
            if text in AGGREGATIONS and nxt[0] == "ident" and nxt[1].lower() in LABEL_LISTS:
                continue
            out.names.append(text)
            if COUNTER.match(text) and not (
                stack and stack[-1][0] in {f"call {f}" for f in RATES} and range_follows(toks, i)
            ):
                out.counter_misuses.append(text)
    return out


def range_follows(toks, i):
    """Whether the selector named by token `i` is a range vector: `{…}` optional, then `[`."""
    j = i + 1
    if j < len(toks) and toks[j][:2] == ("open", "{"):
        while j < len(toks) and toks[j][:2] != ("close", "}"):
            j += 1
        j += 1
    return j < len(toks) and toks[j][:2] == ("open", "[")

