//! `venuemon run`: wires sources, hub and HTTP server together and shuts them down cleanly.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hub::{Hub, Snapshot};
use crate::inventory::Inventory;
use crate::privacy::ClientKey;
use crate::sources::{self, Starter};
use crate::web::{self, AppState};

/// How long shutdown waits, from SIGTERM, for requests and tasks to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The per-event key, or a process-lifetime key when the state folder is not writable.
fn client_key(config: &Config) -> ClientKey {
    let path = config
        .agent
        .state_dir
        .join(format!("{}.key", config.venue.event));
    ClientKey::load_or_create(&path).unwrap_or_else(|e| {
        // A key file that is wrong says itself what to do; otherwise the folder is the cause.
        let fix = match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => "",
            _ => " (set [agent] state_dir to a folder venuemon can write)",
        };
        tracing::warn!(
            path = %path.display(),
            error = %e,
            "cannot use the event key; client ids will change at restart{fix}"
        );
        ClientKey::ephemeral()
    })
}

/// Makes glibc's malloc give large freed blocks back to the system at once. By default it
/// raises its mmap and trim thresholds as blocks are freed (up to 32 and 64 MiB), after which
/// a flood's tables and per-sample vectors are kept resident in the arena of the thread that
/// made them, where `malloc_trim` cannot reach the part at the top of the arena: fixed
/// thresholds keep blocks of 256 KiB and more in their own mappings, returned when freed.
fn return_freed_memory_promptly() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's own tuning parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
    }
}

/// A listener on `[http] listen`, for [`run`].
///
/// # Errors
/// The address cannot be bound (in use, or not this host's); the message says how to choose
/// another.
pub fn listen(config: &Config) -> anyhow::Result<TcpListener> {
    web::server::bind(config.http.listen).with_context(|| {
        format!(
            "cannot listen on {}: is another program using it? Choose another with --listen or [http] listen",
            config.http.listen
        )
    })
}

/// Runs the agent, serving HTTP on `listener` (see [`listen`]), until `shutdown` resolves
/// (`venuemon run` passes [`stop_on_signal`]'s future). Then every task it started (the
/// sources and what they spawned, the hub, the HTTP connections) is told to stop, and it
/// returns when all have ended, or after [`SHUTDOWN_GRACE`] with those still running left
/// to the runtime's own shutdown.
///
/// # Errors
/// The TLS files cannot be read, or a source's backend cannot be opened.
pub async fn run(
    config: Config,
    file: Option<&Path>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve(config, file, None, listener, shutdown).await
}

/// [`run`], with the simulated venue's reports in place of the sources
/// (`venuemon run --simulate`): `config` is the simulation's (`Simulation::config`).
///
/// # Errors
/// As [`run`].
pub async fn run_simulated(
    config: Config,
    simulation: crate::simulate::Simulation,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve(config, None, Some(simulation), listener, shutdown).await
}

