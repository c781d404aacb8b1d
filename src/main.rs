//! `venuemon`, the agent: `run`, `check-config` and `doctor`; it hands the offline commands
//! to `venuemon-tools` beside it (see the `cli` module).

fn main() -> std::process::ExitCode {
    venuemon::cli::agent_main()
}
