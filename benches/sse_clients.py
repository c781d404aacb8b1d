#!/usr/bin/env python3
"""Server-sent-event clients for benches/status_page.sh: holds many connections to venuemon's
/events and records every `update` event, then summarises what they saw. Standard library only.

  sse_clients.py hold PORT CLIENTS OUT      connect CLIENTS streams (half ?lang=en, half ?lang=fr)
                                            to 127.0.0.1:PORT/events; print "ready N" once every
                                            stream has its first update (or after 30 s); run
                                            until SIGTERM or SIGINT, then write OUT.events and
                                            OUT.clients (tab-separated)
  sse_clients.py report OUT [WINDOWS]       summarise OUT.*; WINDOWS holds "label start end" lines
                                            (Unix seconds) of the load runs, to split the figures
                                            into "idle" (no load run) and "load" (during one)

An event's arrival time is the wall clock (time.time()) when the read completing it returned;
generated_at is the snapshot's own time in whole Unix seconds, so arrival - generated_at includes
the tick's phase within its second (0 to 1 s). The spread of one tick over the clients (arrival
minus the first client's arrival of the same generated_at) does not, and is the fan-out time.
"""

import asyncio
import re
import signal
import statistics
import sys
import time

GENERATED_AT = re.compile(rb'"generated_at":(\d+)')
TILE = b'{"id":'


class Client:
    """One /events stream and what it received."""

    def __init__(self, index, lang):
        self.index = index
        self.lang = lang
        self.events = []  # (arrival, generated_at, data bytes, tiles in the update)
        self.state = "connecting"
        self.error = ""
        self.first = asyncio.Event()

    async def run(self, port):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as e:
            self.state, self.error = "failed", f"connect: {e}"
            self.first.set()
            return
        try:
            writer.write(
                f"GET /events?lang={self.lang} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                raise ConnectionError(f"status {status.decode(errors='replace')}")
            chunked = b"transfer-encoding: chunked" in head.lower()
            self.state = "open"
            buffer = b""
            while True:
                if chunked:
                    size_line = await reader.readline()
                    if not size_line:
                        break
                    size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        break
                    data = await reader.readexactly(size + 2)
                    buffer += data[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        break
                    buffer += data
                now = time.time()
                buffer = buffer.replace(b"\r\n", b"\n")
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self.event(block, now)
            self.state, self.error = "closed", "end of stream"
        except asyncio.CancelledError:
            if self.state == "open":
                self.state = "held"
            raise
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"
        finally:
            self.first.set()
            writer.close()

    def event(self, block, now):
        kind = b"message"
        data = []
        for line in block.split(b"\n"):
            if line.startswith(b":"):
                continue  # keep-alive comment
            field, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if field == b"event":
                kind = value
            elif field == b"data":
                data.append(value)
        if kind != b"update" or not data:
            return
        payload = b"\n".join(data)
        m = GENERATED_AT.search(payload)
        if m:
            self.events.append((now, int(m.group(1)), len(payload), payload.count(TILE)))
            self.first.set()


async def hold(port, count, out):
    clients = [Client(i, "en" if i % 2 == 0 else "fr") for i in range(count)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = time.time()
    tasks = [asyncio.create_task(c.run(port)) for c in clients]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.first.wait() for c in clients)), 30)
    except asyncio.TimeoutError:
        pass
    ready = sum(1 for c in clients if c.events)
    print(f"ready {ready}", flush=True)
    await stop.wait()
    stopped = time.time()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    with open(out + ".events", "w") as f:
        f.write(f"# started {started:.6f} stopped {stopped:.6f}\n")
        for c in clients:
            for arrival, generated_at, size, tiles in c.events:
                f.write(f"{c.index}\t{c.lang}\t{arrival:.6f}\t{generated_at}\t{size}\t{tiles}\n")
    with open(out + ".clients", "w") as f:
        for c in clients:
            f.write(f"{c.index}\t{c.lang}\t{c.state}\t{len(c.events)}\t{c.error}\n")


def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]


def spread(values, unit=1000, fmt="{:.1f}"):
    if not values:
        return "-"
    f = lambda v: fmt.format(v * unit)
    return f"p50 {f(pct(values, 50))}, p99 {f(pct(values, 99))}, max {f(max(values))}"


