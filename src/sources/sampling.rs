//! The sampling loop every source runs in: one sample per interval on the wall clock's
//! grid, each on a thread of its own with a deadline, retries with backoff after a failure,
//! and every result sent to the hub as a [`Report`].

use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ErrorKind, Observation, Report, Source, SourceError, background_thread};
use crate::model::grid::until_round;

/// The longest wait between retries of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How many intervals a sample may take before the source is reported down (kind
/// `timeout`), unless that is shorter than [`MIN_DEADLINE`].
const DEADLINE_INTERVALS: u32 = 3;

/// The shortest deadline of a sample: reading a large file on a busy box may take seconds.
const MIN_DEADLINE: Duration = Duration::from_secs(10);

/// The deadline of a sample of a source sampled every `interval`.
pub fn deadline(interval: Duration) -> Duration {
    (interval * DEADLINE_INTERVALS).max(MIN_DEADLINE)
}

/// A finished sample: the source handed back with its outcome (`None`: it was cancelled).
type Sampled<S> = Option<(S, Result<Vec<Observation>, SourceError>)>;

/// A sample in its own task.
type Sampling<S> = JoinHandle<Sampled<S>>;

/// Where a source is between samples.
enum State<S> {
    /// Free to sample.
    Idle(S),
    /// In a sample that overran its deadline, started at the instant given.
    Overran(Sampling<S>, Instant),
}

/// Samples `source` every `interval` until `cancel` fires, sending each result to the hub.
/// The first sample is taken at once, the later ones on the wall clock's multiples of the
/// interval (see `until_round`), where the hub's snapshots follow them. After a failure it
/// retries an interval later, then waits longer each time (doubling, up to a minute).
///
/// Each sample runs on a thread of its own (see `spawn_sample`) and has a `deadline` (the
/// agent gives [`deadline`]`(interval)`): past it the source is reported down (kind
/// `timeout`), and again at each retry while that sample is still running; no other sample
/// of the source starts meanwhile. When it ends, its late result is dropped and the next
/// sample starts at once. Cancelling ends the sample at its next await (it `select!`s on
/// `cancel`) and returns once it has: the loop never leaves a sample running behind it.
pub async fn run<S: Source>(
    source: S,
    interval: Duration,
    deadline: Duration,
    hub: mpsc::Sender<Report>,
    cancel: CancellationToken,
) {
    let instance = source.instance();
    let mut state = State::Idle(source);
    let mut failures: u32 = 0;
    loop {
        let attempt = Instant::now();
        let free = match state {
            State::Overran(sampling, started) if !sampling.is_finished() => {
                Err((sampling, started))
            }
            // It ended at last: its result is stale, the source free again.
            State::Overran(sampling, _) => match joined(sampling.await) {
                Some((source, _)) => Ok(source),
                None => return, // cancelled
            },
            State::Idle(source) => Ok(source),
        };
        let outcome;
        (state, outcome) = match free {
            Ok(source) => match sample(source, deadline, &cancel).await {
                Some(done) => done,
                None => return, // cancelled
            },
            Err((sampling, started)) => (State::Overran(sampling, started), Err(overran(deadline))),
        };
        let duration = match &state {
            State::Overran(_, started) => started.elapsed(),
            State::Idle(_) => attempt.elapsed(),
        };
        failures = if outcome.is_ok() {
            0
        } else {
            failures.saturating_add(1)
        };
        let report = Report {
            source: S::NAME,
            instance: instance.clone(),
            duration,
            outcome,
        };
        if hub.send(report).await.is_err() {
            return; // the hub is gone: shutting down
        }
        let next = if failures == 0 {
            // Rates come from successive samples: never two much closer than an interval.
            let mut pause = until_round(SystemTime::now(), interval);
            if pause < interval / 2 {
                pause += interval;
            }
            Instant::now() + pause
        } else {
            let backoff = interval * 2u32.saturating_pow(failures - 1);
            // A sample past its deadline: the retries count from this report.
            let from = match state {
                State::Overran(..) => Instant::now(),
                State::Idle(_) => attempt,
            };
            from + backoff.min(MAX_BACKOFF.max(interval))
        };
        // Asleep until the next sample, or until a sample past its deadline ends.
        let woke = match &mut state {
            State::Overran(sampling, _) => tokio::select! {
                () = cancel.cancelled() => None,
                () = tokio::time::sleep_until(next) => Some(None),
                ended = sampling => Some(Some(joined(ended))),
            },
            State::Idle(_) => tokio::select! {
                () = cancel.cancelled() => None,
                () = tokio::time::sleep_until(next) => Some(None),
            },
        };
        match woke {
            None => {
                if let State::Overran(sampling, _) = state {
                    stopped(sampling).await;
                }
                return;
            }
            Some(None) => {}
            // The late result is stale: dropped; the source samples again at once.
            Some(Some(Some((source, _)))) => state = State::Idle(source),
            Some(Some(None)) => return, // cancelled
        }
    }
}

