#!/usr/bin/python3
"""Unit tests of lint.py and promql.py: the shipped rules and runbook are clean, and each planted fault in
tests/lint/ is reported. Run: python3 -m unittest deploy/prometheus/lint_test.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lint  # noqa: E402
import promql  # noqa: E402

PLANTED = os.path.join(lint.HERE, "tests", "lint")


class CounterMisuses(unittest.TestCase):
    def test_counters_under_rate_or_increase_over_a_range_pass(self):
        for expr in (
            "rate(venuemon_client_connects_total[1m])",
            'increase(venuemon_dhcp_allocation_failures_total{pool="a"}[5m]) > 0',
            "histogram_quantile(0.95, sum by (le) (rate(venuemon_dhcp_time_to_lease_seconds_bucket[5m])))",
            "sum by (venue) (irate(venuemon_wifi_retries_total[2m]))",
            'venuemon_dhcp_leases_active{pool="x_total"} / on (pool_total) venuemon_dhcp_pool_size',
            "ap:venuemon_client_connects:rate1m > 1",
        ):
            self.assertEqual(promql.scan(expr).counter_misuses, [], expr)

    def test_counters_elsewhere_are_reported(self):
        cases = {
            "venuemon_dhcp_allocation_failures_total > 0": ["venuemon_dhcp_allocation_failures_total"],
            "sum(venuemon_interface_receive_bytes_total)": ["venuemon_interface_receive_bytes_total"],
            "delta(venuemon_dhcp_messages_total[5m])": ["venuemon_dhcp_messages_total"],
            "rate(venuemon_client_connects_total)": ["venuemon_client_connects_total"],
            "rate(x[5m]) / venuemon_dhcp_time_to_lease_seconds_count": [
                "venuemon_dhcp_time_to_lease_seconds_count"
            ],
            "max_over_time(rate(venuemon_wifi_retries_total[1m])[5m:]) + venuemon_wifi_retries_total": [
                "venuemon_wifi_retries_total"
            ],
        }
        for expr, expected in cases.items():
            self.assertEqual(promql.scan(expr).counter_misuses, expected, expr)


    def test_names_ranges_and_matchers_skip_keywords_labels_and_strings(self):
        found = promql.scan(
            'sum by (venue, le) (rate(a_total{zone=~"$zone", x="}[1m]"}[$__rate_interval]))'
            " and on (venue) topk(3, b) or vector(0) > bool c offset 5m"
        )
        self.assertEqual(found.names, ["a_total", "b", "c"])
        self.assertEqual(found.ranges, ["$__rate_interval"])
        self.assertEqual(found.matchers, ['zone=~"$zone", x="}[1m]"'])


class Slugs(unittest.TestCase):
    def test_headings_anchor_as_git_forges_do(self):
        self.assertEqual(lint.slug("DhcpPoolFilling"), "dhcppoolfilling")
        self.assertEqual(lint.slug("Pool full: what now?"), "pool-full-what-now")


class RunbookReferences(unittest.TestCase):
    DASHBOARDS = {"venuemon / Agent health": {"Sources up", "Snapshot age"}}

    def test_exact_titles_pass_across_a_line_break_and_code_and_bold_are_not_references(self):
        text = (
            "**Confirm.** *venuemon / Agent health*, *venuemon / Agent health › Snapshot\n"
            "age*; `targets/*.yml` and `*Not › Checked*`."
        )
        self.assertEqual(lint.runbook_references(text, self.DASHBOARDS), [])

    def test_a_loose_dashboard_or_panel_name_is_reported(self):
        text = "`a\nb`\nGrafana: *Agent health*, age;\n*venuemon / Agent health › Snapshots*."
        self.assertEqual(
            [p.split(": ")[:2] for p in lint.runbook_references(text, self.DASHBOARDS)],
            [["3", "*Agent health*"], ["4", "*venuemon / Agent health › Snapshots*"]],
        )


class Files(unittest.TestCase):
    def test_shipped_rules_are_clean(self):
        self.assertEqual(lint.main(["lint.py"]), 0)

    def test_every_planted_fault_is_reported(self):
        problems = "\n".join(lint.lint([os.path.join(PLANTED, "bad-rules.yml")]))
        for expected in (
            "recording rule venuemon_pool_usage: name is not level:metric:operations",
            "recording rule venuemon_pool_usage: counter venuemon_interface_receive_bytes_total",
            "alert dhcp_pool_full: name is not CamelCase",
            "alert dhcp_pool_full: severity 'page' is not one of warning, critical",
            "alert dhcp_pool_full: no summary annotation",
            "alert dhcp_pool_full: description is not templated",
            "alert dhcp_pool_full: runbook_url anchor #no-such-section is no heading",
            "alert dhcp_pool_full: counter venuemon_dhcp_allocation_failures_total",
            "alert dhcp_pool_full: no promtool test",
            "alert PlantedTemplatedSummary: summary is templated",
            "alert PlantedTemplatedSummary: runbook_url does not start with "
            "https://example.invalid/venuemon/blob/main/docs/runbook.md#",
            "alert PlantedTemplatedSummary: counter venuemon_dhcp_time_to_lease_seconds_count",
            "alert PlantedNoAnnotations: severity None is not one of",
            "alert PlantedNoAnnotations: no summary annotation",
            "alert PlantedNoAnnotations: no description annotation",
            "alert PlantedNoAnnotations: no runbook_url annotation",
        ):
            self.assertIn(expected, problems)
        # The counter under increase() over a range is fine.
        self.assertNotIn("PlantedNoAnnotations: counter", problems)

    def test_an_expression_promtool_rejects_is_reported(self):
        problems = lint.lint([os.path.join(PLANTED, "bad-expr.yml")])
        self.assertTrue(any(": promtool: " in p for p in problems), problems)

    def test_main_fails_on_a_planted_file(self):
        self.assertEqual(lint.main(["lint.py", os.path.join(PLANTED, "bad-rules.yml")]), 1)


if __name__ == "__main__":
    unittest.main()
