#!/usr/bin/env python3
"""PyTorch side of `seq2seq bench lm`: a character LSTM language model of the same shape,
trained with truncated BPTT on synthetic text, timed the same way.

Model: nn.Embedding(V, E) -> nn.LSTM(E, H, L) -> nn.Linear(H, V) -> mean cross-entropy.
Data: unit ids uniform in [0, V), B streams of one long text (stream b is one contiguous
piece), chunks of T steps; the (h, c) state is carried from chunk to chunk and detached.
A step: zero_grad, forward, backward, clip_grad_norm_(1.0), Adam(lr 2e-3) -- on one chunk
of B*T characters.  Prints one JSON line; chars_per_s_median is median(B*T / step time)
over the timed steps after the warm-up, chars_per_cpu_s_median the same per second of CPU
time of the whole process (all threads; time.process_time).

  python Scripts/bench-lm-vs-pytorch.py [--emb 64 --hidden 512 --layers 2 --vocab 100
                                         --batch 64 --bptt 100 --steps 10 --warmup 3 --threads 2]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def cpu_times():
    """(whole-machine busy jiffies, total jiffies, this process's jiffies)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    with open("/proc/self/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    total = sum(v)
    return total - v[3] - v[4], total, int(own[11]) + int(own[12])


class CharLSTM(nn.Module):
    def __init__(self, vocab, emb, hidden, layers):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, layers)          # time-major [T, B, E]
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state):
        y, state = self.lstm(self.emb(x), state)
        return self.out(y), state


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bptt", type=int, default=100)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, T, H, L, V = a.batch, a.bptt, a.hidden, a.layers, a.vocab
    model = CharLSTM(V, a.emb, H, L)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = B * T * (a.warmup + a.steps) + 1
    text = torch.randint(0, V, (n,))
    S = (n - 1) // B
    streams = text[:B * S + 1]
    inputs = torch.stack([streams[b * S:(b + 1) * S] for b in range(B)], dim=1)        # [S, B]
    targets = torch.stack([streams[b * S + 1:(b + 1) * S + 1] for b in range(B)], dim=1)
    state = (torch.zeros(L, B, H), torch.zeros(L, B, H))
    times, step_cpu = [], []
    loss = torch.tensor(0.0)
    before = cpu_times()
    for k in range(a.warmup + a.steps):
        x, y = inputs[k * T:(k + 1) * T].contiguous(), targets[k * T:(k + 1) * T].contiguous()
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        state = (state[0].detach(), state[1].detach())                                 # truncation
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if k >= a.warmup:
            times.append(dt)
            step_cpu.append(dc)
    after = cpu_times()
    busy, total, own = (after[i] - before[i] for i in range(3))
    med = statistics.median(times)
    fwd = 2 * H * V + sum(2 * ((a.emb if l == 0 else H) + H) * 4 * H for l in range(L))
    print(json.dumps(dict(mode="bench-lm", torch_version=torch.__version__, threads=torch.get_num_threads(),
                          emb=a.emb, hidden=H, layers=L, vocab=V, batch=B, bptt=T, steps=a.steps,
                          median_step_s=med, chars_per_s_median=B * T / med, chars_per_s_best=B * T / min(times),
                          chars_per_cpu_s_median=B * T / statistics.median(step_cpu),
                          gflops_median=B * T / med * 3 * fwd / 1e9, last_loss=loss.item(),
                          foreign_cpu_pct=round(100.0 * max(0, busy - own) / max(1, total), 1))))


if __name__ == "__main__":
    main()
