#!/usr/bin/env bash
# Memory under floods: the agent's resident size before, during and after a flood of clients,
# for several `[agent] max_clients`.
#
#   benches/memory_flood.sh dhcp [LEASES] [CAP...]        (default 2700000 leases; no root)
#   benches/memory_flood.sh neighbours [COUNT] [CAP...]   (default 100000 neighbours; root)
#
# VENUEMON_BIN=path measures that binary instead of a release build of this tree.
# Caps default to 100000, 250000 (the default) and 3000000 (above the flood: no eviction).
# The config has one zone (10.0.0.0/8), netdev off, tick 2 s, active window 30 s.
# - dhcp: two dnsmasq lease files, a small one (100 leases) and a flood of LEASES leases
#   (distinct MACs, one in three randomized, expiring in 6 h); one [[source.dhcp]] reads the
#   lease file, the neighbour source is off. The flood starts when the flood file is renamed
#   into place (as dnsmasq does) and ends when the small file is renamed back.
# - neighbours: a network namespace with a veth pair, the kernel's neighbour table limits
#   raised (gc_thresh*, which are host-wide: restored on exit) and COUNT neighbours on it, confirmed again every 5 s (`ip -batch` of
#   `neigh replace ... nud reachable`, as if every client kept talking); the agent runs in the
#   namespace (`ip netns exec`) with only the neighbour source. The flood ends when the
#   refresh stops and the table is flushed.
# For each cap the script starts `venuemon run` on 127.0.0.1, samples VmRSS from
# /proc/PID/status every 0.5 s, and reports:
#   baseline  the median RSS of 10 s after the first snapshot;
#   peak      VmHWM once the flood has been held 30 s after the agent first saw all of it
#             (or the registry full); steady = the median RSS of the last 10 s of that;
#   after     the median RSS of 10 s, from window + 5 ticks after the flood ended;
# with the zone's clients (during the flood and after) and venuemon_clients_evicted_total
# (during the flood) read from /metrics: one Markdown table row per cap (MiB = 2^20 bytes). Public tools only; installs
# nothing; kills what it started and removes its files (and namespace) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-dhcp}
shift || true
case $mode in
  dhcp) count=${1:-2700000} ;;
  neighbours) count=${1:-100000} ;;
  *) echo "usage: $0 dhcp|neighbours [COUNT] [CAP...]" >&2; exit 2 ;;
