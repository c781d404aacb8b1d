//! `venuemon run`: wires sources, hub and HTTP server together and shuts them down cleanly.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::hub::{Hub, Snapshot};
use crate::inventory::Inventory;
use crate::privacy::ClientKey;
use crate::sources::capture::CaptureSource;
use crate::sources::dhcp::{DhcpSource, KeaStatisticsSource};
use crate::sources::hostapd::{HostapdSource, Sockets};
use crate::sources::links::LinkReader;
use crate::sources::neighbours::NeighboursSource;
use crate::sources::netdev::NetdevSource;
use crate::sources::schedule::ScheduleSource;
use crate::sources::{self, Source};
use crate::web::{self, AppState};

/// How long shutdown waits, from SIGTERM, for requests and tasks to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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

/// Starts `source`'s sampling loop, noting `(kind, instance)` in `started`.
fn spawn_source<S: Source>(
    tasks: &mut JoinSet<()>,
    started: &mut Vec<(&'static str, String)>,
    source: S,
    interval: Duration,
    hub: &mpsc::Sender<Report>,
    cancel: &CancellationToken,
) {
    let instance = source.instance();
    tracing::debug!(source = S::NAME, instance = %instance, interval_seconds = interval.as_secs_f64(), "source started");
    started.push((S::NAME, instance));
    let deadline = sources::deadline(interval);
    tasks.spawn(sources::run(
        source,
        interval,
        deadline,
        hub.clone(),
        cancel.clone(),
    ));
}

use crate::sources::Report;

/// Names joined by commas for a log field, or "none".
fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(",")
    }
}

