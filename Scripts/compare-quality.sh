#!/bin/bash
# Translation quality, ours against the PyTorch peer, side by side at the same time budget.
#
#   Scripts/compare-quality.sh CORPUS_DIR [MINUTES] [-- EXTRA OPTIONS FOR seq2seq train]
#
# CORPUS_DIR holds train.tsv and dev.tsv (english<TAB>korean), e.g. ../shared/corpora/tatoeba_manythings_kor.
# For each direction (en→ko, then ko→en), ours (`seq2seq train` with its defaults plus EXTRA) and the
# peer (`torch_seq2seq.py train-file --attention luong --dropout 0.3 --spm-vocab 2000`, its best known
# configuration) train at the same time, one thread each, for MINUTES (default 10) of wall-clock time,
# each keeping its best checkpoint on dev.tsv. Both then translate dev.tsv with beam 5 and both
# hypothesis files are scored by the same sacreBLEU 2.6.0 call (BLEU 13a, chrF2, and character BLEU
# for Korean). Prints a markdown table; raw files stay in $WORK.
#
# Environment: PY (python with torch, sacrebleu, sentencepiece; default /work/venv-peer/bin/python),
# PEERS (default <repo>/../shared/peers), WORK (default /tmp/compare-quality/<corpus name>),
# SKIP_BUILD=1 to use the existing release build.
set -euo pipefail

CORPUS=${1:?usage: Scripts/compare-quality.sh CORPUS_DIR [MINUTES] [-- EXTRA seq2seq train OPTIONS]}
shift
MINUTES=10
if [ $# -gt 0 ] && [ "$1" != "--" ]; then MINUTES=$1; shift; fi
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/work/venv-peer/bin/python}
PEERS=${PEERS:-$ROOT/../shared/peers}
NAME=$(basename "$CORPUS")
WORK=${WORK:-/tmp/compare-quality/$NAME}
TRAIN="$CORPUS/train.tsv"
DEV="$CORPUS/dev.tsv"

for f in "$TRAIN" "$DEV" "$PEERS/torch_seq2seq.py"; do
  [ -f "$f" ] || { echo "compare-quality: $f not found" >&2; exit 1; }
done
"$PY" -c "import torch, sacrebleu, sentencepiece" 2>/dev/null \
  || { echo "compare-quality: $PY lacks torch/sacrebleu/sentencepiece (see ../shared/peers/README.md)" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && swift build -c release >&2); fi
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
rm -rf "$WORK"
mkdir -p "$WORK"

# dir name, our --reverse flag, peer source/target columns, target language
directions=("en-ko||0|1|ko" "ko-en|--reverse|1|0|en")

for d in "${directions[@]}"; do
  IFS='|' read -r dir reverse src tgt lang <<<"$d"
  echo "== $NAME $dir: training ours and the peer for $MINUTES min, 1 thread each" >&2
  "$BIN/seq2seq" train "$TRAIN" --dev "$DEV" $reverse --time-budget "${MINUTES}m" --threads 1 \
      --output "$WORK/ours-$dir" "${EXTRA[@]}" >"$WORK/ours-$dir.log" 2>&1 &
  ours=$!
  OMP_NUM_THREADS=1 "$PY" "$PEERS/torch_seq2seq.py" train-file --train "$TRAIN" --dev "$DEV" --test "$DEV" \
      --src-col "$src" --tgt-col "$tgt" --tgt-lang "$lang" --spm-vocab 2000 --attention luong --dropout 0.3 \
      --budget-minutes "$MINUTES" --beam 5 --threads 1 --workdir "$WORK/peer-$dir" --output "$WORK/peer-$dir/hyp" \
      >"$WORK/peer-$dir.json" 2>"$WORK/peer-$dir.log" &
  peer=$!
  wait $ours || { echo "compare-quality: our training failed, see $WORK/ours-$dir.log" >&2; exit 1; }
  wait $peer || { echo "compare-quality: the peer failed, see $WORK/peer-$dir.log" >&2; exit 1; }
  "$BIN/seq2seq" eval --model "$WORK/ours-$dir" "$DEV" --beam-size 5 --threads 2 \
      --output "$WORK/ours-$dir.hyp" >"$WORK/ours-$dir.eval" 2>>"$WORK/ours-$dir.log"
  cut -f $((tgt + 1)) "$DEV" >"$WORK/ref-$dir.txt"
done

"$PY" - "$WORK" "$NAME" "$MINUTES" <<'EOF'
import json, re, sys
import sacrebleu
work, name, minutes = sys.argv[1:4]

def scores(hyp_path, ref_path, lang):
    hyps = open(hyp_path, encoding="utf-8").read().split("\n")[:-1]
    refs = open(ref_path, encoding="utf-8").read().split("\n")[:-1]
    assert len(hyps) == len(refs), (hyp_path, len(hyps), len(refs))
    out = dict(bleu=sacrebleu.corpus_bleu(hyps, [refs]).score, chrf=sacrebleu.corpus_chrf(hyps, [refs]).score)
    out["bleu_char"] = sacrebleu.corpus_bleu(hyps, [refs], tokenize="char").score if lang == "ko" else None
    return out

def steps(log_path, pattern):
    found = re.findall(pattern, open(log_path, encoding="utf-8", errors="replace").read())
    return found[-1] if found else "?"

print(f"| {name} ({minutes} min, 1 thread each) | direction | ours chrF | peer chrF | ours BLEU | peer BLEU | ours char BLEU | peer char BLEU | ours steps | peer steps |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for d, lang in (("en-ko", "ko"), ("ko-en", "en")):
    ref = f"{work}/ref-{d}.txt"
    o = scores(f"{work}/ours-{d}.hyp", ref, lang)
    p = scores(f"{work}/peer-{d}/hyp.beam5", ref, lang)
    fmt = lambda x: "–" if x is None else f"{x:.1f}"
    os_ = steps(f"{work}/ours-{d}.log", r"after (\d+) steps")
    ps = json.loads(open(f"{work}/peer-{d}.json").read().strip().splitlines()[-1]).get("steps", "?")
    print(f"| dev.tsv | {d.replace('-', '→')} | **{o['chrf']:.1f}** | {p['chrf']:.1f} | {o['bleu']:.1f} | {p['bleu']:.1f} "
          f"| {fmt(o['bleu_char'])} | {fmt(p['bleu_char'])} | {os_} | {ps} |")
EOF
