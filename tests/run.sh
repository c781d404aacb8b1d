#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine, installing what the tests need.
# Run as root: the lab tests build network namespaces, and packages come from apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt-get, waiting (up to 15 min) for the package manager's lock while another apt or dpkg run
# holds it (unattended-upgrades, an install in another shell) instead of failing at once.
# apt's own DPkg::Lock::Timeout covers install but not update's lists lock (apt 2.6).
apt_get() {
  local log status announced=""
  local deadline=$((SECONDS + 900))
  log=$(mktemp)
  while true; do
    status=0
    apt-get "$@" 2>"$log" || status=$?
    if [ "$status" -eq 0 ] || ! grep -q "Could not get lock" "$log" || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$log" >&2
      rm -f "$log"
      return "$status"
    fi
    if [ -z "$announced" ]; then
      echo "tests/run.sh: waiting for the package manager's lock ($(grep -m1 -o 'held by .*' "$log" || echo 'held by another apt or dpkg run'))"
      announced=1
    fi
    sleep 5
  done
}

packages=(prometheus iproute2 iputils-ping curl dnsmasq kea-dhcp4-server isc-dhcp-server
  udhcpc isc-dhcp-client hostapd wpasupplicant tcpdump chromium tzdata python3
  prometheus-alertmanager python3-yaml systemd docker-compose strace poppler-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${missing[*]}"
  # The tests start their own DHCP servers and hostapd in namespaces: keep the packages'
  # services from starting on the host while they install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

# A short fuzz run per decoder target, from the committed seeds (the long runs, 10 million
# executions each, are recorded in docs/PERFORMANCE.md). New inputs go to a scratch corpus.
# One line per target; a crash (or a failed build) prints the whole output and stops here.
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=$(mktemp -d)
fuzz_log=$(mktemp)
for target in radiotap ieee80211 dhcp; do
  mkdir -p "$corpus/$target"
  status=0
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus/$target" "seeds/$target" \
    -- -max_total_time=20 -print_final_stats=1) >"$fuzz_log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$fuzz_log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$fuzz_log" | tail -1)
  if [ "$status" -ne 0 ] || [ -z "$runs" ]; then
    cat "$fuzz_log"
    echo "fuzz $target: FAILED (exit status $status, ${runs:-no} executions): see the output" \
      "above (a crash saves its input in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  echo "fuzz $target: $runs executions in ${secs:-?} s, no crash"
done
rm -rf "$corpus" "$fuzz_log"

# The binary users run is the release build (LTO, glibc linked in statically), which links
# differently from the debug build the other tests run: tests/it/release.rs checks it.
cargo build --release --locked
# Benchmarks are built by clippy above and run on purpose (docs/PERFORMANCE.md), not here.
cargo test --locked --lib --bins --tests -- --skip stay_fast
# The latency tests time /healthz and /metrics while the agent parses a huge input every tick:
# run alone, so that what they measure is the agent and not the rest of the suite.
cargo test --locked --test it stay_fast -- --test-threads=1
