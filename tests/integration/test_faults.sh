#!/usr/bin/env bash
# Fault test (issue 7): a generated federation on loopback as real processes, and
# the faults a deployment meets — keyholder down during the token-cache fill,
# kill -9 during the fill and during an import, disk full while importing (a
# file-size limit always; a small tmpfs as root), the coordinator killed
# mid-query and restarted, and a client clock beyond the expiry window. Each
# step prints PASS or FAIL; the first FAIL ends the test with status 1.
# (A node killed or hung mid-query is covered by test_federation.sh.)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init faults
mnt=""
it_on_exit() { # before it_init's fed_stop and leftover check
  if [ -n "$mnt" ]; then umount "$mnt" 2>/dev/null || true; fi
}

skipped=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }

command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (scripts/deps)"
sql() { sqlite3 -cmd ".timeout 5000" "$@"; }
integrity() { # DB -> ok or fails
  local r
  r=$(sql "$1" "PRAGMA integrity_check") || fail "integrity_check of $1 could not run"
  [ "$r" = "ok" ] || fail "integrity_check of $1: $r"
}
# A node's status without the token-cache line (compared before and after a fault).
status_of() { "$bin/caselink-node" status --data "$1"; }

export FED_DEADLINE_MS=3000
it_federation --seed 7 --persons 1500

# ---- kill -9 during an import (before any daemon runs) ---------------------------------------
imp=lv-liepaja-police
imp_data=$FED_WORK/nodes/$imp
# 300 000 extra events for persons the node has: a transaction that takes a while.
awk -F, 'NR > 1 { ref[n++] = $1 } END {
  print "event_ref,person_ref,event_type,occurred_at,role,violence_forms"
  for (i = 0; i < 300000; i++)
    printf "X%07d,%s,police_callout,2023-%02d-%02dT10:00Z,victim,physical\n", i, ref[(i * 7919) % n], 1 + i % 12, 1 + i % 28
}' "$work/fed/agencies/$imp/persons.csv" >"$work/big-events.csv"
status_of "$imp_data" >"$work/imp.before" || fail "status of $imp"
"$bin/caselink-node" import --data "$imp_data" --events "$work/big-events.csv" --cache-mib 2 \
    >"$work/imp.out" 2>&1 &
ipid=$!
killed=0
for _ in $(seq 1 3000); do
  kill -0 "$ipid" 2>/dev/null || break
  if [ "$(stat -c %s "$imp_data/node.db-wal" 2>/dev/null || echo 0)" -gt $((2 * 1024 * 1024)) ]; then
    kill -KILL "$ipid"; killed=1; break
  fi
  sleep 0.01
done
wait "$ipid" 2>/dev/null || true
[ "$killed" = 1 ] || fail "kill -9 during import: the import ended before 2 MiB of WAL ($(cat "$work/imp.out"))"
status_of "$imp_data" >"$work/imp.after" || fail "status after kill -9 during import"
diff -u "$work/imp.before" "$work/imp.after" || fail "kill -9 during import changed the store"
integrity "$imp_data/node.db"
pass "kill -9 during import: status unchanged ($(grep '^events:' "$work/imp.after" | cut -c17-)), integrity ok"

# ---- disk full while importing --------------------------------------------------------------
# Always: a file-size limit (ulimit -f, SIGXFSZ ignored, so writes fail with EFBIG).
db_kib=$(( $(stat -c %s "$imp_data/node.db") / 1024 ))
set +e
( trap '' XFSZ; ulimit -f $((db_kib + 512))
  exec "$bin/caselink-node" import --data "$imp_data" --events "$work/big-events.csv" ) \
  >"$work/full.out" 2>"$work/full.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "import past a file-size limit succeeded"
grep -qi "no space\|too large\|full" "$work/full.err" \
  || fail "disk full (file-size limit): unclear error: $(cat "$work/full.err")"
status_of "$imp_data" >"$work/imp.after" || fail "status after disk full"
diff -u "$work/imp.before" "$work/imp.after" || fail "a failed import (file-size limit) changed the store"
integrity "$imp_data/node.db"
pass "disk full (file-size limit): exit $rc, '$(head -n 1 "$work/full.err")', store unchanged, integrity ok"

