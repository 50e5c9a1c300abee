#!/bin/bash
# Language-model training speed, ours against PyTorch on the same machine, interleaved, in one run.
#
#   Scripts/bench-lm-vs-pytorch.sh [ROUNDS]        (default 5 rounds)
#
# Each round runs `seq2seq bench lm` (char LSTM, E64 H512 L2, B64, bptt 100, V100) and
# Scripts/bench-lm-vs-pytorch.py with the same shape and --threads $THREADS (default 2), in
# alternating order, each after /work/shared/peers/wait_quiet.sh when present; then prints a
# markdown table of medians over rounds and the ratio ours/PyTorch, with the machine load seen.
#
# Environment: PY (python with torch; default /work/venv-peer/bin/python), PEERS (default
# <repo>/../shared/peers), THREADS (2), WORK (scratch folder, default /tmp/bench-lm-vs-pytorch),
# SKIP_BUILD=1 to use the existing release build, EXTRA (more args for both sides, e.g.
# "--hidden 256"), OURS_EXTRA (for our side only, e.g. "--precision bf16").
set -euo pipefail

ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/work/venv-peer/bin/python}
PEERS=${PEERS:-$ROOT/../shared/peers}
THREADS=${THREADS:-2}
WORK=${WORK:-/tmp/bench-lm-vs-pytorch}
EXTRA=${EXTRA:-}
OURS_EXTRA=${OURS_EXTRA:-}
mkdir -p "$WORK"
RAW="$WORK/raw.txt"
: >"$RAW"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && swift build -c release --product seq2seq >&2)
fi
BIN=$(cd "$ROOT" && swift build -c release --show-bin-path)
WAIT="$PEERS/wait_quiet.sh"

record() { echo "$1 $2" >>"$RAW"; }
# load: the 1-minute load average now
load() { cut -d' ' -f1 /proc/loadavg; }

# cpu_jiffies: "busy total" of the whole machine from /proc/stat
cpu_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
ours() {
  [ -x "$WAIT" ] && "$WAIT" 15 120 >&2 || true
  record load.ours "$(load)"
  local before after
  before=$(cpu_jiffies)
  /usr/bin/time -f "%U %S" -o "$WORK/ours.time" "$BIN/seq2seq" bench lm --threads "$THREADS" $EXTRA $OURS_EXTRA >"$WORK/ours.out"
  after=$(cpu_jiffies)
  record ours "$(grep -m1 'train characters/s: ' "$WORK/ours.out" | sed -E 's/.*: ([0-9.]+).*/\1/')"
  record ours.cpu "$(grep -m1 'train characters per CPU-second: ' "$WORK/ours.out" | sed -E 's/.*: ([0-9.]+).*/\1/')"
  # other processes' share of the machine's CPU while ours ran (busy − own) / total
  record ours.foreign "$(echo "$before $after $(cat "$WORK/ours.time")" | awk -v hz="$(getconf CLK_TCK)" \
    '{busy=$3-$1; total=$4-$2; own=($5+$6)*hz; f=100*(busy-own)/total; if (f<0) f=0; printf "%.1f", f}')"
}
theirs() {
  [ -x "$WAIT" ] && "$WAIT" 15 120 >&2 || true
  record load.torch "$(load)"
  "$PY" "$ROOT/Scripts/bench-lm-vs-pytorch.py" --threads "$THREADS" $(echo "$EXTRA" | sed 's/--embedding/--emb/; s/--vocabulary/--vocab/; s/--batch-size/--batch/') \
    >"$WORK/torch.out" 2>"$WORK/torch.err"
  local line; line=$(grep -m1 '^{' "$WORK/torch.out")
  record torch "$(echo "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["chars_per_s_median"])')"
  record torch.foreign "$(echo "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["foreign_cpu_pct"])')"
  record torch.cpu "$(echo "$line" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["chars_per_cpu_s_median"])')"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  if [ $((round % 2)) = 1 ]; then ours; theirs; else theirs; ours; fi
done

"$PY" - "$RAW" "$ROUNDS" "$THREADS" "$EXTRA" <<'PYEOF'
import statistics, sys, datetime, subprocess
raw, rounds, threads, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
vals = {}
for line in open(raw):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
med = lambda k: statistics.median(vals[k])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {cpu}, {subprocess.getoutput('nproc')} vCPUs; "
      f"{threads} threads; medians of {rounds} interleaved rounds.\n")
print(f"| char LSTM E64 H512 L2, B64, bptt 100, V100{' with ' + extra if extra else ''} | ours | PyTorch | ours / PyTorch |")
print("|---|---:|---:|---:|")
print(f"| training characters/s | {med('ours'):.0f} | {med('torch'):.0f} | {med('ours') / med('torch'):.2f}× |")
print(f"| training characters per CPU-second (all threads) | {med('ours.cpu'):.0f} | {med('torch.cpu'):.0f} | "
      f"{med('ours.cpu') / med('torch.cpu'):.2f}× |")
print(f"\nPer round (ours, PyTorch): {', '.join(f'{a:.0f}/{b:.0f}' for a, b in zip(vals['ours'], vals['torch']))}")
print(f"1-minute load average before the runs: {min(vals['load.ours'] + vals['load.torch']):.1f}–"
      f"{max(vals['load.ours'] + vals['load.torch']):.1f}. Other processes used "
      f"{min(vals['ours.foreign']):.0f}–{max(vals['ours.foreign']):.0f}% (median {med('ours.foreign'):.0f}%) of the machine's CPU "
      f"during our runs and {min(vals['torch.foreign']):.0f}–{max(vals['torch.foreign']):.0f}% "
      f"(median {med('torch.foreign'):.0f}%) during PyTorch's.")
PYEOF
