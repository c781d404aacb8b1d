#!/usr/bin/env bash
# The status page under load: `wrk -t2 -c50` on `/` and `/api/status` of an agent with 50 zones
# while 200 server-sent-event clients stay connected to /events, tick 1 s.
#
#   benches/status_page.sh [ROUNDS]   (default 3; Debian; no root needed)
#
# The script writes, in a temp dir, a config with 50 [[zone]]s (hall-01..hall-50, accented
# names, seats, one /24 each) and 50 [[source.dhcp]] dnsmasq pools, one lease file each
# (240 addresses, 31 % to 99 % used, so tiles are ok, warn and critical; one MAC in three
# randomized); netdev and neighbours run with their defaults. It checks the file with
# `venuemon check-config`, starts `venuemon run` on 127.0.0.1 (a free port) and waits for the
# first snapshot. While the agent runs, 5 of the lease files are rewritten each second (3 leases more or fewer, renamed
# into place as dnsmasq does), so every tick changes a few tiles.
# benches/sse_clients.py then holds 200 connections to /events (half ?lang=en, half ?lang=fr)
# for the whole run and records every `update` event (arrival time, generated_at). After 10 s
# idle, each round loads, one after the other, with `wrk -t2 -c50 -d15s --latency`:
# `/`, `/api/status`, both again with `Accept-Encoding: gzip` (as every browser sends), and
# `/healthz` (the HTTP stack's floor); the order rotates between rounds. Per load: requests/s,
# p50 and p99 (wrk's latency distribution), errors, and the agent's CPU time during it
# (/proc/PID/stat), also per request. At the end: medians per URL as a Markdown table, what the
# SSE clients saw (clients held, tick spacing, delivery delays: see sse_clients.py), the agent's
# VmRSS/VmHWM and CPU time. Public tools only; installs nothing; kills what it started and
# removes its files on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
zones=50
sse_clients=200
duration=15s

missing=()
need() { command -v "$1" >/dev/null || missing+=("$1 (apt-get install $2)"); }
need cargo "cargo, or rustup"
need wrk wrk
need curl curl
need jq jq
need python3 python3
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  echo "install with: DEBIAN_FRONTEND=noninteractive apt-get install -y wrk curl jq python3" >&2
  exit 1
fi

bin=$(benches/release-binary.sh)
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The config and the lease files: NAME.leases now, NAME.leases.a / .b the two states the churn
# below alternates between (b has 3 leases more, or fewer when the pool is nearly full).
python3 - "$work" "$zones" <<'EOF'
import os, random, sys, time
work, zones = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{work}/leases")
rng = random.Random(5)
names = ["Salle Érable", "Hall Château-Frontenac", "Salon Côte-Nord", "Atelier Hélène-Boucher",
         "Foyer des Îles", "Agora Lévis", "Salle Montréal", "Terrasse Bécancour"]
# Pool use per zone, cycling: 6 ok, 2 warn (>= 80 %), 2 critical (>= 95 %) in every 10.
usage = [0.31, 0.47, 0.55, 0.62, 0.70, 0.76, 0.83, 0.91, 0.96, 0.99]
expiry = int(time.time()) + 6 * 3600
first, last = 10, 249  # 240 addresses per pool
out = ['[venue]', 'name = "Centre des congrès — banc d\'essai"', 'event = "pagebench"',
       'timezone = "UTC"', '', '[agent]', 'tick = "1s"', f'state_dir = "{work}/state"', '']
for z in range(1, zones + 1):
    zid = f"hall-{z:02d}"
    out += ['[[zone]]', f'id = "{zid}"', f'name = "{names[z % len(names)]} {z:02d}"',
            f'seats = {rng.choice([80, 120, 250, 400, 800, 1200])}', f'subnets = ["10.{z}.0.0/24"]', '']
    out += ['[[source.dhcp]]', 'kind = "dnsmasq"', f'name = "{zid}"',
            f'leases = "{work}/leases/{zid}.leases"', f'pool = "10.{z}.0.{first}-10.{z}.0.{last}"',
            f'zone = "{zid}"', '']
    size = last - first + 1
    n = round(size * usage[(z - 1) % len(usage)])
    def lines(count):
        rows = []
        for i in range(count):
            # One in three MACs randomized (locally administered bit), as phones do.
            head = 0x02 if i % 3 == 0 else 0x00
            mac = ":".join(f"{b:02x}" for b in [head, 0x16, 0x3e, z, i >> 8, i & 0xFF])
            rows.append(f"{expiry + i} {mac} 10.{z}.0.{first + i} host-{z}-{i} *\n")
        return "".join(rows)
    b = n + 3 if n + 3 <= size else n - 3
    for suffix, count in (("", n), (".a", n), (".b", b)):
        with open(f"{work}/leases/{zid}.leases{suffix}", "w") as f:
            f.write(lines(count))
