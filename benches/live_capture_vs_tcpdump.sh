#!/usr/bin/env bash
# Live capture under a burst: the venuemon agent's [[source.capture]] side by side with tcpdump
# on the same veth, both capturing the same frames at the same time; kernel drop rates compared.
#
#   benches/live_capture_vs_tcpdump.sh [ROUNDS] [FRAMES]   (default 3 rounds, 200000 frames;
#                                                           root, Debian)
#
# Two network namespaces made here, joined by a veth pair: vbs0 (sender side) and vbc0 (capture
# side). In the capture namespace run `venuemon run` (capture on vbc0; netdev and neighbours off;
# tick 1 s; 127.0.0.1:19843) and, per round, `tcpdump -i vbc0 -w /dev/null` (libpcap's
# TPACKET_V3 ring, 2 MiB default buffer). The sender namespace pushes a capture through vbs0
# with `tcpreplay --topspeed`. The capture is written by a short Python script (standard library
# only): FRAMES Ethernet frames of 342 bytes, DHCP DISCOVERs and REQUESTs broadcast from
# 0.0.0.0:68 to 255.255.255.255:67 by 4096 locally administered MACs -- broadcast addresses only,
# and nothing leaves the two namespaces.
# After tcpreplay ends, the script waits for venuemon's counters to settle (capture flushes every
# 250 ms, the agent publishes every second), reads the deltas of
# venuemon_capture_kernel_received_total / venuemon_capture_dropped_total from /metrics, stops
# tcpdump with SIGINT and reads its "received by filter / dropped by kernel". Both received counts
# are the kernel's PACKET_STATISTICS for each socket (received includes dropped). Prints each
# round, then medians. Public tools only; installs nothing; cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
nframes=${2:-200000}
port=19843

missing=()
need() { command -v "$1" >/dev/null || missing+=("$1 (apt-get install $2)"); }
need cargo "cargo, or rustup"
need tcpdump tcpdump
need tcpreplay tcpreplay
need ip iproute2
need curl curl
need python3 python3
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  echo "install with: DEBIAN_FRONTEND=noninteractive apt-get install -y tcpdump tcpreplay curl python3" >&2
  exit 1
fi
[ "$(id -u)" -eq 0 ] || { echo "run as root (network namespaces, packet sockets)" >&2; exit 1; }

bin=$(benches/release-binary.sh)

work=$(mktemp -d)
tx=vmbench-tx-$$
cap=vmbench-cap-$$
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$tx" 2>/dev/null || true
  ip netns del "$cap" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The burst: a pcap written with the standard library only.
python3 - "$work/burst.pcap" "$nframes" <<'EOF'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])

def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def frame(i):
    client = i % 4096
    mac = bytes([0x02, 0x00, 0x5E, 0x10, client >> 8, client & 0xFF])
    kind = 1 if (i // 4096) % 2 == 0 else 3          # DISCOVER, then REQUEST
    xid = 0x10000000 + client
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), mac + bytes(10), bytes(64), bytes(128))
    options = b"\x63\x82\x53\x63" + bytes([53, 1, kind]) + b"\x37\x04\x01\x03\x06\x0f" + b"\xff"
    payload = (bootp + options).ljust(300, b"\x00")
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     bytes(4), b"\xff\xff\xff\xff")
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp

with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    cache = {}
    for i in range(n):
        key = (i % 4096, (i // 4096) % 2)
        data = cache.get(key)
        if data is None:
            data = cache[key] = frame(i)
        f.write(struct.pack("<IIII", 1_700_000_000 + i // 1_000_000, i % 1_000_000, len(data), len(data)))
        f.write(data)
EOF

# Namespaces and the veth pair.
ip netns add "$tx"
ip netns add "$cap"
ip -n "$tx" link add vbs0 type veth peer name vbc0 netns "$cap"
for ns in "$tx" "$cap"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$tx" link set vbs0 up
ip -n "$cap" link set vbc0 up

cat >"$work/venuemon.toml" <<EOF
[venue]
name = "Capture bench"
event = "bench"

[http]
listen = "127.0.0.1:$port"

[agent]
tick = "1s"
state_dir = "$work/state"

[source.netdev]
enabled = false

[source.neighbours]
enabled = false

[[source.capture]]
interface = "vbc0"
EOF

ip netns exec "$cap" "$bin" run --config "$work/venuemon.toml" 2>"$work/venuemon.log" &
pids+=($!)
vm_pid=$!

metrics() { ip netns exec "$cap" curl -sf "http://127.0.0.1:$port/metrics"; }
# counter NAME: the value of NAME{interface="vbc0"} on /metrics (empty if absent)
counter() { metrics | awk -v n="$1" 'index($0, n "{") == 1 && /interface="vbc0"/ {printf "%d\n", $NF}'; }
for _ in $(seq 100); do
  [ -n "$(counter venuemon_capture_kernel_received_total 2>/dev/null)" ] && break
  kill -0 "$vm_pid" 2>/dev/null || { cat "$work/venuemon.log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$(counter venuemon_capture_kernel_received_total)" ] ||
  { echo "venuemon exports no capture counters for vbc0" >&2; cat "$work/venuemon.log" >&2; exit 1; }

# decoded: the Ethernet frames venuemon decoded so far
decoded() { metrics |
  awk 'index($0, "venuemon_capture_frames_total{") == 1 && /interface="vbc0"/ && /kind="ethernet"/ {v = $NF} END {printf "%d\n", v}'; }
# settled: venuemon's received and dropped once two reads 1.5 s apart agree
settled() {
  local prev="" now
  for _ in $(seq 20); do
    now="$(counter venuemon_capture_kernel_received_total) $(counter venuemon_capture_dropped_total)"
    [ "$now" = "$prev" ] && { echo "$now"; return; }
    prev=$now
    sleep 1.5
  done
  echo "$now"
}

echo "round sent vm_received vm_dropped vm_rate td_received td_dropped td_rate pps vm_decoded" >"$work/results"
for r in $(seq "$rounds"); do
  read -r vm_rx0 vm_drop0 < <(settled)
  decoded0=$(decoded)
  ip netns exec "$cap" tcpdump -i vbc0 -w /dev/null 2>"$work/tcpdump.$r.log" &
  td_pid=$!
  pids+=($td_pid)
  for _ in $(seq 100); do grep -q "listening on" "$work/tcpdump.$r.log" && break; sleep 0.1; done
  sleep 0.5
  ip netns exec "$tx" tcpreplay --topspeed -i vbs0 "$work/burst.pcap" >"$work/tcpreplay.$r.log" 2>&1
  sleep 1
  read -r vm_rx1 vm_drop1 < <(settled)
  kill -INT "$td_pid"
  wait "$td_pid" || true
  sent=$(awk '/Actual:/ {print $2; exit}' "$work/tcpreplay.$r.log")
  rate=$(awk '/Rated:/ {for (i = 1; i < NF; i++) if ($(i + 1) ~ /^pps/) {printf "%.0f", $i; exit}}' \
    "$work/tcpreplay.$r.log")
  decoded1=$(decoded)
  td_rx=$(awk '/packets received by filter/ {print $1}' "$work/tcpdump.$r.log")
  td_drop=$(awk '/packets dropped by kernel/ {print $1}' "$work/tcpdump.$r.log")
  vm_rx=$((vm_rx1 - vm_rx0))
  vm_drop=$((vm_drop1 - vm_drop0))
  awk -v r="$r" -v s="$sent" -v a="$vm_rx" -v b="$vm_drop" -v c="$td_rx" -v d="$td_drop" -v p="${rate:-0}" \
    -v e="$((decoded1 - decoded0))" 'BEGIN {
    printf "%d %d %d %d %.6f %d %d %.6f %d %d\n", r, s, a, b, (a ? b / a : 0), c, d, (c ? d / c : 0), p, e }' \
    >>"$work/results"
  echo "round $r: tcpreplay sent $sent frames (${rate:-?} pps); venuemon received $vm_rx dropped $vm_drop" \
    "decoded $((decoded1 - decoded0)); tcpdump received $td_rx dropped $td_drop" >&2
done
kill -0 "$vm_pid" 2>/dev/null || { echo "venuemon died" >&2; cat "$work/venuemon.log" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v c="$1" 'NR > 1 {print $c}' "$work/results" | median; }
echo
echo "rounds: $rounds, $nframes frames of 342 bytes per round, $(nproc) cores, $(uname -r)"
echo
echo "| round | sent | send rate pps | venuemon received | dropped | drop rate | decoded | tcpdump received | dropped | drop rate |"
echo "|---|---|---|---|---|---|---|---|---|---|"
awk 'NR > 1 {printf "| %d | %d | %d | %d | %d | %.2f %% | %d | %d | %d | %.2f %% |\n",
  $1, $2, $9, $3, $4, $5 * 100, $10, $6, $7, $8 * 100}' "$work/results"
printf "| median | %d | %d | %d | %d | %.2f %% | %d | %d | %d | %.2f %% |\n" "$(col 2)" "$(col 9)" "$(col 3)" \
  "$(col 4)" "$(awk -v v="$(col 5)" 'BEGIN {print v * 100}')" "$(col 10)" "$(col 6)" "$(col 7)" \
  "$(awk -v v="$(col 8)" 'BEGIN {print v * 100}')"
echo
echo "(received includes dropped; decoded = venuemon_capture_frames_total{kind=\"ethernet\"} delta, should be received - dropped)"
vm=$(col 5); td=$(col 8)
awk -v v="$vm" -v t="$td" 'BEGIN {
  printf "median drop rate: venuemon %.2f %%, tcpdump %.2f %% (target: venuemon <= tcpdump: %s)\n",
    v * 100, t * 100, (v <= t ? "met" : "NOT met") }'