def report(out, windows_path=None):
    clients = []
    with open(out + ".clients") as f:
        for line in f:
            index, lang, state, n, error = line.rstrip("\n").split("\t")
            clients.append((int(index), lang, state, int(n), error))
    events = {}
    with open(out + ".events") as f:
        for line in f:
            if line.startswith("#"):
                continue
            index, _lang, arrival, generated_at, size, tiles = line.split("\t")
            events.setdefault(int(index), []).append(
                (float(arrival), int(generated_at), int(size), int(tiles))
            )
    windows = []
    if windows_path:
        with open(windows_path) as f:
            for line in f:
                _label, start, end = line.split()
                windows.append((float(start), float(end)))
    under_load = lambda t: any(s <= t <= e for s, e in windows)

    held = sum(1 for c in clients if c[2] == "held")
    failed = [c for c in clients if c[2] != "held"]
    print(f"clients: {len(clients)} opened ({sum(1 for c in clients if c[1] == 'en')} en, "
          f"{sum(1 for c in clients if c[1] == 'fr')} fr); held to the end: {held}")
    for c in failed[:5]:
        print(f"  client {c[0]} ({c[1]}): {c[2]} after {c[3]} updates: {c[4]}")

    # The ticks: first arrival of each generated_at over all clients.
    first = {}
    for evs in events.values():
        evs.sort()
        for arrival, g, _, _ in evs[1:]:  # the first event per client answers its connect
            first[g] = min(first.get(g, arrival), arrival)
    ticks = sorted(first)
    if len(ticks) < 2:
        print("ticks: fewer than two updates received")
        return
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    hist = {}
    for g in gaps:
        hist[g] = hist.get(g, 0) + 1
    print(f"ticks seen: {len(ticks)} (generated_at {ticks[0]}..{ticks[-1]}); spacing of consecutive "
          f"generated_at: " + ", ".join(f"{n} x {g} s" for g, n in sorted(hist.items())))
    tick_spacing = [first[b] - first[a] for a, b in zip(ticks, ticks[1:])]
    # A tick more than 5 ms late moves every later one (tokio's MissedTickBehavior::Delay), so
    # lateness adds up; when the tick's phase crosses a second boundary, generated_at steps by
    # 2 s (or 0 s) although the ticks stayed about 1 s apart.
    late = sum(tick_spacing) - len(tick_spacing)
    print(f"tick spacing by first arrival, ms: min {min(tick_spacing) * 1000:.1f}, "
          f"p50 {statistics.median(tick_spacing) * 1000:.1f}, p99 {pct(tick_spacing, 99) * 1000:.1f}, "
          f"max {max(tick_spacing) * 1000:.1f}; lateness accumulated over "
          f"{len(tick_spacing)} ticks: {late * 1000:.0f} ms")

    # Per client: missed ticks (a gap in its generated_at), spacing of its arrivals.
    missed = 0
    missing_clients = 0
    spacing = []
    counts = []
    for index, evs in events.items():
        gs = [g for _, g, _, _ in evs]
        # Ticks it never saw between its first and last update, against the ticks anybody saw.
        seen = set(gs)
        lost = sum(1 for t in ticks if gs[0] <= t <= gs[-1] and t not in seen)
        missed += lost
        missing_clients += lost > 0
        counts.append(len(evs))
        spacing += [b[0] - a[0] for a, b in zip(evs[1:], evs[2:])]  # skip the connect event
    print(f"updates per client: median {statistics.median(counts):.0f}, min {min(counts)}, "
          f"max {max(counts)}; ticks missed: {missed} (by {missing_clients} clients)")
    print(f"arrival spacing per client, ms: p1 {pct(spacing, 1) * 1000:.1f}, "
          f"p50 {pct(spacing, 50) * 1000:.1f}, p99 {pct(spacing, 99) * 1000:.1f}, "
          f"max {max(spacing) * 1000:.1f}")

    rows = [("all", lambda t: True), ("idle", lambda t: not under_load(t)), ("load", under_load)]
    print("| updates | events | arrival − generated_at, ms | fan-out after the first client, ms | bytes per event (p50) | tiles per event (p50) |")
    print("|---|---|---|---|---|---|")
    for label, keep in rows:
        delay, fan, size, tiles = [], [], [], []
        for evs in events.values():
            for arrival, g, sz, tl in evs[1:]:  # the first event per client is the full page
                if keep(first[g]):
                    delay.append(arrival - g)
                    fan.append(arrival - first[g])
                    size.append(sz)
                    tiles.append(tl)
        if not delay:
            continue
        print(f"| {label} | {len(delay)} | {spread(delay, fmt='{:.0f}')} | {spread(fan)} | "
              f"{statistics.median(size):.0f} | {statistics.median(tiles):.0f} |")
    on_time = held == len(clients) and missed == 0 and max(tick_spacing) < 1.5
    print(f"SSE target (every client held, no tick missed, ticks 1 s apart): "
          f"{'met' if on_time else 'NOT met'}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "hold":
        asyncio.run(hold(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "report":
        report(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
