#!/usr/bin/python3
"""venuemon's Grafana dashboards as code: writes dashboards/*.json (Grafana 11, schema 39).

    /usr/bin/python3 dashboards/src/generate.py [OUT_DIR]

OUT_DIR defaults to dashboards/ beside this folder. The JSON is committed (it is what users
import or provision); the suite regenerates it to a temporary folder and compares byte for byte,
so edit this file and run it, never the JSON. Python's standard library only.

Every panel and target uses the `${datasource}` variable; `venue` and `zone` are query
variables with "All" (a regular expression matching every value, and series without the label)
selected by default, so a dashboard never comes up empty. Thresholds are the agent's
`[thresholds]` defaults (src/config/thresholds.rs).
"""

import json
import os
import sys

SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}

# The agent's [thresholds] defaults, as the panels show them.
POOL_WARN, POOL_CRITICAL = 0.80, 0.95  # share of the pool leased
UPLINK_WARN, UPLINK_CRITICAL = 0.70, 0.90  # share of the link speed
OCCUPANCY_WARN, OCCUPANCY_CRITICAL = 1.5, 2.0  # devices per seat
LEASE_WARN, LEASE_CRITICAL = 2.0, 5.0  # DHCP time-to-lease p95, seconds
# VenuemonSnapshotStale's threshold (deploy/prometheus/alerts/venuemon.yml), seconds.
SNAPSHOT_STALE = 120

UIDS = {
    "venue-overview": "venuemon-venue-overview",
    "zone-detail": "venuemon-zone-detail",
    "dhcp-uplink": "venuemon-dhcp-uplink",
    "multi-venue": "venuemon-multi-venue",
    "agent-health": "venuemon-agent-health",
}

# Label matchers of the variables.
V = 'venue=~"$venue"'
VZ = 'venue=~"$venue", zone=~"$zone"'


def captured_in_zone(expr):
    """`expr` (per capture interface, no zone label) kept for the interfaces that capture in
    the selected zones: the capture families with a `zone` label say which those are."""
    return (
        f"({expr}) and on (venue, instance, interface) "
        f"rate(venuemon_capture_bytes_total{{{VZ}}}[$__rate_interval])"
    )


def thresholds(warn=None, critical=None, base="green"):
    steps = [{"color": base, "value": None}]
    if warn is not None:
        steps.append({"color": "orange", "value": warn})
    if critical is not None:
        steps.append({"color": "red", "value": critical})
    return {"mode": "absolute", "steps": steps}


def target(expr, legend="", instant=False, ref="A"):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        t.update({"instant": True, "range": False, "format": "time_series"})
    else:
        t.update({"instant": False, "range": True})
    return t


def panel(
    kind,
    title,
    description,
    unit,
    targets,
    width=12,
    height=8,
    steps=None,
    minimum=None,
    maximum=None,
    mappings=None,
    options=None,
    custom=None,
    links=None,
):
    """A panel; its grid position is set when the dashboard is laid out."""
    defaults = {"unit": unit, "thresholds": steps or thresholds()}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if mappings:
        defaults["mappings"] = mappings
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
        }
        if steps is not None:
            defaults["custom"]["thresholdsStyle"] = {"mode": "line+area"}
        defaults["color"] = {"mode": "palette-classic"}
    else:
        defaults["color"] = {"mode": "thresholds"}
    if custom:
        defaults.setdefault("custom", {}).update(custom)
    if links:
        defaults["links"] = links
    refs = "ABCDEFGH"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or default_options(kind),
        "targets": [dict(t, refId=refs[i]) for i, t in enumerate(targets)],
    }


def default_options(kind):
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "value_and_name",
        }
    if kind == "bargauge":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "displayMode": "gradient",
            "orientation": "horizontal",
            "showUnfilled": True,
        }
    if kind == "heatmap":
        return {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "yAxis": {"axisPlacement": "left", "unit": "dBm"},
            "tooltip": {"mode": "single", "yHistogram": True},
            "legend": {"show": True},
        }
    raise ValueError(kind)


