#!/usr/bin/env bash
# A short tour. Part 1: three co-ops run their nodes on this machine (three daemons,
# separate processes, libp2p on loopback); entries logged at each reach all; one node
# stops, the others go on, it comes back and catches up; they found a federation,
# trade hours in double entry, mandate a delegate and recall her, draw a facilitator by
# lot and take a decision; a checkpoint and an offline proof; an alert drill that every
# node acknowledges by itself. Part 2: a blackout — two
# co-ops swap a bundle file (as on a USB stick) and end with identical state.
set -euo pipefail

DEMO="${COOP_DEMO_DIR:-$(mktemp -d -t coopledger-demo.XXXXXX)}"
GARDEN="$DEMO/garden"
REPAIR="$DEMO/repair"
KITCHEN="$DEMO/kitchen"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_lengths() {
  coop state --home "$1" --json | python3 -c 'import json, sys
for cid, c in json.load(sys.stdin)["coops"].items():
    print("  %s %s: %d entries apply" % (c["name"] or "(name not known yet)", cid[:8], c["length"]))'
}
hash_of() { coop state --home "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_hash"])'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

declare -A PORT
start_node() {  # start_node HOME NAME [BOOTSTRAP...]
  local home=$1 name=$2; shift 2
  local args=(--home "$home" --listen "/ip4/127.0.0.1/tcp/${PORT[$name]}" --api 127.0.0.1:0 --no-mdns)
  for b in "$@"; do args+=(--bootstrap "$b"); done
  COOP_LOG=INFO coop node start "${args[@]}" >>"$DEMO/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    if coop node status --home "$home" --json >/dev/null 2>&1; then
      echo "  $name: node up (pid $!, log $DEMO/$name.log)"; return 0; fi
    sleep 0.1
  done
  echo "the $name node did not start; its log:"; tail -20 "$DEMO/$name.log"; exit 1
}
node_line() {
  coop node status --home "$1" --json | python3 -c 'import json,sys
s=json.load(sys.stdin); print("  %-8s holds %3d entries, %d peers, state_hash %s" % (sys.argv[1], s["entries_held"], len(s["connected_peers"]), s["state_hash"][:16]))' "$2"
}
wait_converged() {  # wait_converged ENTRIES HOME...
  local want=$1; shift
  for _ in $(seq 1 600); do
    local seen
    seen=$(for h in "$@"; do coop node status --home "$h" --json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["entries_held"], s["state_hash"])' || echo down; done | sort -u)
    if [ "$(echo "$seen" | wc -l)" = 1 ] && [ "${seen%% *}" = "$want" ]; then
      printf '\033[1;32m  converged: %s nodes hold %s entries, state_hash %s\033[0m\n' "$#" "$want" "${seen#* }"
      return 0; fi
    sleep 0.1
  done
  echo "NOT converged after 60 s:"; echo "$seen"; exit 1
}

step "Three co-ops create their homes (a key, a store, a genesis entry each)"
coop init --home "$GARDEN"  --name "Hillside Garden"
coop init --home "$REPAIR"  --name "Repair Collective"
coop init --home "$KITCHEN" --name "Neighbourhood Kitchen"
PORT[garden]=$(free_port); PORT[repair]=$(free_port); PORT[kitchen]=$(free_port)

step "Each starts its node; repair and kitchen know only the garden's address"
start_node "$GARDEN" garden
start_node "$REPAIR" repair "/ip4/127.0.0.1/tcp/${PORT[garden]}"
start_node "$KITCHEN" kitchen "/ip4/127.0.0.1/tcp/${PORT[garden]}"

