#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS seconds (default 60) and prints the
# number of executions. Targets: tsv, safetensors, vocabulary, roundtrip
# (see Sources/Fuzz). Not part of `swift test`; a crash found here is saved as
# .build/fuzz/TARGET/crash-* and should become a regression test.
#
#   Scripts/fuzz.sh tsv 120
#   Scripts/fuzz.sh roundtrip 600 -max_len=512     # extra arguments go to libFuzzer
#   RUNS=1000000 Scripts/fuzz.sh safetensors       # stop after this many executions instead
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="${1:?usage: Scripts/fuzz.sh tsv|safetensors|vocabulary|roundtrip [SECONDS] [libFuzzer args...]}"
SECONDS_TO_RUN="${2:-60}"
shift $(( $# >= 2 ? 2 : 1 ))
case "$TARGET" in tsv|safetensors|vocabulary|roundtrip) ;; *) echo "unknown target $TARGET" >&2; exit 2 ;; esac

BUILD=.build/fuzz
mkdir -p "$BUILD"
# The toolchain's lld links the libFuzzer runtime; the system's gold does not.
LLD="$(dirname "$(readlink -f "$(command -v swiftc)")")/ld.lld"
printf '{ "schemaVersion": "1.0", "linker": { "path": "%s" } }\n' "$LLD" > "$BUILD/toolset.json"
SEQ2SEQ_FUZZ=1 swift build -c release --build-path "$BUILD" --product seq2seq-fuzz \
    -Xswiftc -sanitize=fuzzer --toolset "$BUILD/toolset.json" >&2
BIN="$BUILD/release/seq2seq-fuzz"

WORK="$BUILD/$TARGET"
mkdir -p "$WORK/corpus" "$WORK/seeds"
SEQ2SEQ_FUZZ_TARGET="$TARGET" "$BIN" --write-seeds "$WORK/seeds"
LIMIT=(-max_total_time="$SECONDS_TO_RUN")
if [ -n "${RUNS:-}" ]; then LIMIT=(-runs="$RUNS"); fi
DICT=()
if [ -f "Sources/Fuzz/$TARGET.dict" ]; then DICT=(-dict="$PWD/Sources/Fuzz/$TARGET.dict"); fi
cd "$WORK"
set +e
SEQ2SEQ_FUZZ_TARGET="$TARGET" "../release/seq2seq-fuzz" "${LIMIT[@]}" -print_final_stats=1 -rss_limit_mb=4096 \
    -timeout=10 "${DICT[@]}" "$@" corpus seeds 2>&1 | tee fuzz.log | grep -E "^#[0-9]+.*(pulse|DONE)|stat::number_of_executed_units|ERROR|crash-|violated" >&2
STATUS=${PIPESTATUS[0]}
set -e
EXECS=$(grep -o 'stat::number_of_executed_units: [0-9]*' fuzz.log | grep -o '[0-9]*$' || echo 0)
RATE=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' fuzz.log | grep -o '[0-9]*$' || echo 0)
echo "$TARGET: $EXECS executions ($RATE per second), exit status $STATUS (log: $WORK/fuzz.log)"
exit "$STATUS"
