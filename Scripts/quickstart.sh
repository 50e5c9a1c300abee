#!/usr/bin/env bash
# One command from a fresh Debian machine to translations on the screen:
# installs the system libraries, builds in release mode, learns vocabularies
# and trains a small English->Korean model on the bundled corpus (Corpora/),
# then translates a few example sentences.
#
#   bash Scripts/quickstart.sh            # about 5 minutes on 2 cores
#   TIME_BUDGET=15m bash Scripts/quickstart.sh   # train longer
set -euo pipefail
cd "$(dirname "$0")/.."

TIME_BUDGET="${TIME_BUDGET:-4m}"
MODEL_DIR="${MODEL_DIR:-model}"

echo "== 1/4 system packages (ICU, oneDNN, pkg-config)"
if ! pkg-config --exists icu-uc 2>/dev/null || [ ! -f /usr/include/oneapi/dnnl/dnnl.h ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libicu-dev pkg-config libdnnl-dev
fi

echo "== 2/4 build (release)"
swift build -c release
BIN="$(swift build -c release --show-bin-path)"

# A second run continues the model of the first instead of overwriting it.
RESUME=()
if [ -f "$MODEL_DIR/last/model.safetensors" ]; then RESUME=(--resume); fi
echo "== 3/4 train English->Korean on Corpora/everyday.tsv (time budget $TIME_BUDGET${RESUME[*]:+, resuming $MODEL_DIR})"
"$BIN/seq2seq" train Corpora/everyday.tsv --output "$MODEL_DIR" --time-budget "$TIME_BUDGET" "${RESUME[@]}"

echo "== 4/4 translate"
"$BIN/translate" --model "$MODEL_DIR" "hello world" "Thank you." "Where is the station?" \
    "I like coffee." "See you tomorrow."
