#!/usr/bin/python3
"""PyTorch CPU baseline: time BertModel forward passes on a checkpoint folder.

    /usr/bin/python3 bench/pytorch_bench.py --model DIR [--batch 32] [--seq 128] [--iters 20]
                                            [--warmup 3] [--threads T] [--lengths FILE]

Loads DIR/model.safetensors (or the sharded index) with the safetensors reader from
tests/reference/hf_reference.py into the hand-written BertModel and times forward passes under
torch.inference_mode(). Prints ONE JSON line:
  {"engine": "pytorch", "torch": ..., "threads": T, "seconds_per_batch": ...,
   "sequences_per_s": ..., "tokens_per_s": ..., ...extra descriptive fields}

Fixed mode (default): every batch is [batch, seq] random ids (seeded), attention mask all ones;
tokens_per_s counts batch * seq tokens.

--lengths FILE: one integer sequence length per line. The lengths are taken in file order, cut
into consecutive batches of --batch (the last one may be smaller), each batch padded to its
longest sequence (right padding, attention_mask 0 on padding). Lengths above the model's
max_position_embeddings are clipped to it; lengths below 1 become 1. Warmup runs the first
--warmup batches; the timed run then goes through --iters batches cycling over the file
(default --iters: one pass over all batches). tokens_per_s counts real (unpadded) tokens;
padded_tokens_per_s is reported too.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import hf_reference as ref  # noqa: E402


def load_model(directory):
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    sd = ref.load_checkpoint_dir(directory)
    if any(k.startswith("bert.") for k in sd):  # e.g. BertForSequenceClassification checkpoints
        sd = {k[len("bert."):]: v for k, v in sd.items() if k.startswith("bert.")}
    has_pooler = any(k.startswith("pooler.") for k in sd)
    model = ref.BertModel(cfg, add_pooling_layer=has_pooler)
    model.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=True)
    return model.eval(), cfg


def make_batch(lengths, vocab_size, gen):
    L = max(lengths)
    ids = torch.randint(1, vocab_size, (len(lengths), L), generator=gen)
    mask = torch.zeros(len(lengths), L, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    ids = ids * mask  # pad id 0
    return ids, mask, torch.zeros_like(ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="checkpoint folder (config.json + model.safetensors); required but with --gemm")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--iters", type=int, default=None, help="timed batches (default 20; with --lengths one pass)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--lengths", help="text file of sequence lengths, one per line")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action="store_true",
                    help="run the model's forward pass under torch.autocast('cpu', dtype=torch.bfloat16) (fp32 weights and "
                         "optimizer, as mixed precision training does); fails where this torch has no CPU autocast")
    ap.add_argument("--gemm", action="store_true",
                    help="instead: fp32 and bf16 torch.matmul GFLOP/s at 2048x384x1536 (is this torch's bf16 GEMM fast?)")
    ap.add_argument("--train", action="store_true",
                    help="time fine-tuning steps instead: mean-pooled 2-class head, dropout on, AdamW (lr 5e-5, "
                         "weight decay 0.01), cross-entropy, gradient clipping at 1.0; fixed-shape batches")
    args = ap.parse_args()
    if args.gemm:
        return gemm(args)
    if not args.model:
        ap.error("--model is required")
    if args.train:
        return train(args)

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    model, cfg = load_model(args.model)
    max_pos = cfg["max_position_embeddings"]
    gen = torch.Generator().manual_seed(args.seed)

    clipped = 0
    if args.lengths:
        with open(args.lengths) as f:
            raw = [int(line) for line in f if line.strip()]
        if not raw:
            sys.exit(f"{args.lengths}: no lengths")
        lens = [min(max(n, 1), max_pos) for n in raw]
        clipped = sum(1 for a, b in zip(raw, lens) if a != b)
        batches = [make_batch(lens[i:i + args.batch], cfg["vocab_size"], gen) for i in range(0, len(lens), args.batch)]
        iters = args.iters if args.iters is not None else len(batches)
    else:
        if args.seq > max_pos:
            sys.exit(f"--seq {args.seq} exceeds max_position_embeddings {max_pos}")
        batches = [make_batch([args.seq] * args.batch, cfg["vocab_size"], gen)]
        iters = args.iters if args.iters is not None else 20

    if iters < 1:
        sys.exit("--iters must be >= 1")
    times, sequences, tokens, padded = [], 0, 0, 0
    with torch.inference_mode(), autocast(args):
        for i in range(args.warmup):
            ids, mask, tt = batches[i % len(batches)]
            model(ids, mask, tt)
        for i in range(iters):
            ids, mask, tt = batches[i % len(batches)]
            t0 = time.perf_counter()
            model(ids, mask, tt)
            times.append(time.perf_counter() - t0)
            sequences += ids.shape[0]
            tokens += int(mask.sum())
            padded += ids.numel()

    total = sum(times)
    result = {
        "engine": "pytorch",
        "torch": torch.__version__,
        "threads": threads,
        "seconds_per_batch": total / iters,
        "sequences_per_s": sequences / total,
        "tokens_per_s": tokens / total,
        "median_seconds_per_batch": statistics.median(times),
        "model": os.path.basename(os.path.normpath(args.model)),
        "autocast": "bfloat16" if args.bf16 else None,
        "batch": args.batch,
        "iters": iters,
        "warmup": args.warmup,
    }
    if args.lengths:
        result.update({"lengths_file": args.lengths, "num_sequences_in_file": len(lens),
                       "padded_tokens_per_s": padded / total, "clipped_lengths": clipped})
    else:
        result["seq"] = args.seq
    print(json.dumps(result))


def train(args):
    """Training steps per second on [batch, seq] random ids: forward, loss, backward, clip, AdamW step."""
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    encoder, cfg = load_model(args.model)
    head = torch.nn.Linear(cfg["hidden_size"], 2)
    dropout = torch.nn.Dropout(0.1)
    params = list(encoder.parameters()) + list(head.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-5)
    encoder.train()
    gen = torch.Generator().manual_seed(args.seed)
    iters = args.iters if args.iters is not None else 12

    def step():
        ids = torch.randint(1000, cfg["vocab_size"], (args.batch, args.seq), generator=gen)
        mask = torch.ones_like(ids)
        labels = torch.randint(0, 2, (args.batch,), generator=gen)
        with autocast(args):
            out = encoder(ids, mask, torch.zeros_like(ids))
        hidden = out[0] if isinstance(out, (tuple, list)) else out
        pooled = (hidden.float() * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        loss = torch.nn.functional.cross_entropy(head(dropout(pooled)), labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    total = time.perf_counter() - t0
    print(json.dumps({"engine": "pytorch", "mode": "train", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "seconds_per_step": total / iters, "sequences_per_s": iters * args.batch / total,
                      "autocast": "bfloat16" if args.bf16 else None,
                      "batch": args.batch, "seq": args.seq, "iters": iters, "warmup": args.warmup,
                      "model": os.path.basename(os.path.normpath(args.model))}))


def autocast(args):
    """torch.autocast on the CPU in bfloat16 when --bf16, else a scope that does nothing."""
    import contextlib
    if not args.bf16:
        return contextlib.nullcontext()
    if not hasattr(torch, "autocast"):
        sys.exit(f"torch {torch.__version__} has no torch.autocast")
    return torch.autocast("cpu", dtype=torch.bfloat16)


def gemm(args):
    """fp32 and bf16 matmul throughput at one MiniLM shape (2048 tokens x 384 -> 1536)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    m, k, n, reps = 2048, 384, 1536, 10
    result = {"engine": "pytorch", "mode": "gemm", "torch": torch.__version__, "threads": torch.get_num_threads(), "shape": [m, k, n]}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
        torch.matmul(a, b)
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b)
        result[name + "_gflops"] = 2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9
    print(json.dumps(result))


if __name__ == "__main__":
    main()
