#!/bin/bash
# The data levers of `seq2seq train`, side by side at the same time budget: today's defaults,
# each lever alone, and all together, in both directions.
#
#   Scripts/compare-levers.sh CORPUS_DIR [MINUTES]
#
# CORPUS_DIR holds train.tsv and dev.tsv (english<TAB>korean). Levers (LEVERS, default all four):
#   clean    train on `seq2seq clean train.tsv` (skipped, and shown as the defaults, when it drops nothing)
#   bt       + `--synthetic`: back-translated pairs, tagged, --synthetic-ratio 1. The reverse model is
#            the other direction's defaults model of this run (so its training time is the defaults
#            row's); `seq2seq backtranslate` time is printed separately. Monolingual text: MONO_KO /
#            MONO_EN (one sentence per line), by default the other side of train.tsv itself.
#            BT_OPTIONS (default --sampling) are passed to backtranslate.
#   dropout  + `--subword-dropout 0.1` (BPE-dropout)
#   all      all of the above together
# Each row trains en→ko and ko→en at the same time, one thread each, for MINUTES (default 10) of
# wall-clock time, keeps the best checkpoint on dev.tsv, and translates dev.tsv with beam 5 (the
# shortlist on, as `translate` does; the defaults row is also decoded without it). sacreBLEU 2.6.0
# scores every hypothesis file (chrF2; BLEU 13a). Prints a markdown table; raw files stay in $WORK.
#
# Environment: PY (python with sacrebleu; default /work/venv-peer/bin/python), WORK (default
# /tmp/compare-levers/<corpus name>-<minutes>), SKIP_BUILD=1 to use the existing release build,
# BIN=FOLDER to use the binaries in FOLDER, EXTRA (more `seq2seq train` options for every row).
set -euo pipefail

CORPUS=${1:?usage: Scripts/compare-levers.sh CORPUS_DIR [MINUTES]}
MINUTES=${2:-10}
LEVERS=${LEVERS:-clean bt dropout all}
BT_OPTIONS=${BT_OPTIONS:---sampling}
EXTRA=${EXTRA:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/work/venv-peer/bin/python}
NAME=$(basename "$CORPUS")
WORK=${WORK:-/tmp/compare-levers/$NAME-$MINUTES}
TRAIN="$CORPUS/train.tsv"
DEV="$CORPUS/dev.tsv"

for f in "$TRAIN" "$DEV"; do [ -f "$f" ] || { echo "compare-levers: $f not found" >&2; exit 1; }; done
"$PY" -c "import sacrebleu" 2>/dev/null || { echo "compare-levers: $PY lacks sacrebleu (pip install sacrebleu==2.6.0)" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && swift build -c release >&2); fi
  BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
fi
rm -rf "$WORK"
mkdir -p "$WORK"
cut -f2 "$DEV" >"$WORK/ref-en-ko.txt"
cut -f1 "$DEV" >"$WORK/ref-ko-en.txt"

# run ROW TRAIN_FILE "EN-KO OPTIONS" "KO-EN OPTIONS": both directions at once, 1 thread each, then beam-5 dev translations.
run() {
  local row=$1 file=$2 enko=$3 koen=$4
  echo "== $NAME $row: training en→ko and ko→en for $MINUTES min, 1 thread each" >&2
  # shellcheck disable=SC2086
  "$BIN/seq2seq" train "$file" --dev "$DEV" --time-budget "${MINUTES}m" --threads 1 --output "$WORK/$row-en-ko" \
      $EXTRA $enko >"$WORK/$row-en-ko.log" 2>&1 &
  local a=$!
  # shellcheck disable=SC2086
  "$BIN/seq2seq" train "$file" --dev "$DEV" --reverse --time-budget "${MINUTES}m" --threads 1 --output "$WORK/$row-ko-en" \
      $EXTRA $koen >"$WORK/$row-ko-en.log" 2>&1 &
  local b=$!
  wait $a || { echo "compare-levers: training failed, see $WORK/$row-en-ko.log" >&2; exit 1; }
  wait $b || { echo "compare-levers: training failed, see $WORK/$row-ko-en.log" >&2; exit 1; }
  for d in en-ko ko-en; do
    "$BIN/seq2seq" eval --model "$WORK/$row-$d" "$DEV" --beam-size 5 --threads 2 --output "$WORK/$row-$d.hyp" \
        >"$WORK/$row-$d.eval" 2>>"$WORK/$row-$d.log"
  done
}

run defaults "$TRAIN" "" ""
for d in en-ko ko-en; do
  "$BIN/seq2seq" eval --model "$WORK/defaults-$d" "$DEV" --beam-size 5 --threads 2 --no-shortlist \
      --output "$WORK/defaults-noshortlist-$d.hyp" >/dev/null 2>>"$WORK/defaults-$d.log"
done

needs() { [[ " $LEVERS " == *" $1 "* ]] || [[ " $LEVERS " == *" all "* ]]; }

clean_file=$TRAIN
if needs clean; then
  "$BIN/seq2seq" clean "$TRAIN" -o "$WORK/clean.tsv" 2>"$WORK/clean.log"
  if [ "$(wc -l <"$WORK/clean.tsv")" != "$(wc -l <"$TRAIN")" ]; then clean_file=$WORK/clean.tsv; fi
