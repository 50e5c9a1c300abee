#!/usr/bin/env bash
# Kills `seq2seq train` with SIGKILL at N random moments (default 10) and checks
# after each kill that the model still translates from best/ and from last/ alone,
# then that --resume finishes normally. The same check runs in `swift test` on a
# tiny model (ReliabilityCLITests.killNineAtRandomMomentsLeavesAResumableModel);
# this script does it at a real size with the release binaries.
#
#   Scripts/kill9.sh [ROUNDS] [CORPUS]      # default: 10 Corpora/everyday.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-10}"
CORPUS="${2:-Corpora/everyday.tsv}"
swift build -c release >&2
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TRAIN=("$BIN/seq2seq" train "$CORPUS" --output "$WORK/model" --time-budget 10m --validate-every 20 --threads 2)

"${TRAIN[@]}" 2>/dev/null & PID=$!
while [ ! -f "$WORK/model/last/session.json" ]; do sleep 0.2; done
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
for round in $(seq 1 "$ROUNDS"); do
    "${TRAIN[@]}" --resume 2>/dev/null & PID=$!
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + (r % 400) / 100 }')"
    kill -9 "$PID"; wait "$PID" 2>/dev/null || true
    "$BIN/translate" --model "$WORK/model" "Good morning." > /dev/null
    rm -rf "$WORK/copy"; cp -r "$WORK/model" "$WORK/copy"; rm -rf "$WORK/copy/best"
    [ -d "$WORK/copy/last" ] || mv "$WORK/copy/last.previous" "$WORK/copy/last"
    "$BIN/translate" --model "$WORK/copy" "Good morning." > /dev/null
    echo "round $round: killed; best/ and last/ load"
done
"${TRAIN[@]}" --resume --time-budget 5s 2>&1 | grep -E "resuming at step|after"
echo "kill -9 x $ROUNDS: every time the model loaded and --resume continued"
