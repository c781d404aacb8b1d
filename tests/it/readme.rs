//! What the README tells a newcomer to type: its test command runs the script CI runs, its
//! agent commands are real subcommands, and the agent runs unprivileged as it says (that test
//! needs root, to become `nobody`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, Agent, BIN};

fn read(path: &str) -> String {
    let path = common::project(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The command lines of the README's ```sh blocks, without their trailing comments.
fn readme_commands() -> Vec<String> {
    let readme = read("README.md");
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            text if in_sh => {
                let command = text.split(" #").next().unwrap_or_default().trim();
                if !command.is_empty() && !command.starts_with('#') {
                    commands.push(command.to_string());
                }
            }
            _ => {}
        }
    }
    commands
}

/// The script `.ci/run` execs, as a path from the repository (`./tests/run.sh`: `tests/run.sh`).
fn ci_script() -> String {
    let ci = read(".ci/run");
    let script = ci
        .lines()
        .find_map(|l| l.trim().strip_prefix("exec "))
        .expect(".ci/run execs the test script");
    script.trim().trim_start_matches("./").to_string()
}

#[test]
fn readme_test_command_runs_the_script_ci_runs_as_root_and_through_sudo() {
    let script = ci_script();
    let mode = std::fs::metadata(common::project(&script))
        .unwrap_or_else(|e| panic!("{script}, which .ci/run execs: {e}"))
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "{script} is not executable");

    let test_commands: Vec<String> = readme_commands()
        .into_iter()
        .filter(|c| c.contains("run.sh"))
        .collect();
    assert!(
        !test_commands.is_empty(),
        "the README shows no test command"
    );
    for command in &test_commands {
        let words: Vec<&str> = command
            .split_whitespace()
            .map(|w| w.trim_matches('"'))
            .collect();
        assert!(
            words
                .iter()
                .filter(|w| w.ends_with("run.sh"))
                .all(|w| *w == script),
            "README's `{command}` does not run {script}, which .ci/run execs"
        );
        // sudo drops ~/.cargo/bin from PATH (secure_path) and HOME, where rustup keeps cargo.
        if words.first() == Some(&"sudo") {
            assert!(
                words.contains(&"-E") && words.contains(&"PATH=$PATH"),
                "README's `{command}` would not find cargo: sudo needs -E and PATH=$PATH"
            );
        }
    }
    assert!(
        test_commands.contains(&script),
        "README shows no test command for root without sudo (plain `{script}`): {test_commands:?}"
    );
}

#[test]
fn readme_agent_commands_are_real_subcommands() {
    let mut subcommands = Vec::new();
    for command in readme_commands() {
        let args = if command.starts_with("cargo run") {
            command.split_once(" -- ").map(|(_, args)| args.to_string())
        } else {
            command.strip_prefix("venuemon ").map(str::to_string)
        };
        if let Some(sub) = args.as_deref().and_then(|a| a.split_whitespace().next()) {
            subcommands.push((command.clone(), sub.to_string()));
        }
    }
    assert!(
        subcommands
            .iter()
            .any(|(c, sub)| c.starts_with("cargo run --release") && sub == "run"),
        "the README's run command is not `cargo run --release -- run`: {subcommands:?}"
    );
    for (command, sub) in subcommands {
        let out = Command::new(BIN)
            .args([sub.as_str(), "--help"])
            .output()
            .expect("venuemon runs");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && help.contains(&format!("Usage: venuemon {sub}")),
            "README's `{command}`: `venuemon {sub}` is not a subcommand: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn zero_config_serves_metrics_as_nobody_with_no_capability() {
    common::require_root("zero_config_serves_metrics_as_nobody_with_no_capability");
    common::require_tool("setpriv", "util-linux");
    // A copy of the binary that `nobody` can run wherever the checkout is (e.g. under /root).
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("venuemon");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state dir");
    let state = state.to_str().expect("utf-8 path");
    common::run("chown", &["nobody:nogroup", state]);

    let port = common::free_port();
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(&bin)
        .args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .env("STATE_DIRECTORY", state);
    let mut agent = Agent::spawn(command, dir.path().join("log"));

    let up = |metrics: &str, source: &str| {
        metrics.lines().any(|l| {
            l.starts_with("venuemon_source_up{")
                && l.contains(&format!("source=\"{source}\""))
                && l.ends_with(" 1")
        })
    };
    common::wait_for(
        "netdev and neighbours up as nobody",
        Duration::from_secs(30),
        || {
            let (status, body) = common::http_get(port, "/metrics")?;
            (status == 200 && up(&body, "netdev") && up(&body, "neighbours")).then_some(())
        },
    );
    // The event key is in STATE_DIRECTORY, the unprivileged user's own and private.
    let key = std::fs::metadata(Path::new(state).join("default.key")).unwrap_or_else(|e| {
        panic!(
            "no event key in STATE_DIRECTORY ({e}); log:\n{}",
            agent.log()
        )
    });
    let owner = std::fs::metadata(state).expect("state dir").uid();
    assert!(owner != 0 && key.uid() == owner, "the key is not nobody's");
    assert_eq!(key.mode() & 0o777, 0o600);
    assert!(agent.stop().success(), "log:\n{}", agent.log());
}
