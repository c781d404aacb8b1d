//! `venuemon run`: wires sources, hub and HTTP server together and shuts them down cleanly.

use std::future::Future;
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
use crate::sources::{self, Starter};
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

/// Runs the agent until SIGINT or SIGTERM.
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
    let key = client_key(&config);
    let mut starter = Starter::new(&config, &inventory, &key, &cancel, &reports, &mut tasks);
    sources::start_all(&mut starter)?;
    let (started, found) = starter.into_summary();
    drop(reports);
    // One line saying what is watched: what zero-config found, or what the config enables.
    let interfaces = sources::links::monitored_now(&config, &inventory).await;
    let file = file.map_or_else(|| "zero-config".to_string(), |f| f.display().to_string());
    tracing::info!(
        config = file.as_str(),
        listen = %config.http.listen,
        https = tls.is_some(),
        zones = config.zones.len(),
        interfaces = interfaces.as_str(),
        sources = started.as_str(),
        lease_files = found.list("lease_files").as_str(),
        hostapd_sockets = found.list("hostapd_sockets").as_str(),
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
