# Shared by scripts/demo and the integration tests: builds a local federation
# on loopback from a `caselink synth` output folder. Source it, then call
#   fed_setup BIN FEDERATION_DIR WORK_DIR   (PKI, stores, imports, configs)
#   fed_start                               (nodes and coordinator, waits until ready)
#   fed_query ARGS...                       (caselink query as the national user)
#   fed_stop                                (SIGCONT+SIGTERM to every daemon, waits up
#                                            to 10 s each, then SIGKILL)
#   fed_restart_coordinator                 (the coordinator alone, same configuration;
#                                            records its new pid, sets FED_COORD)
#   fed_daemon NAME CMD...                  (any daemon: CMD --foreground --ready-file,
#                                            pid in run/NAME.pid; sets FED_ADDR)
#   fed_leftovers DIR                       (pids of caselink daemons whose command line
#                                            names DIR: what a stop left running)
#   fed_start_keyholder                     (optional, after fed_setup: the OPRF keyholder
#                                            with every node registered; sets FED_KEYHOLDER)
#   fed_fill_tokens                         (after fed_start_keyholder: every node's token
#                                            cache, so that linked measures M1-M6 work)
# With FED_COMPUTE=1 (before fed_setup): the two computing parties (caselink-compute cp-1,
# cp-2) run too and the coordinator names them, so a linked M2 is computed under secret
# sharing and no node sends an event (docs/secure-computation.md); the coordinator and the
# parties then listen on fixed free ports, since the parties dial the coordinator back.
# Ports are chosen by the kernel (listen on port 0) and read from ready files.
# Every daemon is started with its pid in $FED_WORK/run/NAME.pid (fed_stop stops exactly those)
# and with stdin, stdout and stderr away from the caller's: a daemon that outlived its script
# would otherwise hold the caller's output open (ctest waits for it until its timeout).
# fed_start starts no node that is already running.
# Policies are on (docs/policy.md): fed_setup writes the coordinator's federation
# policy ($FED_WORK/federation-policy.yaml) and one node policy per node
# ($FED_WORK/nodes/ID/policy.yaml, named by its node.yaml); a test may replace any
# of them between fed_setup and fed_start.

fed_die() { echo "federation: $*" >&2; exit 1; }

# Waits up to 20 s for a ready file; prints HOST:PORT.
fed_wait_ready() {
  local f=$1 pid=$2 i
  for i in $(seq 1 200); do
    if [ -s "$f" ]; then cat "$f"; return 0; fi
    kill -0 "$pid" 2>/dev/null || fed_die "daemon for $f exited early (see $FED_WORK/logs)"
    sleep 0.1
  done
  fed_die "timed out waiting for $f"
}