step "Members log work; each \`coop log\` goes through its running node, which gossips it"
coop log labor     --home "$GARDEN"  --member ana  --hours 3   --task "bed preparation" --category production
coop log labor     --home "$GARDEN"  --member ben  --hours 1.5 --task "childcare during harvest" --category care
coop log goods     --home "$GARDEN"  --item tomatoes --quantity 25 --unit kg --flow produced
coop log labor     --home "$REPAIR"  --member chen --hours 4 --task "sourdough bake" --category production
coop log energy    --home "$REPAIR"  --kwh 3.4 --flow consumed --source grid
coop log labor     --home "$KITCHEN" --member eli  --hours 5 --task "community lunch" --category production
coop log material  --home "$KITCHEN" --item flour --quantity 12 --unit kg --direction used

step "The three nodes agree (every entry everywhere, the same state_hash)"
wait_converged 10 "$GARDEN" "$REPAIR" "$KITCHEN"
for n in garden repair kitchen; do node_line "$DEMO/$n" "$n"; done

step "The kitchen's node stops (SIGTERM); garden and repair keep working"
kill -TERM "${PIDS[2]}"; wait "${PIDS[2]}" && echo "  kitchen: stopped cleanly (exit 0)"
coop log labor  --home "$GARDEN" --member ana  --hours 2 --task "assembly notes" --category facilitation --paid
coop log labor  --home "$REPAIR" --member dara --hours 2 --task "teaching bread making" --category learning
echo "  while it is down the kitchen logs too, straight into its own store:"
coop log labor  --home "$KITCHEN" --member fay --hours 1 --task "dish washing" --category care
wait_converged 12 "$GARDEN" "$REPAIR"

step "The kitchen's node starts again and catches up (and hands over its own entry)"
start_node "$KITCHEN" kitchen "/ip4/127.0.0.1/tcp/${PORT[garden]}"
wait_converged 13 "$GARDEN" "$REPAIR" "$KITCHEN"
for n in garden repair kitchen; do node_line "$DEMO/$n" "$n"; done