esac
shift || true
caps=("$@")
((${#caps[@]})) || caps=(100000 250000 3000000)

missing=()
need() { command -v "$1" >/dev/null || missing+=("$1 (apt-get install $2)"); }
need cargo "cargo, or rustup"
need curl curl
need jq jq
need python3 python3
[ "$mode" = neighbours ] && need ip iproute2
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  echo "install with: DEBIAN_FRONTEND=noninteractive apt-get install -y curl jq python3 iproute2" >&2
  exit 1
fi
if [ "$mode" = neighbours ] && [ "$(id -u)" -ne 0 ]; then
  echo "the neighbours flood needs root (a network namespace)" >&2
  exit 1
fi

# VENUEMON_BIN: measure that binary instead of building this tree's (to compare two versions).
if [ -n "${VENUEMON_BIN:-}" ]; then
  bin=$(realpath "$VENUEMON_BIN")
else
  bin=$(benches/release-binary.sh)
fi
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
ns=venuemon-flood-$$
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$mode" = neighbours ]; then
    ip netns del "$ns" 2>/dev/null
    for t in 1 2 3; do
      [ -n "${gc_thresh[$t]:-}" ] && sysctl -qw "net.ipv4.neigh.default.gc_thresh$t=${gc_thresh[$t]}"
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Client number i: a MAC (one in three randomized) and an address in 10.0.0.0/8.
python3 - "$work" "$mode" "$count" <<'EOF'
import sys, time
work, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
expiry = int(time.time()) + 6 * 3600
def clients(count):
    for i in range(count):
        head = 0x02 if i % 3 == 0 else 0x00
        a = i + 2  # from 10.0.0.2: 10.0.0.1 is the namespace's own address
        yield (f"{head:02x}:16:3e:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}",
               f"10.{a >> 16 & 0xFF}.{a >> 8 & 0xFF}.{a & 0xFF}")
def write(path, lines):
    with open(path, "w") as f:
        chunk = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
if mode == "dhcp":
    write(f"{work}/small.leases", (f"{expiry} {mac} {ip} * *\n" for mac, ip in clients(100)))
    write(f"{work}/flood.leases", (f"{expiry} {mac} {ip} * *\n" for mac, ip in clients(n)))
else:
    write(f"{work}/flood.batch",
          (f"neigh replace {ip} lladdr {mac} dev vf0 nud reachable\n" for mac, ip in clients(n)))
EOF

tick=2
window=30
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
run=()
gc_thresh=()
if [ "$mode" = neighbours ]; then
  # The ARP table, and its size limits, are shared by every namespace of the host.
  for t in 1 2 3; do
    gc_thresh[$t]=$(sysctl -n "net.ipv4.neigh.default.gc_thresh$t")
    sysctl -qw "net.ipv4.neigh.default.gc_thresh$t=$((count * 2))"
  done
  ip netns add "$ns"
  run=(ip netns exec "$ns")
  "${run[@]}" sh -e <<EOF
ip link set lo up
ip link add vf0 type veth peer name vf1
ip addr add 10.0.0.1/8 dev vf0
ip link set vf0 up
ip link set vf1 up
EOF
  sources='[source.neighbours]
backend = "netlink"'
  refresher=
  flood_start() {
    rm -f "$work/stop"
    (while [ ! -e "$work/stop" ]; do "${run[@]}" ip -batch "$work/flood.batch"; sleep 5; done) &
    refresher=$!
    pids+=($refresher)
  }
  flood_end() {
    touch "$work/stop"
    wait "$refresher" 2>/dev/null || true
    "${run[@]}" ip neigh flush dev vf0
  }
  flood_seen() { [ $(($(metric 'venuemon_zone_clients{zone="hall"}') + $(metric venuemon_clients_evicted_total))) -ge "$count" ]; }
else
  echo "flood file: $(du -m "$work/flood.leases" | cut -f1) MB, $count leases" >&2
  sources="[source.neighbours]
enabled = false

[[source.dhcp]]
kind = \"dnsmasq\"
leases = \"$work/dnsmasq.leases\"
zone = \"hall\""
  # Hands a lease file to the agent the way dnsmasq does: written aside, renamed into place.
  swap_in() { cp "$work/$1.leases" "$work/dnsmasq.leases.tmp" && mv "$work/dnsmasq.leases.tmp" "$work/dnsmasq.leases"; }
  swap_in small
  flood_start() { swap_in flood; }
  flood_end() { swap_in small; }
  flood_seen() { [ "$("${run[@]}" curl -sf "$base/api/status" | jq '.pools[0].leases_active // 0')" -eq "$count" ]; }
fi

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# Median of the RSS samples (KiB) of file $1 from line $2 on.
median_from() { tail -n +"$2" "$1" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
metric() { "${run[@]}" curl -sf "$base/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

echo "| flood | max_clients | baseline MiB | peak MiB (VmHWM) | flood steady MiB | after MiB | zone clients (flood, after) | evicted_total |"
echo "|---|---|---|---|---|---|---|---|"
for cap in "${caps[@]}"; do
  cat >"$work/venuemon.toml" <<EOF
[venue]
name = "memory flood"
event = "memflood"
timezone = "UTC"

[agent]
tick = "${tick}s"
active_window = "${window}s"
state_dir = "$work/state"
max_clients = $cap

[[zone]]
id = "hall"
name = "Hall"
subnets = ["10.0.0.0/8"]

[source.netdev]
enabled = false

$sources
EOF
  "${run[@]}" "$bin" run --config "$work/venuemon.toml" --listen "127.0.0.1:$port" 2>"$work/venuemon.log" &
  vm_pid=$! # `ip netns exec` execs the agent: this is its pid
  pids+=($vm_pid)
  for _ in $(seq 200); do
    [ "$("${run[@]}" curl -sf "$base/api/status" | jq '.generated_at' 2>/dev/null)" -gt 0 ] 2>/dev/null && break
    kill -0 "$vm_pid" 2>/dev/null || { cat "$work/venuemon.log" >&2; exit 1; }
    sleep 0.1
  done
  samples="$work/rss.$cap"
  (while kill -0 "$vm_pid" 2>/dev/null; do rss_kib "$vm_pid" >>"$samples" || true; sleep 0.5; done) &
  sampler=$!
  pids+=($sampler)
  sleep 10
  baseline=$(median_from "$samples" 1)

  flood_start
  for _ in $(seq 600); do flood_seen 2>/dev/null && break; sleep 0.5; done
  flood_seen || { echo "cap $cap: the flood was not seen in 300 s" >&2; exit 1; }
  sleep 20
  from=$(($(wc -l <"$samples") + 1))
  sleep 10
  steady=$(median_from "$samples" "$from")
  peak=$(hwm_kib "$vm_pid")
  clients=$(metric 'venuemon_zone_clients{zone="hall"}')
  evicted=$(metric venuemon_clients_evicted_total)

  flood_end
  sleep $((window + 5 * tick))
  from=$(($(wc -l <"$samples") + 1))
  sleep 10
  after=$(median_from "$samples" "$from")
  clients_after=$(metric 'venuemon_zone_clients{zone="hall"}')
  kill "$vm_pid" "$sampler" 2>/dev/null || true
  wait "$vm_pid" "$sampler" 2>/dev/null || true
  echo "| $mode $count | $cap | $(mib "$baseline") | $(mib "$peak") | $(mib "$steady") | $(mib "$after") | $clients, $clients_after | $evicted |"
done