fi

bt_enko="" bt_koen=""
if needs bt; then
  MONO_KO=${MONO_KO:-$WORK/mono.ko}
  MONO_EN=${MONO_EN:-$WORK/mono.en}
  [ -f "$MONO_KO" ] || cut -f2 "$TRAIN" >"$MONO_KO"
  [ -f "$MONO_EN" ] || cut -f1 "$TRAIN" >"$MONO_EN"
  start=$SECONDS
  # The ko→en model turns Korean text into sources for en→ko, and the other way round.
  # shellcheck disable=SC2086
  "$BIN/seq2seq" backtranslate --model "$WORK/defaults-ko-en" $BT_OPTIONS "$MONO_KO" -o "$WORK/synthetic-en-ko.tsv" 2>"$WORK/bt-en-ko.log"
  # shellcheck disable=SC2086
  "$BIN/seq2seq" backtranslate --model "$WORK/defaults-en-ko" $BT_OPTIONS "$MONO_EN" -o "$WORK/synthetic-ko-en.tsv" 2>"$WORK/bt-ko-en.log"
  echo $((SECONDS - start)) >"$WORK/bt-seconds"
  bt_enko="--synthetic $WORK/synthetic-en-ko.tsv" bt_koen="--synthetic $WORK/synthetic-ko-en.tsv"
fi

for lever in $LEVERS; do
  case $lever in
    clean) [ "$clean_file" = "$TRAIN" ] || run clean "$clean_file" "" "" ;;
    bt) run bt "$TRAIN" "$bt_enko" "$bt_koen" ;;
    dropout) run dropout "$TRAIN" "--subword-dropout 0.1" "--subword-dropout 0.1" ;;
    all) run all "$clean_file" "$bt_enko --subword-dropout 0.1" "$bt_koen --subword-dropout 0.1" ;;
    *) echo "compare-levers: unknown lever $lever (clean, bt, dropout, all)" >&2; exit 1 ;;
  esac
done

"$PY" - "$WORK" "$NAME" "$MINUTES" "$LEVERS" "$BT_OPTIONS" <<'PYEOF'
import os, re, sys
import sacrebleu
work, name, minutes, levers, bt_options = sys.argv[1:6]

def chrf(hyp, ref):
    hyps = open(hyp, encoding="utf-8").read().split("\n")[:-1]
    refs = open(ref, encoding="utf-8").read().split("\n")[:-1]
    assert len(hyps) == len(refs), (hyp, len(hyps), len(refs))
    return sacrebleu.corpus_chrf(hyps, [refs]).score, sacrebleu.corpus_bleu(hyps, [refs]).score

def steps(row, d):
    found = re.findall(r"after (\d+) steps", open(f"{work}/{row}-{d}.log", encoding="utf-8", errors="replace").read())
    return found[-1] if found else "?"

rows = [("defaults", "defaults (bi-LSTM + general attention, shortlist)")]
labels = {"clean": "+ `seq2seq clean`", "bt": f"+ back-translation (`{bt_options}`, tagged)",
          "dropout": "+ `--subword-dropout 0.1`", "all": "all together"}
rows += [(lever, labels[lever]) for lever in levers.split()]
print(f"| {name}, {minutes} min, 1 thread each | en→ko chrF | ko→en chrF | en→ko BLEU | ko→en BLEU | steps en→ko / ko→en |")
print("|---|---:|---:|---:|---:|---:|")
base = {}
for row, label in rows:
    if not os.path.exists(f"{work}/{row}-en-ko.hyp"):
        print(f"| {label} | = defaults (clean dropped nothing) | | | | |")
        continue
    cells = {d: chrf(f"{work}/{row}-{d}.hyp", f"{work}/ref-{d}.txt") for d in ("en-ko", "ko-en")}
    if row == "defaults": base = cells
    delta = lambda d: "" if row == "defaults" else f" ({cells[d][0] - base[d][0]:+.1f})"
    print(f"| {label} | {cells['en-ko'][0]:.1f}{delta('en-ko')} | {cells['ko-en'][0]:.1f}{delta('ko-en')} "
          f"| {cells['en-ko'][1]:.1f} | {cells['ko-en'][1]:.1f} | {steps(row, 'en-ko')} / {steps(row, 'ko-en')} |")
no = {d: chrf(f"{work}/defaults-noshortlist-{d}.hyp", f"{work}/ref-{d}.txt")[0] for d in ("en-ko", "ko-en")}
print(f"\nShortlist cost (defaults models, beam 5): en→ko {base['en-ko'][0]:.2f} with, {no['en-ko']:.2f} without; "
      f"ko→en {base['ko-en'][0]:.2f} with, {no['ko-en']:.2f} without.")
if os.path.exists(f"{work}/bt-seconds"):
    print(f"Back-translation of both monolingual files: {float(open(f'{work}/bt-seconds').read()):.0f} s on 2 threads "
          f"(the reverse models are the defaults rows, {minutes} min each).")
PYEOF
