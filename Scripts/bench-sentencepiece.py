#!/usr/bin/env python3
"""SentencePiece reference for `seq2seq bench tokenize FILE`.

Trains one SentencePiece BPE model per column of a source<TAB>target file
(same vocabulary size as ours, byte fallback on, like our tokenizer), then
times encoding both columns to ids and prints one `name: value` line per
figure, in the same format as `seq2seq bench tokenize`.

Needs the sentencepiece package outside the repo, e.g.
    python3 -m venv /work/venv-spm && /work/venv-spm/bin/pip install sentencepiece==0.2.3
Usage:
    /work/venv-spm/bin/python Scripts/bench-sentencepiece.py FILE [--size 8000] [--repeats 3] [--threads 1]
"""
import argparse
import os
import tempfile
import time

import sentencepiece as spm


def read_pairs(path):
    sources, targets = [], []
    with open(path, encoding="utf-8-sig", errors="replace", newline="\n") as f:
        for line in f:
            cols = line.rstrip("\n").rstrip("\r").split("\t")
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                continue
            sources.append(cols[0])
            targets.append(cols[1])
    return sources, targets


def train(lines, size, folder, name):
    text = os.path.join(folder, name + ".txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    prefix = os.path.join(folder, name)
    spm.SentencePieceTrainer.train(
        input=text, model_prefix=prefix, vocab_size=size, model_type="bpe",
        byte_fallback=True, character_coverage=0.9995, pad_id=0, unk_id=1, bos_id=2, eos_id=3,
        normalization_rule_name="nfkc", num_threads=2, minloglevel=2)
    return spm.SentencePieceProcessor(model_file=prefix + ".model")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for batch encoding (ours is single-threaded)")
    args = parser.parse_args()
    sources, targets = read_pairs(args.file)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        source_model = train(sources, args.size, folder, "source")
        target_model = train(targets, args.size, folder, "target")
        print(f"learn seconds: {time.perf_counter() - started:.2f}")
        nbytes = sum(len(s.encode("utf-8")) for s in sources) + sum(len(t.encode("utf-8")) for t in targets)
        best, tokens = float("inf"), 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            a = source_model.encode(sources, num_threads=args.threads)
            b = target_model.encode(targets, num_threads=args.threads)
            seconds = time.perf_counter() - started
            best = min(best, seconds)
            tokens = sum(map(len, a)) + sum(map(len, b))
        print(f"vocab size: {source_model.get_piece_size()} / {target_model.get_piece_size()}")
        print(f"lines: {len(sources) + len(targets)}")
        print(f"bytes: {nbytes}")
        print(f"tokens: {tokens}")
        print(f"seconds: {best:.4f}")
        print(f"MB/s: {nbytes / best / 1e6:.2f}")
        print(f"tokens/s: {tokens / best:.0f}")


if __name__ == "__main__":
    main()