with open(f"{work}/venuemon.toml", "w") as f:
    f.write("\n".join(out))
EOF
"$bin" check-config "$work/venuemon.toml" >"$work/check.log" 2>&1 ||
  { cat "$work/check.log" >&2; echo "the generated config does not check" >&2; exit 1; }
grep -i "warning" "$work/check.log" >&2 || true

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin" run --config "$work/venuemon.toml" --listen "127.0.0.1:$port" 2>"$work/venuemon.log" &
vm_pid=$!
pids+=($vm_pid)
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  kill -0 "$vm_pid" 2>/dev/null || { cat "$work/venuemon.log" >&2; exit 1; }
  sleep 0.1
done
for _ in $(seq 100); do
  [ "$(curl -sf "$base/api/status" | jq '.generated_at')" -gt 0 ] 2>/dev/null && break
  sleep 0.1
done
[ "$(curl -sf "$base/api/status" | jq '.generated_at')" -gt 0 ] ||
  { echo "no snapshot after 10 s" >&2; cat "$work/venuemon.log" >&2; exit 1; }
sleep 2 # every pool read at least once
status=$(curl -sf "$base/api/status" | jq -r '[.zones[].status] | group_by(.) | map("\(length) \(.[0])") | join(", ")')
echo "zones: $status" >&2

# Churn: every second, 5 lease files (the next 5 of 50 in turn) switch between their a and b.
(
  step=0
  while :; do
    for k in 0 1 2 3 4; do
      z=$(((step * 5 + k) % zones + 1))
      f="$work/leases/hall-$(printf %02d "$z").leases"
      [ $(((step * 5 + k) / zones % 2)) -eq 0 ] && v=b || v=a
      cp "$f.$v" "$f.tmp" && mv "$f.tmp" "$f"
    done
    step=$((step + 1))
    sleep 1
  done
) &
pids+=($!)

python3 benches/sse_clients.py hold "$port" "$sse_clients" "$work/sse" >"$work/sse.out" 2>"$work/sse.err" &
sse_pid=$!
pids+=($sse_pid)
for _ in $(seq 400); do grep -q '^ready' "$work/sse.out" && break; sleep 0.1; done
ready=$(awk '/^ready/ {print $2}' "$work/sse.out")
[ "${ready:-0}" -eq "$sse_clients" ] ||
  { echo "only ${ready:-0} of $sse_clients SSE clients got their first update" >&2; cat "$work/sse.err" >&2; exit 1; }

hz=$(getconf CLK_TCK)
# cpu: the agent's user + system CPU time so far, in clock ticks
cpu() { awk '{print $14 + $15}' "/proc/$vm_pid/stat"; }
now() { date +%s.%N; }
cpu_start=$(cpu)
t_start=$(now)
sleep 10 # idle: the SSE clients only
idle_cpu=$(awk -v a="$cpu_start" -v b="$(cpu)" -v t0="$t_start" -v t1="$(now)" -v hz="$hz" \
  'BEGIN {printf "%.1f", (b - a) / hz / (t1 - t0) * 100}')

# wrk prints latencies as 1.23ms, 456.00us or 1.20s
ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n*=1000; printf "%.3f", n }'; }
# load NAME PATH [HEADER]: one wrk run; appends "name rps p50_ms p99_ms errors cpu_percent
# cpu_us_per_request" to $work/results and "name start end" to $work/windows
load() {
  local name=$1 path=$2 out rps p50 p99 errors c0 c1 t0 t1
  local args=(-t2 -c50 "-d$duration" --latency)
  [ -n "${3:-}" ] && args+=(-H "$3")
  c0=$(cpu); t0=$(now)
  out=$(wrk "${args[@]}" "$base$path")
  c1=$(cpu); t1=$(now)
  echo "$name $t0 $t1" >>"$work/windows"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")
  echo "$name $rps $(ms "$p50") $(ms "$p99") $errors $(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v rps="$rps" 'BEGIN {cpu = (b - a) / hz / (t1 - t0); printf "%.1f %.1f", cpu * 100, cpu / rps * 1e6}')" \
    >>"$work/results"
  echo "round $r: $name: $rps req/s, p50 $p50, p99 $p99, errors $errors" >&2
}

