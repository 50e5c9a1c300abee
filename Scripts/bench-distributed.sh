#!/usr/bin/env bash
# Data-parallel training on this machine: target tokens/s of 1 rank × 2 threads
# against 2 ranks × 1 thread (each rank batch 32, so both train on global
# batches of 64), and the gradient all-reduce time per step, from the summary
# line that rank 0 prints (`distributed: … target tokens/s; gradient all-reduce
# … per step`). Rounds alternate the two set-ups; medians over rounds.
#
#   bash Scripts/bench-distributed.sh [ROUNDS]        # default 3
#
# Settings (environment): PAIRS (the shared Tatoeba train.tsv if present, else
# Corpora/everyday.tsv), STEPS (60), EMBEDDING/HIDDEN (256/256).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
STEPS="${STEPS:-60}"
PAIRS="${PAIRS:-../shared/corpora/tatoeba_manythings_kor/train.tsv}"
[ -f "$PAIRS" ] || PAIRS=Corpora/everyday.tsv
command -v mpirun >/dev/null || { echo "mpirun not found: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
swift build -c release --product seq2seq >&2
BIN="$(swift build -c release --show-bin-path)"
WORK=.build/bench-distributed
mkdir -p "$WORK"
# Vocabulary learned once, so the runs time training alone.
[ -f "$WORK/vocab.meta" ] || "$BIN/seq2seq" vocab "$PAIRS" --output "$WORK/vocab" >&2

run() {   # ranks threads batch → "tokens/s allreduce_ms wait_ms"
    rm -rf "$WORK/model"
    mpirun --allow-run-as-root --oversubscribe -np "$1" "$BIN/seq2seq" train "$PAIRS" --distributed \
        --vocab "$WORK/vocab" --output "$WORK/model" --embedding "${EMBEDDING:-256}" --hidden "${HIDDEN:-256}" \
        --threads "$2" --batch-size "$3" --max-steps "$STEPS" --validate-every 0 --epochs 1000 2>&1 \
        | sed -n 's/.*steps, \([0-9]*\) target tokens\/s; gradient all-reduce \([0-9.]*\) ms per step, waiting for other ranks \([0-9.]*\) ms.*/\1 \2 \3/p'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > "$WORK/results.txt"
for round in $(seq "$ROUNDS"); do
    echo "1x2 $(run 1 2 64)" >> "$WORK/results.txt"
    echo "2x1 $(run 2 1 32)" >> "$WORK/results.txt"
    echo "== round $round: $(tail -2 "$WORK/results.txt" | tr '\n' ' ')" >&2
done
pick() { awk -v s="$1" -v k="$2" '$1 == s { print $k }' "$WORK/results.txt" | median; }
printf '\n| set-up | target tokens/s | gradient all-reduce per step | waiting for the other rank per step |\n|---|---|---|---|\n'
printf '| 1 rank × 2 threads, batch 64 | %s | %s ms | %s ms |\n' "$(pick 1x2 2)" "$(pick 1x2 3)" "$(pick 1x2 4)"
printf '| 2 ranks × 1 thread, batch 32 each | %s | %s ms | %s ms |\n' "$(pick 2x1 2)" "$(pick 2x1 3)" "$(pick 2x1 4)"
echo "(medians of $ROUNDS rounds, $STEPS steps each, E${EMBEDDING:-256} H${HIDDEN:-256}, $PAIRS)"
