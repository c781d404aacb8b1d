#!/usr/bin/env bash
# Offline decoding speed: `venuemon replay` side by side with `cat`, `tcpdump -r` and `tshark -r`
# on the same large radiotap/802.11 capture, same run, page cache warm, one core each.
#
#   benches/replay_vs_tcpdump.sh [RUNS]   (default 5; tshark gets 2 runs, it is slow)
#
# The capture is ../shared/fixtures/tcpdump/ieee802.11_exthdr.pcap (26 frames) doubled with
# `mergecap -F pcap -a` 15 times (pcap kept; mergecap writes pcapng by default): 851 968 frames,
# ~147 MB, in a temp dir removed on exit. Timings use hyperfine when present (medians of its
# runs), else a plain loop. cat, tcpdump and venuemon run under `taskset -c 0`; tshark runs
# unpinned (its dissection dominates anyway).
# Prints the medians, tcpdump/venuemon (target >= 20x) and venuemon/cat (target <= 5x), and
# checks that venuemon's frame count equals the file's. Public tools only; installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
fixture=../shared/fixtures/tcpdump/ieee802.11_exthdr.pcap
doublings=15

missing=()
need() { command -v "$1" >/dev/null || missing+=("$1 (apt-get install $2)"); }
need cargo "cargo, or rustup"
need mergecap tshark
need capinfos tshark
need tshark tshark
need tcpdump tcpdump
need taskset util-linux
need jq jq
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  echo "install with: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark tcpdump jq hyperfine" >&2
  exit 1
fi
command -v hyperfine >/dev/null || echo "hyperfine not found (apt-get install hyperfine): timing with a plain loop" >&2
[ -r "$fixture" ] || { echo "fixture not found: $fixture (run from a checkout beside shared/)" >&2; exit 1; }

bin=$(benches/release-binary.sh)
[ -x "$bin" ] || { echo "no binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Double the file until 26 * 2^15 frames.
cp "$fixture" "$work/f0.pcap"
for i in $(seq "$doublings"); do
  mergecap -F pcap -a -w "$work/f$i.pcap" "$work/f$((i - 1)).pcap" "$work/f$((i - 1)).pcap"
  rm "$work/f$((i - 1)).pcap"
done
file="$work/big.pcap"
mv "$work/f$doublings.pcap" "$file"
frames=$(capinfos -c -M "$file" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
expected=$(($(capinfos -c -M "$fixture" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}') << doublings))
bytes=$(stat -c %s "$file")
echo "capture: $frames frames, $((bytes / 1000000)) MB (expected $expected frames)"
[ "$frames" -eq "$expected" ] || { echo "FAIL: frame count $frames != $expected" >&2; exit 1; }

# venuemon must see every frame: per-file line "FILE: N frames" and the total "frames: N (...)".
out=$("$bin" replay "$file")
vm_frames=$(awk '/^frames: / {print $2}' <<<"$out")
echo "venuemon replay counted $vm_frames frames"
[ "$vm_frames" = "$frames" ] || { echo "FAIL: venuemon counted $vm_frames, the file has $frames" >&2; exit 1; }

# Warm the page cache.
cat "$file" >/dev/null; cat "$file" >/dev/null

declare -A cmd=(
  [cat]="taskset -c 0 cat $file > /dev/null"
  [tcpdump]="taskset -c 0 tcpdump -nn -r $file > /dev/null 2>&1"
  [venuemon]="taskset -c 0 $bin replay $file > /dev/null"
  [tshark]="tshark -r $file -T fields -e frame.number > /dev/null 2>&1"
)
declare -A med

# time_median NAME RUNS: median wall seconds of `${cmd[NAME]}` into med[NAME]
time_median() {
  local name=$1 n=$2
  if command -v hyperfine >/dev/null; then
    local warm=1
    [ "$name" = tshark ] && warm=0
    hyperfine --style basic --warmup "$warm" --runs "$n" -n "$name" --export-json "$work/$name.json" \
      "${cmd[$name]}" >&2
    med[$name]=$(jq '.results[0].median' "$work/$name.json")
  else
    local t0 t1 i
    : >"$work/$name.times"
    [ "$name" = tshark ] || bash -c "${cmd[$name]}"
    for i in $(seq "$n"); do
      t0=$(date +%s%N); bash -c "${cmd[$name]}"; t1=$(date +%s%N)
      echo "$(((t1 - t0) / 1000))" >>"$work/$name.times"
    done
    med[$name]=$(sort -n "$work/$name.times" |
      awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.6f", m/1e6}')
  fi
}

for name in cat tcpdump venuemon; do time_median "$name" "$runs"; done
time_median tshark 2

echo
echo "rounds: $runs (tshark 2), $(nproc) cores, $(uname -r), $frames frames, $((bytes / 1000000)) MB"
echo
echo "| command | median s | frames/s |"
echo "|---|---|---|"
for name in cat tcpdump tshark venuemon; do
  printf "| %s | %.3f | %s |\n" "$name" "${med[$name]}" \
    "$([ $name = cat ] && echo - || awk -v f="$frames" -v s="${med[$name]}" 'BEGIN {printf "%.0f", f / s}')"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {ok = (op == ">=" ? v >= t : v <= t); print ok ? "met" : "NOT met"}'; }
td=$(ratio "${med[tcpdump]}" "${med[venuemon]}")
vc=$(ratio "${med[venuemon]}" "${med[cat]}")
echo "tcpdump/venuemon: ${td}x (target >= 20x: $(meets "$td" ">=" 20))"
echo "tshark/venuemon: $(ratio "${med[tshark]}" "${med[venuemon]}")x"
echo "venuemon/cat: ${vc}x (target <= 5x: $(meets "$vc" "<=" 5))"
