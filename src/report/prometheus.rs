//! `--source prometheus`: the report's [`EventData`] from a Prometheus HTTP API
//! (`/api/v1/query_range` at a 60 s step), one per `venue` label when the series carry one.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use super::data::{
    BandSeries, CaptureData, EventData, InterfaceData, PoolData, Series, SourceData, UniqueDevices,
    ZoneData,
};

/// Seconds between two values of the report's series.
pub const STEP: i64 = 60;
/// Points per `query_range` request, under Prometheus' limit of 11 000.
const POINTS_PER_QUERY: i64 = 10_000;
/// How long Prometheus may take to answer one request.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What the config says that Prometheus does not hold: limits per zone.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `uplink_critical` per zone id, and for interfaces outside every zone.
    pub uplink_critical: BTreeMap<String, f64>,
    /// `[thresholds] uplink_critical`.
    pub default_uplink_critical: f64,
    /// `occupancy_warn` (devices per seat) per zone id.
    pub occupancy_warn: BTreeMap<String, f64>,
    /// `[thresholds] occupancy_warn`.
    pub default_occupancy_warn: f64,
    /// `[thresholds] time_to_lease_warn`, seconds.
    pub time_to_lease_warn: f64,
}

impl Limits {
    /// The `uplink_critical` of `zone` (the default outside every zone).
    pub(crate) fn uplink(&self, zone: Option<&str>) -> f64 {
        zone.and_then(|z| self.uplink_critical.get(z))
            .copied()
            .unwrap_or(self.default_uplink_critical)
    }

    /// The devices per seat from which `zone` is at warn (its `occupancy_warn`).
    pub(crate) fn occupancy(&self, zone: &str) -> f64 {
        self.occupancy_warn
            .get(zone)
            .copied()
            .unwrap_or(self.default_occupancy_warn)
    }
}

/// A Prometheus HTTP API.
pub struct Prometheus {
    uri: Uri,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<AnswerData>,
}

