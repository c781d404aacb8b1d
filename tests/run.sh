#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine, installing what the tests need.
# Run as root: the lab tests build network namespaces, and packages come from apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(prometheus iproute2 iputils-ping curl dnsmasq kea-dhcp4-server isc-dhcp-server
  udhcpc isc-dhcp-client hostapd wpasupplicant tcpdump openssl chromium tzdata)
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
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

# A short fuzz run per decoder target, from the committed seeds (the long runs, 10 million
# executions each, are recorded in docs/PERFORMANCE.md). New inputs go to a scratch corpus.
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=$(mktemp -d)
for target in radiotap ieee80211 dhcp; do
  mkdir -p "$corpus/$target"
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus/$target" "seeds/$target" \
    -- -max_total_time=20 -print_final_stats=1 2>&1 | tail -4)
done
rm -rf "$corpus"

# Benchmarks are built by clippy above and run on purpose (docs/PERFORMANCE.md), not here.
cargo test --locked --lib --bins --tests -- --skip stay_fast
# The latency tests time /healthz and /metrics while the agent parses a huge input every tick:
# run alone, so that what they measure is the agent and not the rest of the suite.
cargo test --locked --test it stay_fast -- --test-threads=1
