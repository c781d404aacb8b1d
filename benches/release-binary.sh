#!/usr/bin/env bash
# Builds the release programs if they are not up to date (the agent, and venuemon-tools
# beside it, which runs its offline commands) and prints the agent's path. Cargo puts them in
# target/<host tuple>/release/ (.cargo/config.toml builds for the host tuple, named, so that
# the binary is linked statically), or under CARGO_TARGET_DIR when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
realpath "${CARGO_TARGET_DIR:-target}/$(rustc --print host-tuple)/release/venuemon"
