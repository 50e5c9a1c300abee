#!/usr/bin/env bash
# Load test of `seq2seq serve` on loopback with wrk (Debian package `wrk`):
# sentences/s and p50/p99 latency at concurrency 1, 8, 32, 64 and 128 (one sentence
# per request), greedy and beam 5, next to `translate` with the same decoding on the
# same sentences from a file (one process with THREADS threads, and THREADS
# single-threaded processes on shards of it, as `parallel -j`), and the concurrency-1 p50 next to the decoding time of
# one sentence on the warm model (the server's own mean batch time during that run:
# one sentence each). Every run is bounded in time; only 127.0.0.1 is contacted.
#
#   bash Scripts/load-test.sh                  # trains a small model first (E256 H256 L1, TRAIN_TIME)
#   MODEL=model bash Scripts/load-test.sh      # use an existing model directory
#
# Settings (environment): MODEL, TRAIN_TIME (90s), SENTENCES (2000), DURATION
# (seconds per concurrency level, 10), CONCURRENCY ("1 8 32 64 128"), MODES
# ("greedy beam5"), THREADS (2), REPEATS (rounds, median, 3), BATCH_WINDOW (ms, 5),
# MAX_BATCH (32), SKIP_BUILD=1 to use the existing release build.
set -euo pipefail
cd "$(dirname "$0")/.."

TRAIN_TIME="${TRAIN_TIME:-90s}"
SENTENCES="${SENTENCES:-2000}"
DURATION="${DURATION:-10}"
CONCURRENCY="${CONCURRENCY:-1 8 32 64 128}"
MODES="${MODES:-greedy beam5}"
THREADS="${THREADS:-2}"
REPEATS="${REPEATS:-3}"
BATCH_WINDOW="${BATCH_WINDOW:-5}"
MAX_BATCH="${MAX_BATCH:-32}"
WORK=".build/load-test"
mkdir -p "$WORK"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --product seq2seq >&2
    swift build -c release --product translate >&2
fi
BIN="$(swift build -c release --show-bin-path)"

MODEL="${MODEL:-$WORK/model-e256-h256}"
if [ ! -f "$MODEL/model.json" ]; then
    echo "== training a small model (E256 H256 L1, $TRAIN_TIME) into $MODEL" >&2
    "$BIN/seq2seq" train Corpora/everyday.tsv --output "$MODEL" --embedding 256 --hidden 256 --layers 1 \
        --time-budget "$TRAIN_TIME" --threads "$THREADS" >&2
fi

# The same sentences for both: English column of the bundled corpus, repeated to SENTENCES lines.
INPUT="$WORK/sentences.txt"
BODIES="$WORK/bodies.jsonl"
python3 - "$SENTENCES" "$INPUT" "$BODIES" <<'PY'
import json, sys
count, text_path, body_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lines = [l.split("\t")[0] for l in open("Corpora/everyday.tsv", encoding="utf-8").read().splitlines() if l.strip()]
chosen = [lines[i % len(lines)] for i in range(count)]
open(text_path, "w", encoding="utf-8").write("\n".join(chosen) + "\n")
open(body_path, "w", encoding="utf-8").write("\n".join(json.dumps({"text": s}, ensure_ascii=False) for s in chosen) + "\n")
PY

# decoding_flags MODE: the decoding options of MODE (greedy, beamN) for translate and serve.
decoding_flags() {
    case "$1" in
        greedy) echo "--greedy" ;;
        beam*) echo "--beam-size ${1#beam}" ;;
        *) echo "unknown mode $1 (greedy or beamN)" >&2; exit 2 ;;
    esac
}

# Time one `translate` over the file with MODE's decoding; prints sentences/s.
file_rate() {
    local start end
    start=$(date +%s.%N)
    # shellcheck disable=SC2046
    timeout 600 "$BIN/translate" --model "$MODEL" $(decoding_flags "$1") --threads "$THREADS" -i "$INPUT" -o "$WORK/translate.out"
    end=$(date +%s.%N)
    echo "$SENTENCES / ($end - $start)" | bc -l
}