async fn serve(
    config: Config,
    file: Option<&Path>,
    simulation: Option<crate::simulate::Simulation>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    return_freed_memory_promptly();
    // Checked at load time; read again here, as the files are what will be served.
    let tls = match &config.http.tls {
        Some(files) => Some(
            crate::tls::server_config(files)
                .context("cannot serve HTTPS ([http] tls_cert, tls_key)")?,
        ),
        None => None,
    };

    let inventory = Arc::new(Inventory::new(&config));
    let cancel = CancellationToken::new();
    // Every task and thread of the agent, so that a stop can wait for them all.
    let tasks = TaskTracker::new();
    let (reports, inbox) = mpsc::channel(64);
    let (publish, snapshots) = watch::channel(Arc::new(Snapshot::default()));
    let key = client_key(&config);
    let mut starter = Starter::new(&config, &inventory, &key, &cancel, &tasks, &reports);
    // A simulated venue is described by the simulation, not by this host's interfaces.
    let simulated = simulation
        .as_ref()
        .map(crate::simulate::Simulation::describe);
    let simulating = simulated.is_some();
    let started = match simulation {
        None => sources::start_all(&mut starter),
        Some(simulation) => {
            tasks.spawn(simulation.feed(reports.clone(), cancel.clone()));
            Ok(())
        }
    };
    if let Err(e) = started {
        // The sources started before it stop with it.
        cancel.cancel();
        tasks.close();
        within_grace(&cancel, &tasks, tasks.wait()).await;
        return Err(e);
    }
    let (started, found) = starter.into_summary();
    drop(reports);
    // The address bound, not the one asked for: `--listen :0` gets a port from the kernel.
    let listen = listener.local_addr().unwrap_or(config.http.listen);
    // One line saying what is watched: what zero-config found, or what the config enables,
    // or the simulated venue.
    match simulated {
        Some(simulated) => tracing::info!(
            config = "simulated",
            listen = %listen,
            https = tls.is_some(),
            zones = config.zones.len(),
            venue = simulated.venue.as_str(),
            interfaces = simulated.interfaces.as_str(),
            sources = simulated.sources.as_str(),
            "venuemon started"
        ),
        None => {
            let interfaces = sources::links::monitored_now(&config, &inventory).await;
            let file = file.map_or_else(|| "zero-config".to_string(), |f| f.display().to_string());
            tracing::info!(
                config = file.as_str(),
                listen = %listen,
                https = tls.is_some(),
                zones = config.zones.len(),
                interfaces = interfaces.as_str(),
                sources = started.as_str(),
                lease_files = found.list("lease_files").as_str(),
                hostapd_sockets = found.list("hostapd_sockets").as_str(),
                "venuemon started"
            );
        }
    }
    // The hub folds every sample in (a hundred thousand clients a tick at a large venue): on
    // a thread of its own, so that the runtime's workers stay free for HTTP.
    let hub = Hub::new(&config, inventory).run(inbox, publish, cancel.clone());
    let runtime = tokio::runtime::Handle::current();
    tasks.spawn_blocking(move || {
        sources::background_thread();
        runtime.block_on(hub);
    });

    let mut state = AppState::new(snapshots, &config.venue).with_http(&config.http);
    if simulating {
        state = state.simulated(&config.venue);
    }
    if config.history.enabled {
        state = state.with_history(&config.history.file(&config.agent.state_dir));
        // Reads the snapshots the hub publishes; never holds the hub or a scrape up.
        let writer = crate::history::Writer::new(
            config.history.file(&config.agent.state_dir),
            config.history.clone(),
            crate::history::Metrics::new(&state.registry),
        );
        // A simulated venue's history is the one `--history FILE` names.
        let writer = if simulating {
            writer.path_set_by("--history FILE")
        } else {
            writer
        };
        crate::history::writer::start(writer, state.snapshots.clone(), &tasks);
    }
    let metrics = state.server.clone();
    let app = web::app(state, config.http.request_timeout);
    let serving = web::serve(listener, tls, app, metrics, &config.http, cancel.clone());
    let stopping = async {
        shutdown.await;
        cancel.cancel();
    };
    let stopped = async {
        tokio::join!(serving, stopping);
        tasks.close();
        tasks.wait().await;
    };
    within_grace(&cancel, &tasks, stopped).await;
    tracing::info!("venuemon stopped");
    Ok(())
}

/// Runs `stopping` to its end, or until the grace period has passed since `cancel` fired,
/// whatever a source or a connection is doing: the tasks still running then are left to the
/// runtime's shutdown (`venuemon run` drops them with the runtime).
async fn within_grace(
    cancel: &CancellationToken,
    tasks: &TaskTracker,
    stopping: impl Future<Output = ()>,
) {
    let grace = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = stopping => {}
        () = grace => tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            tasks = tasks.len(),
            "still stopping after the grace period; exiting anyway"
        ),
    }
}

