//! HTTP abuse against a running agent: idle and slow-loris connections, more connections than
//! the cap (idle ones give way to newcomers, busy ones do not), password guessing from many
//! connections. Each is met by its `[http]` limit (short ones here, so that the tests take
//! seconds), and `/healthz` keeps answering.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::common::{self, Agent, TestConfig};

/// An agent on a free port with `http` added to its `[http]` table and `[http.auth]` set to
/// user "crew", password "right-pass".
fn agent(dir: &Path, http: &str) -> (Agent, u16) {
    let config = TestConfig::new(dir)
        .http(http)
        .section("[http.auth]\nusername = \"crew\"\npassword = \"right-pass\"");
    let (agent, port) = (config.start(None), config.port);
    common::wait_for("the agent to answer", Duration::from_secs(15), || {
        common::http_get(port, "/healthz").filter(|(status, _)| *status == 200)
    });
    (agent, port)
}

fn connect(port: u16) -> TcpStream {
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    tcp
}

/// Reads until the server closes `tcp`; returns what it sent (nothing, for a dropped idle
/// connection) or panics if it stays open past the read timeout.
fn read_until_closed(mut tcp: TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    match tcp.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection was not closed: {e}"),
    }
    answer
}

fn assert_healthz(port: u16) {
    let answer = common::http_get(port, "/healthz");
    assert_eq!(answer, Some((200, "ok\n".to_string())));
}

/// What `poll_healthz` saw: each answer that was not `ok` (`None`: no answer), and how many
/// times it asked.
type Polled = (Vec<Option<(u16, String)>>, usize);

/// Asks `/healthz` every `every` until `stop` is set, on a thread.
fn poll_healthz(
    port: u16,
    every: Duration,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Polled> {
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let (mut failed, mut asked) = (Vec::new(), 0);
        while !stop.load(Ordering::Relaxed) {
            let answer = common::http_get(port, "/healthz");
            if answer != Some((200, "ok\n".to_string())) {
                failed.push(answer);
            }
            asked += 1;
            std::thread::sleep(every);
        }
        (failed, asked)
    })
}

/// `GET path` with the crew's right password.
fn crew_get(path: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode("crew:right-pass");
    format!("GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Basic {token}\r\n\r\n")
}