step "The three found a federation: units, rules and a charter, written as entries"
wait_for() {  # wait_for WHAT COMMAND...: poll until COMMAND succeeds (60 s at most)
  local what=$1; shift
  for _ in $(seq 1 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "gave up waiting for $what"; exit 1
}
invited() { coop federation show --home "$1" --json | python3 -c 'import json,sys
sys.exit(0 if any(f["role"] == "invited" for f in json.load(sys.stdin)["federations"]) else 1)'; }
coop federation create --home "$GARDEN" --name Riverside --charter "We share tools, hours and surplus."
coop federation invite --home "$GARDEN" --federation Riverside --coop "Repair Collective"
coop federation invite --home "$GARDEN" --federation Riverside --coop "Neighbourhood Kitchen"
wait_for "repair's invite" invited "$REPAIR"
coop federation join --home "$REPAIR" --federation Riverside
wait_for "kitchen's invite" invited "$KITCHEN"
coop federation join --home "$KITCHEN" --federation Riverside
wait_converged 18 "$GARDEN" "$REPAIR" "$KITCHEN"
coop federation show --home "$KITCHEN" Riverside

step "Double entry: the garden offers 5 hours to the kitchen; the kitchen accepts"
OFFER=$(coop transfer offer --home "$GARDEN" --federation Riverside --to "Neighbourhood Kitchen" \
  --amount 5 --unit hour --for "raised beds built" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "  offer ${OFFER:0:16}… (5 hours reserved from the garden until accepted, declined or lapsed)"
open_offer() { coop transfer list --home "$KITCHEN" --open --json | grep -q "$OFFER"; }
wait_for "the offer at the kitchen" open_offer
coop transfer accept --home "$KITCHEN" "${OFFER:0:12}"
wait_converged 20 "$GARDEN" "$REPAIR" "$KITCHEN"
echo "  mutual credit at the repair collective's node (balances sum to zero):"
coop balance --home "$REPAIR"

step "Self-government: a written, expiring mandate; a lottery anyone re-runs; a decision"
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
MANDATE=$(coop mandate issue --home "$GARDEN" --federation Riverside --title "Delegate to Riverside" \
  --delegate Ana --allow vote --days 90 --scope "Speak and vote for the garden at Riverside." \
  --sunset "Hand the notes to the next delegate." --json | id_of)
LOTTERY=$(coop lottery announce --home "$REPAIR" --federation Riverside --purpose facilitation \
  --candidate "Ana@Hillside Garden" --candidate "Bo@Repair Collective" \
  --candidate "Cy@Neighbourhood Kitchen" --candidate "Di@Neighbourhood Kitchen" \
  --roles "facilitator,process guardian" --distinct-coops --beacons 2 --json | id_of)
seen() { coop entries --home "$1" --json | grep -q "$2"; }
wait_for "the lottery at the garden" seen "$GARDEN" "$LOTTERY"
wait_for "the lottery at the kitchen" seen "$KITCHEN" "$LOTTERY"
echo "  two other co-ops publish beacons: their entries' ids make the seed"
coop lottery beacon --home "$GARDEN" "${LOTTERY:0:12}" >/dev/null
coop lottery beacon --home "$KITCHEN" "${LOTTERY:0:12}" >/dev/null
PROPOSAL=$(coop proposal create --home "$KITCHEN" --federation Riverside --title "Shared van" \
  --text "The van goes round the co-ops on Fridays." --json | id_of)
wait_for "the proposal at the garden" seen "$GARDEN" "$PROPOSAL"
wait_for "the proposal at the repair collective" seen "$REPAIR" "$PROPOSAL"
coop proposal position --home "$GARDEN" "${PROPOSAL:0:12}" --stance agree --reason "Saves three trips." >/dev/null
coop proposal position --home "$REPAIR" "${PROPOSAL:0:12}" --stance abstain >/dev/null
wait_converged 27 "$GARDEN" "$REPAIR" "$KITCHEN"
coop proposal decide --home "$KITCHEN" "${PROPOSAL:0:12}" --summary "The van goes round on Fridays." >/dev/null
coop mandate recall --home "$GARDEN" "${MANDATE:0:12}" --reason "The assembly chose another delegate." >/dev/null
wait_converged 29 "$GARDEN" "$REPAIR" "$KITCHEN"
echo "  the draw, recomputed step by step at the kitchen's node:"
coop lottery verify --home "$KITCHEN" "${LOTTERY:0:12}" | tail -6
echo "  the garden's mandate, as the repair collective's node sees it (recalled everywhere):"
coop mandate list --home "$REPAIR" --federation Riverside
echo "  Riverside's decision archive:"
coop decision list --home "$GARDEN" --federation Riverside

step "Provable books: a checkpoint, and a proof anyone checks offline"
coop checkpoint publish --home "$KITCHEN"
WORK=$(coop entries --home "$KITCHEN" --author "Neighbourhood Kitchen" --kind labor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
coop prove entry --home "$KITCHEN" "${WORK:0:12}" --out "$DEMO/kitchen-work.proof"
echo "  checked with no store and no network:"
coop check-proof "$DEMO/kitchen-work.proof"

step "A solidarity alert drill: every node acknowledges it by itself, with a signed receipt"
ALERT=$(coop alert raise --home "$REPAIR" --drill --need people --need material \
  --what "Drill: the workshop is flooded; we need hands and sandbags tonight." \
  --where "Repair Collective, Mill Lane 4" --json | id_of)
acked() { coop alert show --home "$REPAIR" "${ALERT:0:12}" --json | python3 -c 'import json,sys; a=json.load(sys.stdin); sys.exit(0 if a["acked"] == a["targets"] else 1)'; }
wait_for "both other co-ops to acknowledge the drill" acked
coop alert pledge --home "$GARDEN" "${ALERT:0:12}" --need people --what "Three of us come at seven." >/dev/null
wait_converged 34 "$GARDEN" "$REPAIR" "$KITCHEN"
coop alert show --home "$KITCHEN" "${ALERT:0:12}"

step "Every node stops cleanly and verifies its store"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
coop verify --home "$GARDEN"; coop verify --home "$REPAIR"; coop verify --home "$KITCHEN"

step "Part 2 — a blackout: no network. Two new co-ops swap bundle files instead"
GARDEN="$DEMO/orchard"
REPAIR="$DEMO/bakery"
coop init --home "$GARDEN" --name "Orchard Co-op" >/dev/null
coop init --home "$REPAIR" --name "Bakery Co-op" >/dev/null
step "The orchard logs labour (paid and unpaid), materials, energy and goods"
coop log labor     --home "$GARDEN" --member ana  --hours 3   --task "bed preparation" --category production
coop log labor     --home "$GARDEN" --member ben  --hours 1.5 --task "childcare during harvest" --category care
coop log labor     --home "$GARDEN" --member ana  --hours 2   --task "assembly notes" --category facilitation --paid
coop log material  --home "$GARDEN" --item compost  --quantity 40 --unit kg --direction in
coop log energy    --home "$GARDEN" --kwh 6.25 --flow generated --source local
coop log goods     --home "$GARDEN" --item tomatoes --quantity 25 --unit kg --flow produced
coop log goods     --home "$GARDEN" --item tomatoes --quantity 10 --unit kg --flow distributed --to "neighbourhood kitchen"

step "The bakery logs its own work"
coop log labor     --home "$REPAIR" --member chen --hours 4 --task "sourdough bake" --category production
coop log labor     --home "$REPAIR" --member dara --hours 2 --task "teaching bread making" --category learning
coop log material  --home "$REPAIR" --item "rye flour" --quantity 12 --unit kg --direction used
coop log energy    --home "$REPAIR" --kwh 3.4 --flow consumed --source grid

step "Before the exchange the two nodes disagree"
echo "orchard: $(hash_of "$GARDEN")"
echo "bakery:  $(hash_of "$REPAIR")"

step "Each exports a bundle (a file for a USB stick) and imports the other's"
coop bundle export --home "$GARDEN" "$DEMO/orchard.coopbundle"
coop bundle export --home "$REPAIR" "$DEMO/bakery.coopbundle"
coop bundle import --home "$GARDEN" "$DEMO/bakery.coopbundle"
coop bundle import --home "$REPAIR" "$DEMO/orchard.coopbundle"

step "Importing the same bundle again changes nothing"
coop bundle import --home "$REPAIR" "$DEMO/orchard.coopbundle"

step "A damaged copy: one byte flipped inside an entry; only that entry is refused"
cp "$DEMO/orchard.coopbundle" "$DEMO/damaged.coopbundle"
python3 - "$DEMO/damaged.coopbundle" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[200] ^= 0xFF          # inside the first entry record
open(path, "wb").write(data)
PY
coop init --home "$DEMO/third" --name "Third Co-op" > /dev/null
coop bundle import --home "$DEMO/third" "$DEMO/damaged.coopbundle" || echo "(exit status $? — as expected: one entry was refused)"
echo "The refused entry was the orchard's first (genesis) entry, so the 7 others wait:"
show_lengths "$DEMO/third"
echo "A clean copy fills the gap, and the waiting entries apply:"
coop bundle import --home "$DEMO/third" "$DEMO/orchard.coopbundle"
show_lengths "$DEMO/third"

step "The orchard node now shows both co-ops' books"
coop state --home "$GARDEN"

step "Both nodes verify every signature and chain, and derive the same state"
coop verify --home "$GARDEN"
coop verify --home "$REPAIR"
G=$(hash_of "$GARDEN"); R=$(hash_of "$REPAIR")
echo "orchard: $G"
echo "bakery:  $R"
if [ "$G" = "$R" ]; then
  printf '\n\033[1;32mconverged: both nodes hold the same entries and show the same state_hash\033[0m\n'
else
  printf '\n\033[1;31mNOT converged\033[0m\n'; exit 1
fi
echo "(demo homes are in $DEMO)"