/// The interfaces `inventory` monitors now, by name ("unknown" when they cannot be listed
/// within a second: the source says why at its first sample).
async fn monitored_now(reader: &LinkReader, inventory: &Inventory) -> String {
    match tokio::time::timeout(Duration::from_secs(1), reader.links()).await {
        Ok(Ok(links)) => list(
            links
                .iter()
                .filter(|l| inventory.monitors(&l.name, l.kind))
                .map(|l| l.name.as_str()),
        ),
        Ok(Err(_)) | Err(_) => "unknown".to_string(),
    }
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

/// Runs the agent until SIGINT or SIGTERM; `file` is where `config` was read from (`None`
/// for zero-config).
///
/// # Errors
/// The listen address cannot be bound, or a source's backend cannot be opened.
pub async fn run(config: Config, file: Option<&Path>) -> anyhow::Result<()> {
    return_freed_memory_promptly();
    let listener = web::server::bind(config.http.listen).with_context(|| {
        format!(
            "cannot listen on {}: is another program using it? Choose another with --listen or [http] listen",
            config.http.listen
        )
    })?;
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
    let (reports, inbox) = mpsc::channel(64);
    let (publish, snapshots) = watch::channel(Arc::new(Snapshot::default()));
    let mut tasks = JoinSet::new();
    // Before anything is logged as started: from then on, SIGTERM means a clean stop.
    tasks.spawn(stop_on_signal(cancel.clone()));
    let mut started = Vec::new();
    let mut interfaces = None;
    let sources = &config.sources;
    let tick = config.agent.tick;
    let key = client_key(&config);

    if sources.netdev.enabled {
        let n = &sources.netdev;
        let reader =
            LinkReader::open(n.backend, &n.proc_root, &n.sys_root).context("interface source")?;
        interfaces = Some(monitored_now(&reader, &inventory).await);
        let source = NetdevSource::new(reader, Arc::clone(&inventory));
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            n.interval.unwrap_or(tick),
            &reports,
            &cancel,
        );
    }
    if sources.neighbours.enabled {
        let n = &sources.neighbours;
        let reader = LinkReader::open(n.backend, &n.proc_root, &sources.netdev.sys_root)
            .context("neighbour source")?;
        if interfaces.is_none() {
            interfaces = Some(monitored_now(&reader, &inventory).await);
        }
        let source = NeighboursSource::new(reader, Arc::clone(&inventory), key.clone());
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            n.interval.unwrap_or(tick),
            &reports,
            &cancel,
        );
    }
    for d in &sources.dhcp {
        let interval = d.interval.unwrap_or(tick);
        if let Some(socket) = &d.control_socket {
            let source = KeaStatisticsSource::new(d.name.clone(), socket.clone());
            spawn_source(
                &mut tasks,
                &mut started,
                source,
                interval,
                &reports,
                &cancel,
            );
        }
        let source = DhcpSource::new(
            d.clone(),
            Arc::clone(&inventory),
            key.clone(),
            config.agent.max_clients,
        );
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            interval,
            &reports,
            &cancel,
        );
    }
    let mut hostapd_sockets = Vec::new();
    for h in &sources.hostapd {
        let sockets = if h.sockets.is_empty() {
            Sockets::Dir(h.ctrl_dir.clone())
        } else {
            Sockets::Paths(h.sockets.clone())
        };
        // Found now, for the start-up line: each is named after its BSS interface.
        let found = sockets.now().unwrap_or_default().into_iter();
        hostapd_sockets.extend(found.filter(|p| p.exists()));
        let zone = h.zone.as_deref().and_then(|z| inventory.zone_index(z));
        let source = HostapdSource::new(sockets, zone, Arc::clone(&inventory), key.clone());
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            h.interval.unwrap_or(tick),
            &reports,
            &cancel,
        );
    }
    for c in &sources.capture {
        let sys_root = sources.netdev.sys_root.clone();
        let source =
            CaptureSource::new(c.clone(), &inventory, sys_root, key.clone(), cancel.clone());
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            c.interval.unwrap_or(tick),
            &reports,
            &cancel,
        );
    }
    if let Some(schedule) = &config.schedule {
        let timezone = config.venue.time_zone();
        let source = ScheduleSource::new(schedule.file.clone(), timezone, Arc::clone(&inventory));
        spawn_source(
            &mut tasks,
            &mut started,
            source,
            schedule.interval.unwrap_or(tick),
            &reports,
            &cancel,
        );
    }
    drop(reports);
    // One line saying what is watched: what zero-config found, or what the config enables.
    let instances = |kind: &str| {
        list(
            started
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, instance)| instance.as_str()),
        )
    };
    let lease_files: Vec<String> = sources
        .dhcp
        .iter()
        .map(|d| d.leases.display().to_string())
        .collect();
    let file = file.map_or_else(|| "zero-config".to_string(), |f| f.display().to_string());
    let hostapd_sockets = hostapd_sockets
        .iter()
        .filter_map(|p| p.file_name()?.to_str());
    tracing::info!(
        config = file.as_str(),
        listen = %config.http.listen,
        https = tls.is_some(),
        zones = config.zones.len(),
        interfaces = interfaces.as_deref().unwrap_or("none"),
        netdev = instances(NetdevSource::NAME).as_str(),
        neighbours = instances(NeighboursSource::NAME).as_str(),
        dhcp = instances(DhcpSource::NAME).as_str(),
        lease_files = list(lease_files.iter().map(String::as_str)).as_str(),
        kea_statistics = instances(KeaStatisticsSource::NAME).as_str(),
        hostapd = instances(HostapdSource::NAME).as_str(),
        hostapd_sockets = list(hostapd_sockets).as_str(),
        capture = instances(CaptureSource::NAME).as_str(),
        schedule = instances(ScheduleSource::NAME).as_str(),
        "venuemon started"
    );
    // The hub folds every sample in (a hundred thousand clients a tick at a large venue): on
    // a thread of its own, so that the runtime's workers stay free for HTTP.
    let hub = Hub::new(&config, inventory).run(inbox, publish, cancel.clone());
    let runtime = tokio::runtime::Handle::current();
    tasks.spawn_blocking(move || {
        sources::background_thread();
        runtime.block_on(hub)
    });

    let state = AppState::new(snapshots, &config.venue).with_http(&config.http);
    let metrics = state.server.clone();
    let app = web::app(state, config.http.request_timeout);
    let stopping = async {
        web::serve(listener, tls, app, metrics, &config.http, cancel.clone()).await;
        cancel.cancel();
        while tasks.join_next().await.is_some() {}
    };
    // From the signal on, the whole stop takes at most the grace period, whatever a source
    // or a connection is doing; tasks still running are dropped with the runtime.
    let grace = async {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = stopping => {}
        () = grace => {
            tracing::warn!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "still stopping after the grace period; exiting anyway");
        }
    }
    tracing::info!("venuemon stopped");
    Ok(())
}

/// Installs SIGINT and SIGTERM handlers at once (a signal arriving before the returned task
/// first runs must not kill the process); the task cancels `cancel` on either signal, or
/// returns when it is cancelled otherwise.
fn stop_on_signal(cancel: CancellationToken) -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            tracing::error!("cannot install signal handlers; stop venuemon with SIGKILL");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
            () = cancel.cancelled() => {}
        }
        cancel.cancel();
    }
}
