#!/bin/bash
# Language-model quality on one side of a translation corpus: dev bits per character and samples.
#
#   Scripts/lm-quality.sh CORPUS_DIR [MINUTES] [THREADS]
#
# CORPUS_DIR holds train.tsv and dev.tsv (english<TAB>korean), e.g. ../shared/corpora/python_docs_ko.
# Three runs of `seq2seq lm train` with its defaults (char LSTM, 2 × 512), each for MINUTES (default 10)
# on THREADS threads (default 2), one after another: the English column with --units char, the Korean
# column with --units char and with --units jamo. Each model is then scored by `seq2seq lm eval` on the
# same column of dev.tsv (bits per original character, so char and jamo compare) and samples 300
# characters at temperature 0.7 (seed 1). Prints a markdown table and the samples; files stay in $WORK.
#
# Environment: WORK (default /tmp/lm-quality/<corpus name>), SKIP_BUILD=1 to use the existing
# release build, BIN=FOLDER to use the binaries in FOLDER.
set -euo pipefail

CORPUS=${1:?usage: Scripts/lm-quality.sh CORPUS_DIR [MINUTES] [THREADS]}
MINUTES=${2:-10}
THREADS=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=$(basename "$CORPUS")
WORK=${WORK:-/tmp/lm-quality/$NAME}
for f in "$CORPUS/train.tsv" "$CORPUS/dev.tsv"; do
  [ -f "$f" ] || { echo "lm-quality: $f not found" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
  if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && swift build -c release >&2); fi
  BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
fi
rm -rf "$WORK"
mkdir -p "$WORK"
cut -f1 "$CORPUS/train.tsv" >"$WORK/train.en.txt"
cut -f1 "$CORPUS/dev.tsv" >"$WORK/dev.en.txt"
cut -f2 "$CORPUS/train.tsv" >"$WORK/train.ko.txt"
cut -f2 "$CORPUS/dev.tsv" >"$WORK/dev.ko.txt"

# run name, language, units, prime
runs=("en-char|en|char|The " "ko-char|ko|char|이 " "ko-jamo|ko|jamo|이 ")
table="| text ($NAME, $MINUTES min, $THREADS threads) | units | steps | dev bits/char | dev perplexity per character |"$'\n'
table+="|---|---|---:|---:|---:|"$'\n'
samples=""
for r in "${runs[@]}"; do
  IFS='|' read -r run lang units prime <<<"$r"
  echo "== $NAME $run: training for $MINUTES min on $THREADS threads" >&2
  "$BIN/seq2seq" lm train "$WORK/train.$lang.txt" --dev "$WORK/dev.$lang.txt" --units "$units" \
      --time-budget "${MINUTES}m" --threads "$THREADS" --output "$WORK/$run" >"$WORK/$run.log" 2>&1 \
    || { echo "lm-quality: training failed, see $WORK/$run.log" >&2; exit 1; }
  "$BIN/seq2seq" lm eval --model "$WORK/$run" "$WORK/dev.$lang.txt" >"$WORK/$run.eval" 2>&1 \
    || { echo "lm-quality: lm eval failed, see $WORK/$run.eval" >&2; exit 1; }
  bpc=$(grep -oE 'bits per character:? *[0-9.]+' "$WORK/$run.eval" | grep -oE '[0-9.]+$' | head -1)
  ppl=$(awk -v b="${bpc:-0}" 'BEGIN { printf "%.2f", 2 ^ b }')      # per original character
  steps=$(tail -1 "$WORK/$run/training-log.jsonl" | grep -oE '"step" *: *[0-9]+' | grep -oE '[0-9]+$')
  "$BIN/seq2seq" lm sample --model "$WORK/$run" --prime "$prime" --length 300 --temperature 0.7 --seed 1 \
      >"$WORK/$run.sample" 2>/dev/null
  table+="| $lang dev.tsv | $units | $steps | ${bpc:-?} | ${ppl:-?} |"$'\n'
  samples+=$'\n'"$run (temperature 0.7, prime \"$prime\"):"$'\n\n'"$(sed 's/^/    /' "$WORK/$run.sample")"$'\n'
done
printf '%s%s' "$table" "$samples"
