#!/usr/bin/env bash
# Scrape throughput, latency and memory: venuemon side by side with Debian's node_exporter
# (collectors netdev and netclass only), same machine, same interfaces, same load.
#
#   benches/scrape_vs_node_exporter.sh [ROUNDS]   (default 3; run as root on Debian)
#   VENUEMON=path/to/venuemon benches/...        measures that binary instead of building one
#                                                (to compare release profiles side by side)
#
# Each round loads each exporter in turn with `wrk -t2 -c10 -d10s --latency`, alternating
# which goes first; RSS is read from /proc/PID/status right after its load. Medians of the
# rounds are printed as a Markdown table for docs/PERFORMANCE.md. Public tools only.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}

need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
need wrk wrk
need prometheus-node-exporter prometheus-node-exporter
need bc bc

if [ -z "${VENUEMON:-}" ]; then
  VENUEMON=$(benches/release-binary.sh)
fi
# Ports beside the defaults (node_exporter 9100, venuemon 9842), not on them: an exporter or
# an agent may already be running on this host.
ne_port=19100 vm_port=19843
for port in $ne_port $vm_port; do
  if ss -Htln "sport = :$port" | grep -q .; then echo "port $port is in use" >&2; exit 1; fi
done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

prometheus-node-exporter --collector.disable-defaults --collector.netdev --collector.netclass \
  --web.listen-address=127.0.0.1:$ne_port >"$work/ne.log" 2>&1 &
ne_pid=$!
STATE_DIRECTORY="$work/state" "$VENUEMON" run --listen 127.0.0.1:$vm_port >"$work/vm.log" 2>&1 &
vm_pid=$!
for port in $ne_port $vm_port; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.2; done
done
sleep 6 # let venuemon publish its first full snapshot
rss() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
idle_ne=$(rss $ne_pid VmRSS); idle_vm=$(rss $vm_pid VmRSS)

# load NAME PORT PID -> appends "name rps p50_ms p99_ms rss_kb" to $work/results
load() {
  local out rps p50 p99 rss
  out=$(wrk -t2 -c10 -d10s --latency "http://127.0.0.1:$2/metrics")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  rss=$(rss "$3" VmRSS)
  echo "$1 $rps $(ms "$p50") $(ms "$p99") $rss" >>"$work/results"
}
# wrk prints latencies as 1.23ms, 456.00us or 1.20s
ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n*=1000; printf "%.3f", n }'; }

for r in $(seq "$rounds"); do
  if (( r % 2 )); then load node_exporter $ne_port $ne_pid; load venuemon $vm_port $vm_pid
  else load venuemon $vm_port $vm_pid; load node_exporter $ne_port $ne_pid; fi
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$work/results" | median; }
echo "rounds: $rounds, $(nproc) cores, $(uname -r)"
echo
echo "| exporter | scrapes/s | p50 ms | p99 ms | RSS MB idle | RSS MB after load | body bytes |"
echo "|---|---|---|---|---|---|---|"
for n in node_exporter venuemon; do
  port=$([ $n = venuemon ] && echo $vm_port || echo $ne_port)
  idle=$([ $n = venuemon ] && echo "$idle_vm" || echo "$idle_ne")
  bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
  printf "| %s | %.0f | %s | %s | %.1f | %.1f | %s |\n" $n "$(col $n 2)" "$(col $n 3)" "$(col $n 4)" \
    "$(echo "$idle / 1024" | bc -l)" "$(echo "$(col $n 5) / 1024" | bc -l)" "$bytes"
done
# Resident kB of the mappings whose file name matches a pattern: the binary itself (with the
# pages of it that relocations made private), the shared libraries.
mapped() { awk -v f="$2" '/^[0-9a-f]+-[0-9a-f]+ / {m = ($6 ~ f)} m && $1 == "Rss:" {kb += $2} END {print kb + 0}' "/proc/$1/smaps"; }
exe=$(readlink "/proc/$vm_pid/exe")
printf "venuemon at the end: anonymous %.1f MB, file-backed %.1f MB; mappings of the binary %.1f MB, of shared libraries %.1f MB; %s threads\n" \
  "$(echo "$(rss $vm_pid RssAnon) / 1024" | bc -l)" "$(echo "$(rss $vm_pid RssFile) / 1024" | bc -l)" \
  "$(echo "$(mapped $vm_pid "^$exe\$") / 1024" | bc -l)" "$(echo "$(mapped $vm_pid '\\.so(\\.|$)') / 1024" | bc -l)" \
  "$(rss $vm_pid Threads)"
vm_rps=$(col venuemon 2); ne_rps=$(col node_exporter 2)
vm_rss=$(col venuemon 5); ne_rss=$(col node_exporter 5)
echo
printf "throughput ratio venuemon/node_exporter: %.1fx (target >= 10x)\n" "$(echo "$vm_rps / $ne_rps" | bc -l)"
printf "RSS ratio venuemon/node_exporter: %.2f (target <= 0.33)\n" "$(echo "$vm_rss / $ne_rss" | bc -l)"
