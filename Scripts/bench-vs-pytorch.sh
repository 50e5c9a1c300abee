#!/bin/bash
# Ours against the PyTorch reference on the same machine, interleaved, in one run.
#
#   Scripts/bench-vs-pytorch.sh [ROUNDS]        (default 3 rounds)
#
# First `seq2seq bench peak` measures this machine's ceilings (FMA peak per instruction set, the
# matrix library on the model's shapes); the table header names the CPU and instruction set and
# the GFLOP/s rows say "% of peak" against the measured FMA peak of the widest set.
# Each round runs, for SMALL and MEDIUM, `seq2seq bench train` and the reference's bench-train,
# then `seq2seq bench decode` and the reference's bench-decode (greedy batch 64, beam 5 batched
# 64 sentences; the per-sentence beam is skipped), all with --threads $THREADS (default 2), each
# under /usr/bin/time -v for the peak RSS. Then it times `translate "…"` (process start
# included, beam 5) with a SMALL model trained for one step, and prints a markdown table of
# medians and ratios ours/PyTorch. Before each measurement it waits for a quiet machine
# (wait_quiet.sh) and records how busy the machine was; the table says so.
#
# Environment: PY (python with torch; default /work/venv-peer/bin/python), PEERS (default
# <repo>/../shared/peers), THREADS (2), WORK (scratch folder, default /tmp/bench-vs-pytorch),
# LATENCY_RUNS (20), SKIP_BUILD=1 to use the existing release build.
set -euo pipefail

ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/work/venv-peer/bin/python}
PEERS=${PEERS:-$ROOT/../shared/peers}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/bench-vs-pytorch}
LATENCY_RUNS=${LATENCY_RUNS:-20}
TORCH="$PEERS/torch_seq2seq.py"
mkdir -p "$WORK"
RAW="$WORK/raw.txt"
: >"$RAW"

[ -f "$TORCH" ] || { echo "no $TORCH: set PEERS to the folder holding torch_seq2seq.py" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && swift build -c release --product seq2seq >&2 && swift build -c release --product translate >&2)
fi
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
WAIT="$PEERS/wait_quiet.sh"

small_args="--emb 256 --hidden 256 --layers 1 --vocab-src 8000 --vocab-tgt 8000"
medium_args="--emb 512 --hidden 512 --layers 2 --vocab-src 16000 --vocab-tgt 16000"

# record KEY VALUE: one raw measurement
record() { echo "$1 $2" >>"$RAW"; }