urls=(page api page_gzip api_gzip healthz)
declare -A path=([page]=/ [api]=/api/status [page_gzip]=/ [api_gzip]=/api/status [healthz]=/healthz)
declare -A header=([page_gzip]="Accept-Encoding: gzip" [api_gzip]="Accept-Encoding: gzip")
for r in $(seq "$rounds"); do
  for i in "${!urls[@]}"; do
    name=${urls[$(((i + r - 1) % ${#urls[@]}))]}
    load "$name" "${path[$name]}" "${header[$name]:-}"
  done
done
sleep 3 # two more ticks after the last load
kill -0 "$vm_pid" 2>/dev/null || { echo "venuemon died" >&2; cat "$work/venuemon.log" >&2; exit 1; }
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$vm_pid/status")
anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$vm_pid/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$vm_pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$vm_pid/status")
cpu_total=$(awk -v a="$cpu_start" -v b="$(cpu)" -v hz="$hz" 'BEGIN {printf "%.1f", (b - a) / hz}')
wall_total=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}')
kill -TERM "$sse_pid"
wait "$sse_pid" || true

# bytes URL [HEADER]: body size as sent
bytes() { curl -s -o /dev/null -w '%{size_download}' ${2:+-H "$2"} "$base$1"; }
declare -A size=([page]=$(bytes /) [api]=$(bytes /api/status) [page_gzip]=$(bytes / "Accept-Encoding: gzip")
  [api_gzip]=$(bytes /api/status "Accept-Encoding: gzip") [healthz]=$(bytes /healthz))
gzip=$(curl -s -o /dev/null -D - -H "Accept-Encoding: gzip" "$base/" | awk -F': ' 'tolower($1) == "content-encoding" {print $2}' | tr -d '\r')
[ "$gzip" = gzip ] || echo "warning: / was not gzipped with Accept-Encoding: gzip" >&2

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$work/results" | median; }
label() { case $1 in page) echo '`/`' ;; api) echo '`/api/status`' ;; page_gzip) echo '`/`, gzip' ;;
  api_gzip) echo '`/api/status`, gzip' ;; healthz) echo '`/healthz`' ;; esac; }
echo
echo "rounds: $rounds, wrk -t2 -c50 -d$duration, $zones zones, $sse_clients SSE clients held," \
  "$(nproc) cores, $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| URL | requests/s | p50 ms | p99 ms | errors | agent CPU % | agent CPU µs/request | body bytes |" \
  "per round: req/s, p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in "${urls[@]}"; do
  printf "| %s | %.0f | %.2f | %.2f | %d | %.0f | %.1f | %s | %s |\n" "$(label "$n")" "$(col "$n" 2)" \
    "$(col "$n" 3)" "$(col "$n" 4)" "$(awk -v n="$n" '$1==n {s += $5} END {print s + 0}' "$work/results")" \
    "$(col "$n" 6)" "$(col "$n" 7)" "${size[$n]}" \
    "$(awk -v n="$n" '$1==n {printf "%s%.0f, %.1f", (k++ ? "; " : ""), $2, $4}' "$work/results")"
done
echo
for n in page api page_gzip api_gzip; do
  awk -v n="$(label "$n")" -v rps="$(col "$n" 2)" -v p99="$(col "$n" 4)" 'BEGIN {
    printf "%s: %.0f req/s (target >= 5000: %s), p99 %.2f ms (target < 20: %s)\n",
      n, rps, (rps >= 5000 ? "met" : "NOT met"), p99, (p99 < 20 ? "met" : "NOT met") }'
done
echo
python3 benches/sse_clients.py report "$work/sse" "$work/windows"
echo
echo "agent: VmRSS $((rss / 1024)) MB ($((anon / 1024)) MB anonymous; peak VmHWM $((hwm / 1024)) MB), $threads threads;" \
  "CPU ${cpu_total} s over" \
  "${wall_total} s (idle with the SSE clients: ${idle_cpu} % of a core)"
