//! The command line of both programs: `venuemon`, the agent (`run`, `check-config`,
//! `doctor`), and `venuemon-tools`, installed beside it, which runs every command and is the
//! one `venuemon` hands the offline ones to (`report`, `simulate`, `replay`, `run
//! --simulate`). The agent's binary then holds none of their code: code a running agent
//! maps is resident whether it runs or not (docs/PERFORMANCE.md, "Issue 10, fourth pass").
//!
//! Both parse the same [`Cli`], so `venuemon --help` lists every command and a mistyped
//! option is refused before anything runs.

mod tools;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::terminal::inert;
use crate::{agent, commands};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::filter::{ParseError, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `--version`: the crate version and the git revision it was built from (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("VENUEMON_REVISION"),
    ")"
);

/// Wi-Fi load monitoring agent for event venues.
#[derive(Parser)]
#[command(version = VERSION, about, propagate_version = true)]
struct Cli {
    /// Log filter: a level (`info`), or levels by module (`warn,venuemon::sources=debug`).
    #[arg(long, global = true, env = "VENUEMON_LOG", default_value = "info")]
    log: String,
    /// Log format.
    #[arg(long, global = true, env = "VENUEMON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent (with no config: every interface of this host, one zone).
    Run {
        /// Configuration file (TOML) [env: VENUEMON_CONFIG=, which --simulate ignores].
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Address to listen on, overriding [http] listen (e.g. 0.0.0.0:9842 or :9842).
        #[arg(long, env = "VENUEMON_LISTEN", value_parser = listen_address)]
        listen: Option<SocketAddr>,
        /// Serve a simulated venue in real time instead of this host's (no config is read);
        /// its day 1 began 8 h 50 min ago, ten minutes before the keynote.
        #[arg(long, conflicts_with = "config")]
        simulate: bool,
        /// With --simulate: also write the simulated history to this file.
        #[arg(long, requires = "simulate")]
        history: Option<PathBuf>,
        #[command(flatten)]
        venue: SimulatedVenue,
    },
    /// Simulate an event (deterministic from --seed) through the real hub into a history.
    Simulate {
        #[command(flatten)]
        venue: SimulatedVenue,
        /// Days of the event (1 to 14).
        #[arg(long, default_value_t = 3)]
        days: u32,
        /// The history file to write (must not exist).
        #[arg(long)]
        history: Option<PathBuf>,
        /// Write the event's programme here, as iCalendar.
        #[arg(long)]
        programme: Option<PathBuf>,
        /// Write the simulation's own event list and per-minute ground truth here, as JSON.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Print no progress lines (at each tenth of the event, on stderr).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate a configuration file and print what it means (exit 2 on errors).
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Check this host for the config, one line per check with the fix (exit 1 if one fails).
    Doctor {
        /// Configuration file (TOML); without one, the zero-config default is checked.
        #[arg(long, short, env = "VENUEMON_CONFIG")]
        config: Option<PathBuf>,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decode pcap/pcapng captures (Ethernet, Linux cooked, 802.11, radiotap) and summarize.
    Replay {
        /// Capture files, decoded in order as one capture.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Keep the counts on /metrics and /api/status at this address (e.g. 127.0.0.1:9843).
        #[arg(long, value_parser = listen_address)]
        serve: Option<SocketAddr>,
        /// The venue's own access point, as NAME=BSSID (repeat for several).
        #[arg(long = "bssid", value_parser = bssid)]
        bssids: Vec<(String, [u8; 6])>,
    },
    /// Write the organizers' post-event report (HTML; PDF, CSV, JSON on request) from
    /// venuemon's own history, or from Prometheus' HTTP API.
    Report {
        /// Start: RFC 3339, or a local date and time like "2026-06-03 08:00", or a date (its
        /// start) [default: the event: the programme's days, else the history's last run
        /// with no stop over 3 days; from Prometheus without a programme, the first data of
        /// the last 90 days].
        #[arg(long)]
        from: Option<String>,
        /// End, the same forms; a date is the end of that day (included) [default: the end of
        /// the event, or of the data after --from].
        #[arg(long)]
        to: Option<String>,
        /// The HTML file to write.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// Language of the report [default: the config's [venue] language, else en].
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        /// The programme, an iCalendar file [default: the config's [schedule] file].
        #[arg(long)]
        programme: Option<PathBuf>,
        /// The agent's configuration: zone names and limits, time zone, language, programme.
        #[arg(long, short, env = "VENUEMON_CONFIG")]
        config: Option<PathBuf>,
        /// Attendance, for the traffic per attendee.
        #[arg(long)]
        attendees: Option<u64>,
        /// Also print the report to an A4 PDF beside the HTML (needs Chromium).
        #[arg(long)]
        pdf: bool,
        /// Write every table as CSV files in this directory.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Write every figure as JSON to this file (for machines, and for next year's --compare).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Last year's history file or report --json file: each headline figure then and now.
        #[arg(long, value_name = "LAST_YEAR")]
        compare: Option<PathBuf>,
        /// Where the data comes from [default: prometheus when --prometheus-url is given and
        /// --history is not, else history].
        #[arg(long, value_enum)]
        source: Option<ReportSource>,
        /// The agent's history file [default: the configured one, with --config].
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
        /// Prometheus' address, like http://localhost:9090.
        #[arg(long, env = "VENUEMON_PROMETHEUS_URL")]
        prometheus_url: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Lang {
    /// Français.
    Fr,
    /// English.
    En,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportSource {
    /// venuemon's own history (--history FILE, or the configured one).
    History,
    /// A Prometheus HTTP API (--prometheus-url).
    Prometheus,
}

/// The simulated venue's size, rhythm and seed.
#[derive(clap::Args)]
struct SimulatedVenue {
    /// Zones: the main hall, the foyer, the restaurant, and rooms (4 to 500).
    #[arg(long, default_value_t = 8)]
    zones: usize,
    /// Access points, spread over the zones (at least one per zone, at most 5000).
    #[arg(long, default_value_t = 24)]
    aps: usize,
    /// Seconds between snapshots (e.g. 5s).
    #[arg(long, default_value = "5s", value_parser = tick)]
    tick: Duration,
    /// The seed: the same seed gives the same event.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl SimulatedVenue {
    fn options(&self, days: u32) -> crate::simulate::Options {
        crate::simulate::Options {
            days,
            zones: self.zones,
            aps: self.aps,
            tick: self.tick,
            seed: self.seed,
        }
    }
}

fn tick(text: &str) -> Result<Duration, String> {
    crate::simulate::parse_tick(text)
}

fn bssid(text: &str) -> Result<(String, [u8; 6]), String> {
    let (name, mac) = text
        .split_once('=')
        .ok_or("expected NAME=BSSID, like hall-a-1=02:00:00:00:01:00")?;
    let mac = crate::privacy::parse_mac(mac)
        .ok_or("the BSSID must be a MAC address like 02:00:00:00:01:00")?;
    Ok((name.to_string(), mac))
}

fn listen_address(text: &str) -> Result<SocketAddr, String> {
    crate::config::parse_listen(text)
        .ok_or_else(|| "expected an address and port like 0.0.0.0:9842, [::]:9842 or :9842".into())
}

/// Colour only for a person at a terminal: not in a file, a pipe or the journal (systemd sets
/// `JOURNAL_STREAM` when stderr goes there), and never with `NO_COLOR` set (no-color.org).
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !set("NO_COLOR") && !set("JOURNAL_STREAM")
}

/// The events `filter` lets through: comma-separated `level` (every module) and
/// `module=level` directives, the longest matching module deciding.
fn log_filter(filter: &str) -> Result<Targets, ParseError> {
    filter.parse()
}

/// Sets up logging to stderr; a bad `filter` is logged (in `format`) once it is, and
/// `info` used instead.
fn init_logging(filter: &str, format: LogFormat) {
    let (targets, bad) = match log_filter(filter) {
        Ok(targets) => (targets, None),
        Err(e) => (
            log_filter("info").expect("`info` is a valid filter"),
            Some(e),
        ),
    };
    // The builder's own level is INFO unless told otherwise: `filter` alone decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_ansi(colour_logs())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.finish().with(targets).init(),
        // The event's fields (message, file, line …) at the top of each object.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(targets)
            .init(),
    }
    if let Some(e) = bad {
        tracing::warn!(filter, error = %e, "bad log filter; using `info`");
    }
}

/// Writes the configuration's errors to stderr: as the file's lines for people, or with
/// json one log event each, with its `file`, `line`, `column` and `key` where known.
fn report_config_errors(format: LogFormat, errors: &crate::config::ConfigErrors) {
    match format {
        LogFormat::Text => eprintln!("{}", inert(&errors.to_string())),
        LogFormat::Json => {
            for e in &errors.0 {
                let at = |n: usize| (e.line > 0).then_some(n);
                tracing::error!(
                    file = e.file.as_str(),
                    line = at(e.line),
                    column = at(e.column),
                    key = e.key.as_deref(),
                    "{}",
                    e.message
                );
            }
        }
    }
}

/// Writes a message that ends the command to stderr: a line for people, or with json a log
/// event like every other.
fn report_failure(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("venuemon: {}", inert(message)),
        LogFormat::Json => tracing::error!("{message}"),
    }
}

/// `venuemon`: the agent's commands here, the others in `venuemon-tools`.
pub fn agent_main() -> ExitCode {
    agent(Cli::parse()).unwrap_or_else(|_| tools::exec())
}

/// `venuemon-tools`: every command.
pub fn tools_main() -> ExitCode {
    if let Err(code) = tools::check_handed_over() {
        return code;
    }
    agent(Cli::parse()).unwrap_or_else(|cli| {
        init_logging(&cli.log, cli.log_format);
        tools::run(cli.command, cli.log_format)
    })
}

/// Runs `cli`'s command if it is one of the agent's own (`run` without `--simulate`,
/// `check-config`, `doctor`), logging set up first; gives the others back untouched.
fn agent(cli: Cli) -> Result<ExitCode, Box<Cli>> {
    let Cli {
        log,
        log_format,
        command,
    } = cli;
    let code = match command {
        Command::CheckConfig { file } => {
            init_logging(&log, log_format);
            end_quietly_on_a_closed_pipe();
            commands::check_config(&file)
        }
        Command::Doctor { config, json } => {
            init_logging(&log, log_format);
            end_quietly_on_a_closed_pipe();
            commands::doctor(config.as_deref(), json)
        }
        Command::Run {
            simulate: false,
            config: file,
            listen,
            ..
        } => {
            init_logging(&log, log_format);
            // From the environment here, not in clap's `env`: set for a daemon, it must not
            // make `run --simulate` a conflict of options nobody typed.
            let file = file.or_else(|| {
                std::env::var_os("VENUEMON_CONFIG")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            });
            run(file, listen, log_format)
        }
        command => {
            return Err(Box::new(Cli {
                log,
                log_format,
                command,
            }));
        }
    };
    Ok(code)
}

/// `venuemon run`: the agent on this host, from `file` or zero-config.
fn run(file: Option<PathBuf>, listen: Option<SocketAddr>, log_format: LogFormat) -> ExitCode {
    let (config, warnings) = match commands::load(file.as_deref(), listen) {
        Ok(loaded) => loaded,
        Err(errors) => {
            report_config_errors(log_format, &errors);
            report_failure(
                log_format,
                "the configuration has errors; nothing was started",
            );
            return ExitCode::from(commands::EXIT_CONFIG);
        }
    };
    for w in &warnings {
        tracing::warn!("{w}");
    }
    serve(config, log_format, |config, listener, shutdown| {
        agent::run(config, file.as_deref(), listener, shutdown)
    })
}

/// Runs the agent `run` starts on a runtime of its own, listening on `[http] listen`, until
/// SIGINT or SIGTERM.
fn serve<F, R>(config: crate::config::Config, log_format: LogFormat, run: R) -> ExitCode
where
    R: FnOnce(
        crate::config::Config,
        tokio::net::TcpListener,
        std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    ) -> F,
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    // Several workers, so that no source's work can hold up the HTTP side.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    crate::memory::one_arena_per_core(workers);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report_failure(log_format, &format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let ran = runtime.block_on(async {
        let listener = agent::listen(&config)?;
        // Before the agent says it started: from then on, a signal is a clean stop.
        let shutdown = Box::pin(agent::stop_on_signal());
        run(config, listener, shutdown).await
    });
    // The agent has had its grace period: a blocking read that never returns (a source
    // stuck in a system call) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_failure(log_format, &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Lets a reader that goes away (`venuemon replay --json x.pcap | head`) end the program
/// quietly, as it ends `cat`: Rust ignores SIGPIPE, so a write to the closed pipe would make
/// `print!` panic. Only for commands that print and exit; the agent and `replay --serve`
/// keep ignoring it, as a server must.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: restores the default action of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    /// The forms README and `--help` document: a level alone, levels by module, both.
    #[test]
    fn documented_log_filters_work() {
        let info = log_filter("info").expect("a level");
        assert!(info.would_enable("venuemon::agent", &Level::INFO));
        assert!(!info.would_enable("venuemon::agent", &Level::DEBUG));
        let debug = log_filter("venuemon=debug").expect("a module's level");
        assert!(debug.would_enable("venuemon::sources::dhcp", &Level::DEBUG));
        assert!(
            !debug.would_enable("hyper", &Level::ERROR),
            "other modules are off"
        );
        let both = log_filter("warn,venuemon::sources=debug").expect("both");
        assert!(both.would_enable("venuemon::sources::dhcp", &Level::DEBUG));
        assert!(!both.would_enable("venuemon::agent", &Level::INFO));
        assert!(both.would_enable("venuemon::agent", &Level::WARN));
        assert!(log_filter("venuemon=loud").is_err());
    }
}