/// Installs SIGINT and SIGTERM handlers at once, and returns a future that resolves on
/// either signal: call it before the agent logs that it started, so that from then on a
/// signal means a clean stop, never a killed process. When the handlers cannot be installed
/// it says so and never resolves.
pub fn stop_on_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot install signal handlers; stop venuemon with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::sync::oneshot;

    use super::*;
    use crate::sources::hostapd::testing::FakeHostapd;

    /// Whether a thread named `name` runs in this process now.
    fn thread_running(name: &str) -> bool {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(Result::ok)
            .any(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.trim_end() == name)
            })
    }

    /// Waits up to 10 s for `ready`.
    async fn until(what: &str, ready: impl Fn() -> bool) {
        let started = Instant::now();
        while !ready() {
            assert!(started.elapsed() < Duration::from_secs(10), "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A registered task or thread that does not end at the stop holds `run` past the grace
    /// period (a client that never sends its TLS hello held it 5 s before handshakes
    /// watched the stop); one still running when `run` returns is counted (tasks) or seen
    /// (the capture thread). Capturing needs root.
    #[tokio::test]
    async fn lab_root_an_agent_with_every_source_stops_within_the_grace_period_leaving_no_task() {
        let root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .ok();
        assert_eq!(root, Some(0), "this test captures on lo: run it as root");
        let dir = tempfile::tempdir().expect("temp dir");
        let at = |name: &str| dir.path().join(name).display().to_string();
        let hostapd = FakeHostapd::start(dir.path().join("wlan0"), |command| match command {
            "STATUS" => Some("state=ENABLED\nfreq=2412\nchannel=1\n".into()),
            _ => Some(String::new()),
        });
        std::fs::write(
            at("dnsmasq.leases"),
            "4102444800 02:00:5e:10:00:07 10.10.0.17 laptop *\n",
        )
        .expect("lease file");
        let programme = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/schedule/windows-time-zone.ics"
        );
        let toml = format!(
            "[agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n\n\
             [[zone]]\nid = \"hall-a\"\n\n\
             [source.netdev]\nbackend = \"netlink\"\n\n\
             [source.neighbours]\nbackend = \"netlink\"\n\n\
             [[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"hall-a\"\nleases = \"{}\"\n\
             pool = \"10.10.0.10-10.10.3.250\"\nzone = \"hall-a\"\n\n\
             [[source.hostapd]]\nsockets = [\"{}\"]\nzone = \"hall-a\"\n\n\
             [[source.capture]]\ninterface = \"lo\"\nzone = \"hall-a\"\n\n\
             [schedule]\nfile = \"{programme}\"\n",
            at("state"),
            at("dnsmasq.leases"),
            hostapd.path.display(),
        );
        let (mut config, _) = crate::config::parse("t.toml", &toml, "host").expect("config");
        config.http.tls = Some(crate::testing::self_signed(dir.path(), "agent"));
        let listener = web::server::bind(([127, 0, 0, 1], 0).into()).expect("bind");
        let addr = listener.local_addr().expect("address");
        // The fake hostapd's task runs throughout; anything more after `run` is a leak.
        let metrics = tokio::runtime::Handle::current().metrics();
        let before = metrics.num_alive_tasks();

        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async {
            let _ = stopped.await;
        };
        let started_then_stopped = async {
            until("the event reader attaches", || hostapd.listeners() == 1).await;
            until("the capture thread starts", || thread_running("capture-lo")).await;
            // A client that never says hello: its connection waits in the TLS handshake.
            let silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
            // Every source has sampled once (at start, then every second).
            tokio::time::sleep(Duration::from_millis(300)).await;
            stop.send(()).expect("the agent listens for its stop");
            (Instant::now(), silent)
        };
        let (ran, (asked, _silent)) =
            tokio::join!(run(config, None, listener, shutdown), started_then_stopped);
        let took = asked.elapsed();
        ran.expect("the agent runs");

        assert!(took < SHUTDOWN_GRACE, "stopped in {took:?}");
        assert_eq!(
            metrics.num_alive_tasks(),
            before,
            "a task outlived the agent"
        );
        // The thread drops its registration last, just before it ends.
        let joined = Instant::now();
        while thread_running("capture-lo") {
            assert!(
                joined.elapsed() < Duration::from_millis(50),
                "the capture thread outlived the agent"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(hostapd);
    }
}
