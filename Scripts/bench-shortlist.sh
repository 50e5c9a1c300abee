#!/bin/bash
# Decoding with and without a vocabulary shortlist: sentences/s and dev chrF, greedy and beam 5.
#
#   Scripts/bench-shortlist.sh MODEL_DIR TRAIN.tsv DEV.tsv [FREQUENT CANDIDATES]...
#
# Builds MODEL_DIR's shortlist from TRAIN.tsv (`seq2seq shortlist`) for every FREQUENT/CANDIDATES
# pair given (default: 1000 50, 500 20, 300 10; the last one stays in MODEL_DIR), then for each mode
# (greedy, beam 5) and each shortlist (none first):
#   - speed: `translate --threads 2` over DEV.tsv's sources repeated REPEAT times (default 10, so
#     process start and model loading weigh little), the median of 3 runs, each after
#     ../shared/peers/wait_quiet.sh; sentences/s = lines / wall seconds;
#   - quality: `seq2seq eval --threads 2` on DEV.tsv (chrF2, sacreBLEU-compatible).
# Prints a markdown table.
#
# Environment: BIN (folder with seq2seq and translate; default: the release build), REPEAT,
# QUIET_TIMEOUT (seconds wait_quiet.sh waits for an idle machine, default 120; its verdicts go to
# WORK/load.log),
# PEERS (default <repo>/../shared/peers), WORK (default /tmp/bench-shortlist).
set -euo pipefail

MODEL=${1:?usage: Scripts/bench-shortlist.sh MODEL_DIR TRAIN.tsv DEV.tsv [FREQUENT CANDIDATES]...}
TRAIN=${2:?training pairs}
DEV=${3:?dev pairs}
shift 3
SETTINGS=("$@")
[ ${#SETTINGS[@]} -eq 0 ] && SETTINGS=(1000 50 500 20 300 10)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$(cd "$ROOT" && swift build -c release --show-bin-path)}
PEERS=${PEERS:-$ROOT/../shared/peers}
REPEAT=${REPEAT:-10}
WORK=${WORK:-/tmp/bench-shortlist}
mkdir -p "$WORK"

cut -f1 "$DEV" > "$WORK/dev.src"
: > "$WORK/input.src"
for _ in $(seq "$REPEAT"); do cat "$WORK/dev.src" >> "$WORK/input.src"; done
LINES=$(wc -l < "$WORK/input.src")

# median of 3 timed runs of translate with the given options, as sentences/s
speed() {
  local times=()
  for _ in 1 2 3; do
    "$PEERS/wait_quiet.sh" 15 "${QUIET_TIMEOUT:-120}" >> "$WORK/load.log"
    local start end
    start=$(date +%s.%N)
    "$BIN/translate" --model "$MODEL" --threads 2 "$@" < "$WORK/input.src" > "$WORK/out.txt"
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
  printf '%.0f' "$(echo "$LINES / $median" | bc -l)"
}

chrf() {
  "$BIN/seq2seq" eval --model "$MODEL" "$DEV" --threads 2 "$@" 2>/dev/null | sed -n 's/^chrF2.* = //p'
}

echo "| mode | shortlist (frequent/candidates) | sentences/s (median of 3) | speed-up | dev chrF2 |"
echo "|---|---|---:|---:|---:|"
for mode in "--greedy" "--beam-size 5"; do
  # shellcheck disable=SC2086
  base=$(speed $mode --no-shortlist)
  # shellcheck disable=SC2086
  echo "| ${mode#--} | none | $base | 1.00× | $(chrf $mode --no-shortlist) |"
  for ((i = 0; i < ${#SETTINGS[@]}; i += 2)); do
    "$BIN/seq2seq" shortlist --model "$MODEL" --frequent "${SETTINGS[i]}" --candidates "${SETTINGS[i + 1]}" "$TRAIN" 2> "$WORK/shortlist.log"
    # shellcheck disable=SC2086
    s=$(speed $mode --shortlist)
    # shellcheck disable=SC2086
    echo "| ${mode#--} | ${SETTINGS[i]}/${SETTINGS[i + 1]} | $s | $(printf '%.2f' "$(echo "$s / $base" | bc -l)")× | $(chrf $mode --shortlist) |"
  done
done
