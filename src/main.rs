//! The `venuemon` command: parses the command line, sets up logging, calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use venuemon::commands;

/// Wi-Fi load monitoring agent for event venues.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing syntax, e.g. `info` or `venuemon=debug`).
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
        /// Configuration file (TOML).
        #[arg(long, short, env = "VENUEMON_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on, overriding [http] listen (e.g. 0.0.0.0:9842 or :9842).
        #[arg(long, env = "VENUEMON_LISTEN", value_parser = listen_address)]
        listen: Option<SocketAddr>,
    },
    /// Validate a configuration file and print what it means (exit 2 on errors).
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
}

fn listen_address(text: &str) -> Result<SocketAddr, String> {
    venuemon::config::parse_listen(text)
        .ok_or_else(|| "expected an address and port like 0.0.0.0:9842, [::]:9842 or :9842".into())
}

fn init_logging(filter: &str, format: LogFormat) {
    // netlink-packet-route warns about every attribute newer kernels add; that is noise.
    let quiet = ",netlink_packet_route=error,netlink_proto=error";
    let filter = EnvFilter::try_new(format!("{filter}{quiet}")).unwrap_or_else(|e| {
        eprintln!("warning: bad log filter {filter:?} ({e}); using `info`");
        EnvFilter::new(format!("info{quiet}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_format);
    match cli.command {
        Command::CheckConfig { file } => commands::check_config(&file),
        Command::Run { config, listen } => {
            let (config, warnings) = match commands::load(config.as_deref(), listen) {
                Ok(loaded) => loaded,
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!("venuemon: the configuration has errors; nothing was started");
                    return ExitCode::from(commands::EXIT_CONFIG);
                }
            };
            for w in &warnings {
                tracing::warn!("{w}");
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("venuemon: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(venuemon::agent::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("venuemon: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