/// Takes one sample of `source`, as [`run`] takes each (on a thread of its own, within
/// `deadline`), and sends its [`Report`] to `hub`; nothing when `cancel` fires first. For
/// `venuemon doctor`, which checks each source the config enables by sampling it once.
pub(crate) async fn once<S: Source>(
    source: S,
    deadline: Duration,
    hub: mpsc::Sender<Report>,
    cancel: CancellationToken,
) {
    let instance = source.instance();
    let started = Instant::now();
    let Some((state, outcome)) = sample(source, deadline, &cancel).await else {
        return;
    };
    if let State::Overran(sampling, _) = state {
        // The check is over: a sample still running past its deadline is not waited for.
        sampling.abort();
    }
    let report = Report {
        source: S::NAME,
        instance,
        duration: started.elapsed(),
        outcome,
    };
    let _ = hub.send(report).await;
}

/// Takes one sample, waiting for it at most `deadline`; `None` when `cancel` fired first.
async fn sample<S: Source>(
    source: S,
    deadline: Duration,
    cancel: &CancellationToken,
) -> Option<(State<S>, Result<Vec<Observation>, SourceError>)> {
    let started = Instant::now();
    let mut sampling = spawn_sample(source, cancel.clone());
    tokio::select! {
        () = cancel.cancelled() => {
            stopped(sampling).await;
            None
        }
        done = tokio::time::timeout(deadline, &mut sampling) => match done {
            Ok(result) => joined(result).map(|(source, outcome)| (State::Idle(source), outcome)),
            Err(_) => Some((State::Overran(sampling, started), Err(overran(deadline)))),
        },
    }
}

/// Starts a sample that ends early when `cancel` fires. On a multi-thread runtime (the
/// agent's) it runs on a blocking thread of its own, driven there with the runtime's handle:
/// even synchronous work a source does between its awaits (parsing, hashing a large table)
/// never holds up a worker, so the HTTP side and the hub keep their threads. On a
/// current-thread runtime (unit tests with a paused clock) it is an ordinary task.
fn spawn_sample<S: Source>(mut source: S, cancel: CancellationToken) -> Sampling<S> {
    let work = async move {
        tokio::select! {
            () = cancel.cancelled() => None,
            outcome = source.sample() => Some(outcome),
        }
        .map(|outcome| (source, outcome))
    };
    let runtime = tokio::runtime::Handle::current();
    match runtime.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => tokio::spawn(work),
        _ => tokio::task::spawn_blocking(move || {
            background_thread();
            runtime.block_on(work)
        }),
    }
}

/// Waits for a cancelled sample to end: at once on a current-thread runtime (the task is
/// aborted), at its next await on a blocking thread (it sees the cancellation there; a
/// blocking thread cannot be aborted). Its outcome, even a panic, no longer matters.
async fn stopped<S>(sampling: Sampling<S>) {
    sampling.abort();
    let _ = sampling.await;
}

/// The source and outcome of a finished sample (`None`: cancelled); a panic in the sample
/// goes on up.
fn joined<S>(result: Result<Sampled<S>, tokio::task::JoinError>) -> Sampled<S> {
    match result {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None, // the runtime is shutting down
    }
}

