#!/usr/bin/env bash
# Series one agent exports, measured from its /metrics, as its inventory grows one dimension
# at a time: zones, monitored interfaces, DHCP pools (dnsmasq lease files), hostapd BSSes
# (APs: Debian hostapd, driver=wired, on veth ports), and clients (leases in one pool).
# Then what a central Prometheus holds per series: one Prometheus scrapes a static copy of a
# measured exposition repeated under AGENTS `agent` labels, and its resident memory and heap
# are read against the same Prometheus with nothing to scrape.
# docs/scale.md gives the results and the 50-venue arithmetic.
#
# Run as root (a network namespace): benches/series_per_agent.sh [path/to/venuemon]
# Needs iproute2, curl, hostapd, prometheus, python3. Takes about 4 minutes. KEEP=FILE keeps
# the last exposition (4 zones, 8 interfaces, 4 pools, 2 APs).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$(benches/release-binary.sh)}
[ "$(id -u)" = 0 ] || { echo "run as root: the agent runs in a network namespace" >&2; exit 1; }
AGENTS=${AGENTS:-200}

ns=vm-series-$$
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

# links INTERFACES APS: veth pairs i0.. (monitored, peers p0..) and a0.. (the APs' ports,
# peers b0.., not monitored), exactly as many as asked.
links() {
  local n
  for n in $(ip -n "$ns" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip -n "$ns" link del "$n" 2>/dev/null || true
  done
  for ((n = 0; n < $1; n++)); do
    ip -n "$ns" link add "i$n" type veth peer name "p$n"
    ip -n "$ns" link set "i$n" up
    ip -n "$ns" link set "p$n" up
  done
  for ((n = 0; n < $2; n++)); do
    ip -n "$ns" link add "a$n" type veth peer name "b$n"
    ip -n "$ns" link set "a$n" up
    ip -n "$ns" link set "b$n" up
  done
}

expiry=$(($(date +%s) + 86400))
# leases FILE COUNT THIRD-OCTET: a dnsmasq lease file of COUNT leases in 10.80.OCTET.0/22.
leases() {
  local file=$1 count=$2 octet=$3 k
  : >"$file"
  for ((k = 0; k < count; k++)); do
    printf '%s 02:00:00:%02x:%02x:%02x 10.80.%d.%d guest *\n' "$expiry" "$octet" \
      $((k / 256)) $((k % 256)) $((octet + k / 250)) $((k % 250 + 2)) >>"$file"
  done
}

# config ZONES INTERFACES POOLS LEASES APS: the agent's config on stdout. Zone z0 holds the
# interfaces, the pools and the APs; the other zones hold nothing, so each dimension counts
# on its own.
config() {
  local zones=$1 interfaces=$2 pools=$3 count=$4 aps=$5 z n
  cat <<EOF
[http]
listen = "127.0.0.1:9842"

[agent]
tick = "1s"
state_dir = "$work/state"

[source.neighbours]
enabled = false

[interfaces]
include = ["i*"]
EOF
  for ((z = 0; z < zones; z++)); do
    printf '\n[[zone]]\nid = "z%d"\nseats = 100\n' "$z"
    if [ "$z" = 0 ]; then
      printf 'interfaces = [%s]\nsubnets = ["10.80.0.0/16"]\n' \
        "$(for ((n = 0; n < interfaces; n++)); do printf '"i%d",' "$n"; done | sed 's/,$//')"
    fi
  done
  for ((n = 0; n < pools; n++)); do
    leases "$work/pool$n.leases" "$count" $((n * 4))
    printf '\n[[source.dhcp]]\nkind = "dnsmasq"\nname = "pool%d"\nleases = "%s"\n' "$n" "$work/pool$n.leases"
    printf 'pool = "10.80.%d.2-10.80.%d.251"\nzone = "z0"\n' $((n * 4)) $((n * 4 + 3))
  done
  if [ "$aps" -gt 0 ]; then
    printf '\n[[source.hostapd]]\nctrl_dir = "%s/ctrl"\nzone = "z0"\n' "$work"
  fi
}

# hostapd on ports a0..a(N-1), one BSS and control socket each (none when N is 0).
hostapd_pid=""
start_aps() {
  local aps=$1 n confs=()
  [ -n "$hostapd_pid" ] && { kill "$hostapd_pid"; wait "$hostapd_pid" 2>/dev/null || true; hostapd_pid=""; }
  rm -rf "$work/ctrl"
  [ "$aps" -gt 0 ] || return 0
  echo '"user" MD5 "password"' >"$work/eap_users"
  for ((n = 0; n < aps; n++)); do
    printf 'interface=a%d\ndriver=wired\nctrl_interface=%s/ctrl\nieee8021x=1\neap_server=1\neap_user_file=%s/eap_users\nuse_pae_group_addr=0\n' \
      "$n" "$work" "$work" >"$work/hostapd$n.conf"
    confs+=("$work/hostapd$n.conf")
  done
  ip netns exec "$ns" hostapd "${confs[@]}" >"$work/hostapd.log" 2>&1 &
  hostapd_pid=$!
  pids+=("$hostapd_pid")
  for _ in $(seq 50); do
    [ "$(ls "$work/ctrl" 2>/dev/null | wc -l)" -ge "$aps" ] && return 0
    sleep 0.1
  done
  echo "hostapd did not start:" >&2; cat "$work/hostapd.log" >&2; exit 1
}

# measure ZONES INTERFACES POOLS LEASES APS: one line of the table; the exposition is kept
# in $work/last.prom.
measure() {
  start_aps 0
  links "$2" "$5"
  start_aps "$5"
  config "$@" >"$work/venuemon.toml"
  # `ip netns exec` execs the agent: $! is the agent's own pid.
  ip netns exec "$ns" "$bin" run --config "$work/venuemon.toml" >/dev/null 2>"$work/agent.log" &
  local agent=$! body="" _
  pids+=("$agent")
  # Three ticks: every source has sampled and rates have a previous sample.
  sleep 3.5
  for _ in $(seq 20); do
    body=$(in_ns curl -sf --max-time 5 http://127.0.0.1:9842/metrics) && break
    sleep 0.5
  done
  kill "$agent"; wait "$agent" 2>/dev/null || true
  [ -n "$body" ] || { echo "the agent did not answer:" >&2; cat "$work/agent.log" >&2; exit 1; }
  printf '%s\n' "$body" >"$work/last.prom"
  printf '%5s %10s %5s %6s %3s %7s\n' "$1" "$2" "$3" "$4" "$5" "$(grep -vc '^#' "$work/last.prom")"
}

echo "series per agent (from /metrics after 3 ticks)"
printf '%5s %10s %5s %6s %3s %7s\n' zones interfaces pools leases aps series
measure 1 0 0 0 0
for z in 2 4 8; do measure "$z" 0 0 0 0; done
for i in 1 2 4 8 16; do measure 1 "$i" 0 0 0; done
for p in 1 2 4 8; do measure 1 0 "$p" 10 0; done
for l in 10 1000; do measure 1 0 1 "$l" 0; done
for a in 1 2 4; do measure 1 0 0 0 "$a"; done
measure 4 8 4 1000 2
cp "$work/last.prom" "$work/agent.prom"
[ -z "${KEEP:-}" ] || cp "$work/agent.prom" "$KEEP"
start_aps 0

# The central side: one Prometheus scraping the last exposition (4 zones, 8 interfaces,
# 4 pools, 2 APs) repeated under AGENTS `agent` labels, against the same Prometheus with
# an empty target.
python3 - "$work/agent.prom" "$AGENTS" >"$work/many.prom" <<'EOF'
import re, sys
sample = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
for a in range(int(sys.argv[2])):
    for line in lines:
        name, labels, value = sample.match(line).groups()
        labels = f'agent="a{a}"' + (f",{labels}" if labels else "")
        print(f"{name}{{{labels}}} {value}")
EOF
: >"$work/empty.prom"
central() {
  local file=$1 port=$2 dir=$work/central-$2
  mkdir -p "$dir/www" && cp "$file" "$dir/www/metrics"
  (cd "$dir/www" && exec python3 -m http.server --bind 127.0.0.1 $((port + 1)) >/dev/null 2>&1) &
  pids+=($!)
  cat >"$dir/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: venuemon
    static_configs: [{targets: ["127.0.0.1:$((port + 1))"]}]
EOF
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" >"$dir/log" 2>&1 &
  pids+=($!)
}
# own METRIC PORT: a figure from a Prometheus' own /metrics.
own() {
  curl -sf "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m {print $2}'
}
central "$work/empty.prom" 19190
central "$work/many.prom" 19290
# 60 scrapes: every series has its head chunk, as a central store always does.
sleep 60
echo
echo "central Prometheus after 60 scrapes: head series, resident bytes, heap in use"
for port in 19190 19290; do
  printf '%s %s %s\n' "$(own prometheus_tsdb_head_series "$port")" \
    "$(own process_resident_memory_bytes "$port")" "$(own go_memstats_heap_inuse_bytes "$port")"
done
