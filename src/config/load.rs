// TEMPORARY: replaced by the config-loader branch.
use super::*;
use std::path::Path;
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);
impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(f, "{}:{}:{}: {}", e.file, e.line, e.column, e.message)?;
        }
        Ok(())
    }
}
impl std::error::Error for ConfigErrors {}
#[derive(Debug)]
pub struct Warning {
    pub message: String,
}
impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
pub fn parse(_file: &str, _text: &str, host: &str) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    Ok((Config::zero_config(host), vec![]))
}
pub fn load_file(path: &Path, host: &str) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: e.to_string(),
        }])
    })?;
    parse(&path.display().to_string(), &text, host)
}
impl Config {
    pub fn zero_config(host: &str) -> Config {
        Config {
            venue: Venue {
                name: host.into(),
                event: "default".into(),
                timezone: "UTC".into(),
                language: Language::En,
            },
            http: Http {
                listen: "0.0.0.0:9842".parse().unwrap(),
                request_timeout: Duration::from_secs(10),
            },
            agent: Agent {
                tick: Duration::from_secs(5),
                active_window: Duration::from_secs(300),
                state_dir: "/var/lib/venuemon".into(),
            },
            interfaces: InterfaceFilter {
                include: vec![],
                exclude: vec![],
                zone: Some(host.into()),
            },
            zones: vec![Zone {
                id: host.into(),
                name: host.into(),
                seats: None,
                interfaces: vec![],
                subnets: vec![],
            }],
            sources: Sources {
                netdev: NetdevConfig {
                    enabled: true,
                    interval: None,
                    backend: Backend::Auto,
                    proc_root: "/proc".into(),
                    sys_root: "/sys".into(),
                },
                neighbours: NeighboursConfig {
                    enabled: true,
                    interval: None,
                    backend: Backend::Auto,
                    proc_root: "/proc".into(),
                },
            },
        }
    }
}