# Prints a generated policy of scope $1 (federation|node) for this federation:
# the `national` user (the CLI's defaults: purpose monitoring, legal basis
# statistics) may ask M1-M8; every node (OU node: `caselink-node case-history`
# and `alerts` run at an agency's node with its own certificate) is a
# case_coordinator for M7/M8.
fed_policy() {
  local scope=$1 ids
  ids=$(IFS=,; echo "${FED_IDS[*]}")
  ids=${ids//,/, }
  cat <<YAML
# caselink $scope policy (generated for a local federation by scripts/lib/federation.sh)
version: 1
scope: $scope
description: local demo federation

roles:
  national_coordinator:
    ou: user
    identities: [national]
  case_coordinator:
    ou: node
    identities: [$ids]

rules:
  - id: national-monitoring
    role: national_coordinator
    measures: [M1, M2, M3, M4, M5, M6]
    group_by: [municipality, country, agency_type, quarter, month, year, sex, age_group,
               age_band, risk_level, child_threat_level, support_type, event_type]
    period: {min_days: 1, max_days: 3660}
    purposes: [monitoring]
    legal_bases: [statistics, lv_interinstitutional_cooperation, lt_domestic_violence_law]
    rate: {per_hour: 10000, per_day: 100000}

  - id: national-cases
    role: national_coordinator
    measures: [M7, M8]
    as_of: {max_days_back: 3660, max_days_ahead: 1}
    purposes: [monitoring]
    legal_bases: [statistics, lv_interinstitutional_cooperation, lt_domestic_violence_law]
    rate: {per_hour: 10000, per_day: 100000}

  # Case answers: each node's case coordinator, at most 60 histories and 30 alert runs an
  # hour (a MARAC team prepares a few dozen cases a meeting; a node asking for thousands is
  # harvesting). The coordinator and every node count them per asking node.
  - id: case-history
    role: case_coordinator
    measures: [M7]
    as_of: {max_days_back: 3660, max_days_ahead: 1}
    purposes: [case_review, marac_preparation]
    legal_bases: [lv_interinstitutional_cooperation, lt_domestic_violence_law,
                  lt_child_rights_law, child_protection, statistics]
    rate: {per_hour: 60, per_day: 400}

  - id: case-alerts
    role: case_coordinator
    measures: [M8]
    as_of: {max_days_back: 3660, max_days_ahead: 1}
    purposes: [case_review, marac_preparation]
    legal_bases: [lv_interinstitutional_cooperation, lt_domestic_violence_law,
                  lt_child_rights_law, child_protection, statistics]
    rate: {per_hour: 30, per_day: 200}

participation:
  - measures: [M1, M2, M3, M4, M5, M6, M7, M8]
YAML
  # A node's case_disclosure: the defaults (docs/policy.md "Case answers") unless the caller
  # sets FED_CASE_DISCLOSURE=open — tests that compare M7/M8 with the ground truth of every
  # agency's records, which knows no sharing protocol.
  if [ "$scope" = node ] && [ "${FED_CASE_DISCLOSURE:-}" = open ]; then
    cat <<YAML

case_disclosure:
  - id: test-open
    description: every linked record to every agency (ground-truth tests only)
    scope: any
    legal_bases: [lv_interinstitutional_cooperation, lt_domestic_violence_law,
                  lt_child_rights_law, child_protection, statistics]
    evidence: [none]
YAML
  fi
}

fed_setup() {
  FED_BIN=$1; FED_SRC=$2; FED_WORK=$3
  FED_PKI=$FED_WORK/pki
  mkdir -p "$FED_WORK/logs" "$FED_WORK/run" "$FED_WORK/nodes"
  "$FED_BIN/caselink" pki init-ca --out "$FED_PKI" >/dev/null
  "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name coordinator --role coordinator \
      --out "$FED_PKI" --loopback >/dev/null
  "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name national --role user \
      --out "$FED_PKI" --loopback >/dev/null
  FED_IDS=()
  local id type municipality country
  while IFS=, read -r id type municipality country; do
    [ "$id" = "agency_id" ] && continue
    municipality=${municipality%\"}; municipality=${municipality#\"}
    FED_IDS+=("$id")
    local data=$FED_WORK/nodes/$id
    "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name "$id" --role node \
        --out "$FED_PKI" --loopback >/dev/null
    "$FED_BIN/caselink-node" init --data "$data" --agency "$id" --type "$type" \
        --municipality "$municipality" --country "$country" >/dev/null
    "$FED_BIN/caselink-node" import --data "$data" \
        --persons "$FED_SRC/agencies/$id/persons.csv" \
        --events "$FED_SRC/agencies/$id/events.csv" >"$FED_WORK/logs/$id.import" \
        || fed_die "import of $id failed (see $FED_WORK/logs/$id.import)"
    cat >"$data/node.yaml" <<YAML
# caselink node $id (generated for a local federation)
listen: 127.0.0.1:0
tls:
  ca: ../../pki/ca.pem
  cert: ../../pki/$id.pem
  key: ../../pki/$id.key
  crl: ../../pki/crl.pem
coordinators: [coordinator]
policy: policy.yaml
# default legal basis of this agency's case-history / alerts requests
legal_basis: $( [ "$country" = LT ] && echo lt_domestic_violence_law || echo lv_interinstitutional_cooperation )
YAML
  done < "$FED_SRC/federation.csv"
  fed_policy federation >"$FED_WORK/federation-policy.yaml"
  for id in "${FED_IDS[@]}"; do fed_policy node >"$FED_WORK/nodes/$id/policy.yaml"; done
  if [ "${FED_COMPUTE:-0}" = 1 ]; then fed_setup_compute; fi
}

# The two computing parties (docs/secure-computation.md): certificates with role compute,
# each its own audit log. With them, fed_start runs caselink-compute twice and names them
# in the coordinator's configuration; a linked M2 is then computed under secret sharing.
fed_setup_compute() {
  local p
  for p in 1 2; do
    "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name "cp-$p" --role compute \
        --out "$FED_PKI" --loopback >/dev/null
    "$FED_BIN/caselink-compute" init --data "$FED_WORK/cp-$p" >/dev/null
  done
}

fed_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Writes the computing parties' configurations and starts them; sets FED_COMPUTE_ADDR[1..2]
# and FED_COORD_LISTEN (the coordinator's fixed address, which the parties dial back).
fed_start_compute() {
  local p other
  FED_COORD_LISTEN=127.0.0.1:$(fed_free_port)
  FED_COMPUTE_ADDR=("" "127.0.0.1:$(fed_free_port)" "127.0.0.1:$(fed_free_port)")
  for p in 1 2; do
    other=$((3 - p))
    cat >"$FED_WORK/cp-$p.yaml" <<YAML
# caselink-compute party $p (generated for a local federation)
party: $p
listen: ${FED_COMPUTE_ADDR[$p]}
tls: {ca: pki/ca.pem, cert: pki/cp-$p.pem, key: pki/cp-$p.key, crl: pki/crl.pem}
coordinator: {id: coordinator, address: $FED_COORD_LISTEN}
peer: {id: cp-$other, address: ${FED_COMPUTE_ADDR[$other]}}
YAML
    fed_stop_one "cp-$p"
    fed_daemon "cp-$p" "$FED_BIN/caselink-compute" serve --data "$FED_WORK/cp-$p" \
        --config "$FED_WORK/cp-$p.yaml"
  done
}

# Starts NAME's daemon: CMD... --foreground --ready-file run/NAME.addr, its pid in
# run/NAME.pid, log in logs/NAME.log; waits until ready and sets FED_ADDR to HOST:PORT. Call
# it in the test's own shell (not in $(...)): the daemon stays its child, so that `wait` can
# read its exit status.
fed_daemon() {
  local name=$1
  shift
  rm -f "$FED_WORK/run/$name.addr"
  "$@" --foreground --ready-file "$FED_WORK/run/$name.addr" \
      </dev/null >/dev/null 2>>"$FED_WORK/logs/$name.log" &
  echo $! >"$FED_WORK/run/$name.pid"
  FED_ADDR=$(fed_wait_ready "$FED_WORK/run/$name.addr" "$!")
}

# True when run/NAME.pid names a live process.
fed_running() {
  local f=$FED_WORK/run/$1.pid
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

fed_start_node() {
  local id=$1 data=$FED_WORK/nodes/$1
  fed_running "$id" && return 0 # started already: never a second daemon on one store
  rm -f "$FED_WORK/run/$id.addr"
  "$FED_BIN/caselink-node" serve --data "$data" --config "$data/node.yaml" --foreground \
      --ready-file "$FED_WORK/run/$id.addr" </dev/null >/dev/null 2>>"$FED_WORK/logs/$id.log" &
  echo $! >"$FED_WORK/run/$id.pid"
}

# Stops the daemon of run/NAME.pid: SIGCONT (a stopped one cannot act on SIGTERM), SIGTERM,
# up to 10 s, then SIGKILL; reaps it when it is this shell's child.
fed_stop_one() {
  local f=$FED_WORK/run/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ]; then
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

fed_start_coordinator() {
  fed_daemon coordinator "$FED_BIN/caselink-coordinator" serve \
      --data "$FED_WORK/coordinator" --config "$FED_WORK/coordinator.yaml"
  FED_COORD=$FED_ADDR
}

fed_restart_coordinator() {
  fed_stop_one coordinator
  fed_start_coordinator
}

fed_start() {
  local id
  for id in "${FED_IDS[@]}"; do fed_start_node "$id"; done
  if [ "${FED_COMPUTE:-0}" = 1 ]; then fed_start_compute; fi
  {
    echo "# caselink coordinator (generated for a local federation)"
    echo "listen: ${FED_COORD_LISTEN:-127.0.0.1:0}"
    if [ "${FED_COMPUTE:-0}" = 1 ]; then
      echo "compute:"
      echo "  - {party: 1, id: cp-1, address: ${FED_COMPUTE_ADDR[1]}, cert: pki/cp-1.pem}"
      echo "  - {party: 2, id: cp-2, address: ${FED_COMPUTE_ADDR[2]}, cert: pki/cp-2.pem}"
    fi
    echo "tls: {ca: pki/ca.pem, cert: pki/coordinator.pem, key: pki/coordinator.key, crl: pki/crl.pem}"
    echo "policy: federation-policy.yaml"
    echo "deadline_ms: ${FED_DEADLINE_MS:-5000}"
    echo "nodes:"
    local type municipality country
    while IFS=, read -r id type municipality country; do
      [ "$id" = "agency_id" ] && continue
      municipality=${municipality%\"}; municipality=${municipality#\"}
      local addr
      addr=$(fed_wait_ready "$FED_WORK/run/$id.addr" "$(cat "$FED_WORK/run/$id.pid")")
      echo "  - {id: $id, agency_type: $type, municipality: \"$municipality\", country: $country, address: $addr}"
    done < "$FED_SRC/federation.csv"
  } >"$FED_WORK/coordinator.yaml"
  fed_stop_one coordinator # a second fed_start restarts the coordinator on the new config
  fed_start_coordinator
  # Where each node's case coordinator asks (caselink-node case-history / alerts).
  for id in "${FED_IDS[@]}"; do
    sed -i '/^coordinator_address:/d' "$FED_WORK/nodes/$id/node.yaml"
    echo "coordinator_address: $FED_COORD" >>"$FED_WORK/nodes/$id/node.yaml"
  done
}

fed_start_keyholder() {
  local data=$FED_WORK/keyholder
  if [ ! -f "$FED_PKI/keyholder.pem" ]; then
    "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name keyholder --role keyholder \
        --out "$FED_PKI" --loopback >/dev/null
  fi
  if [ ! -f "$data/oprf-keys" ]; then
    "$FED_BIN/caselink-keyholder" init --data "$data" >"$FED_WORK/logs/keyholder.init" \
        || fed_die "keyholder init failed (see $FED_WORK/logs/keyholder.init)"
  fi
  {
    echo "# caselink keyholder (generated for a local federation)"
    echo "listen: 127.0.0.1:0"
    echo "tls: {ca: pki/ca.pem, cert: pki/keyholder.pem, key: pki/keyholder.key, crl: pki/crl.pem}"
    echo "nodes: [$(IFS=,; echo "${FED_IDS[*]}")]"
  } >"$FED_WORK/keyholder.yaml"
  fed_stop_one keyholder
  fed_daemon keyholder "$FED_BIN/caselink-keyholder" serve --data "$data" \
      --config "$FED_WORK/keyholder.yaml"
  FED_KEYHOLDER=$FED_ADDR
}

fed_fill_tokens() {
  local id data
  for id in "${FED_IDS[@]}"; do
    data=$FED_WORK/nodes/$id
    grep -q '^keyholder:' "$data/node.yaml" || echo "keyholder: $FED_KEYHOLDER" >>"$data/node.yaml"
    "$FED_BIN/caselink-node" tokens --data "$data" --config "$data/node.yaml" \
        >>"$FED_WORK/logs/$id.tokens" 2>&1 || fed_die "token cache of $id (see $FED_WORK/logs/$id.tokens)"
  done
}

fed_query() {
  "$FED_BIN/caselink" query "$@" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name national
}

fed_stop() {
  local f pid
  [ -n "${FED_WORK:-}" ] || return 0
  for f in "$FED_WORK"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] || continue
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$FED_WORK"/run/*.pid; do
    [ -f "$f" ] || continue
    fed_stop_one "$(basename "$f" .pid)"
  done
  # Any daemon serving from this federation's folders whose pid file is gone (a test that
  # removed its work folder before its EXIT trap, a restart that wrote no pid file): a daemon
  # left running would also hold ctest's output pipe open until the test's timeout.
  local left
  left=$(fed_leftovers "$FED_WORK/")
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -CONT $left 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null || true
    sleep 1
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
  fi
}

# Prints the pids of caselink daemons (serve) whose command line names DIR, one a line.
fed_leftovers() {
  local dir=$1 p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    case $cmd in
      *caselink-node\ serve\ *"$dir"* | *caselink-coordinator\ serve\ *"$dir"* | \
          *caselink-keyholder\ serve\ *"$dir"* | *caselink-compute\ serve\ *"$dir"*)
        echo "${p#/proc/}" ;;
    esac
  done
}
