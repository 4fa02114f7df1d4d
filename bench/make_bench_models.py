#!/usr/bin/python3
"""Write a BERT checkpoint folder with random (seeded) weights for benchmarking.

    /usr/bin/python3 bench/make_bench_models.py --out /tmp/bench/bert-base --shape bert-base [--vocab vocab.txt]

Writes config.json, model.safetensors (fp32, HF BertModel keys incl. pooler) and model.onnx
(torch.onnx.export of the hand-written BertModel from tests/reference/hf_reference.py; inputs
input_ids / attention_mask / token_type_ids int64 [batch, sequence], output last_hidden_state,
opset 14, constant folding). Files that already exist are left alone (use --force to redo).
Only needs torch (the onnx python package is not required).
"""

import argparse
import json
import os
import shutil
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import hf_reference as ref  # noqa: E402

SHAPES = {
    # tests/fixtures/checkpoints/tiny-bert's layer dimensions, but a bert-base sized vocabulary and 512
    # positions, so that the same random ids (< 30522) and --seq 128 batches work for every shape
    "tiny": dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=512),
    "bert-base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072, max_position_embeddings=512),
    "minilm-l6": dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                      intermediate_size=1536, max_position_embeddings=512),
}


def make_config(shape):
    cfg = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        **SHAPES[shape],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    return cfg


def init_weights(model, seed):
    """HF BertPreTrainedModel._init_weights: N(0, 0.02) weights, zero biases, LayerNorm 1/0."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                m.weight.normal_(0.0, 0.02)
                if getattr(m, "bias", None) is not None:
                    m.bias.zero_()
            elif isinstance(m, torch.nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


class _LastHidden(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids, attention_mask, token_type_ids)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--vocab", help="optional vocab.txt to copy into the folder")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    ap.add_argument("--force", action="store_true", help="rewrite files that already exist")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    cfg = make_config(args.shape)
    p_cfg = os.path.join(args.out, "config.json")
    p_st = os.path.join(args.out, "model.safetensors")
    p_onnx = os.path.join(args.out, "model.onnx")

    if args.vocab:
        with open(args.vocab, encoding="utf-8") as f:
            n_vocab = sum(1 for _ in f)
        if n_vocab > cfg["vocab_size"]:
            sys.exit(f"--vocab has {n_vocab} entries, more than vocab_size {cfg['vocab_size']} of shape {args.shape}")
        shutil.copyfile(args.vocab, os.path.join(args.out, "vocab.txt"))
        tc = os.path.join(args.out, "tokenizer_config.json")
        if not os.path.exists(tc):
            with open(tc, "w") as f:
                json.dump({"do_lower_case": True}, f)
                f.write("\n")

    if args.force or not os.path.exists(p_cfg):
        with open(p_cfg, "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")

    need_st = args.force or not os.path.exists(p_st)
    need_onnx = not args.no_onnx and (args.force or not os.path.exists(p_onnx))
    if not (need_st or need_onnx):
        print(f"{args.out}: up to date")
        return

    model = ref.BertModel(cfg).eval()
    if need_st:
        init_weights(model, args.seed)
        ref.save_safetensors(p_st, {k: v.contiguous() for k, v in model.state_dict().items()})
        print(f"wrote {p_st} ({os.path.getsize(p_st) / 2**20:.1f} MiB)")
    else:  # export exactly the weights already on disk
        model.load_state_dict(ref.load_safetensors(p_st), strict=True)

    if need_onnx:
        wrapper = _LastHidden(model).eval()
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, cfg["vocab_size"], (2, 16), generator=g)
        mask = torch.ones_like(ids)
        mask[1, 10:] = 0
        types = torch.zeros_like(ids)
        tmp = p_onnx + ".tmp"
        with torch.no_grad():
            torch.onnx.export(
                wrapper, (ids, mask, types), tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                              "attention_mask": {0: "batch", 1: "sequence"},
                              "token_type_ids": {0: "batch", 1: "sequence"},
                              "last_hidden_state": {0: "batch", 1: "sequence"}},
                opset_version=14, do_constant_folding=True)
        os.replace(tmp, p_onnx)
        print(f"wrote {p_onnx} ({os.path.getsize(p_onnx) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
