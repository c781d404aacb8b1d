//! `venuemon-tools`: every venuemon command, among them those `venuemon` hands over
//! (`report`, `simulate`, `replay`, `run --simulate`); see the `cli` module.

fn main() -> std::process::ExitCode {
    venuemon::cli::tools_main()
}
