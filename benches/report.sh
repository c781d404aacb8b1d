#!/usr/bin/env bash
# Report benchmark (docs/PERFORMANCE.md, "Report"): a simulated 3-day event of 50 zones and
# 200 access points at a 5 s tick written to a history, then `venuemon report` from it
# (HTML and JSON) timed, three runs, wall-clock seconds and peak RSS of each.
# Usage: benches/report.sh   (BIN=path/to/venuemon for another build; default: a release build of this tree)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-$(benches/release-binary.sh)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" simulate --days 3 --zones 50 --aps 200 --tick 5s --seed 1 \
    --history "$dir/event.sqlite" --programme "$dir/event.ics" 2>/dev/null
echo "history: $(du -k "$dir/event.sqlite" | cut -f1) KiB"
for run in 1 2 3; do
    /usr/bin/time -f "report run $run: %e s wall, %M KiB peak RSS" \
        "$bin" report --history "$dir/event.sqlite" --programme "$dir/event.ics" \
        --out "$dir/report.html" --json "$dir/report.json" >/dev/null
done