#[test]
fn idle_and_slow_loris_connections_are_closed_and_the_excess_gets_503() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut agent, port) = agent(
        dir.path(),
        "header_timeout = \"1s\"\nmax_connections = 40\nmax_event_streams = 40",
    );

    // 30 idle connections and 5 clients sending a header line every 200 ms.
    let started = Instant::now();
    let idle: Vec<_> = (0..30).map(|_| connect(port)).collect();
    let loris: Vec<_> = (0..5)
        .map(|i| {
            std::thread::spawn(move || {
                let mut tcp = connect(port);
                let _ = tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n");
                for _ in 0..50 {
                    std::thread::sleep(Duration::from_millis(200));
                    if tcp
                        .write_all(format!("x-slow-{i}: 1\r\n").as_bytes())
                        .is_err()
                    {
                        break;
                    }
                }
                read_until_closed(tcp)
            })
        })
        .collect();
    for _ in 0..3 {
        assert_healthz(port);
        std::thread::sleep(Duration::from_millis(200));
    }
    for tcp in idle {
        assert!(
            read_until_closed(tcp).is_empty(),
            "an idle connection gets no answer"
        );
    }
    for client in loris {
        let answer = client.join().expect("slow client");
        assert!(
            !answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    let closed_in = started.elapsed();
    println!("30 idle and 5 slow-loris connections closed after {closed_in:?}");
    assert!(
        closed_in < Duration::from_secs(4),
        "closed within 1 s of header_timeout and some slack, not {closed_in:?}"
    );
    assert_healthz(port);

    // A flood of 100 idle connections against a cap of 40: the newest take the places of the
    // oldest, and /healthz, asked every 50 ms meanwhile, answers `ok` every time.
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll_healthz(port, Duration::from_millis(50), &stop);
    let flood: Vec<_> = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(2));
            connect(port)
        })
        .collect();
    for tcp in flood {
        assert!(
            read_until_closed(tcp).is_empty(),
            "an idle connection gets no answer"
        );
    }
    let closed_in = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (failed, asked) = poller.join().expect("poller");
    println!(
        "100 idle connections over a cap of 40 closed after {closed_in:?}; /healthz asked \
         {asked} times meanwhile"
    );
    assert!(failed.is_empty(), "/healthz during the flood: {failed:?}");
    assert!(asked >= 10, "/healthz asked {asked} times");
    assert!(
        closed_in < Duration::from_secs(4),
        "closed within 1 s of header_timeout and some slack, not {closed_in:?}"
    );

    // With every connection busy (40 event streams), the next one is answered 503 at once,
    // whatever it asks.
    let streams: Vec<_> = (0..40)
        .map(|_| {
            let mut tcp = connect(port);
            tcp.write_all(crew_get("/events").as_bytes())
                .expect("write");
            let mut head = [0; 12];
            tcp.read_exact(&mut head).expect("the stream starts");
            assert_eq!(&head, b"HTTP/1.1 200");
            tcp
        })
        .collect();
    let asked = Instant::now();
    let refused = common::http_get(port, "/healthz").expect("an answer");
    assert_eq!(refused, (503, "too many connections\n".to_string()));
    assert!(asked.elapsed() < Duration::from_millis(500));
    drop(streams);
    common::wait_for("the agent to answer again", Duration::from_secs(5), || {
        common::http_get(port, "/healthz").filter(|(status, _)| *status == 200)
    });

    let (_, metrics) = common::http_get(port, "/metrics").expect("metrics");
    let value = |name: &str| crate::venue::value(&metrics, name).unwrap_or_default();
    assert!(value("venuemon_http_connections_rejected_total") >= 1.0);
    let header = "venuemon_http_connections_dropped_total{reason=\"header_timeout\"}";
    assert!(value(header) >= 35.0, "{metrics}");
    // The flood's 100: the oldest 60 (or more, a /healthz taking a place too) evicted, the
    // rest closed at header_timeout.
    let evicted = "venuemon_http_connections_dropped_total{reason=\"evicted\"}";
    assert!(value(evicted) >= 60.0, "{metrics}");
    assert!(value(header) + value(evicted) >= 135.0, "{metrics}");
    common::promtool_check(&metrics);
    assert!(agent.stop().success());
}