# quiet NAME: wait (at most 120 s) until other processes use < 15 % CPU; records NAME.busy, the
# machine's busy % seen last (100 = it never got quiet: the figure was measured under load)
quiet() {
  [ -x "$WAIT" ] || return 0
  local line
  line=$("$WAIT" 15 120 | tail -1)
  echo "$line" >&2
  record "$1.busy" "$(echo "$line" | sed -E 's/.*busy ([0-9]+)%.*/\1/')"
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v, keeps stdout+stderr in $WORK/NAME.out,
# records NAME.rss (MiB)
timed() {
  local name=$1; shift
  quiet "$name"
  /usr/bin/time -v "$@" >"$WORK/$name.out" 2>&1
  local kb
  kb=$(grep "Maximum resident set size" "$WORK/$name.out" | awk '{print $NF}')
  record "$name.rss" "$(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}')"
}

# field FILE PATTERN: the number after "PATTERN: " in our output
field() { grep -m1 -F "$2: " "$1" | sed -E 's|^[^:]*: ([0-9.]+).*|\1|'; }
# json FILE KEY: a value from the reference's JSON line
json() { grep -m1 '^{' "$1" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# The machine's ceilings, once: FMA peak per instruction set and the matrix library's GFLOP/s.
quiet peak
"$BIN/seq2seq" bench peak --threads "$THREADS" >"$WORK/peak.out" 2>&1
cat "$WORK/peak.out" >&2
record "peak.fma" "$(grep -m1 '^fma peak ' "$WORK/peak.out" | sed -E 's|^[^:]*: ([0-9.]+).*|\1|')"
# bf16 rows (training and decoding with --precision bf16) only on a CPU with avx512_bf16.
BF16=0
if grep -q '^bf16 dot peak avx512_bf16' "$WORK/peak.out"; then
  BF16=1
  record "peak.bf16" "$(grep -m1 '^bf16 dot peak ' "$WORK/peak.out" | sed -E 's|^[^:]*: ([0-9.]+).*|\1|')"
fi

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for cfg in small medium; do
    args_var="${cfg}_args"
    timed "ours.train.$cfg" "$BIN/seq2seq" bench train --config "$cfg" --threads "$THREADS"
    record "ours.train.$cfg.tok" "$(field "$WORK/ours.train.$cfg.out" "train tokens/s")"
    record "ours.train.$cfg.gflops" "$(field "$WORK/ours.train.$cfg.out" "effective GFLOP/s")"
    if [ "$BF16" = 1 ]; then
      timed "ours.trainbf.$cfg" "$BIN/seq2seq" bench train --config "$cfg" --threads "$THREADS" --precision bf16
      record "ours.trainbf.$cfg.tok" "$(field "$WORK/ours.trainbf.$cfg.out" "train tokens/s")"
      timed "ours.decodebf.$cfg" "$BIN/seq2seq" bench decode --config "$cfg" --threads "$THREADS" --sentences 500 \
        --beam-size 5 --precision bf16
      record "ours.greedybf.$cfg" "$(field "$WORK/ours.decodebf.$cfg.out" "greedy sentences/s")"
      record "ours.beambf.$cfg" "$(field "$WORK/ours.decodebf.$cfg.out" "beam5 sentences/s")"
    fi
    timed "torch.train.$cfg" "$PY" "$TORCH" bench-train ${!args_var} --batch 64 --threads "$THREADS"
    record "torch.train.$cfg.tok" "$(json "$WORK/torch.train.$cfg.out" tgt_tokens_per_s_median)"
    record "torch.train.$cfg.gflops" "$(json "$WORK/torch.train.$cfg.out" gflops_median)"
    record "torch.train.$cfg.foreign" "$(json "$WORK/torch.train.$cfg.out" foreign_cpu_pct)"

    timed "ours.decode.$cfg" "$BIN/seq2seq" bench decode --config "$cfg" --threads "$THREADS" --sentences 500 --beam-size 5
    record "ours.greedy.$cfg" "$(field "$WORK/ours.decode.$cfg.out" "greedy sentences/s")"
    record "ours.beam.$cfg" "$(field "$WORK/ours.decode.$cfg.out" "beam5 sentences/s")"
    timed "ours.decode8.$cfg" "$BIN/seq2seq" bench decode --config "$cfg" --threads "$THREADS" --sentences 500 \
      --beam-size 5 --precision int8
    record "ours.greedy8.$cfg" "$(field "$WORK/ours.decode8.$cfg.out" "greedy sentences/s")"
    record "ours.beam8.$cfg" "$(field "$WORK/ours.decode8.$cfg.out" "beam5 sentences/s")"
    timed "torch.decode.$cfg" "$PY" "$TORCH" bench-decode ${!args_var} --threads "$THREADS" \
      --sentences 500 --beam 5 --skip beam_per_sentence
    record "torch.greedy.$cfg" "$(json "$WORK/torch.decode.$cfg.out" greedy_b64_sent_per_s)"
    record "torch.beam.$cfg" "$(json "$WORK/torch.decode.$cfg.out" beam_batched_b64_sent_per_s)"
  done
  # SMALL with attention: ours with a bidirectional encoder and Luong general attention against
  # the peer's Luong general attention (unidirectional, no input feeding: the peer has no other).
  timed "ours.train.att" "$BIN/seq2seq" bench train --config small --threads "$THREADS" --attention general --encoder bi
  record "ours.train.att.tok" "$(field "$WORK/ours.train.att.out" "train tokens/s")"
  record "ours.train.att.gflops" "$(field "$WORK/ours.train.att.out" "effective GFLOP/s")"
  if [ "$BF16" = 1 ]; then
    timed "ours.trainbf.att" "$BIN/seq2seq" bench train --config small --threads "$THREADS" --attention general \
      --encoder bi --precision bf16
    record "ours.trainbf.att.tok" "$(field "$WORK/ours.trainbf.att.out" "train tokens/s")"
  fi
  timed "torch.train.att" "$PY" "$TORCH" bench-train $small_args --batch 64 --threads "$THREADS" \
    --attention luong --attn-score general
  record "torch.train.att.tok" "$(json "$WORK/torch.train.att.out" tgt_tokens_per_s_median)"
  record "torch.train.att.gflops" "$(json "$WORK/torch.train.att.out" gflops_median)"
done

# Single-sentence latency of `translate`, process start included, beam 5, SMALL models (E256 H256
# L1) trained for one step: "everyday" on Corpora/everyday.tsv (its vocabularies stop at about
# 1.4k/1.7k tokens), and "v8000" with full 8000/8000 vocabularies on the larger python_docs_ko
# corpus when it is there. Untrained models never pick </s>, so every run decodes to the length
# limit (2 x source tokens + 10): the worst case for a sentence of this length.
SENTENCE="I would like to reserve a table for two people at seven o'clock tonight."
latency() {  # latency NAME CORPUS
  local name=$1 corpus=$2 model="$WORK/model-$1"
  [ -f "$corpus" ] || { echo "skipping latency $name: no $corpus" >&2; return; }
  if [ ! -f "$model/.ready" ]; then
    rm -rf "$model"
    "$BIN/seq2seq" train "$corpus" --embedding 256 --hidden 256 --layers 1 --encoder uni --attention none \
      --vocab-size 8000 --max-steps 1 --output "$model" --force >"$WORK/model-$name.log" 2>&1
    touch "$model/.ready"
  fi
  "$BIN/translate" --model "$model" --beam-size 5 --threads "$THREADS" "$SENTENCE" >/dev/null  # page cache
  quiet "latency.$name"
  for _ in $(seq 1 "$LATENCY_RUNS"); do
    local t0 t1
    for precision in fp32 int8; do
      t0=$(date +%s%N)
      "$BIN/translate" --model "$model" --beam-size 5 --threads "$THREADS" --precision $precision "$SENTENCE" >/dev/null
      t1=$(date +%s%N)
      record "ours.latency.$name.$precision" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e6}')"
    done
  done
}
latency everyday "$ROOT/Corpora/everyday.tsv"
latency v8000 "$ROOT/../shared/corpora/python_docs_ko/train.tsv"

"$PY" - "$RAW" "$ROUNDS" "$THREADS" "$WORK/peak.out" <<'EOF'
import statistics, sys, datetime, platform, subprocess
raw, rounds, threads, peak_out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
vals = {}
for line in open(raw):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
med = lambda k: statistics.median(vals[k]) if k in vals else float("nan")
peak_lines = [l.rstrip() for l in open(peak_out)]
def peak_field(prefix):
    return next((l.split(":", 1)[1].strip() for l in peak_lines if l.startswith(prefix)), "?")
cpu, isa, library = peak_field("cpu:"), peak_field("instruction set:"), peak_field("matrix library:")
fma = [l for l in peak_lines if l.startswith("fma peak ")]
flags = open("/proc/cpuinfo").read()
wide = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni") if f" {f}" in flags)
peak = med("peak.fma")
busy = [v for k, vs in vals.items() if k.endswith(".busy") for v in vs]
print(f"Date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; CPU: {cpu}, {subprocess.getoutput('nproc')} vCPUs "
      f"(flags: {wide}); our kernels: {isa}; matrix library: {library}; {threads} threads; "
      f"medians of {rounds} interleaved rounds.")
print("Measured ceilings (`seq2seq bench peak`, " + threads + " threads): " + "; ".join(l.replace("fma peak ", "FMA peak ") for l in fma) + ".")
if busy:
    loaded = sum(1 for b in busy if b >= 15)
    print(f"Machine load before each measurement (wait_quiet.sh, whole machine): median {statistics.median(busy):.0f} % busy, "
          f"max {max(busy):.0f} %; {loaded} of {len(busy)} measurements started on a busy machine (≥ 15 %).")
print()
print("| figure | ours | PyTorch | ours / PyTorch |")
print("|---|---:|---:|---:|")
def row(name, ours, torch, unit, fmt="{:.0f}", lower_better=False):
    o, t = med(ours), med(torch)
    ratio = (t / o) if lower_better else (o / t)
    note = " (PyTorch / ours)" if lower_better else ""
    print(f"| {name} | {fmt.format(o)} {unit} | {fmt.format(t)} {unit} | {ratio:.2f}×{note} |")
for cfg in ("small", "medium"):
    C = cfg.upper()
    row(f"training {C}, target tokens/s", f"ours.train.{cfg}.tok", f"torch.train.{cfg}.tok", "tok/s")
    row(f"training {C}, effective GFLOP/s", f"ours.train.{cfg}.gflops", f"torch.train.{cfg}.gflops", "GFLOP/s", "{:.1f}")
    o, t = med(f"ours.train.{cfg}.gflops"), med(f"torch.train.{cfg}.gflops")
    print(f"| training {C}, % of measured FMA peak ({peak:.0f} GFLOP/s) | {100 * o / peak:.0f} % | {100 * t / peak:.0f} % | – |")
    row(f"training {C}, peak memory", f"ours.train.{cfg}.rss", f"torch.train.{cfg}.rss", "MiB", lower_better=True)
    row(f"greedy {C} (batch 64), sentences/s", f"ours.greedy.{cfg}", f"torch.greedy.{cfg}", "sent/s", "{:.1f}")
    row(f"beam 5 {C} (64 sentences batched), sentences/s", f"ours.beam.{cfg}", f"torch.beam.{cfg}", "sent/s", "{:.1f}")
    row(f"greedy {C}, ours --precision int8 vs PyTorch fp32", f"ours.greedy8.{cfg}", f"torch.greedy.{cfg}", "sent/s", "{:.1f}")
    row(f"beam 5 {C}, ours --precision int8 vs PyTorch fp32", f"ours.beam8.{cfg}", f"torch.beam.{cfg}", "sent/s", "{:.1f}")
    row(f"decode {C}, peak memory", f"ours.decode.{cfg}.rss", f"torch.decode.{cfg}.rss", "MiB", lower_better=True)
    if vals.get(f"ours.trainbf.{cfg}.tok"):
        row(f"training {C}, ours --precision bf16 vs PyTorch fp32, target tokens/s", f"ours.trainbf.{cfg}.tok",
            f"torch.train.{cfg}.tok", "tok/s")
        row(f"greedy {C}, ours --precision bf16 vs PyTorch fp32", f"ours.greedybf.{cfg}", f"torch.greedy.{cfg}", "sent/s", "{:.1f}")
        row(f"beam 5 {C}, ours --precision bf16 vs PyTorch fp32", f"ours.beambf.{cfg}", f"torch.beam.{cfg}", "sent/s", "{:.1f}")
row("training SMALL with attention (ours: bi + general; PyTorch: Luong general), target tokens/s",
    "ours.train.att.tok", "torch.train.att.tok", "tok/s")
row("training SMALL with attention, effective GFLOP/s", "ours.train.att.gflops", "torch.train.att.gflops", "GFLOP/s", "{:.1f}")
if vals.get("ours.trainbf.att.tok"):
    row("training SMALL with attention, ours --precision bf16 vs PyTorch fp32, target tokens/s", "ours.trainbf.att.tok",
        "torch.train.att.tok", "tok/s")
for name, what in (("everyday", "vocabularies 1.4k/1.7k"), ("v8000", "vocabularies 8000/8000")):
    for precision in ("fp32", "int8"):
        l = vals.get(f"ours.latency.{name}.{precision}")
        if l:
            print(f"| translate latency, SMALL ({what}), beam 5, {precision}, process start included (median of {len(l)}) | "
                  f"{statistics.median(l):.0f} ms | – | – |")
foreign = [v for k, vs in vals.items() if k.endswith(".foreign") for v in vs]
if foreign:
    print(f"\nPyTorch bench-train reported other-process CPU of at most {max(foreign):.1f} % during its runs.")
EOF
