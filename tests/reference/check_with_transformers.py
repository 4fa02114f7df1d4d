#!/usr/bin/env python3
"""Cross-check the fixtures in tests/fixtures/checkpoints against the real Hugging Face classes.

Needs a machine with torch + transformers (written for 5.x, should also work with 4.4x+):

    python tests/reference/check_with_transformers.py

For every <name>/reference.json it loads the folder with AutoModel.from_pretrained (BertModel,
RobertaModel, XLMRobertaModel, DistilBertModel), runs the stored input_ids / attention_mask
(/ token_type_ids) and asserts max |diff| <= 1e-5 against last_hidden_state and pooler_output.
It also tokenizes the stored texts with AutoTokenizer and compares with expected_ids.
"""

import json
import os
import sys

import torch
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "checkpoints")
TOL = 1e-5


def load(d):
    kw = dict(attn_implementation="eager", output_loading_info=True)
    try:
        model, info = AutoModel.from_pretrained(d, dtype=torch.float32, **kw)  # transformers >= 4.56 / 5.x
    except TypeError:
        model, info = AutoModel.from_pretrained(d, torch_dtype=torch.float32, **kw)
    return model.float().eval(), info  # fp16 / bf16 checkpoints: compute in fp32 like the reference


failures = []
for name in sorted(os.listdir(ROOT)):
    d = os.path.join(ROOT, name)
    ref_path = os.path.join(d, "reference.json")
    if not os.path.isfile(ref_path):
        continue
    with open(ref_path, encoding="utf-8") as f:
        ref = json.load(f)

    model, info = load(d)
    # only the pooler may be missing (XLMRobertaForMaskedLM has none); only task heads may be unused
    bad_missing = [k for k in info["missing_keys"] if not k.startswith("pooler.")]
    bad_unexpected = [k for k in info["unexpected_keys"] if not k.startswith(("classifier.", "lm_head."))]
    if bad_missing or bad_unexpected:
        failures.append(f"{name}: missing {bad_missing} unexpected {bad_unexpected}")

    inputs = {k: torch.tensor(ref[k]) for k in ("input_ids", "attention_mask", "token_type_ids") if k in ref}
    with torch.no_grad():
        out = model(**inputs)
    diffs = {"last_hidden_state": (out.last_hidden_state - torch.tensor(ref["last_hidden_state"])).abs().max().item()}
    if ref.get("pooler_output") is not None:
        diffs["pooler_output"] = (out.pooler_output - torch.tensor(ref["pooler_output"])).abs().max().item()
    print(f"{name:32s} {type(model).__name__:18s} " + "  ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    for k, v in diffs.items():
        if not v <= TOL:
            failures.append(f"{name}: {k} max|diff| {v:.3g} > {TOL}")

    try:
        tok = AutoTokenizer.from_pretrained(d)
    except Exception as e:  # e.g. sentencepiece/protobuf missing for the XLM-R converter
        print(f"    tokenizer check skipped: {type(e).__name__}: {e}")
        continue
    pairs = ref.get("text_pairs") or [None] * len(ref["texts"])
    for text, pair, expected in zip(ref["texts"], pairs, ref["expected_ids"]):
        ids = tok(text, pair)["input_ids"]
        if ids != expected:
            failures.append(f"{name}: tokenizer mismatch for {text!r}/{pair!r}:\n  hf  {ids}\n  ref {expected}")
    print(f"    tokenizer {type(tok).__name__}: {'ok' if not any(f.startswith(name + ': tokenizer') for f in failures) else 'MISMATCH'}")

# The masked-LM fixture (make_mlm_fixture.py): BertForMaskedLM.from_pretrained must find every key but the tied decoder
# (the pooler is ignored, as transformers does for a BertModel checkpoint) and give the stored loss and accuracy.
mlm_dir = os.path.join(ROOT, "tiny-bert-mlm")
if os.path.isfile(os.path.join(mlm_dir, "mlm_reference.json")):
    from transformers import BertForMaskedLM
    with open(os.path.join(mlm_dir, "mlm_reference.json"), encoding="utf-8") as f:
        mref = json.load(f)
    mlm, info = BertForMaskedLM.from_pretrained(mlm_dir, attn_implementation="eager", output_loading_info=True)
    mlm = mlm.float().eval()
    bad = [k for k in info["missing_keys"] if "decoder" not in k] + [k for k in info["unexpected_keys"] if "pooler" not in k]
    if bad:
        failures.append(f"tiny-bert-mlm: missing/unexpected keys {bad}")
    with torch.no_grad():
        out = mlm(**{k: torch.tensor(mref[k]) for k in ("input_ids", "attention_mask", "token_type_ids", "labels")})
    sel = torch.tensor(mref["labels"]).ne(-100)
    correct = int(out.logits[sel].argmax(-1).eq(torch.tensor(mref["labels"])[sel]).sum())
    print(f"tiny-bert-mlm BertForMaskedLM loss {out.loss.item():.6f} (fixture {mref['loss']}), correct {correct}/{mref['masked']}")
    if abs(out.loss.item() - mref["loss"]) > 1e-5 * mref["loss"] or correct != mref["correct"]:
        failures.append("tiny-bert-mlm: BertForMaskedLM loss or accuracy differs from mlm_reference.json")

if failures:
    print("\nFAILED:\n" + "\n".join(failures))
    sys.exit(1)
print("all fixtures match transformers")