#[derive(Deserialize)]
struct AnswerData {
    result: Vec<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// One series: its labels and its values by step.
type Found = Vec<(BTreeMap<String, String>, Series)>;

impl Prometheus {
    /// The API at `url` (`http://host:9090`, with a path prefix if Prometheus has one).
    ///
    /// # Errors
    /// A URL that is not `http://host[:port][/prefix]`.
    pub fn new(url: &str) -> anyhow::Result<Prometheus> {
        let uri: Uri = url.trim_end_matches('/').parse().with_context(|| {
            format!("--prometheus-url {url:?} is not a URL like http://localhost:9090")
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!(
                "--prometheus-url {url:?}: https is not supported yet; use Prometheus' http address (on the machine, or through an SSH tunnel)"
            ),
            _ => bail!(
                "--prometheus-url {url:?} must start with http://, like http://localhost:9090"
            ),
        }
        if uri.host().is_none() {
            bail!("--prometheus-url {url:?} names no host, like http://localhost:9090");
        }
        Ok(Prometheus { uri })
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> anyhow::Result<Vec<Matrix>> {
        let query = serde_urlencoded::to_string(params).context("encoding a query")?;
        let prefix = self.uri.path().trim_end_matches('/');
        let authority = self
            .uri
            .authority()
            .ok_or_else(|| anyhow!("the Prometheus URL names no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let fetch = async {
            let stream = tokio::net::TcpStream::connect((host, port))
                .await
                .with_context(|| format!("cannot connect to Prometheus at {}", self.uri))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            let request = Request::get(format!("{prefix}{path}?{query}"))
                .header("host", authority.as_str())
                .header("accept", "application/json")
                .body(Empty::<Bytes>::new())?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(TIMEOUT, fetch).await.map_err(|_| {
            anyhow!(
                "Prometheus at {} did not answer within {TIMEOUT:?}",
                self.uri
            )
        })??;
        let answer: Answer = serde_json::from_slice(&body).with_context(|| {
            format!(
                "Prometheus at {} answered HTTP {status} with something that is not its API's JSON: is the URL Prometheus' own?",
                self.uri
            )
        })?;
        if answer.status != "success" {
            bail!(
                "Prometheus refused a query ({}): {}",
                status,
                answer.error.unwrap_or_default()
            );
        }
        Ok(answer.data.map(|d| d.result).unwrap_or_default())
    }

    /// `query` for every step of `[from, from + steps * STEP)`: the value of step `i` is
    /// Prometheus' at the step's end, `from + (i + 1) * STEP` (a gauge's last sample in the
    /// minute, a `rate(x[1m])` over the minute itself).
    async fn range(&self, query: &str, from: i64, steps: usize) -> anyhow::Result<Found> {
        let shift = STEP;
        let mut found: BTreeMap<BTreeMap<String, String>, Series> = BTreeMap::new();
        let steps_i = steps as i64;
        let mut start = 0;
        while start < steps_i {
            let end = (start + POINTS_PER_QUERY).min(steps_i) - 1;
            let params = [
                ("query", query.to_string()),
                ("start", (from + start * STEP + shift).to_string()),
                ("end", (from + end * STEP + shift).to_string()),
                ("step", STEP.to_string()),
            ];
            for m in self
                .get("/api/v1/query_range", &params)
                .await
                .with_context(|| format!("query {query}"))?
            {
                let series = found.entry(m.metric).or_insert_with(|| vec![None; steps]);
                for (t, v) in m.values {
                    let index = (t.round() as i64 - shift - from).div_euclid(STEP);
                    let value: f64 = v.parse().unwrap_or(f64::NAN);
                    if let Some(slot) = usize::try_from(index).ok().and_then(|i| series.get_mut(i))
                    {
                        *slot = value.is_finite().then_some(value);
                    }
                }
            }
            start = end + 1;
        }
        Ok(found.into_iter().collect())
    }

    /// `query` evaluated once, at `at`.
    async fn instant(
        &self,
        query: &str,
        at: i64,
    ) -> anyhow::Result<Vec<(BTreeMap<String, String>, f64)>> {
        let params = [("query", query.to_string()), ("time", at.to_string())];
        Ok(self
            .get("/api/v1/query", &params)
            .await
            .with_context(|| format!("query {query}"))?
            .into_iter()
            .filter_map(|m| {
                let v: f64 = m.value?.1.parse().ok()?;
                v.is_finite().then_some((m.metric, v))
            })
            .collect())
    }

    /// The first and last snapshot the agents published within the last `lookback_days`
    /// before `now`: the whole event, when `--from`/`--to` are not given.
    ///
    /// # Errors
    /// Prometheus unreachable, or holding no venuemon series.
    pub async fn span(&self, now: i64, lookback_days: u32) -> anyhow::Result<(i64, i64)> {
        let first = self
            .instant(
                &format!(
                    "min(min_over_time(venuemon_snapshot_timestamp_seconds[{lookback_days}d]))"
                ),
                now,
            )
            .await?;
        let last = self
            .instant(
                &format!(
                    "max(max_over_time(venuemon_snapshot_timestamp_seconds[{lookback_days}d]))"
                ),
                now,
            )
            .await?;
        match (first.first(), last.first()) {
            // Never before the lookback: an agent's sample from before its first tick (0,
            // from agents older than this one) would stretch the report to 1970.
            (Some((_, a)), Some((_, b))) => {
                let earliest = now - i64::from(lookback_days) * 86_400;
                Ok(((*a as i64).max(earliest), *b as i64))
            }
            _ => bail!(
                "Prometheus holds no venuemon_snapshot_timestamp_seconds in the last {lookback_days} days: does it scrape a venuemon agent? Give --from and --to for an older event"
            ),
        }
    }

    /// Every venue's data over `[from, to)` in minutes ending at `to` (the first starting at
    /// or before `from`): one [`EventData`] per `venue` label value (one named
    /// `default_venue` when the series carry none).
    ///
    /// # Errors
    /// Prometheus unreachable or refusing a query.
    pub async fn event_data(
        &self,
        from: i64,
        to: i64,
        limits: &Limits,
        default_venue: &str,
    ) -> anyhow::Result<Vec<EventData>> {
        // Minutes counted back from `to`, so that the last one ends where the data does (an
        // agent stopped at the end leaves stale markers just after, where it would be empty).
        let steps = usize::try_from((to - from + STEP - 1) / STEP)
            .unwrap_or(0)
            .max(1);
        let from = to - steps as i64 * STEP;
        let r = |q: &'static str| self.range(q, from, steps);
        // Each zone's own highest sample in the minute (its peaks), and its last one (the
        // zones then add up to the venue at one moment).
        let devices = r("max by (venue, zone) (max_over_time(venuemon_zone_clients[1m]))").await?;
        let at_end = r("max by (venue, zone) (venuemon_zone_clients)").await?;
        let randomized = r("max by (venue, zone) (venuemon_zone_clients_randomized)").await?;
        let status = r("max by (venue, zone) (venuemon_zone_status)").await?;
        let seats = r("max by (venue, zone) (venuemon_zone_capacity_seats)").await?;
        let names = r("max by (venue, zone, name) (venuemon_zone_info)").await?;
        let bands = r("sum by (venue, zone, band) (venuemon_ap_clients)").await?;
        let rx_use = r("sum by (venue, interface, zone) (rate(venuemon_interface_receive_bytes_total[1m])) / (sum by (venue, interface, zone) (venuemon_interface_speed_bytes_per_second) > 0)").await?;
        let tx_use = r("sum by (venue, interface, zone) (rate(venuemon_interface_transmit_bytes_total[1m])) / (sum by (venue, interface, zone) (venuemon_interface_speed_bytes_per_second) > 0)").await?;
        let rx = r("sum by (venue, interface, zone) (increase(venuemon_interface_receive_bytes_total[1m]))").await?;
        let tx = r("sum by (venue, interface, zone) (increase(venuemon_interface_transmit_bytes_total[1m]))").await?;
        let up = r("max by (venue, interface, zone) (venuemon_interface_up)").await?;
        let leases = r("max by (venue, pool, zone) (venuemon_dhcp_leases_active)").await?;
        let size = r("max by (venue, pool, zone) (venuemon_dhcp_pool_size)").await?;
        let sources =
            r("min by (venue, source, instance, exported_instance) (venuemon_source_up)").await?;
        let lease_time = r("histogram_quantile(0.95, sum by (venue, interface, le) (rate(venuemon_dhcp_time_to_lease_seconds_bucket[5m])))").await?;
        let range = format!("{}s", (to - from).max(STEP));
        let unique = self
            .instant(
                &format!("sum by (venue) (max_over_time(venuemon_venue_unique_clients_estimate[{range}]))"),
                to,
            )
            .await?;

        let label = |l: &BTreeMap<String, String>, k: &str| l.get(k).cloned().unwrap_or_default();
        let mut venues: BTreeMap<String, EventData> = BTreeMap::new();
        let blank = EventData {
            venue: default_venue.to_string(),
            from,
            step: STEP,
            steps,
            ..EventData::default()
        };
        let last = |s: &Series| s.iter().rev().flatten().next().copied();
        for (l, series) in &devices {
            let zone = label(l, "zone");
            let same = |(m, _): &&(BTreeMap<String, String>, Series)| {
                m.get("zone") == l.get("zone") && m.get("venue") == l.get("venue")
            };
            let find = |set: &Found| set.iter().find(same).map(|(_, s)| s.clone());
            let zone_data = ZoneData {
                name: names
                    .iter()
                    .find(same)
                    .and_then(|(m, _)| m.get("name").cloned())
                    .unwrap_or_else(|| zone.clone()),
                seats: seats
                    .iter()
                    .find(same)
                    .and_then(|(_, s)| last(s))
                    .map(|s| s as u32),
                uplink_critical: limits.uplink(Some(&zone)),
                occupancy_warn: limits.occupancy(&zone),
                devices: series.clone(),
                devices_at_venue_peak: find(&at_end).unwrap_or_else(|| vec![None; steps]),
                randomized: find(&randomized).unwrap_or_else(|| vec![None; steps]),
                status: find(&status).unwrap_or_else(|| vec![None; steps]),
                bands: bands
                    .iter()
                    .filter(same)
                    .map(|(m, s)| BandSeries {
                        band: label(m, "band"),
                        devices: s.clone(),
                    })
                    .collect(),
                id: zone,
            };
            venue_of(&mut venues, l, &blank).zones.push(zone_data);
        }
        for (l, series) in &up {
            let key = |m: &BTreeMap<String, String>| {
                m.get("interface") == l.get("interface") && m.get("venue") == l.get("venue")
            };
            let find = |set: &Found| {
                set.iter()
                    .find(|(m, _)| key(m))
                    .map_or_else(|| vec![None; steps], |(_, s)| s.clone())
            };
            let zone = l.get("zone").filter(|z| !z.is_empty()).cloned();
            venue_of(&mut venues, l, &blank)
                .interfaces
                .push(InterfaceData {
                    name: label(l, "interface"),
                    uplink_critical: limits.uplink(zone.as_deref()),
                    zone,
                    utilization_rx: find(&rx_use),
                    utilization_tx: find(&tx_use),
                    rx_bytes: find(&rx),
                    tx_bytes: find(&tx),
                    up: series.clone(),
                });
        }
        for (l, series) in &leases {
            venue_of(&mut venues, l, &blank).pools.push(PoolData {
                name: label(l, "pool"),
                zone: l.get("zone").filter(|z| !z.is_empty()).cloned(),
                leases: series.clone(),
                size: size
                    .iter()
                    .find(|(m, _)| {
                        m.get("pool") == l.get("pool") && m.get("venue") == l.get("venue")
                    })
                    .map_or_else(|| vec![None; steps], |(_, s)| s.clone()),
            });
        }
        for (l, series) in &sources {
            // Prometheus renames the agent's `instance` label when it adds its own.
            let instance = l
                .get("exported_instance")
                .or_else(|| l.get("instance"))
                .cloned()
                .unwrap_or_default();
            venue_of(&mut venues, l, &blank).sources.push(SourceData {
                source: label(l, "source"),
                instance,
                up: series.clone(),
            });
        }
        for (l, series) in &lease_time {
            venue_of(&mut venues, l, &blank).captures.push(CaptureData {
                interface: label(l, "interface"),
                time_to_lease_p95: series.clone(),
                slow: limits.time_to_lease_warn,
            });
        }
        for (l, devices) in &unique {
            let data = venue_of(&mut venues, l, &blank);
            data.unique = Some(UniqueDevices::with_share(*devices, &data.zones));
        }
        Ok(venues.into_values().collect())
    }
}

/// The data of the venue `labels` name (`blank`'s when they name none), added if new.
fn venue_of<'a>(
    venues: &'a mut BTreeMap<String, EventData>,
    labels: &BTreeMap<String, String>,
    blank: &EventData,
) -> &'a mut EventData {
    let name = labels
        .get("venue")
        .cloned()
        .unwrap_or_else(|| blank.venue.clone());
    venues.entry(name.clone()).or_insert_with(|| EventData {
        venue: name,
        ..blank.clone()
    })
}

/// Every venue's data as one event, names prefixed by their venue (`Lyon / Salle A`).
pub fn across(venues: &[EventData], name: &str) -> EventData {
    let mut all = EventData {
        venue: name.to_string(),
        ..venues.first().cloned().unwrap_or_default()
    };
    all.zones.clear();
    all.interfaces.clear();
    all.pools.clear();
    all.sources.clear();
    all.captures.clear();
    all.sessions.clear();
    // Devices, devices of venues that know their randomized share, randomized devices.
    let mut unique = None::<(f64, f64, f64)>;
    for v in venues {
        let id = |z: &str| format!("{}/{z}", v.venue);
        all.zones.extend(v.zones.iter().cloned().map(|mut z| {
            z.name = format!("{} / {}", v.venue, z.name);
            z.id = id(&z.id);
            z
        }));
        all.interfaces
            .extend(v.interfaces.iter().cloned().map(|mut i| {
                i.name = format!("{} / {}", v.venue, i.name);
                i.zone = i.zone.as_deref().map(id);
                i
            }));
        all.pools.extend(v.pools.iter().cloned().map(|mut p| {
            p.name = format!("{} / {}", v.venue, p.name);
            p.zone = p.zone.as_deref().map(id);
            p
        }));
        all.sources.extend(v.sources.iter().cloned().map(|mut s| {
            s.instance = format!("{} / {}", v.venue, s.instance);
            s
        }));
        all.captures.extend(v.captures.iter().cloned().map(|mut c| {
            c.interface = format!("{} / {}", v.venue, c.interface);
            c
        }));
        all.sessions.extend(v.sessions.iter().cloned().map(|mut s| {
            s.zone = id(&s.zone);
            s
        }));
        if let Some(u) = v.unique {
            let (devices, known, random) = unique.unwrap_or_default();
            let share = u.randomized_share;
            unique = Some((
                devices + u.devices,
                known + share.map_or(0.0, |_| u.devices),
                random + share.map_or(0.0, |s| s * u.devices),
            ));
        }
    }
    all.unique = unique.map(|(devices, known, random)| UniqueDevices {
        devices,
        randomized_share: (known > 0.0).then(|| random / known),
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Prometheus API answering the zone queries with canned series of two venues.
    async fn canned() -> String {
        use axum::extract::Query;
        use axum::routing::get;
        use serde_json::{Value, json};
        use std::collections::HashMap;
        fn answer(result: Value) -> axum::Json<Value> {
            axum::Json(json!({"status": "success", "data": {"result": result}}))
        }
        let range = |Query(q): Query<HashMap<String, String>>| async move {
            let start: i64 = q["start"].parse().unwrap_or(0);
            answer(match q["query"].as_str() {
                "max by (venue, zone) (max_over_time(venuemon_zone_clients[1m]))" => json!([
                    {"metric": {"venue": "Lyon", "zone": "hall"}, "values": [[start, "6"], [start + 60, "9"]]},
                    {"metric": {"venue": "Nantes", "zone": "hall"}, "values": [[start + 60, "3"]]},
                ]),
                "max by (venue, zone) (venuemon_zone_clients)" => json!([
                    {"metric": {"venue": "Lyon", "zone": "hall"}, "values": [[start, "5"], [start + 60, "7"]]},
                    {"metric": {"venue": "Nantes", "zone": "hall"}, "values": [[start + 60, "3"]]},
                ]),
                "max by (venue, zone) (venuemon_zone_clients_randomized)" => json!([
                    {"metric": {"venue": "Lyon", "zone": "hall"}, "values": [[start, "1"], [start + 60, "2"]]},
                ]),
                "max by (venue, zone, name) (venuemon_zone_info)" => json!([
                    {"metric": {"venue": "Lyon", "zone": "hall", "name": "Grand hall"}, "values": [[start, "1"]]},
                ]),
                "min by (venue, source, instance, exported_instance) (venuemon_source_up)" => {
                    json!([
                        {"metric": {"venue": "Nantes", "source": "dhcp", "instance": "127.0.0.1:9842", "exported_instance": "pool-a"}, "values": [[start, "0"]]},
                    ])
                }
                _ => json!([]),
            })
        };
        let instant = |Query(q): Query<HashMap<String, String>>| async move {
            let t: i64 = q["time"].parse().unwrap_or(0);
            answer(json!([
                {"metric": {"venue": "Lyon"}, "value": [t, "40"]},
                {"metric": {"venue": "Nantes"}, "value": [t, "9"]},
            ]))
        };
        let app = axum::Router::new()
            .route("/api/v1/query_range", get(range))
            .route("/api/v1/query", get(instant));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("bound");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn venues_split_by_label_with_each_minute_at_its_end() {
        let url = canned().await;
        let limits = crate::report::run::limits(None);
        let to = 1_800_000_000;
        let venues = Prometheus::new(&url)
            .expect("url")
            .event_data(to - 100, to, &limits, "here")
            .await
            .expect("answers");
        assert_eq!(venues.len(), 2);
        let (lyon, nantes) = (&venues[0], &venues[1]);
        assert_eq!(
            (lyon.venue.as_str(), lyon.from, lyon.steps),
            ("Lyon", to - 120, 2)
        );
        assert_eq!(lyon.zones[0].name, "Grand hall");
        // The room's own highest in each minute, and its devices at the minute's end.
        assert_eq!(lyon.zones[0].devices, [Some(6.0), Some(9.0)]);
        assert_eq!(lyon.zones[0].devices_at_venue_peak, [Some(5.0), Some(7.0)]);
        assert_eq!(nantes.zones[0].name, "hall", "no zone_info: the id");
        assert_eq!(nantes.zones[0].devices, [None, Some(3.0)]);
        assert_eq!(nantes.zones[0].devices_at_venue_peak, [None, Some(3.0)]);
        assert_eq!(nantes.sources[0].instance, "pool-a");
        assert_eq!(nantes.sources[0].up, [Some(0.0), None]);
        // 3 randomized of 12 device-minutes, both counted at the minutes' ends.
        assert_eq!(
            lyon.unique,
            Some(UniqueDevices {
                devices: 40.0,
                randomized_share: Some(0.25)
            })
        );
        assert_eq!(nantes.unique.and_then(|u| u.randomized_share), None);
    }

    #[test]
    fn only_http_urls_are_taken() {
        assert!(Prometheus::new("http://localhost:9090/").is_ok());
        assert!(Prometheus::new("http://[::1]:9090/prom").is_ok());
        let https = Prometheus::new("https://p.example:9090")
            .err()
            .expect("refused");
        assert!(format!("{https:#}").contains("https is not supported yet"));
        assert!(Prometheus::new("localhost:9090").is_err());
    }

    #[test]
    fn across_venues_prefixes_names_and_adds_unique_devices() {
        let venue = |name: &str, devices: f64| EventData {
            venue: name.into(),
            steps: 1,
            step: 60,
            zones: vec![ZoneData {
                id: "hall".into(),
                name: "Hall".into(),
                devices: vec![Some(devices)],
                devices_at_venue_peak: vec![Some(devices)],
                ..ZoneData::default()
            }],
            sessions: vec![super::super::data::SessionData {
                zone: "hall".into(),
                ..Default::default()
            }],
            unique: Some(UniqueDevices {
                devices,
                randomized_share: Some(0.5),
            }),
            ..EventData::default()
        };
        let all = across(&[venue("Lyon", 10.0), venue("Nantes", 30.0)], "all");
        assert_eq!(all.zones[1].id, "Nantes/hall");
        assert_eq!(all.zones[1].name, "Nantes / Hall");
        assert_eq!(all.sessions[0].zone, "Lyon/hall");
        assert_eq!(all.unique.map(|u| u.devices), Some(40.0));
        assert_eq!(all.unique.and_then(|u| u.randomized_share), Some(0.5));
    }
}
