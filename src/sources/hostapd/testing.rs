//! A stand-in hostapd for the control-socket and source tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::UnixDatagram;
use tokio::task::JoinHandle;

/// A stand-in hostapd for protocol edges: answers commands from a script, remembers
/// who attached, and can push events to them. The real program is tested in `source`.
pub(crate) struct FakeHostapd {
    pub(crate) socket: Arc<UnixDatagram>,
    pub(crate) path: PathBuf,
    attached: Arc<Mutex<Vec<PathBuf>>>,
    task: JoinHandle<()>,
}

impl FakeHostapd {
    /// Serves at `path`; `answer` maps a command to its reply (`None`: stay silent).
    pub(crate) fn start(
        path: PathBuf,
        answer: impl Fn(&str) -> Option<String> + Send + 'static,
    ) -> FakeHostapd {
        let socket = Arc::new(UnixDatagram::bind(&path).expect("bind fake hostapd"));
        let attached = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let socket = socket.clone();
            let attached = attached.clone();
            async move {
                let mut buf = vec![0u8; 4096];
                while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                    let Some(from) = from.as_pathname().map(Path::to_path_buf) else {
                        continue;
                    };
                    let command = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let reply = match command.as_str() {
                        "ATTACH" => {
                            attached.lock().expect("lock").push(from.clone());
                            Some("OK\n".to_string())
                        }
                        "PING" => Some("PONG\n".to_string()),
                        other => answer(other),
                    };
                    if let Some(reply) = reply {
                        let _ = socket.send_to(reply.as_bytes(), &from).await;
                    }
                }
            }
        });
        FakeHostapd {
            socket,
            path,
            attached,
            task,
        }
    }

    /// Sends `message` to every attached listener, waiting for room (hostapd would drop).
    pub(crate) async fn push(&self, message: &str) {
        let listeners = self.attached.lock().expect("lock").clone();
        for to in listeners {
            self.socket
                .send_to(message.as_bytes(), &to)
                .await
                .expect("push event");
        }
    }

    pub(crate) fn listeners(&self) -> usize {
        self.attached.lock().expect("lock").len()
    }
}

impl Drop for FakeHostapd {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}
