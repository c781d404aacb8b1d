#!/usr/bin/python3
"""The dashboard lint: the checks of `dashboard-linter lint --strict` (a Go program that cannot
be installed here) and a few of venuemon's own, with no exclusion.

    /usr/bin/python3 dashboards/lint.py [--promtool PATH] [--exposition FILE]... \\
        [--rules FILE]... DASHBOARD.json...

Checks each dashboard:
- no `__inputs` (file provisioning ignores them); a `datasource` variable of type datasource
  for Prometheus, used by every panel, target, query variable and annotation;
- `venue` and `zone` query variables with "All" included, a non-empty default and a refresh
  on load, `zone` depending on `venue`; links between dashboards keep the variables;
- every panel has a title, a description and a unit Grafana knows;
- every target's expression parses as PromQL (Grafana's variables substituted, then checked by
  `promtool check rules`), every range is `$__rate_interval`, every counter, histogram
  `_bucket`, `_sum` and `_count` is the range vector of rate(), irate() or increase() (the
  scanner of deploy/prometheus/promql.py, shared with the rule lint), and `job`/`instance`
  matchers use variables;
- with `--exposition` (a `/metrics` text of a live agent, several allowed) and `--rules`
  (recording rule files): every metric name a query uses is in one of those expositions, is
  recorded by those rules, or is one of the series Prometheus itself adds to each scrape.

Prints one line per problem, `FILE: panel "TITLE": what is wrong`; exit status 1 if any.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# deploy/prometheus/promql.py: the PromQL scanner the rule lint uses too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../deploy/prometheus"))
import promql  # noqa: E402

DS_UID = "${datasource}"
UNITS = {
    "none", "short", "percent", "percentunit", "bytes", "decbytes", "Bps", "binBps", "bps",
    "s", "ms", "dBm", "cps", "ops", "pps", "hertz", "dateTimeAsIso", "dtdurations",
}
# Series Prometheus adds to every scrape (Prometheus' docs, "Jobs and instances").
SCRAPE_SERIES = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
}
VARIABLE = re.compile(r"\$\{?\w+(:\w+)?\}?")


def substitute(expr):
    """`expr` with Grafana's variables replaced so that promtool can parse it: interval
    variables by `1m`, variables inside a string (a label matcher) by `.+`."""
    out = re.sub(r"\$__(rate_interval|interval|range)\b", "1m", expr)
    return promql.TOKEN.sub(
        lambda m: VARIABLE.sub(".+", m.group()) if m.lastgroup == "string" else m.group(), out
    )


class Lint:
    def __init__(self, known_names):
        self.problems = []
        self.known = known_names
        self.exprs = []  # (where, expression substituted)

    def problem(self, where, what):
        self.problems.append(f"{where}: {what}")

    def uses_datasource(self, where, thing, what):
        ds = thing.get("datasource")
        uid = ds.get("uid") if isinstance(ds, dict) else ds
        if uid != DS_UID:
            self.problem(where, f"{what} uses datasource {json.dumps(ds)}, not ${{datasource}}")

    def expression(self, where, expr):
        if not isinstance(expr, str) or not expr.strip():
            self.problem(where, "a target without an expression")
            return
        found = promql.scan(expr)
        for r in found.ranges:
            if r.strip() != "$__rate_interval":
                self.problem(where, f"range [{r}] in {expr!r}: use [$__rate_interval]")
        for name in found.counter_misuses:
            self.problem(where, f"{name} in {expr!r} is not under rate(), irate() or increase()")
        for name in found.names:
            if self.known is not None and name not in self.known:
                self.problem(
                    where,
                    f"{name} is in no live /metrics given, no recording rule and not a "
                    "series Prometheus adds",
                )
        for m in found.matchers:
            for label, value in re.findall(r'\b(job|instance)\s*(?:=~|!~|!=|=)\s*"([^"]*)"', m):
                if "$" not in value:
                    self.problem(where, f'{label}="{value}" in {expr!r}: match a variable')
        substituted = substitute(expr)
        if "$" in substituted:
            self.problem(where, f"a Grafana variable outside a label matcher in {expr!r}")
        self.exprs.append((where, expr, substituted))

    def variables(self, name, dashboard):
        listed = dashboard.get("templating", {}).get("list", [])
        by_name = {v.get("name"): v for v in listed}
        ds = by_name.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            self.problem(name, "no `datasource` variable of type datasource for prometheus")
        for var in ("venue", "zone"):
            v = by_name.get(var)
            where = f"{name}: variable {var}"
            if not v:
                self.problem(name, f"no `{var}` variable")
                continue
            if v.get("type") != "query":
                self.problem(where, "is not a query variable")
            if not v.get("includeAll"):
                self.problem(where, "has no All option (includeAll)")
            current = v.get("current", {}).get("value")
            if not current:
                self.problem(where, "has an empty default")
            if v.get("refresh") not in (1, 2):
                self.problem(where, "is not refreshed on load")
        zone = by_name.get("zone")
        if zone and "$venue" not in json.dumps(zone.get("query")):
            self.problem(f"{name}: variable zone", "does not depend on $venue")
        for v in listed:
            if v.get("type") == "query":
                where = f"{name}: variable {v.get('name')}"
                self.uses_datasource(where, v, "the variable")
                query = v.get("query")
                query = query.get("query") if isinstance(query, dict) else query
                for metric in re.findall(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)", query or ""):
                    if self.known is not None and metric not in self.known:
                        self.problem(where, f"{metric} is in no live /metrics given")

    def panels(self, name, panels):
        for p in panels:
            title = p.get("title", "")
            where = f'{name}: panel "{title}" (id {p.get("id")})'
            if p.get("type") == "row":
                if not title:
                    self.problem(where, "a row without a title")
                self.panels(name, p.get("panels", []))
                continue
            if not title.strip():
                self.problem(where, "no title")
            if not p.get("description", "").strip():
                self.problem(where, "no description")
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit:
                self.problem(where, "no unit")
            elif unit not in UNITS:
                self.problem(where, f"unit {unit!r} is not one this lint knows Grafana has")
            for link in p.get("fieldConfig", {}).get("defaults", {}).get("links", []):
                url = link.get("url", "")
                if "/d/" in url and not ("${datasource:queryparam}" in url and "var-venue=" in url):
                    self.problem(where, f"data link {url!r} drops the datasource or venue variable")
            self.uses_datasource(where, p, "the panel")
            targets = p.get("targets", [])
            if not targets:
                self.problem(where, "no target")
            for t in targets:
                self.uses_datasource(where, t, f"target {t.get('refId')}")
                self.expression(where, t.get("expr"))

    def dashboard(self, name, dashboard):
        if "__inputs" in dashboard:
            self.problem(name, "has __inputs: file provisioning ignores them; use a datasource variable")
        if not dashboard.get("uid"):
            self.problem(name, "no uid")
        if dashboard.get("schemaVersion", 0) < 39:
            self.problem(name, "schemaVersion older than 39 (Grafana 11)")
        self.variables(name, dashboard)
        for link in dashboard.get("links", []):
            if not link.get("includeVars"):
                self.problem(name, f"link {link.get('title')!r} does not keep the variables (includeVars)")
        for a in dashboard.get("annotations", {}).get("list", []):
            if a.get("builtIn"):
                continue
            where = f'{name}: annotation "{a.get("name")}"'
            self.uses_datasource(where, a, "the annotation")
            self.expression(where, a.get("expr"))
        self.panels(name, dashboard.get("panels", []))

    def promtool(self, promtool):
        """Every expression through `promtool check rules`, as a recording rule."""
        if not self.exprs:
            return
        lines = ["groups:", "  - name: dashboard-lint", "    rules:"]
        for i, (_, _, expr) in enumerate(self.exprs):
            lines += [f"      - record: lint:expr_{i}", f"        expr: {json.dumps(expr)}"]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            path = f.name
        try:
            out = subprocess.run(
                [promtool, "check", "rules", path], capture_output=True, text=True
            )
        except FileNotFoundError:
            self.problem("promtool", f"{promtool} not found: install Debian's prometheus")
            return
        finally:
            os.unlink(path)
        if out.returncode == 0:
            return
        text = out.stdout + out.stderr
        failed = {int(i) for i in re.findall(r"lint:expr_(\d+)", text)}
        for i in sorted(failed) or range(len(self.exprs)):
            where, expr, _ = self.exprs[i]
            self.problem(where, f"{expr!r} is not valid PromQL")
        self.problem("promtool", text.strip().replace("\n", " | "))


def exposition_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def recorded_names(path):
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r"^\s*-?\s*record:\s*['\"]?([A-Za-z_:][A-Za-z0-9_:]*)", f.read(), re.M))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dashboards", nargs="+")
    parser.add_argument("--promtool", default="promtool")
    parser.add_argument("--exposition", action="append", default=[])
    parser.add_argument("--rules", action="append", default=[])
    args = parser.parse_args(argv)
    known = None
    if args.exposition:
        known = set(SCRAPE_SERIES)
        for path in args.exposition:
            known |= exposition_names(path)
        for path in args.rules:
            known |= recorded_names(path)
    lint = Lint(known)
    for path in args.dashboards:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                dashboard = json.load(f)
        except (OSError, ValueError) as e:
            lint.problem(name, f"cannot be read as JSON: {e}")
            continue
        lint.dashboard(name, dashboard)
    lint.promtool(args.promtool)
    for p in lint.problems:
        print(p)
    print(f"{len(args.dashboards)} dashboards, {len(lint.exprs)} queries, {len(lint.problems)} problems")
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main())