def row(title, repeat=None):
    r = {
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        "panels": [],
    }
    if repeat:
        r["repeat"] = repeat
    return r


def layout(panels):
    """Places panels left to right, wrapping at 24 columns; a row starts a new line."""
    x = y = line_height = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if p["type"] == "row" or x + w > 24:
            x, y = 0, y + line_height
            line_height = 0
        p["gridPos"].update({"x": x, "y": y})
        x += w
        line_height = max(line_height, h)
        if p["type"] == "row":
            x, y, line_height = 0, y + 1, 0
    return panels


def query_variable(name, label, query, all_value=".*"):
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "definition": query,
        "query": {
            "qryType": 1,
            "query": query,
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 1,
        "includeAll": True,
        "allValue": all_value,
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "sort": 1,
        "regex": "",
        "hide": 0,
    }


def variables(extra=()):
    return [
        {
            "type": "datasource",
            "name": "datasource",
            "label": "Data source",
            "query": "prometheus",
            "pluginId": "prometheus",
            "current": {},
            "options": [],
            "refresh": 1,
            "regex": "",
            "hide": 0,
            "includeAll": False,
            "multi": False,
        },
        query_variable("venue", "Venue", "label_values(venuemon_build_info, venue)"),
        query_variable(
            "zone", "Zone", f"label_values(venuemon_zone_info{{{V}}}, zone)"
        ),
        *extra,
    ]


SESSIONS = {
    "name": "Sessions",
    "datasource": DS,
    "enable": True,
    "hide": False,
    "iconColor": "purple",
    "expr": f"venuemon_zone_session_info{{{VZ}}}",
    "step": "60s",
    "titleFormat": "{{title}}",
    "textFormat": "{{venue}} · {{zone}}",
    "tagKeys": "zone",
    "useValueForTime": False,
}


def dashboard(key, title, description, panels, extra_variables=(), annotations=True):
    return {
        "uid": UIDS[key],
        "title": title,
        "description": description,
        "tags": ["venuemon"],
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "annotations": {"list": [SESSIONS] if annotations else []},
        "links": [
            {
                "title": "venuemon",
                "type": "dashboards",
                "tags": ["venuemon"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": variables(extra_variables)},
        "panels": layout(panels),
    }


# Panels several dashboards share.

STATUS_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "-1": {"text": "Unknown", "color": "text", "index": 0},
            "0": {"text": "OK", "color": "green", "index": 1},
            "1": {"text": "Warning", "color": "orange", "index": 2},
            "2": {"text": "Critical", "color": "red", "index": 3},
        },
    }
]


def zone_status():
    return panel(
        "stat",
        "Zone status",
        "Each zone judged against the agent's [thresholds], as the status page shows it: OK, "
        "Warning, Critical, or Unknown (grey) when no source covering the zone answered. The "
        "reasons are on the agent's status page and /api/status. Click a zone for its detail.",
        "none",
        [target(f"max by (venue, zone) (venuemon_zone_status{{{VZ}}})", "{{zone}}", True)],
        width=24,
        height=5,
        steps=thresholds(1, 2),
        mappings=STATUS_MAPPINGS,
        links=[
            {
                "title": "Zone detail for ${__field.labels.zone}",
                "url": f"/d/{UIDS['zone-detail']}?${{datasource:queryparam}}"
                "&var-venue=${__field.labels.venue}&var-zone=${__field.labels.zone}"
                "&${__url_time_range}",
            }
        ],
    )


def sources_up(width=12):
    return panel(
        "stat",
        "Sources up",
        "Each source of each agent: Up when its last sample succeeded, Down when it failed "
        "(the error is on the agent's status page; see Agent health). `exported_instance` is "
        "which source (a DHCP pool name, a capture interface): the agent's own `instance` "
        "label, as Prometheus stores it.",
        "none",
        [
            target(
                f"min by (venue, instance, source, exported_instance) (venuemon_source_up{{{V}}})",
                "{{source}} {{exported_instance}}",
                True,
            )
        ],
        width=width,
        height=6,
        steps={
            "mode": "absolute",
            "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}],
        },
        mappings=[
            {
                "type": "value",
                "options": {
                    "0": {"text": "Down", "color": "red", "index": 0},
                    "1": {"text": "Up", "color": "green", "index": 1},
                },
            }
        ],
    )