# Time THREADS `translate --threads 1` processes, each on its shard of the file, at once
# (`parallel -j THREADS`, the README's recipe for big files); prints sentences/s.
sharded_rate() {
    local start end k
    rm -f "$WORK"/shard.*
    split -n "l/$THREADS" -d "$INPUT" "$WORK/shard."
    start=$(date +%s.%N)
    for k in "$WORK"/shard.*; do
        # shellcheck disable=SC2046
        timeout 600 "$BIN/translate" --model "$MODEL" $(decoding_flags "$1") --threads 1 -i "$k" -o "$k.out" &
    done
    wait
    end=$(date +%s.%N)
    echo "$SENTENCES / ($end - $start)" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# "SUM COUNT" of the server's batch decoding time (seconds, batches) so far.
batch_time() {
    curl -s --max-time 5 "$URL/metrics" | awk '/^seq2seq_batch_duration_seconds_sum/ { s = $2 }
        /^seq2seq_batch_duration_seconds_count/ { n = $2 } END { print s + 0, n + 0 }'
}

# start_server MODE: a server whose default decoding is MODE's; sets SERVER and URL.
start_server() {
    echo "== seq2seq serve ($1, batch window $BATCH_WINDOW ms, max batch $MAX_BATCH, $THREADS threads)" >&2
    # shellcheck disable=SC2046
    "$BIN/seq2seq" serve --model "$MODEL" --host 127.0.0.1 --port 0 $(decoding_flags "$1") --threads "$THREADS" \
        --batch-window "$BATCH_WINDOW" --max-batch "$MAX_BATCH" --log-level warning > "$WORK/serve.out" 2> "$WORK/serve.log" &
    SERVER=$!
    trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
    for _ in $(seq 300); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
    URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
    case "$URL" in http://127.0.0.1:*) ;; *) echo "server did not start: $(cat "$WORK/serve.log")" >&2; exit 1 ;; esac
    # Warm-up (page in the model, first batches), not counted.
    BODIES="$BODIES" timeout 30 wrk -t1 -c8 -d2s -s Scripts/load-test.lua "$URL" > /dev/null
}

stop_server() {
    curl -s --max-time 5 "$URL/metrics" | awk '/^seq2seq_batch_sentences_sum/ { s = $2 } /^seq2seq_batch_sentences_count/ { n = $2 }
        END { if (n > 0) printf "server: %d sentences in %d batches (mean batch %.1f)\n", s, n, s / n }' >&2
    kill -TERM "$SERVER"; wait "$SERVER" || true; trap - EXIT
}

# measure MODE ROUND: one round of MODE: the file run, then each concurrency; lines into RESULTS.
measure() {
    local mode=$1 round=$2 file c before after result rate
    file=$(file_rate "$mode")
    echo "file $mode $round $file" >> "$RESULTS"
    echo "shards $mode $round $(sharded_rate "$mode") $file" >> "$RESULTS"
    echo "== $mode round $round/$REPEATS: translate -i FILE $(printf %.0f "$file") sentences/s" >&2
    for c in $CONCURRENCY; do
        before=$(batch_time)
        result=$(BODIES="$BODIES" timeout $((DURATION + 30)) wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s \
            -s Scripts/load-test.lua "$URL" | grep '^RESULT')
        eval "${result#RESULT }"   # requests= seconds= p50_ms= p99_ms= non2xx= socket_errors=
        if [ "$non2xx" != 0 ] || [ "$socket_errors" != 0 ]; then
            echo "warning: $mode concurrency $c: $non2xx non-2xx answers, $socket_errors socket errors" >&2
        fi
        rate=$(echo "$requests / $seconds" | bc -l)
        if [ "$c" = 1 ]; then
            after=$(batch_time)
            echo "decode $mode $round $(echo "$after $before" | awk '{ n = $2 - $4; print (n > 0 ? 1000 * ($1 - $3) / n : 0) }')" >> "$RESULTS"
        fi
        echo "serve $mode $round $c $rate $p50_ms $p99_ms $(echo "100 * $rate / $file" | bc -l)" >> "$RESULTS"
        echo "   concurrency $c: $(printf %.0f "$rate") sentences/s, p50 $p50_ms ms, p99 $p99_ms ms" >&2
    done
}

# report MODE: the markdown table of MODE's medians over rounds.
report() {
    local mode=$1 c decode_ms
    column() { awk -v m="$mode" -v c="$1" -v k="$2" '$1 == "serve" && $2 == m && $4 == c { print $k }' "$RESULTS" | median; }
    printf '\n%s:\n\n| concurrency | sentences/s | p50 latency | p99 latency | vs translate -i FILE (same round) |\n|---|---|---|---|---|\n' "$mode"
    for c in $CONCURRENCY; do
        printf '| %d | %.0f | %.1f ms | %.1f ms | %.0f%% |\n' "$c" "$(column "$c" 5)" "$(column "$c" 6)" "$(column "$c" 7)" "$(column "$c" 8)"
    done
    printf '| translate -i FILE | %.0f | | | 100%% |\n' "$(awk -v m="$mode" '$1 == "file" && $2 == m { print $4 }' "$RESULTS" | median)"
    printf '| %d × translate --threads 1, one shard each | %.0f | | | %.0f%% |\n\n' "$THREADS" \
        "$(awk -v m="$mode" '$1 == "shards" && $2 == m { print $4 }' "$RESULTS" | median)" \
        "$(awk -v m="$mode" '$1 == "shards" && $2 == m { print 100 * $4 / $5 }' "$RESULTS" | median)"
    decode_ms=$(awk -v m="$mode" '$1 == "decode" && $2 == m { print $4 }' "$RESULTS" | median)
    case " $CONCURRENCY " in *" 1 "*)
        printf 'concurrency-1 p50 %.2f ms vs decoding one sentence on the warm model %.2f ms (mean batch time at concurrency 1): %.2fx\n' \
            "$(column 1 6)" "$decode_ms" "$(echo "$(column 1 6) / $decode_ms" | bc -l)" ;;
    esac
}

# Rounds interleave the file run and the server runs, so that a change in the
# machine's load hits both sides of each ratio alike; medians over rounds.
RESULTS="$WORK/results.txt"
: > "$RESULTS"
for mode in $MODES; do
    start_server "$mode"
    for round in $(seq "$REPEATS"); do measure "$mode" "$round"; done
    stop_server
done
for mode in $MODES; do report "$mode"; done
echo "(medians of $REPEATS rounds; $SENTENCES sentences, $DURATION s per server run, $THREADS threads)"