# As root: a real full file system, a tmpfs just larger than a copy of the store.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$work/mnt" &&
   mount -t tmpfs -o size=$(( $(du -sk "$imp_data" | cut -f1) + 768 ))k tmpfs "$work/mnt" 2>/dev/null; then
  mnt=$work/mnt
  cp -a "$imp_data" "$mnt/store"
  status_of "$mnt/store" >"$work/tmpfs.before" || fail "status of the copy on tmpfs"
  set +e
  "$bin/caselink-node" import --data "$mnt/store" --events "$work/big-events.csv" \
      >"$work/full.out" 2>"$work/full.err"
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "import into a full tmpfs succeeded"
  grep -qi "no space" "$work/full.err" || fail "disk full (tmpfs): unclear error: $(cat "$work/full.err")"
  status_of "$mnt/store" >"$work/tmpfs.after" || fail "status after a full tmpfs"
  diff -u "$work/tmpfs.before" "$work/tmpfs.after" || fail "a failed import (full tmpfs) changed the store"
  integrity "$mnt/store/node.db"
  pass "disk full (tmpfs of $(df -k --output=size "$mnt" | tail -n 1 | tr -d ' ') KiB): exit $rc, '$(head -n 1 "$work/full.err")', store unchanged, integrity ok"
  umount "$mnt"; mnt=""
else
  skip "disk full on a real file system needs root and mount -t tmpfs (the file-size-limit variant ran)"
fi

# ---- keyholder down during the token-cache fill ---------------------------------------------
fed_start_keyholder
kh_addr=$FED_KEYHOLDER
fed_stop_one keyholder # SIGTERM, waits until it is gone
kd=lt-klaipeda-health
kd_data=$FED_WORK/nodes/$kd
echo "keyholder: $kh_addr" >>"$kd_data/node.yaml"
set +e
"$bin/caselink-node" tokens --data "$kd_data" --config "$kd_data/node.yaml" >"$work/kd.out" 2>"$work/kd.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "token fill with the keyholder down succeeded"
grep -q "$kh_addr" "$work/kd.err" || fail "keyholder-down error does not name $kh_addr: $(cat "$work/kd.err")"
grep -qi "unavailable\|refused\|connect\|deadline" "$work/kd.err" \
  || fail "keyholder-down error gives no reason: $(cat "$work/kd.err")"
status_of "$kd_data" >"$work/kd.status" || fail "status after keyholder down"
grep -q "^token cache: *not filled" "$work/kd.status" || fail "status claims a cache: $(grep token "$work/kd.status")"
n=$(sql "$kd_data/node.db" "SELECT (SELECT count(*) FROM person_tokens) + (SELECT count(*) FROM qgram_tokens)")
[ "$n" = 0 ] || fail "keyholder down, yet $n token rows were cached"
integrity "$kd_data/node.db"
pass "keyholder down: exit $rc, '$(grep -m 1 "$kh_addr" "$work/kd.err" | cut -c1-160)'; nothing cached"

# The keyholder back on its address: the fill succeeds.
kh_start() {
  sed -i "s/^listen: .*/listen: $kh_addr/" "$FED_WORK/keyholder.yaml"
  fed_stop_one keyholder
  fed_daemon keyholder "$bin/caselink-keyholder" serve --data "$FED_WORK/keyholder" \
      --config "$FED_WORK/keyholder.yaml"
}
kh_start
FED_KEYHOLDER=$kh_addr
"$bin/caselink-node" tokens --data "$kd_data" --config "$kd_data/node.yaml" >"$work/kd.out" 2>"$work/kd.err" \
  || fail "fill after the keyholder came back: $(cat "$work/kd.err")"
status_of "$kd_data" | grep -q "^token cache: *filled" || fail "status after a good fill: $(status_of "$kd_data" | grep token)"
pass "keyholder back: $(head -n 1 "$work/kd.out")"

# ---- kill -9 during the token-cache fill ----------------------------------------------------
# The largest node, small batches; once the first chunk is written, the keyholder is
# stopped (the fill waits in a call) and the node tool is killed.
kf=lt-klaipeda-police
kf_data=$FED_WORK/nodes/$kf
echo "keyholder: $kh_addr" >>"$kf_data/node.yaml"
total=$(sql "$kf_data/node.db" "SELECT count(*) FROM persons")
"$bin/caselink-node" tokens --data "$kf_data" --config "$kf_data/node.yaml" --batch 4 \
    >"$work/kf.out" 2>"$work/kf.err" &