/// The error of a sample still running past its deadline.
fn overran(deadline: Duration) -> SourceError {
    SourceError::new(
        ErrorKind::Timeout,
        format!(
            "a sample has not finished after {} s: the source is reported down until it does \
             (a peer that never answers, or an input too large for the interval: then give the \
             source a longer interval)",
            deadline.as_secs_f64()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flaky {
        results: Vec<bool>,
    }

    impl Source for Flaky {
        const NAME: &'static str = "flaky";
        fn instance(&self) -> String {
            "test".into()
        }
        async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
            match self.results.pop() {
                Some(true) | None => Ok(vec![]),
                Some(false) => Err(SourceError::new(ErrorKind::Io, "down")),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failing_source_backs_off_then_recovers() {
        // popped from the end: fail, fail, fail, then succeed
        let source = Flaky {
            results: vec![true, false, false, false],
        };
        let (tx, mut rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        tokio::spawn(run(
            source,
            Duration::from_secs(5),
            deadline(Duration::from_secs(5)),
            tx,
            cancel.clone(),
        ));
        let mut times = Vec::new();
        for _ in 0..5 {
            let report = rx.recv().await.expect("report");
            times.push((start.elapsed(), report.outcome.is_ok()));
        }
        cancel.cancel();
        let secs = |s| Duration::from_secs(s);
        assert_eq!(
            times[..4],
            [
                (secs(0), false),
                (secs(5), false),
                (secs(15), false),
                (secs(35), true)
            ]
        );
        // Healthy again: the next sample on a multiple of 5 s on the wall clock, 2.5 to 7.5 s on.
        let (last, ok) = times[4];
        let after = last - secs(35);
        assert!(
            ok && after >= secs(5) / 2 && after < secs(15) / 2,
            "{last:?}"
        );
    }

    /// A source whose samples take the given times (`None`: forever), then no time.
    struct Slow {
        delays: Vec<Option<Duration>>,
    }

    impl Source for Slow {
        const NAME: &'static str = "slow";
        fn instance(&self) -> String {
            "test".into()
        }
        async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
            match self.delays.pop() {
                Some(Some(delay)) => tokio::time::sleep(delay).await,
                Some(None) => std::future::pending().await,
                None => {}
            }
            Ok(vec![])
        }
    }

    /// Reports as (seconds since `start`, source, error kind or `ok`), until `until`.
    async fn reports(
        rx: &mut mpsc::Receiver<Report>,
        start: Instant,
        until: Duration,
    ) -> Vec<(u64, &'static str, &'static str)> {
        let mut seen = Vec::new();
        while let Ok(Some(report)) = tokio::time::timeout_at(start + until, rx.recv()).await {
            let kind = report
                .outcome
                .as_ref()
                .map_or_else(|e| e.kind.as_str(), |_| "ok");
            seen.push((start.elapsed().as_secs(), report.source, kind));
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn a_sample_that_never_ends_is_reported_down_and_the_others_keep_reporting() {
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let interval = Duration::from_secs(5);
        let stuck = Slow { delays: vec![None] };
        let healthy = Flaky { results: vec![] };
        let stuck = tokio::spawn(run(
            stuck,
            interval,
            deadline(interval),
            tx.clone(),
            cancel.clone(),
        ));
        tokio::spawn(run(
            healthy,
            interval,
            deadline(interval),
            tx,
            cancel.clone(),
        ));
        let seen = reports(&mut rx, start, Duration::from_secs(36)).await;
        let of = |name| -> Vec<_> { seen.iter().filter(|r| r.1 == name).collect() };
        // Down at the deadline (3 intervals), then again at each retry, backing off.
        assert_eq!(
            of("slow"),
            [
                &(15, "slow", "timeout"),
                &(20, "slow", "timeout"),
                &(30, "slow", "timeout")
            ]
        );
        let healthy = of("flaky");
        // Every 5 to 7.5 s (the paused clock runs ahead of the wall clock the grid follows).
        assert!(healthy.len() >= 5, "{seen:?}");
        assert!(healthy.iter().all(|r| r.2 == "ok"), "{seen:?}");
        // Stopping ends the sample that never ends (cancelled at its await) and its loop.
        cancel.cancel();
        tokio::time::timeout(Duration::from_millis(1), stuck)
            .await
            .expect("the stuck source's loop ends at once")
            .expect("no panic");
    }

    #[tokio::test(start_paused = true)]
    async fn a_sample_past_its_deadline_is_dropped_and_the_next_starts_when_it_ends() {
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let slow = Slow {
            delays: vec![Some(Duration::from_secs(40))],
        };
        let interval = Duration::from_secs(5);
        tokio::spawn(run(slow, interval, deadline(interval), tx, cancel.clone()));
        let seen = reports(&mut rx, start, Duration::from_secs(41)).await;
        cancel.cancel();
        assert_eq!(
            seen,
            [
                (15, "slow", "timeout"),
                (20, "slow", "timeout"),
                (30, "slow", "timeout"),
                (40, "slow", "ok"),
            ]
        );
    }

    /// Blocks its thread (a synchronous read or parse inside `sample`) for a second.
    struct Blocking;

    impl Source for Blocking {
        const NAME: &'static str = "blocking";
        fn instance(&self) -> String {
            "test".into()
        }
        async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
            std::thread::sleep(Duration::from_secs(1));
            Ok(vec![])
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_source_blocking_its_thread_holds_up_no_worker() {
        let (tx, mut rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let (interval, deadline) = (Duration::from_millis(100), Duration::from_millis(300));
        tokio::spawn(run(Blocking, interval, deadline, tx, cancel.clone()));
        // On the only worker, the deadline would wait for the blocked thread.
        let report = rx.recv().await.expect("report");
        let kind = report
            .outcome
            .as_ref()
            .map_or_else(|e| e.kind.as_str(), |_| "ok");
        assert_eq!(kind, "timeout");
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "{:?}",
            start.elapsed()
        );
        cancel.cancel();
    }
}
