#!/usr/bin/python3
"""Generate tests/fixtures/checkpoints/tiny-bert-mlm: tiny-bert with a BertForMaskedLM head, and the masked-LM
loss, masked-token accuracy and gradients PyTorch computes for one fixed masked batch (mlm_reference.json).

    /usr/bin/python3 tests/reference/make_mlm_fixture.py

Run after make_fixtures.py (it reads tiny-bert). Deterministic (fixed torch seeds). Needs only torch and numpy.

The model mirrors transformers' modeling_bert.py BertForMaskedLM: `bert` (a BertModel; save_pretrained of the real
class has no pooler, `_keys_to_ignore_on_load_unexpected = [r"pooler"]`, so keeping tiny-bert's pooler here is what a
BertModel checkpoint loaded into BertForMaskedLM looks like), `cls.predictions.transform.dense` -> ACT2FN[hidden_act]
-> `cls.predictions.transform.LayerNorm`, then `cls.predictions.decoder` whose weight IS
bert.embeddings.word_embeddings.weight and whose bias IS `cls.predictions.bias` (tied, so neither decoder key is
stored). The loss is CrossEntropyLoss()(scores.view(-1, vocab), labels.view(-1)), labels -100 where not masked.
"""

import json
import os
import shutil
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402
from make_fixtures import r7, write_compact_json, write_json, fresh_dir  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SRC = os.path.join(REPO, "tests", "fixtures", "checkpoints", "tiny-bert")
OUT = os.path.join(REPO, "tests", "fixtures", "checkpoints", "tiny-bert-mlm")
MASK_ID, SPECIAL = 4, {0, 1, 2, 3, 4}  # [PAD] [UNK] [CLS] [SEP] [MASK] in tiny-bert's vocab.txt
GRAD_KEYS = ["cls.predictions.bias", "cls.predictions.transform.dense.weight", "bert.embeddings.word_embeddings.weight",
             "bert.encoder.layer.0.attention.self.query.weight"]


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config["hidden_size"], config["hidden_size"])
        self.act = ref.get_activation(config["hidden_act"])
        self.LayerNorm = nn.LayerNorm(config["hidden_size"], eps=config["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config, word_embeddings):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.bias = nn.Parameter(torch.zeros(config["vocab_size"]))
        self.word_embeddings = [word_embeddings]  # a list: the tied weight is the embedding's, not registered twice

    def forward(self, x):
        return F.linear(self.transform(x), self.word_embeddings[0].weight, self.bias)


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config, word_embeddings):
        super().__init__()
        self.predictions = BertLMPredictionHead(config, word_embeddings)


class BertForMaskedLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.bert = ref.BertModel(config, add_pooling_layer=True)
        self.cls = BertOnlyMLMHead(config, self.bert.embeddings.word_embeddings)

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        hidden, _ = self.bert(input_ids, attention_mask, token_type_ids)
        scores = self.cls.predictions(hidden)
        loss = F.cross_entropy(scores.view(-1, scores.shape[-1]), labels.view(-1), ignore_index=-100)
        return loss, scores


def mask_batch(input_ids, attention_mask, vocab_size, seed):
    """BERT's 80/10/10 on a fixed choice of positions (probability 0.3 so a 3-row batch has enough of them)."""
    g = torch.Generator().manual_seed(seed)
    maskable = attention_mask.bool() & ~sum(input_ids.eq(s) for s in SPECIAL).bool()
    chosen = maskable & (torch.rand(input_ids.shape, generator=g) < 0.3)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    r = torch.rand(input_ids.shape, generator=g)
    masked = input_ids.clone()
    masked[chosen & (r < 0.8)] = MASK_ID
    rand_pos = chosen & (r >= 0.8) & (r < 0.9)
    masked[rand_pos] = torch.randint(vocab_size, input_ids.shape, generator=g)[rand_pos]
    return masked, labels


def main():
    with open(os.path.join(SRC, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    with open(os.path.join(SRC, "reference.json"), encoding="utf-8") as f:
        src_ref = json.load(f)
    model = BertForMaskedLM(config)
    model.bert.load_state_dict(ref.load_checkpoint_dir(SRC), strict=True)
    torch.manual_seed(2026)
    with torch.no_grad():  # a head that is not at its initial values (dense N(0, 0.2) like the fixtures' linears)
        t = model.cls.predictions.transform
        t.dense.weight.normal_(0, 0.2)
        t.dense.bias.normal_(0, 0.02)
        t.LayerNorm.weight.copy_(1 + 0.1 * torch.randn_like(t.LayerNorm.weight))
        t.LayerNorm.bias.normal_(0, 0.05)
        model.cls.predictions.bias.normal_(0, 0.02)
    model.eval()

    input_ids = torch.tensor(src_ref["input_ids"])
    attention_mask = torch.tensor(src_ref["attention_mask"])
    token_type_ids = torch.tensor(src_ref["token_type_ids"])
    masked, labels = mask_batch(input_ids, attention_mask, config["vocab_size"], seed=26)
    # A random head predicts no original token; raising the decoder bias of the most frequent masked token makes
    # some predictions right, so the accuracy is a count between 0 and all (and the margin assert below still holds).
    with torch.no_grad():
        model.cls.predictions.bias[labels[labels.ne(-100)].mode().values] += 0.3
    loss, scores = model(masked, attention_mask, token_type_ids, labels)
    loss.backward()

    sel = labels.ne(-100)
    picked = scores[sel]
    top2 = picked.topk(2, dim=1).values
    margin = (top2[:, 0] - top2[:, 1]).min().item()
    assert margin > 1e-4, f"argmax too close to call ({margin})"  # accuracy must not hinge on rounding
    correct = int(picked.argmax(1).eq(labels[sel]).sum())
    n = int(sel.sum())
    assert 0 < correct < n, f"accuracy {correct}/{n} would not test anything"

    named = dict(model.named_parameters())
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    fresh_dir(OUT)
    ref.save_safetensors(os.path.join(OUT, "model.safetensors"), tensors)
    config = {**config, "architectures": ["BertForMaskedLM"], "tie_word_embeddings": True}
    write_json(os.path.join(OUT, "config.json"), config)
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(SRC, name), os.path.join(OUT, name))
    write_compact_json(os.path.join(OUT, "mlm_reference.json"), {
        "input_ids": masked.tolist(), "attention_mask": attention_mask.tolist(), "token_type_ids": token_type_ids.tolist(),
        "labels": labels.tolist(), "loss": r7(loss.item()), "masked": n, "correct": correct, "min_top2_margin": r7(margin),
        "masked_logits": r7(picked.detach().tolist()),
        "gradients": {k: r7(named[k].grad.reshape(-1).tolist()) for k in GRAD_KEYS},
    })
    print(f"loss {loss.item():.6f}, accuracy {correct}/{n}, {len(tensors)} tensors -> {OUT}")


if __name__ == "__main__":
    main()