tpid=$!
done_rows=0
for _ in $(seq 1 3000); do
  kill -0 "$tpid" 2>/dev/null || break
  done_rows=$(sql "$kf_data/node.db" "SELECT count(*) FROM person_tokens" 2>/dev/null || echo 0)
  [ "$done_rows" -gt 0 ] && break
  sleep 0.01
done
kill -STOP "$(cat "$FED_WORK/run/keyholder.pid")"
kill -KILL "$tpid" 2>/dev/null || true
wait "$tpid" 2>/dev/null || true
kill -CONT "$(cat "$FED_WORK/run/keyholder.pid")"
done_rows=$(sql "$kf_data/node.db" "SELECT count(*) FROM person_tokens")
[ "$done_rows" -gt 0 ] && [ "$done_rows" -lt "$total" ] \
  || fail "kill -9 during fill: not caught mid-fill ($done_rows of $total persons cached; $(cat "$work/kf.out"))"
status_of "$kf_data" >"$work/kf.status" || fail "status after kill -9 during fill"
grep -q "^token cache: *not filled" "$work/kf.status" \
  || fail "an interrupted fill claims the cache: $(grep token "$work/kf.status")"
integrity "$kf_data/node.db"
"$bin/caselink-node" tokens --data "$kf_data" --config "$kf_data/node.yaml" >"$work/kf.out" 2>"$work/kf.err" \
  || fail "fill after kill -9: $(cat "$work/kf.err")"
status_of "$kf_data" | grep -q "^token cache: *filled" || fail "cache not filled after the second fill"
evaluated=$(sed -n 's/^persons evaluated: \([0-9]*\).*/\1/p' "$work/kf.out")
[ -n "$evaluated" ] && [ "$evaluated" -lt "$total" ] \
  || fail "second fill did not resume (evaluated ${evaluated:-?} of $total persons)"
pass "kill -9 during fill after $done_rows of $total persons: not filled, integrity ok; next fill resumed ($evaluated evaluated) and filled"

# The rest of the federation, then the daemons.
fed_fill_tokens
fed_start

expected() {
  awk -F, '$4 != "*" && $6 == "incident_events" && $7 > 0 { print $3 "," $4 "," $5 "," $7 }' \
      "$work/fed/truth/expected/m1.csv" | LC_ALL=C sort
}
answer() {
  fed_query incident_events --from "$from" --to "$to" --by municipality,agency_type,quarter \
      --format csv | grep -v '^#' | tail -n +2 | LC_ALL=C sort
}
# The ground truth with the cells the answer suppressed (disclosure control) marked so;
# every other cell must be equal, and some must be there to compare.
check_answer() { # ANSWER WHAT
  awk -F, 'NR == FNR { if ($NF ~ /^suppressed/) s[$1 "," $2 "," $3] = $NF; next }
           { k = $1 "," $2 "," $3; if (k in s) print k "," s[k]; else print }' \
      "$1" "$work/expected.csv" >"$1.truth"
  diff -u "$1.truth" "$1" || fail "$2 differs from ground truth"
  grep -Evq ',suppressed( \(.*\))?$' "$1" || fail "$2: every cell suppressed, nothing compared"
}
victims() {
  fed_query M2 --from "$from" --to "$to" --format csv | grep '^\*,victims,' | cut -d, -f3
}
expected >"$work/expected.csv"
[ -s "$work/expected.csv" ] || fail "ground truth has no incident events"
answer >"$work/answer.csv"
check_answer "$work/answer.csv" "incident_events after the faults"
v1=$(victims)
[ -n "$v1" ] && [ "$v1" -gt 0 ] || fail "M2 gave no victims"
pass "after the store faults the federation answers: incident_events equals ground truth ($(grep -Evc ',suppressed( \(.*\))?$' "$work/answer.csv") cells, $(grep -Ec ',suppressed( \(.*\))?$' "$work/answer.csv") suppressed), M2 victims $v1"

