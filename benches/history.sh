#!/usr/bin/env bash
# History benchmark (docs/PERFORMANCE.md, "History"): a simulated venue of 50 zones and
# 200 access points at a 1 s tick, served live by two release agents, one writing its
# history and one not, while a real Prometheus scrapes the first every second. Prints:
#   - the history's bytes per stored value (file size after the agent's clean stop, over
#     the non-NULL cells of its tick tables) beside the TSDB's bytes per sample (the size of
#     the blocks compacted from the head, over the samples their meta.json counts: head
#     blocks are cut every 5 minutes with --storage.tsdb.min/max-block-duration);
#   - the history's CPU cost: the difference of process_cpu_seconds_total between the two
#     agents over the same minutes, as a share of one core (Prometheus scrapes both, so the
#     difference is the history's alone);
#   - the memory it costs: both agents' resident and anonymous memory at the end.
# Usage: benches/history.sh [MINUTES]   (default 12; needs prometheus, sqlite3 is not needed)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-$(benches/release-binary.sh)}
minutes=${1:-12}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
with=$(port); without=$(port); prom=$(port)
venue=(--simulate --zones 50 --aps 200 --tick 1s --seed 1)
"$bin" run "${venue[@]}" --listen "127.0.0.1:$with" --history "$dir/history.sqlite" 2>"$dir/with.log" &
agent=$!
"$bin" run "${venue[@]}" --listen "127.0.0.1:$without" 2>"$dir/without.log" &
other=$!
cat >"$dir/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: venuemon
    static_configs: [{targets: ["127.0.0.1:$with", "127.0.0.1:$without"]}]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$prom" --storage.tsdb.min-block-duration=5m \
  --storage.tsdb.max-block-duration=5m 2>"$dir/prometheus.log" &
cpu() { curl -sf "127.0.0.1:$1/metrics" | awk '/^process_cpu_seconds_total/ {print $2}'; }
sleep 30
a0=$(cpu "$with"); b0=$(cpu "$without"); t0=$(date +%s.%N)
sleep $((minutes * 60 - 30))
a1=$(cpu "$with"); b1=$(cpu "$without"); t1=$(date +%s.%N)
memory() { awk '/^(VmRSS|RssAnon):/ {printf "%s %.1f MB ", $1, $2 / 1024}' "/proc/$1/status"; }
echo "memory: with history $(memory "$agent"); without $(memory "$other")"
kill -TERM "$agent"; wait "$agent" || true
python3 - "$dir" "$a0" "$a1" "$b0" "$b1" "$t0" "$t1" <<'PY'
import glob, json, os, sqlite3, sys
d, a0, a1, b0, b1, t0, t1 = sys.argv[1], *map(float, sys.argv[2:])
db = sqlite3.connect(f"{d}/history.sqlite")
values = 0
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_ticks'"):
    cols = [c[1] for c in db.execute(f"PRAGMA table_info({t})")]
    values += db.execute("SELECT " + " + ".join(f"count({c})" for c in cols) + f" FROM {t}").fetchone()[0]
ticks = db.execute("SELECT count(*) FROM venue_ticks").fetchone()[0]
size = os.path.getsize(f"{d}/history.sqlite")
samples = blocks = 0
for meta in glob.glob(f"{d}/tsdb/*/meta.json"):
    samples += json.load(open(meta))["stats"]["numSamples"]
    block = os.path.dirname(meta)
    blocks += sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(block) for f in fs)
print(f"history: {ticks} ticks, {values} values, {size} bytes: {size / values:.2f} bytes/value")
if samples:
    print(f"tsdb blocks: {samples} samples, {blocks} bytes: {blocks / samples:.2f} bytes/sample; ratio {size / values / (blocks / samples):.2f}x")
else:
    print("tsdb: no block compacted yet (run longer)")
cost = ((a1 - a0) - (b1 - b0)) / (t1 - t0)
print(f"cpu: with history {(a1 - a0) / (t1 - t0):.4f}, without {(b1 - b0) / (t1 - t0):.4f} cores; history {cost * 100:.2f} % of one core")
PY
