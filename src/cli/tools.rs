//! The commands `venuemon-tools` runs for `venuemon`: `report`, `simulate`, `replay` and
//! `run --simulate`, and how `venuemon` hands them over.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{Command, Lang, LogFormat, ReportSource, VERSION, end_quietly_on_a_closed_pipe, serve};
use crate::terminal::inert;
use crate::{agent, commands};

/// The program that runs the offline commands, installed beside `venuemon`.
const TOOLS: &str = "venuemon-tools";

/// Set by `venuemon` for the `venuemon-tools` it starts: its own version, which must be
/// `venuemon-tools`' too. Also how a `venuemon` started under that name (a copy of the agent
/// installed as `venuemon-tools`) sees that it would only hand the command back.
const HANDED_OVER_BY: &str = "VENUEMON_HANDED_OVER_BY";

/// Replaces this process with `venuemon-tools` beside it (else the one on `PATH`), given the
/// same arguments and `venuemon` as its name, so that its help and errors read as ours.
/// Returns only when that program cannot be started, saying why and how to install it.
pub(super) fn exec() -> ExitCode {
    if std::env::var_os(HANDED_OVER_BY).is_some() {
        return failure(format!(
            "the {TOOLS} that venuemon started is the agent itself, which would hand the \
             command back: install {TOOLS} (`cargo install --locked --path .` installs both)"
        ));
    }
    let exe = std::env::current_exe().ok();
    let beside = exe
        .as_ref()
        .map(|exe| exe.with_file_name(TOOLS))
        .filter(|tools| tools.is_file());
    let program = beside.clone().unwrap_or_else(|| PathBuf::from(TOOLS));
    let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
    let error = std::process::Command::new(&program)
        .arg0("venuemon")
        .args(arguments)
        .env(HANDED_OVER_BY, VERSION)
        .exec();
    failure(match (beside, error.kind()) {
        (None, std::io::ErrorKind::NotFound) => format!(
            "this command runs in {TOOLS}, which is neither in {} beside this venuemon nor on \
             PATH: install both programs (`cargo install --locked --path .` does), or build \
             both (`cargo build --release --locked`; `cargo run` builds venuemon alone) and \
             keep {TOOLS} beside venuemon",
            exe.as_ref().and_then(|exe| exe.parent()).map_or_else(
                || "this program's folder".into(),
                |d| d.display().to_string()
            )
        ),
        _ => format!("cannot start {}: {error}", program.display()),
    })
}

/// Refuses to run when `venuemon` of another build started this `venuemon-tools`: one
/// program's arguments, defaults or files would not be the other's.
pub(super) fn check_handed_over() -> Result<(), ExitCode> {
    match std::env::var(HANDED_OVER_BY) {
        Ok(by) if by != VERSION => Err(failure(format!(
            "venuemon {by} started {TOOLS} {VERSION}: install both programs from the same \
             build (`cargo install --locked --path .` installs both)"
        ))),
        _ => Ok(()),
    }
}

fn failure(message: String) -> ExitCode {
    eprintln!("venuemon: {}", inert(&message));
    ExitCode::FAILURE
}

/// Runs one of the offline commands (the agent's own never reach here: see `agent`).
pub(super) fn run(command: Command, log_format: LogFormat) -> ExitCode {
    match command {
        Command::Replay {
            files,
            json,
            serve,
            bssids,
        } => replay(&files, json, serve, &bssids),
        Command::Report {
            from,
            to,
            out,
            lang,
            programme,
            config,
            attendees,
            pdf,
            csv,
            json,
            compare,
            source,
            history,
            prometheus_url,
        } => commands::report(&crate::report::run::Options {
            from,
            to,
            out,
            language: lang.map(|l| match l {
                Lang::Fr => crate::config::Language::Fr,
                Lang::En => crate::config::Language::En,
            }),
            programme,
            config,
            attendees,
            pdf,
            csv,
            json,
            compare,
            source: source.map(|s| match s {
                ReportSource::History => crate::report::run::Source::History,
                ReportSource::Prometheus => crate::report::run::Source::Prometheus,
            }),
            history,
            prometheus_url,
        }),
        Command::Simulate {
            venue,
            days,
            history,
            programme,
            truth,
            quiet,
        } => simulate(
            &venue.options(days),
            crate::simulate::Outputs {
                history,
                programme,
                truth,
            },
            quiet,
            log_format,
        ),
        Command::Run {
            listen,
            history,
            venue,
            ..
        } => {
            let simulated = commands::simulated(&venue.options(1), listen, history);
            let (config, simulation) = match simulated {
                Ok(simulated) => simulated,
                Err(e) => {
                    eprintln!("venuemon: {}", inert(&format!("{e:#}")));
                    return ExitCode::FAILURE;
                }
            };
            serve(config, log_format, |config, listener, shutdown| {
                agent::run_simulated(config, simulation, listener, shutdown)
            })
        }
        Command::CheckConfig { .. } | Command::Doctor { .. } => {
            unreachable!("the agent's own commands run before the offline ones are looked at")
        }
    }
}

/// `venuemon replay`: decodes `files`, prints the summary, and serves it with `--serve`.
fn replay(
    files: &[PathBuf],
    json: bool,
    serve: Option<std::net::SocketAddr>,
    bssids: &[(String, [u8; 6])],
) -> ExitCode {
    if serve.is_none() {
        end_quietly_on_a_closed_pipe();
    }
    let replay = crate::replay::run(files, bssids);
    let failed = replay.files.iter().any(|(_, r)| r.is_err());
    if json {
        println!("{}", crate::replay::json(&replay));
    } else {
        print!("{}", crate::replay::text(&replay));
    }
    if let Some(listen) = serve {
        let served = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(crate::replay::serve(replay, listen)));
        if let Err(e) = served {
            eprintln!("venuemon: {}", inert(&format!("{e:#}")));
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `venuemon simulate`: the event into `outputs`, with a progress line at each tenth
/// unless `quiet`.
fn simulate(
    options: &crate::simulate::Options,
    outputs: crate::simulate::Outputs,
    quiet: bool,
    log_format: LogFormat,
) -> ExitCode {
    if let Err(e) = outputs.check() {
        eprintln!("venuemon: {e}");
        return ExitCode::FAILURE;
    }
    let mut progress = |p: &crate::simulate::Progress| match (quiet, log_format) {
        (true, _) => {}
        (false, LogFormat::Text) => eprintln!("{p}"),
        (false, LogFormat::Json) => tracing::info!(
            simulated_time = p.simulated_time(),
            percent = p.percent(),
            ticks = p.ticks,
            total = p.total,
            elapsed_seconds = p.elapsed.as_secs_f64(),
            "simulating"
        ),
    };
    match crate::simulate::run_showing(options, &outputs, &mut progress) {
        Ok(summary) => {
            println!(
                "simulated {} ticks of {} devices in {:.1} s",
                summary.ticks,
                summary.devices,
                summary.took.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("venuemon: {}", inert(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
