#!/usr/bin/python3
"""Lint for venuemon's Prometheus rule files: the checks of mixtool's rule lint, with none
excluded, plus the project's own (counters only under rate/increase, a promtool test for
every alert, runbook anchors that exist).

    deploy/prometheus/lint.py                 # rules/*.yml and alerts/*.yml of this folder
    deploy/prometheus/lint.py FILE...         # those rule files

Prints one line per problem (`file: rule NAME: what is wrong`) and exits 1 if there is any,
0 otherwise. Needs Debian's python3 and python3-yaml, and promtool (package prometheus) to
check every expression.

Checks:
- every file is valid for `promtool check rules` (each expr parses, no duplicate rule);
- alert names are CamelCase; `severity` is `warning` or `critical`;
- `summary` is one plain sentence (no template); `description` is present and templated;
- `runbook_url` is `<repository>/blob/main/docs/runbook.md#<anchor>` (`repository` from
  Cargo.toml) and docs/runbook.md has a heading with that anchor;
- recording rule names are `level:metric:operations`;
- a counter (`*_total`, histogram `*_bucket`/`*_count`/`*_sum`) appears only as the range
  vector of `rate()`, `irate()` or `increase()`;
- every alert has a `promtool test rules` case in tests/*.yml that expects it silent at some
  evaluation time and firing at another;
- every *italic* span of docs/runbook.md is a Grafana reference, `*Dashboard › Panel*` or
  `*Dashboard*`, naming a dashboard title and one of its panel titles of dashboards/*.json.
"""

import glob
import json
import os
import re
import subprocess
import sys

import promql
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SEVERITIES = ("warning", "critical")
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$")
RECORD_NAME = re.compile(r"^[a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")


