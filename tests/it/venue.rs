//! The venue lab: network namespaces, a bridge "hall" with client namespaces, and the agent
//! running inside the hall. Needs root; fails loudly without it.

use std::process::Command;
use std::time::Duration;

use crate::common::{self, Agent};

/// One namespace, deleted (with its interfaces) when dropped.
pub struct Netns(pub String);

impl Netns {
    pub fn new(name: String) -> Netns {
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        common::run("ip", &["netns", "add", &name]);
        common::run("ip", &["-n", &name, "link", "set", "lo", "up"]);
        Netns(name)
    }

    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.0.as_str()];
        all.extend_from_slice(args);
        common::run("ip", &all);
    }

    pub fn exec(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["netns", "exec", self.0.as_str()];
        all.extend_from_slice(args);
        common::run("ip", &all)
    }

    /// GET on the agent's port inside this namespace.
    pub fn get(&self, port: u16, path: &str) -> Option<String> {
        get_in(&self.0, port, path)
    }
}

/// GET on `port` inside namespace `ns` (curl): the body of a 2xx answer.
pub fn get_in(ns: &str, port: u16, path: &str) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sf", "--max-time", "5", &url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds a veth pair: end `a` in namespace `a_ns`, end `b` in `b_ns` (`None`: the host's),
/// both down.
pub fn veth(a: &str, a_ns: Option<&Netns>, b: &str, b_ns: Option<&Netns>) {
    let mut args = vec!["link", "add", a];
    if let Some(ns) = a_ns {
        args.extend(["netns", ns.0.as_str()]);
    }
    args.extend(["type", "veth", "peer", "name", b]);
    if let Some(ns) = b_ns {
        args.extend(["netns", ns.0.as_str()]);
    }
    common::run("ip", &args);
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A hall with `clients` client namespaces, each `10.77.0.1N/24` behind port `vhN`.
pub struct Hall {
    /// The hall namespace (bridge `hall0`, the agent, servers).
    pub hall: Netns,
    /// One namespace per client, interface `eth0`.
    pub clients: Vec<Netns>,
    /// Client MACs, in client order.
    pub macs: Vec<String>,
    /// Client static addresses (empty when clients use DHCP).
    pub ips: Vec<String>,
}

impl Hall {
    /// A hall with one client per MAC; `static_ips` gives client N `10.77.0.(10+N)/24`.
    pub fn build(tag: &str, macs: &[&str], static_ips: bool) -> Hall {
        common::require_root("the venue lab");
        common::require_tool("curl", "curl");
        common::require_tool("ping", "iputils-ping");
        let id = std::process::id();
        let hall = Netns::new(format!("vm-{tag}-{id}"));
        hall.ip(&["link", "add", "hall0", "type", "bridge"]);
        hall.ip(&["addr", "add", "10.77.0.1/24", "dev", "hall0"]);
        hall.ip(&["link", "set", "hall0", "up"]);
        let mut clients = Vec::new();
        let mut ips = Vec::new();
        for (i, mac) in macs.iter().enumerate() {
            let n = i + 1;
            let client = Netns::new(format!("vm-{tag}-c{n}-{id}"));
            let port = format!("vh{n}");
            veth(&port, Some(&hall), "eth0", Some(&client));
            hall.ip(&["link", "set", &port, "master", "hall0", "up"]);
            client.ip(&["link", "set", "eth0", "address", mac]);
            if static_ips {
                let ip = format!("10.77.0.{}", 10 + n);
                client.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
                ips.push(ip);
            }
            client.ip(&["link", "set", "eth0", "up"]);
            clients.push(client);
        }
        Hall {
            hall,
            clients,
            macs: macs.iter().map(|m| m.to_string()).collect(),
            ips,
        }
    }

    pub fn ping_gateway(&self) {
        for c in &self.clients {
            c.exec(&["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.77.0.1"]);
        }
    }

    /// Starts the agent in the hall with a 1 s tick, zone `hall` on `hall0`, and `extra` config.
    pub fn start_agent(&self, dir: &std::path::Path, port: u16, extra: &str) -> Agent {
        self.start_agent_with(dir, port, "5m", extra)
    }

    /// As [`Hall::start_agent`], with a given active window.
    pub fn start_agent_with(
        &self,
        dir: &std::path::Path,
        port: u16,
        window: &str,
        extra: &str,
    ) -> Agent {
        let config = format!(
            r#"
[venue]
name = "Lab"
event = "lab"

[http]
listen = "127.0.0.1:{port}"

[agent]
tick = "1s"
active_window = "{window}"
state_dir = "{state}"

[interfaces]
include = ["vh*"]

[[zone]]
id = "hall"
name = "Hall"
seats = 100
interfaces = ["hall0"]
{extra}
"#,
            state = dir.join("state").display()
        );
        Agent::with_config(Some(&self.hall.0), dir, &config, "agent.log")
    }

    /// Polls `/metrics` until `ok` accepts it.
    pub fn metrics_when(
        &self,
        port: u16,
        what: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        common::wait_for(what, limit, || {
            self.hall.get(port, "/metrics").filter(|m| ok(m))
        })
    }
}

/// The value of the first sample line starting with `series` (name and labels).
pub fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