def uplink_utilization(width=12):
    return panel(
        "timeseries",
        "Uplink utilization",
        "Throughput of each interface over its negotiated speed, per direction (recorded "
        "over 1 m). Lines at the agent's uplink thresholds: 70 % warning, 90 % critical. "
        "Interfaces whose driver gives no speed are not shown.",
        "percentunit",
        [
            target(
                f"interface:venuemon_interface_receive_utilization:ratio_rate1m{{{VZ}}}",
                "{{interface}} in",
            ),
            target(
                f"interface:venuemon_interface_transmit_utilization:ratio_rate1m{{{VZ}}}",
                "{{interface}} out",
            ),
        ],
        width=width,
        steps=thresholds(UPLINK_WARN, UPLINK_CRITICAL),
        minimum=0,
        maximum=1,
    )


def pool_usage(kind="bargauge", width=12, title="DHCP pool usage"):
    instant = kind != "timeseries"
    return panel(
        kind,
        title,
        "Share of each DHCP pool's addresses leased: the headroom left is the rest. "
        "Thresholds are the agent's: 80 % warning, 95 % critical.",
        "percentunit",
        [target(f"pool:venuemon_dhcp_pool_usage:ratio{{{VZ}}}", "{{pool}}", instant)],
        width=width,
        steps=thresholds(POOL_WARN, POOL_CRITICAL),
        minimum=0,
        maximum=1,
    )


def interface_throughput(width=12):
    return panel(
        "timeseries",
        "Interface throughput",
        "Bytes per second received and sent on each monitored interface (recorded over 1 m).",
        "Bps",
        [
            target(f"interface:venuemon_interface_receive_bytes:rate1m{{{VZ}}}", "{{interface}} in"),
            target(
                f"interface:venuemon_interface_transmit_bytes:rate1m{{{VZ}}}", "{{interface}} out"
            ),
        ],
        width=width,
    )


def time_to_lease(width=12):
    def quantile(q):
        return (
            f"histogram_quantile({q}, sum by (venue, interface, le) ("
            + captured_in_zone(
                f"rate(venuemon_dhcp_time_to_lease_seconds_bucket{{{V}}}[$__rate_interval])"
            )
            + "))"
        )

    return panel(
        "timeseries",
        "DHCP time to lease",
        "From a client's first DISCOVER to its ACK, as the capture saw it on each interface: "
        "median and 95th percentile. The agent's thresholds on the 95th percentile: 2 s "
        "warning, 5 s critical.",
        "s",
        [target(quantile(0.5), "{{interface}} median"), target(quantile(0.95), "{{interface}} p95")],
        width=width,
        steps=thresholds(LEASE_WARN, LEASE_CRITICAL),
        minimum=0,
    )


def unanswered_discovers(width=12):
    return panel(
        "timeseries",
        "Unanswered DHCP DISCOVERs",
        "DISCOVERs that got no OFFER or ACK within 10 s, per second, on each capture "
        "interface: the pool or the server is in trouble, before the leases show it.",
        "cps",
        [
            target(
                "sum by (venue, interface) ("
                + captured_in_zone(
                    f"rate(venuemon_dhcp_unanswered_discovers_total{{{V}}}[$__rate_interval])"
                )
                + ")",
                "{{interface}}",
            )
        ],
        width=width,
        minimum=0,
    )


# The dashboards.