def slug(heading):
    """The anchor GitHub, GitLab, Gitea and Forgejo give a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def runbook_anchors(path):
    """Anchors of every heading of the runbook."""
    anchors = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                anchors.add(slug(m.group(1)))
    return anchors


# An *italic* span (not **bold**) of one paragraph, outside `code`.
ITALIC = re.compile(r"(?<![*\w])\*(?![*\s])((?:[^*\n]|\n(?!\n))+?)(?<!\s)\*(?![*\w])")


def dashboard_panels(folder):
    """Each dashboard title of `folder`/*.json with the titles of its panels and rows."""
    out = {}
    for path in glob.glob(os.path.join(folder, "*.json")):
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
        titles, panels = set(), list(dashboard.get("panels", []))
        while panels:
            panel = panels.pop()
            titles.add(panel.get("title"))
            panels += panel.get("panels", [])
        out[dashboard.get("title")] = titles
    return out


def runbook_references(text, dashboards):
    """Problems of the runbook's Grafana references (`dashboards` from `dashboard_panels`)."""
    out = []
    text = re.sub(r"`[^`]*`", lambda m: "``" + "\n" * m.group().count("\n"), text)
    for m in ITALIC.finditer(text):
        ref = " ".join(m.group(1).split())
        title, _, panel = (part.strip() for part in ref.partition("›"))
        line = text.count("\n", 0, m.start()) + 1
        if title not in dashboards:
            out.append(
                f"{line}: *{ref}*: no dashboard of dashboards/*.json has the title {title!r} "
                "(write *Dashboard title › Panel title*, titles as in Grafana)"
            )
        elif panel and panel not in dashboards[title]:
            out.append(f"{line}: *{ref}*: {title!r} has no panel {panel!r}")
    return out


def repository(cargo_toml):
    """`repository` of Cargo.toml's [package]."""
    with open(cargo_toml, encoding="utf-8") as f:
        for line in f:
            m = re.match(r'^repository\s*=\s*"([^"]+)"', line)
            if m:
                return m.group(1).rstrip("/")
    return None


def promtool_problems(path):
    """promtool's complaints about a rule file (empty when it is valid)."""
    try:
        run = subprocess.run(
            ["promtool", "check", "rules", path], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return ["promtool not found: apt-get install prometheus"]
    if run.returncode == 0:
        return []
    lines = (run.stdout + run.stderr).splitlines()
    return [l.strip() for l in lines if l.strip() and not l.startswith("Checking")]


def tested_alerts(test_files):
    """Alert names with a test step expecting nothing and one expecting alerts."""
    silent, firing = set(), set()
    for path in test_files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for test in doc.get("tests") or []:
            for step in test.get("alert_rule_test") or []:
                name = step.get("alertname")
                (firing if step.get("exp_alerts") else silent).add(name)
    return silent & firing


def lint_file(path, runbook_prefix, anchors, tested):
    """Problems of one rule file, each as `path: rule NAME: what`."""
    problems = [f"{path}: promtool: {p}" for p in promtool_problems(path)]
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        return problems + [f"{path}: cannot read it as YAML: {e}"]
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            problems += [f"{path}: {p}" for p in lint_rule(rule, runbook_prefix, anchors, tested)]
    return problems


def lint_rule(rule, runbook_prefix, anchors, tested):
    """Problems of one rule, each as `rule NAME: what`."""
    expr = str(rule.get("expr", ""))
    if "record" in rule:
        name = str(rule["record"])
        where = f"recording rule {name}"
        out = []
        if not RECORD_NAME.match(name):
            out.append(f"{where}: name is not level:metric:operations")
    else:
        name = str(rule.get("alert", ""))
        where = f"alert {name}"
        out = lint_alert(rule, where, runbook_prefix, anchors)
        if not CAMEL_CASE.match(name):
            out.append(f"{where}: name is not CamelCase")
        if name not in tested:
            out.append(
                f"{where}: no promtool test in tests/*.yml expects it both silent and firing"
            )
    for counter in promql.scan(expr).counter_misuses:
        out.append(
            f"{where}: counter {counter} outside rate()/irate()/increase() over a range"
        )
    return out


def lint_alert(rule, where, runbook_prefix, anchors):
    """Problems of an alert's labels and annotations."""
    out = []
    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    severity = labels.get("severity")
    if severity not in SEVERITIES:
        out.append(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    summary = str(annotations.get("summary", "")).strip()
    if not summary:
        out.append(f"{where}: no summary annotation")
    elif "{{" in summary:
        out.append(f"{where}: summary is templated; keep it one plain sentence")
    elif not summary.endswith(".") or re.search(r"[.!?]\s+\S", summary):
        out.append(f"{where}: summary is not one sentence ending with a full stop")
    description = str(annotations.get("description", "")).strip()
    if not description:
        out.append(f"{where}: no description annotation")
    elif "{{" not in description:
        out.append(f"{where}: description is not templated (name the venue, zone, value)")
    url = str(annotations.get("runbook_url", ""))
    if not url:
        out.append(f"{where}: no runbook_url annotation")
    elif not url.startswith(runbook_prefix):
        out.append(f"{where}: runbook_url does not start with {runbook_prefix}")
    elif url[len(runbook_prefix):] not in anchors:
        out.append(
            f"{where}: runbook_url anchor #{url[len(runbook_prefix):]} is no heading of "
            "docs/runbook.md"
        )
    return out


def lint(files, root=ROOT, tests_glob=None):
    """Every problem of `files`, the runbook and tests taken from `root`."""
    repo = repository(os.path.join(root, "Cargo.toml"))
    prefix = f"{repo}/blob/main/docs/runbook.md#"
    anchors = runbook_anchors(os.path.join(root, "docs", "runbook.md"))
    if tests_glob is None:
        tests_glob = os.path.join(root, "deploy", "prometheus", "tests", "*.yml")
    tested = tested_alerts(sorted(glob.glob(tests_glob)))
    problems = []
    for path in files:
        problems += lint_file(path, prefix, anchors, tested)
    with open(os.path.join(root, "docs", "runbook.md"), encoding="utf-8") as f:
        references = runbook_references(f.read(), dashboard_panels(os.path.join(root, "dashboards")))
    return problems + [f"docs/runbook.md:{p}" for p in references]


def main(argv):
    files = argv[1:] or sorted(
        glob.glob(os.path.join(HERE, "rules", "*.yml"))
        + glob.glob(os.path.join(HERE, "alerts", "*.yml"))
    )
    if not files:
        print("lint.py: no rule file to check", file=sys.stderr)
        return 1
    problems = lint(files)
    for p in problems:
        print(p)
    if problems:
        print(f"lint.py: {len(problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"lint.py: {len(files)} rule file(s) clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