# ---- the coordinator killed mid-query and restarted -----------------------------------------
# One node stopped: the coordinator is inside the linked query (waiting for that node)
# when it is killed.
coord_addr=$FED_COORD
audit_before=$(sql "$FED_WORK/coordinator/audit.db" "SELECT count(*) FROM audit_log")
hold=${FED_IDS[3]}
kill -STOP "$(cat "$FED_WORK/run/$hold.pid")"
set +e
fed_query M2 --from "$from" --to "$to" --format csv >"$work/mid.out" 2>"$work/mid.err" &
qpid=$!
sleep 1
kill -KILL "$(cat "$FED_WORK/run/coordinator.pid")"
fed_stop_one coordinator # waits until the killed process is gone
wait "$qpid"
rc=$?
set -e
kill -CONT "$(cat "$FED_WORK/run/$hold.pid")"
rm -f "$FED_WORK/run/coordinator.pid"
[ "$rc" -ne 0 ] || fail "a query whose coordinator was killed succeeded: $(cat "$work/mid.out")"
[ -s "$work/mid.err" ] || fail "a query whose coordinator was killed failed silently"
out=$("$bin/caselink-coordinator" audit verify --data "$FED_WORK/coordinator") \
  || fail "coordinator audit after kill -9: $out"
integrity "$FED_WORK/coordinator/audit.db"
ledgers=0
for l in "$FED_WORK"/coordinator/ledger "$FED_WORK"/coordinator/ledger*.db "$FED_WORK"/coordinator/ledger/*.db; do
  [ -f "$l" ] || continue
  integrity "$l"
  ledgers=$((ledgers + 1))
done
sed -i "s/^listen: .*/listen: $coord_addr/" "$FED_WORK/coordinator.yaml"
fed_restart_coordinator
answer >"$work/answer2.csv"
diff -u "$work/answer.csv" "$work/answer2.csv" || fail "incident_events after the coordinator restart differs"
check_answer "$work/answer2.csv" "incident_events after the coordinator restart"
v2=$(victims)
# (within 10 %: disclosure control may add noise to linked measures)
awk -v a="$v1" -v b="$v2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d * 10 <= a) }' \
  || fail "M2 victims after the restart: ${v2:-none}, before: $v1"
out=$("$bin/caselink-coordinator" audit verify --data "$FED_WORK/coordinator") \
  || fail "coordinator audit after restart: $out"
audit_after=$(sql "$FED_WORK/coordinator/audit.db" "SELECT count(*) FROM audit_log")
[ "$audit_after" -gt "$audit_before" ] || fail "the restarted coordinator audits nothing"
if [ "$ledgers" -gt 0 ]; then ledger_note="$ledgers ledger database(s) intact"
else ledger_note="no ledger in the coordinator's data folder yet (not wired)"; fi
pass "coordinator killed mid-query (client: '$(head -n 1 "$work/mid.err" | cut -c1-90)'), restarted: audit verifies ($out), $ledger_note, answers again (M2 victims $v2)"

# ---- clock skew beyond the expiry window ----------------------------------------------------
# The client's clock is moved with libfaketime (Debian faketime); the daemons keep the real
# clock. Certificates are backdated an hour, so a client 20 minutes behind still completes
# the handshake and its request is refused as expired; one 10 minutes ahead as issued in
# the future.
if command -v faketime >/dev/null; then
  for skew in -20m +10m; do
    set +e
    # (under ASan, libfaketime is preloaded before the ASan runtime)
    ASAN_OPTIONS="verify_asan_link_order=0:${ASAN_OPTIONS:-}" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    faketime -f "$skew" "$bin/caselink" query incident_events \
        --from "$from" --to "$to" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name national \
        >"$work/skew.out" 2>"$work/skew.err"
    rc=$?
    set -e
    [ "$rc" -ne 0 ] || fail "a client clock $skew off was answered"
    case $skew in
      -*) grep -qi "expired" "$work/skew.err" || fail "clock $skew: refusal does not name expiry: $(cat "$work/skew.err")" ;;
      +*) grep -qi "clock skew\|future" "$work/skew.err" || fail "clock $skew: refusal does not name the skew: $(cat "$work/skew.err")" ;;
    esac
    pass "client clock $skew: refused, '$(head -n 1 "$work/skew.err" | cut -c1-110)'"
  done
  # The federation still answers a client with the right clock.
  answer | diff -q - "$work/answer.csv" >/dev/null || fail "federation stopped answering after the skewed requests"
else
  skip "clock skew needs faketime (Debian package faketime; scripts/deps installs it)"
fi

fed_stop
rm -rf "$work"
echo "$passed passed, $skipped skipped, 0 failed"