def venue_overview():
    panels = [
        zone_status(),
        panel(
            "timeseries",
            "Devices vs seats",
            "Unique devices active in each zone (within the agent's active window) against "
            "the zone's seats from the config.",
            "short",
            [
                target(f"sum by (venue, zone) (venuemon_zone_clients{{{VZ}}})", "{{zone}} devices"),
                target(
                    f"max by (venue, zone) (venuemon_zone_capacity_seats{{{VZ}}})", "{{zone}} seats"
                ),
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Devices per seat",
            "Devices per seat in each zone with seats configured (100 % is one device per "
            "seat). Thresholds are the agent's occupancy ones: 150 % warning, 200 % critical.",
            "percentunit",
            [target(f"zone:venuemon_zone_clients_per_seat:ratio{{{VZ}}}", "{{zone}}")],
            steps=thresholds(OCCUPANCY_WARN, OCCUPANCY_CRITICAL),
            minimum=0,
        ),
        panel(
            "bargauge",
            "Busiest zones",
            "The ten zones with the most active devices now.",
            "short",
            [
                target(
                    f"topk(10, sum by (venue, zone) (venuemon_zone_clients{{{VZ}}}))",
                    "{{zone}}",
                    True,
                )
            ],
            minimum=0,
        ),
        uplink_utilization(),
        pool_usage(title="DHCP headroom (pool usage)"),
        sources_up(),
    ]
    return dashboard(
        "venue-overview",
        "venuemon / Venue overview",
        "Is the venue's network coping: zone status, devices against seats, uplinks, DHCP "
        "headroom and the agents' sources; the programme's sessions as annotations.",
        panels,
    )


def zone_detail():
    panels = [
        row("Access points"),
        panel(
            "timeseries",
            "Stations per access point and band",
            "Stations associated with each hostapd BSS, by band.",
            "short",
            [target(f"sum by (venue, zone, ap, band) (venuemon_ap_clients{{{VZ}}})", "{{ap}} {{band}}")],
            minimum=0,
            custom={"stacking": {"mode": "normal", "group": "A"}},
        ),
        panel(
            "bargauge",
            "Signal distribution",
            "Stations associated now per signal band in dBm (those whose signal hostapd "
            "reports): many stations below -75 dBm mean a zone needs another access point.",
            "short",
            [
                target(
                    f"sum by (signal_dbm) (venuemon_ap_clients_by_signal{{{VZ}}})",
                    "{{signal_dbm}} dBm",
                    True,
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Connects, disconnects and auth failures",
            "hostapd events per second on each access point (recorded over 1 m): a burst of "
            "connects and disconnects is an association storm; auth failures are mostly wrong "
            "passphrases.",
            "cps",
            [
                target(f"sum by (venue, ap) (ap:venuemon_client_connects:rate1m{{{VZ}}})", "{{ap}} connects"),
                target(
                    f"sum by (venue, ap) (ap:venuemon_client_disconnects:rate1m{{{VZ}}})",
                    "{{ap}} disconnects",
                ),
                target(
                    f"sum by (venue, ap) (ap:venuemon_client_auth_failures:rate1m{{{VZ}}})",
                    "{{ap}} auth failures",
                ),
            ],
            width=24,
            minimum=0,
        ),
        row("Capture"),
        panel(
            "timeseries",
            "Devices probing for a network",
            "Distinct devices sending 802.11 probe requests, per monitor interface: a passive "
            "headcount of the crowd, including devices that never associate.",
            "short",
            [
                target(
                    "sum by (venue, interface) ("
                    + captured_in_zone(f"venuemon_wifi_probing_devices_estimate{{{V}}}")
                    + ")",
                    "{{interface}}",
                )
            ],
            width=8,
            minimum=0,
        ),
        panel(
            "timeseries",
            "Frame retries",
            "Share of 802.11 frames sent again (retry flag), per monitor interface: a full or "
            "noisy channel.",
            "percentunit",
            [
                target(
                    "sum by (venue, interface) ("
                    + captured_in_zone(f"rate(venuemon_wifi_retries_total{{{V}}}[$__rate_interval])")
                    + ") / sum by (venue, interface) ("
                    + captured_in_zone(f"rate(venuemon_wifi_frames_total{{{V}}}[$__rate_interval])")
                    + ")",
                    "{{interface}}",
                )
            ],
            width=8,
            minimum=0,
            maximum=1,
        ),
        panel(
            "timeseries",
            "Foreign networks",
            "Distinct networks that are not the venue's (hotels, booths, phones as hotspots) "
            "heard on each channel.",
            "short",
            [
                target(
                    "sum by (venue, interface, channel_frequency_mhz) ("
                    + captured_in_zone(f"venuemon_wifi_foreign_networks_estimate{{{V}}}")
                    + ")",
                    "{{interface}} {{channel_frequency_mhz}} MHz",
                )
            ],
            width=8,
            minimum=0,
        ),
        panel(
            "heatmap",
            "Frame signal",
            "Signal of the 802.11 frames the monitor interfaces heard, per dBm bucket and "
            "interval.",
            "short",
            [
                dict(
                    target(
                        "sum by (le) ("
                        + captured_in_zone(
                            f"increase(venuemon_wifi_signal_dbm_bucket{{{V}}}[$__rate_interval])"
                        )
                        + ")",
                        "{{le}}",
                    ),
                    format="heatmap",
                )
            ],
            width=8,
        ),
        time_to_lease(width=8),
        unanswered_discovers(width=8),
        row("Interfaces"),
        interface_throughput(),
        uplink_utilization(),
    ]
    return dashboard(
        "zone-detail",
        "venuemon / Zone detail",
        "One zone (or a few): its access points, what the capture hears, DHCP as clients "
        "live it, and its interfaces.",
        panels,
    )


def dhcp_uplink():
    def interface_rate(title, description, field):
        return panel(
            "timeseries",
            title,
            description,
            "pps",
            [
                target(
                    f"sum by (venue, interface) (rate(venuemon_interface_receive_{field}_total{{{VZ}}}[$__rate_interval]))",
                    "{{interface}} in",
                ),
                target(
                    f"sum by (venue, interface) (rate(venuemon_interface_transmit_{field}_total{{{VZ}}}[$__rate_interval]))",
                    "{{interface}} out",
                ),
            ],
            minimum=0,
        )

    panels = [
        row("DHCP"),
        pool_usage("timeseries"),
        panel(
            "timeseries",
            "DHCP free addresses",
            "Addresses each pool can still lease: its headroom.",
            "short",
            [
                target(
                    f"venuemon_dhcp_pool_size{{{VZ}}} - on (venue, instance, pool, zone) venuemon_dhcp_leases_active{{{VZ}}}",
                    "{{pool}}",
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "DHCP allocation failures",
            "Allocation failures per second the DHCP server reports (Kea's statistics): the "
            "pool is refusing clients.",
            "cps",
            [
                target(
                    f"sum by (venue, zone, pool) (rate(venuemon_dhcp_allocation_failures_total{{{VZ}}}[$__rate_interval]))",
                    "{{pool}}",
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "DHCP messages",
            "DHCP messages per second on the wire, by type, as the capture saw them.",
            "cps",
            [
                target(
                    "sum by (venue, type) ("
                    + captured_in_zone(f"rate(venuemon_dhcp_messages_total{{{V}}}[$__rate_interval])")
                    + ")",
                    "{{type}}",
                )
            ],
            minimum=0,
        ),
        time_to_lease(),
        unanswered_discovers(),
        row("Uplink"),
        uplink_utilization(),
        interface_throughput(),
        interface_rate(
            "Interface errors",
            "Receive and transmit errors per second the kernel counts on each interface: a bad "
            "cable, port or driver.",
            "errors",
        ),
        interface_rate(
            "Interface drops",
            "Packets dropped per second on each interface: queues full, the link or the box "
            "cannot keep up.",
            "drops",
        ),
    ]
    return dashboard(
        "dhcp-uplink",
        "venuemon / DHCP and uplink",
        "DHCP pools and their headroom, DHCP as the wire shows it, and the interfaces' "
        "utilization, errors and drops.",
        panels,
    )


def multi_venue():
    def venue_stat(
        title, description, unit, expr, steps=None, mappings=None, maximum=None, legend="{{venue}}"
    ):
        return panel(
            "stat",
            title,
            description,
            unit,
            [target(expr, legend, True)],
            width=6,
            height=4,
            steps=steps,
            mappings=mappings,
            maximum=maximum,
            minimum=0 if maximum is not None else None,
        )

    panels = [
        row("All venues"),
        venue_stat(
            "Devices, all venues",
            "Active devices in every zone of every venue this Prometheus holds.",
            "short",
            "sum(:venuemon_zone_clients:sum)",
            legend="all venues",
        ),
        venue_stat(
            "Critical zones",
            "Zones in critical state across the selected venues.",
            "short",
            f"count(venuemon_zone_status{{{V}}} == 2) or vector(0)",
            steps=thresholds(critical=1),
            legend="all venues",
        ),
        venue_stat(
            "Sources down",
            "Sources whose last sample failed, across the selected venues.",
            "short",
            f"count(venuemon_source_up{{{V}}} == 0) or vector(0)",
            steps=thresholds(critical=1),
            legend="all venues",
        ),
        venue_stat(
            "Agents",
            "venuemon agents answering across the selected venues.",
            "short",
            f"count(venuemon_build_info{{{V}}})",
            legend="all venues",
        ),
        panel(
            "timeseries",
            "Devices per venue",
            "Active devices in all zones of each venue.",
            "short",
            [target(f"venue:venuemon_zone_clients:sum{{{V}}}", "{{venue}}")],
            width=24,
            minimum=0,
        ),
        row("$venue", repeat="venue"),
        venue_stat(
            "Devices",
            "Active devices in all zones of the venue.",
            "short",
            'sum by (venue) (venue:venuemon_zone_clients:sum{venue=~"$venue"})',
        ),
        venue_stat(
            "Worst zone",
            "The worst zone status of the venue.",
            "none",
            'max by (venue) (venuemon_zone_status{venue=~"$venue"})',
            steps=thresholds(1, 2),
            mappings=STATUS_MAPPINGS,
        ),
        venue_stat(
            "Fullest DHCP pool",
            "The venue's DHCP pool with the least headroom, as a share leased.",
            "percentunit",
            'max by (venue) (pool:venuemon_dhcp_pool_usage:ratio{venue=~"$venue"})',
            steps=thresholds(POOL_WARN, POOL_CRITICAL),
            maximum=1,
        ),
        venue_stat(
            "Busiest uplink",
            "The venue's most utilized interface, either direction.",
            "percentunit",
            "max by (venue) ("
            'interface:venuemon_interface_receive_utilization:ratio_rate1m{venue=~"$venue"} '
            '> interface:venuemon_interface_transmit_utilization:ratio_rate1m{venue=~"$venue"} '
            'or interface:venuemon_interface_transmit_utilization:ratio_rate1m{venue=~"$venue"})',
            steps=thresholds(UPLINK_WARN, UPLINK_CRITICAL),
            maximum=1,
        ),
    ]
    return dashboard(
        "multi-venue",
        "venuemon / Multi-venue",
        "Every venue at a glance, one row each, and totals across venues (a central "
        "Prometheus that the venues' Prometheus servers remote-write to).",
        panels,
    )


def agent_health():
    VI = 'venue=~"$venue", instance=~"$instance"'
    only_agents = "and on (venue, job, instance) venuemon_build_info"
    panels = [
        sources_up(width=24),
        panel(
            "timeseries",
            "Source errors",
            "Failed samples per second by source and kind (permission, missing, not_regular, "
            "io, parse, netlink, timeout, degraded, too_large: README's metrics table). "
            "`exported_instance` is which source (a DHCP pool name, a capture interface), "
            "`instance` the agent.",
            "cps",
            [
                target(
                    "sum by (venue, instance, source, exported_instance, kind) "
                    f"(rate(venuemon_source_errors_total{{{VI}}}[$__rate_interval]))",
                    "{{instance}} {{source}} {{exported_instance}} {{kind}}",
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Sample durations",
            "How long each source's last sample took.",
            "s",
            [
                target(
                    f"max by (venue, instance, source, exported_instance) (venuemon_source_duration_seconds{{{VI}}})",
                    "{{instance}} {{source}} {{exported_instance}}",
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Scrape duration",
            "How long Prometheus took to scrape each agent's /metrics.",
            "s",
            [target(f"scrape_duration_seconds{{{VI}}} {only_agents}", "{{instance}}")],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Snapshot age",
            "How old the snapshot behind each agent's page and metrics is: about one "
            "[agent] tick (5 s by default) while it updates. Over 120 s (red) it has stopped "
            "updating, or its clock is off, and VenuemonSnapshotStale fires a minute later.",
            "s",
            [target(f"time() - venuemon_snapshot_timestamp_seconds{{{VI}}}", "{{instance}}")],
            steps=thresholds(critical=SNAPSHOT_STALE),
            minimum=0,
        ),
        panel(
            "stat",
            "History",
            "Whether each agent writes its history (the report's data, and the status page's "
            "past): Writing, or Off when the file cannot be written (full disk, read-only file "
            "or folder, permissions; venuemon_history_write_errors_total gives the kind). The "
            "agent tries again every minute; VenuemonHistoryDown fires after 10 minutes off. "
            "No value for an agent with [history] enabled = false.",
            "none",
            [
                target(
                    f"min by (venue, instance) (venuemon_history_up{{{VI}}})",
                    "{{instance}}",
                    True,
                )
            ],
            steps={
                "mode": "absolute",
                "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}],
            },
            mappings=[
                {
                    "type": "value",
                    "options": {
                        "0": {"text": "Off", "color": "red", "index": 0},
                        "1": {"text": "Writing", "color": "green", "index": 1},
                    },
                }
            ],
        ),
        panel(
            "timeseries",
            "Resident memory",
            "The agent's resident set size.",
            "bytes",
            [target(f"process_resident_memory_bytes{{{VI}}} {only_agents}", "{{instance}}")],
            minimum=0,
        ),
        panel(
            "timeseries",
            "CPU",
            "CPU time the agent uses per second (100 % is one core).",
            "percentunit",
            [
                target(
                    f"rate(process_cpu_seconds_total{{{VI}}}[$__rate_interval]) {only_agents}",
                    "{{instance}}",
                )
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Open streams and connections",
            "Status pages following the live updates (/events streams) and open HTTP "
            "connections.",
            "short",
            [
                target(f"venuemon_http_event_streams{{{VI}}}", "{{instance}} event streams"),
                target(f"venuemon_http_connections{{{VI}}}", "{{instance}} connections"),
            ],
            minimum=0,
        ),
        panel(
            "timeseries",
            "Client registry evictions",
            "Clients dropped per second before their active window ended because the registry "
            "held [agent] max_clients: a flood, or a cap below the venue's devices.",
            "cps",
            [
                target(
                    f"rate(venuemon_clients_evicted_total{{{VI}}}[$__rate_interval])",
                    "{{instance}}",
                )
            ],
            minimum=0,
        ),
    ]
    instance = query_variable(
        "instance", "Agent", f"label_values(venuemon_build_info{{{V}}}, instance)"
    )
    return dashboard(
        "agent-health",
        "venuemon / Agent health",
        "The agents themselves: sources, sample and scrape durations, snapshot age, history, "
        "memory, CPU, open streams and registry evictions.",
        panels,
        extra_variables=[instance],
        annotations=False,
    )


DASHBOARDS = {
    "venue-overview": venue_overview,
    "zone-detail": zone_detail,
    "dhcp-uplink": dhcp_uplink,
    "multi-venue": multi_venue,
    "agent-health": agent_health,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here)
    for name, build in DASHBOARDS.items():
        path = os.path.join(out, f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(build(), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
