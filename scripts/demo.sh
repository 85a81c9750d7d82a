#!/usr/bin/env bash
# A short tour: two co-ops on one machine keep their own signed logs, swap a bundle
# (as they would on a USB stick during a blackout), and end with identical state.
set -euo pipefail

DEMO="${COOP_DEMO_DIR:-$(mktemp -d -t coopledger-demo.XXXXXX)}"
GARDEN="$DEMO/garden"
REPAIR="$DEMO/repair"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show_lengths() {
  coop state --home "$1" --json | python3 -c 'import json, sys
for cid, c in json.load(sys.stdin)["coops"].items():
    print("  %s %s: %d entries apply" % (c["name"] or "(name not known yet)", cid[:8], c["length"]))'
}
hash_of() { coop state --home "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_hash"])'; }

step "Two co-ops create their homes (a key, a store, a genesis entry each)"
coop init --home "$GARDEN" --name "Hillside Garden"
coop init --home "$REPAIR" --name "Repair Collective"

step "Hillside Garden logs labour (paid and unpaid), materials, energy and goods"
coop log labor     --home "$GARDEN" --member ana  --hours 3   --task "bed preparation" --category production
coop log labor     --home "$GARDEN" --member ben  --hours 1.5 --task "childcare during harvest" --category care
coop log labor     --home "$GARDEN" --member ana  --hours 2   --task "assembly notes" --category facilitation --paid
coop log material  --home "$GARDEN" --item compost  --quantity 40 --unit kg --direction in
coop log energy    --home "$GARDEN" --kwh 6.25 --flow generated --source local
coop log goods     --home "$GARDEN" --item tomatoes --quantity 25 --unit kg --flow produced
coop log goods     --home "$GARDEN" --item tomatoes --quantity 10 --unit kg --flow distributed --to "neighbourhood kitchen"

step "Repair Collective logs its own work"
coop log labor     --home "$REPAIR" --member chen --hours 4 --task "bicycle repair cafe" --category production
coop log labor     --home "$REPAIR" --member dara --hours 2 --task "teaching soldering" --category learning
coop log material  --home "$REPAIR" --item "inner tubes" --quantity 12 --unit item --direction used
coop log energy    --home "$REPAIR" --kwh 3.4 --flow consumed --source grid

step "Before the exchange the two nodes disagree"
echo "garden: $(hash_of "$GARDEN")"
echo "repair: $(hash_of "$REPAIR")"

step "Each exports a bundle (a file for a USB stick) and imports the other's"
coop bundle export --home "$GARDEN" "$DEMO/garden.coopbundle"
coop bundle export --home "$REPAIR" "$DEMO/repair.coopbundle"
coop bundle import --home "$GARDEN" "$DEMO/repair.coopbundle"
coop bundle import --home "$REPAIR" "$DEMO/garden.coopbundle"

step "Importing the same bundle again changes nothing"
coop bundle import --home "$REPAIR" "$DEMO/garden.coopbundle"

step "A damaged copy: one byte flipped inside an entry; only that entry is refused"
cp "$DEMO/garden.coopbundle" "$DEMO/damaged.coopbundle"
python3 - "$DEMO/damaged.coopbundle" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[200] ^= 0xFF          # inside the first entry record
open(path, "wb").write(data)
PY
coop init --home "$DEMO/third" --name "Third Co-op" > /dev/null
coop bundle import --home "$DEMO/third" "$DEMO/damaged.coopbundle" || echo "(exit status $? — as expected: one entry was refused)"
echo "The refused entry was the garden's first (genesis) entry, so the 7 others wait:"
show_lengths "$DEMO/third"
echo "A clean copy fills the gap, and the waiting entries apply:"
coop bundle import --home "$DEMO/third" "$DEMO/garden.coopbundle"
show_lengths "$DEMO/third"

step "The garden node now shows both co-ops' books"
coop state --home "$GARDEN"

step "Both nodes verify every signature and chain, and derive the same state"
coop verify --home "$GARDEN"
coop verify --home "$REPAIR"
G=$(hash_of "$GARDEN"); R=$(hash_of "$REPAIR")
echo "garden: $G"
echo "repair: $R"
if [ "$G" = "$R" ]; then
  printf '\n\033[1;32mconverged: both nodes hold the same entries and show the same state_hash\033[0m\n'
else
  printf '\n\033[1;31mNOT converged\033[0m\n'; exit 1
fi
echo "(demo homes are in $DEMO)"
