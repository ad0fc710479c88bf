#!/usr/bin/env bash
# Integration test: `caselink report --html` against a small federation on loopback, and the
# report rendered in a real headless browser (Debian's chromium, installed by scripts/deps
# when missing): charts present, no console errors, no network fetches, a screenshot saved
# under the build folder. Exit 77 (skipped) only when chromium cannot be installed.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init report

browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  "$src/scripts/deps" chromium >"$work/deps.log" 2>&1 || true
  browser=$(command -v chromium || true)
fi
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed and could not be installed (run scripts/deps as root)"
  exit 77
fi

it_federation --seed 11 --persons 500
fed_start_keyholder
fed_fill_tokens
fed_start

html=$work/report.html
"$bin/caselink" report --html "$html" --from "$from" --to "$to" --coordinator "$FED_COORD" \
    --tls-dir "$FED_PKI" --name national || fail "caselink report failed"
[ -s "$html" ] || fail "no report written"
echo "ok: report written ($(wc -c <"$html") bytes)"

# Self-contained: no script, no external resource of any kind.
if grep -Eio '<(script|link|img|iframe|object|embed)[^>]*(src|href)=["'"'"']?(https?:)?//' "$html"; then
  fail "the report fetches something from the network"
fi
grep -qi '<script' "$html" && fail "the report has a script"
grep -Eqi 'url\((["'"'"']?)https?:' "$html" && fail "the report's CSS fetches a URL"
echo "ok: no network fetch, no script"

# Every chart has a text alternative and a data table; suppressed cells are shown as such.
charts=$(grep -c '<svg xmlns="http://www.w3.org/2000/svg" role="img"' "$html")
titles=$(grep -c '<title id="c' "$html")
descs=$(grep -c '<desc id="c' "$html")
tables=$(grep -c '<table class="data">' "$html")
[ "$charts" -ge 4 ] || fail "only $charts charts"
[ "$charts" -eq "$titles" ] && [ "$charts" -eq "$descs" ] && [ "$charts" -eq "$tables" ] \
  || fail "charts $charts, titles $titles, descriptions $descs, data tables $tables"
grep -q '@media print' "$html" || fail "no print style"
grep -q 'Coverage and definitions' "$html" || fail "no coverage section"
grep -q 'caselink-measures-' "$html" || fail "no definitions version"
nmuni=$(tail -n +2 "$work/fed/federation.csv" | cut -d, -f3 | sort -u | wc -l)
sections=$(grep -c '<section><h2>' "$html")
[ "$sections" -ge "$nmuni" ] || fail "$sections sections for $nmuni municipalities"
echo "ok: $charts charts with title, description and data table; $sections sections"

# The browser: screenshot, DOM and console.
shot=$(cd "$bin/.." && pwd)/report.png
rm -f "$shot"
flags=(--headless --disable-gpu --no-sandbox --no-first-run --disable-extensions
       --user-data-dir="$work/chrome")
timeout 120 "$browser" "${flags[@]}" --screenshot="$shot" --window-size=1280,2000 \
    "file://$html" >"$work/shot.log" 2>&1 || fail "chromium screenshot failed: $(tail -n 5 "$work/shot.log")"
[ -s "$shot" ] || fail "no screenshot"
timeout 120 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$html" \
    >"$work/dom.html" 2>"$work/console.log" || fail "chromium --dump-dom failed"
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
[ "$svgs" -ge "$charts" ] || fail "the browser's DOM has $svgs svg elements, $charts expected"
if grep -E 'Uncaught|ERROR:CONSOLE|CONSOLE\(' "$work/console.log"; then
  fail "console errors while rendering"
fi
echo "ok: chromium rendered it: $svgs svg elements, no console errors, screenshot $shot ($(wc -c <"$shot") bytes)"
fed_stop # before its pid files go
rm -rf "$work"