#[test]
fn password_guessing_is_slowed_and_a_right_password_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut agent, port) = agent(dir.path(), "auth_failures_per_second = 5");
    let basic = |password: &str| {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("crew:{password}"));
        format!(
            "GET /api/status HTTP/1.1\r\nhost: x\r\nauthorization: Basic {token}\r\n\
             connection: close\r\n\r\n"
        )
    };

    // 20 connections guessing for 3 s, each starting a new guess as soon as it has an answer.
    let window = Duration::from_secs(3);
    let started = Instant::now();
    let wrong = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let guessers: Vec<_> = (0..20)
        .map(|i| {
            let (wrong, stop, request) = (
                Arc::clone(&wrong),
                Arc::clone(&stop),
                basic(&format!("guess-{i}")),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut tcp = connect(port);
                    tcp.write_all(request.as_bytes()).expect("write");
                    let answer = read_until_closed(tcp);
                    if answer.starts_with(b"HTTP/1.1 401") && started.elapsed() < window {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    // Meanwhile the crew's requests are answered at once.
    let right = basic("right-pass");
    let mut slowest = Duration::ZERO;
    while started.elapsed() < window {
        let asked = Instant::now();
        let mut tcp = connect(port);
        tcp.write_all(right.as_bytes()).expect("write");
        let answer = read_until_closed(tcp);
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        slowest = slowest.max(asked.elapsed());
        assert_healthz(port);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let wrong = wrong.load(Ordering::Relaxed);
    println!("{wrong} wrong answers in {window:?} to 20 connections; right ones in {slowest:?}");
    // A burst of 5, then 5 a second: about 20 in 3 s, whatever the number of connections.
    assert!(
        (10..=25).contains(&wrong),
        "{wrong} wrong answers in {window:?}"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "right password took {slowest:?}"
    );
    for guesser in guessers {
        guesser.join().expect("guesser");
    }

    assert!(agent.stop().success());
    let log = agent.log();
    let summaries: Vec<_> = log
        .lines()
        .filter(|l| l.contains("wrong credentials refused"))
        .collect();
    assert_eq!(
        summaries.len(),
        1,
        "one summary line, not one per guess:\n{log}"
    );
    // (The field is `refused=N`, with colour codes around `=` when the log is a terminal's.)
    assert!(summaries[0].contains("refused"), "{}", summaries[0]);
    // The agent's own listen address is logged at start; no client's address is.
    let clients: String = log.lines().filter(|l| !l.contains("listen")).collect();
    common::assert_nothing_leaks(&[("the log", &clients)], ["127.0.0.1"]);
    common::assert_nothing_leaks(&[("the log", &log)], ["guess-", "right-pass"]);
}

/// The figure with the default limits: of 3 000 idle connections all are gone within
/// 40 s, and `/healthz` answers `ok` throughout (about 12 s; `--nocapture` prints the figures
/// of docs/RELIABILITY.md, "HTTP abuse").
#[test]
fn three_thousand_idle_connections_are_gone_within_40_s_and_healthz_answers_throughout() {
    raise_file_limit(4096);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut agent, port) = agent(dir.path(), "");
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll_healthz(port, Duration::from_millis(100), &stop);
    let idle: Vec<_> = (0..3000).map(|_| connect(port)).collect();
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let healthz_at_the_cap = common::http_get(port, "/healthz");
    let (mut refused, mut dropped) = (0, 0);
    for tcp in idle {
        match read_until_closed(tcp) {
            answer if answer.starts_with(b"HTTP/1.1 503") => refused += 1,
            answer if answer.is_empty() => dropped += 1,
            answer => panic!("unexpected: {}", String::from_utf8_lossy(&answer)),
        }
    }
    let all_gone = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (failed, asked) = poller.join().expect("poller");
    let healthz_after = common::http_get(port, "/healthz");
    let (_, metrics) = common::http_get(port, "/metrics").expect("metrics");
    let dropped_for = |reason: &str| {
        let name = format!("venuemon_http_connections_dropped_total{{reason=\"{reason}\"}}");
        crate::venue::value(&metrics, &name).unwrap_or_default()
    };
    println!(
        "3000 idle connections opened in {opened:?}: {refused} answered 503 at once, \
         {dropped} closed without an answer ({} evicted, {} at header_timeout); all gone after \
         {all_gone:?}; /healthz at the cap: {healthz_at_the_cap:?}, asked every 100 ms \
         throughout: {} of {asked} not ok {failed:?}; after: {healthz_after:?}",
        dropped_for("evicted"),
        dropped_for("header_timeout"),
        failed.len()
    );
    assert!(all_gone < Duration::from_secs(40));
    assert_eq!(healthz_at_the_cap, Some((200, "ok\n".to_string())));
    assert!(failed.is_empty(), "/healthz during the flood: {failed:?}");
    assert_eq!(healthz_after, Some((200, "ok\n".to_string())));
    assert!(agent.stop().success());
}

/// Raises this process's soft open-file limit to at least `wanted` (within the hard limit).
fn raise_file_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of each call.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit), 0);
        limit.rlim_cur = limit.rlim_cur.max(wanted.min(limit.rlim_max));
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit), 0);
    }
    assert!(
        limit.rlim_cur >= wanted,
        "this test needs {wanted} open files: raise the hard limit (ulimit -Hn)"
    );
}
