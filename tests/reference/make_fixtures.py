#!/usr/bin/python3
"""Generate the tiny Hugging Face style checkpoints + reference outputs used by the C# tests.

    /usr/bin/python3 tests/reference/make_fixtures.py

Writes tests/fixtures/checkpoints/<name>/ and tests/fixtures/broken/. Deterministic: every
checkpoint uses its own fixed torch seed, so rerunning reproduces the same bytes.
Needs only torch, numpy and sentencepiece (no transformers / safetensors / tokenizers).
"""

import json
import os
import shutil
import struct
import sys
import tempfile
import unicodedata

import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ next to the sources
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hf_reference as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CKPT_ROOT = os.path.join(REPO, "tests", "fixtures", "checkpoints")
BROKEN_ROOT = os.path.join(REPO, "tests", "fixtures", "broken")

# Weight init. Embeddings use HF's N(0, 0.02). Linear weights use N(0, 0.2) (~1/sqrt(hidden))
# instead of HF's 0.02: with 0.02 the tiny model is nearly linear and attention nearly uniform,
# so real bugs hide below test tolerances (measured on tiny-bert, max |diff| of last_hidden_state:
# tanh-GELU instead of erf-GELU 7e-7, missing 1/sqrt(head_dim) 3e-4; with 0.2: 9e-4 and 1.7).
# Biases and LayerNorm parameters get noise so that they are not trivially 0 / 1.
EMB_STD = 0.02
LINEAR_STD = 0.2
BIAS_STD = 0.02
LN_WEIGHT_STD = 0.1
LN_BIAS_STD = 0.05

HIDDEN, LAYERS, HEADS, INTERMEDIATE = 32, 2, 4, 64


# ======================================================================================
# Small helpers
# ======================================================================================

def init_weights(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, module in model.named_modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.copy_(1.0 + LN_WEIGHT_STD * torch.randn_like(module.weight))
                module.bias.copy_(LN_BIAS_STD * torch.randn_like(module.bias))
            elif isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, EMB_STD if isinstance(module, nn.Embedding) else LINEAR_STD)
                if getattr(module, "bias", None) is not None:
                    module.bias.normal_(0.0, BIAS_STD)
        # any other parameters (e.g. lm_head.bias)
        for name, p in model.named_parameters():
            if name == "lm_head.bias":
                p.normal_(0.0, BIAS_STD)


def round_weights_(model, dtype):
    """Round every parameter to `dtype` and back to fp32 (what a loader of fp16/bf16 weights sees)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def state_dict_as(model, dtype):
    return {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}


def r7(x):
    """Round to 7 significant digits (nested lists)."""
    if isinstance(x, list):
        return [r7(v) for v in x]
    return float(f"{x:.7g}")


def write_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def write_compact_json(path, obj):
    """Top-level keys on their own lines, values compact (keeps reference.json small but diffable)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(obj.items())
        for i, (k, v) in enumerate(items):
            f.write(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(',', ':'))}")
            f.write(",\n" if i < len(items) - 1 else "\n")
        f.write("}\n")


def fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def pad_batch(rows, pad_id, type_rows=None):
    L = max(len(r) for r in rows)
    ids = [r + [pad_id] * (L - len(r)) for r in rows]
    mask = [[1] * len(r) + [0] * (L - len(r)) for r in rows]
    types = None
    if type_rows is not None:
        types = [t + [0] * (L - len(t)) for t in type_rows]
    return ids, mask, types


# ======================================================================================
# BERT WordPiece tokenizer (BasicTokenizer do_lower_case=True + WordpieceTokenizer)
# ======================================================================================

BERT_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list("!\"'(),-.:;?")
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    + ["the", "an", "and", "in", "of", "to", "is", "it", "over", "like", "does", "without",
       "hello", "world", "quick", "brown", "fox", "jump", "lazy", "dog", "run", "torch", "python",
       "token", "transform", "word", "handle", "unknown", "milli", "second", "sentence", "pair",
       "model", "test", "short", "long", "this", "that", "with",
       "##ers", "##er", "##izer", "##sharp", "##second", "##ing", "##ed", "##ly", "##es"]
)

BERT_TEXTS = [
    "Héllo World!",
    "The quick brown fox jumps over the lazy dog.",
    "TorchSharp runs transformers without Python, in 42 milliseconds.",
]
# The third row is encoded as a sentence pair (text, pair) so that token type 1 occurs.
BERT_PAIRS = [None, None, "Does the tokenizer handle unknown words like xylophones?"]


def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def bert_basic_tokenize(text):
    out = []
    for ch in text:  # clean text
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        out.append(" " if _is_whitespace(ch) else ch)
    text = "".join(out)
    text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    tokens = []
    for tok in text.split():
        tok = tok.lower()
        tok = "".join(c for c in unicodedata.normalize("NFD", tok) if unicodedata.category(c) != "Mn")
        cur = []
        for c in tok:
            if _is_punctuation(c):
                if cur:
                    tokens.append("".join(cur))
                    cur = []
                tokens.append(c)
            else:
                cur.append(c)
        if cur:
            tokens.append("".join(cur))
    return tokens


def wordpiece(token, vocab, unk="[UNK]", max_chars=100):
    if len(token) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(token):
        end = len(token)
        cur = None
        while start < end:
            sub = token[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return [unk]
        pieces.append(cur)
        start = end
    return pieces


def bert_encode(text, pair, vocab):
    def toks(t):
        return [p for w in bert_basic_tokenize(t) for p in wordpiece(w, vocab)]

    a = ["[CLS]"] + toks(text) + ["[SEP]"]
    types = [0] * len(a)
    if pair is not None:
        b = toks(pair) + ["[SEP]"]
        a += b
        types += [1] * len(b)
    return [vocab[t] for t in a], types


# ======================================================================================
# GPT-2 / RoBERTa byte-level BPE
# ======================================================================================

ROBERTA_TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Héllo, naïve café! It's 2024 and   tokenizers don't split émojis 🙂 badly.",
]
ROBERTA_EXTRA_TRAINING = [
    "Hello there, hello world, the world says hello.",
    "The tokenizer merges the most frequent pairs of bytes into tokens.",
    "Transformers run in TorchSharp; the model runs the tokens through the layers.",
    "It's what we're doing: we've split the words and they'll merge them.",
    "The lazy dog sleeps while the quick fox jumps over and over again.",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def _cat(ch):
    return unicodedata.category(ch)


def _is_L(ch):
    return _cat(ch).startswith("L")


def _is_N(ch):
    return _cat(ch).startswith("N")


def _is_S(ch):
    return ch.isspace()


def gpt2_pretokenize(text):
    r"""Equivalent of the GPT-2 pattern (no `regex` module available here):
    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    out, i, n = [], 0, len(text)
    while i < n:
        # 1. contractions (case sensitive)
        m = None
        for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if text.startswith(c, i):
                m = c
                break
        if m:
            out.append(m)
            i += len(m)
            continue
        # 2-4. optional single space + run of one class
        j = i + 1 if text[i] == " " and i + 1 < n else i
        matched = False
        for pred in (_is_L, _is_N, lambda ch: not (_is_S(ch) or _is_L(ch) or _is_N(ch))):
            if j < n and pred(text[j]):
                k = j
                while k < n and pred(text[k]):
                    k += 1
                out.append(text[i:k])
                i = k
                matched = True
                break
        if matched:
            continue
        # 5./6. whitespace: \s+(?!\S) then \s+
        k = i
        while k < n and _is_S(text[k]):
            k += 1
        assert k > i, f"pretokenizer stuck at {i}: {text!r}"
        if k < n and k - i > 1:
            k -= 1  # leave the last space to prefix the next word
        out.append(text[i:k])
        i = k
    assert "".join(out) == text
    return out


def train_byte_bpe(corpus, num_merges):
    b2u = bytes_to_unicode()
    freqs = {}
    for line in corpus:
        for w in gpt2_pretokenize(line):
            u = "".join(b2u[b] for b in w.encode("utf-8"))
            freqs[u] = freqs.get(u, 0) + 1
    words = {w: list(w) for w in freqs}
    merges = []
    while len(merges) < num_merges:
        counts = {}
        for w, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + freqs[w]
        if not counts:
            break
        best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # most frequent, then lexicographic
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        for w, syms in words.items():
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
    return merges


def bpe_word(word, ranks):
    syms = list(word)
    while len(syms) > 1:
        pairs = [(ranks.get((a, b), float("inf")), idx) for idx, (a, b) in enumerate(zip(syms, syms[1:]))]
        best_rank = min(p[0] for p in pairs)
        if best_rank == float("inf"):
            break
        a, b = next((syms[idx], syms[idx + 1]) for r, idx in pairs if r == best_rank)
        out, i = [], 0
        while i < len(syms):
            if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(syms[i])
                i += 1
        syms = out
    return syms


def roberta_encode(text, vocab, ranks):
    b2u = bytes_to_unicode()
    ids = [vocab["<s>"]]
    for w in gpt2_pretokenize(text):
        u = "".join(b2u[b] for b in w.encode("utf-8"))
        ids += [vocab.get(p, vocab["<unk>"]) for p in bpe_word(u, ranks)]
    ids.append(vocab["</s>"])
    return ids


# ======================================================================================
# XLM-R sentencepiece
# ======================================================================================

XLMR_TEXTS = [
    "Hello world!",
    "Héllo wörld, ça va? Привет, мир!",
    "The quick brown fox jumps over the lazy dog. 你好世界。Добрый день! 🙂",
]
XLMR_TRAINING = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Hello again, world. The dog is lazy and the fox is quick.",
    "Héllo wörld, ça va? Très bien, merci beaucoup.",
    "Der schöne Bär läuft über die Straße und grüßt die Kühe.",
    "El niño comió una manzana en el jardín. ¿Qué pasó?",
    "Привет, мир! Как дела? Хорошо, спасибо.",
    "Добрый день, мои друзья. Мир и дружба, добрый мир.",
    "Привет, друзья! Добрый вечер и спокойной ночи.",
    "你好世界。我们是朋友。",
    "今天天气很好。你好，朋友。",
    "Transformers run in TorchSharp without Python.",
    "The tokenizer splits words into pieces, and the pieces become tokens.",
]


# sentencepiece's default normalizer (what real XLM-R uses). It embeds a ~237 KB precompiled
# charsmap in the .model file; "identity" would make the file ~2 KB and gives the same pieces for
# XLMR_TEXTS (all NFC, no full-width forms), but would no longer be representative of XLM-R.
SPM_NORMALIZATION = "nmt_nfkc"


def train_sentencepiece(out_path, vocab_size=150):
    import sentencepiece as spm
    out_path = os.path.abspath(out_path)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # relative paths: the trainer spec (input, model_prefix) is stored inside the .model file,
        # so absolute temp paths would make the output differ between runs
        os.chdir(tmp)
        try:
            with open("corpus.txt", "w", encoding="utf-8") as f:
                for line in XLMR_TRAINING:
                    f.write(line + "\n")
            spm.SentencePieceTrainer.train(
                input="corpus.txt", model_prefix="sp", model_type="bpe", vocab_size=vocab_size,
                character_coverage=1.0, normalization_rule_name=SPM_NORMALIZATION, num_threads=1,
                unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
            shutil.copyfile("sp.model", out_path)
        finally:
            os.chdir(cwd)
    return spm.SentencePieceProcessor(model_file=out_path)


def xlmr_encode(text, sp):
    ids = [0]
    for i in sp.encode(text, out_type=int):
        ids.append(3 if i == sp.unk_id() else i + 1)  # fairseq offset, spm unk -> <unk>=3
    ids.append(2)
    return ids


# ======================================================================================
# Checkpoints
# ======================================================================================

def bert_config(vocab_size, architectures, **extra):
    cfg = {
        "architectures": architectures,
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 64,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    cfg.update(extra)
    return cfg


def roberta_config(model_type, vocab_size, architectures, **extra):
    cfg = {
        "architectures": architectures,
        "model_type": model_type,
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 66,
        "type_vocab_size": 1,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-5,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    cfg.update(extra)
    return cfg


def distilbert_config(vocab_size):
    return {
        "architectures": ["DistilBertModel"],
        "model_type": "distilbert",
        "vocab_size": vocab_size,
        "dim": HIDDEN,
        "n_layers": LAYERS,
        "n_heads": HEADS,
        "hidden_dim": INTERMEDIATE,
        "activation": "gelu",
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "max_position_embeddings": 64,
        "sinusoidal_pos_embds": False,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "tie_weights_": True,
        "torch_dtype": "float32",
    }


def write_bert_tokenizer(d):
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        for t in BERT_VOCAB:
            f.write(t + "\n")
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]",
        "model_max_length": 64,
    })


def run_model(model, batch):
    model.eval()
    with torch.inference_mode():
        ids = torch.tensor(batch["input_ids"], dtype=torch.long)
        mask = torch.tensor(batch["attention_mask"], dtype=torch.long)
        tt = torch.tensor(batch["token_type_ids"], dtype=torch.long) if batch.get("token_type_ids") else None
        return model(ids, mask, tt)


def hidden_and_pooled(model, batch):
    """(last_hidden_state, pooler_output|None, extra dict) for any of the reference classes."""
    out = run_model(model, batch)
    if isinstance(model, ref.BertForSequenceClassification):
        logits, hidden, pooled = out
        return hidden, pooled, {"logits": logits}
    if isinstance(model, ref.XLMRobertaForMaskedLM):
        _, hidden = out
        return hidden, None, {}
    hidden, pooled = out
    return hidden, pooled, {}


def write_reference(d, texts, batch, expected_ids, model, text_pairs=None):
    hidden, pooled, extra = hidden_and_pooled(model, batch)
    obj = {"texts": texts}
    if text_pairs is not None:
        obj["text_pairs"] = text_pairs
    obj["expected_ids"] = expected_ids
    obj["input_ids"] = batch["input_ids"]
    obj["attention_mask"] = batch["attention_mask"]
    if batch.get("token_type_ids") is not None:
        obj["token_type_ids"] = batch["token_type_ids"]
    obj["last_hidden_state"] = r7(hidden.tolist())
    obj["pooler_output"] = r7(pooled.tolist()) if pooled is not None else None
    for k, v in extra.items():
        obj[k] = r7(v.tolist())
    write_compact_json(os.path.join(d, "reference.json"), obj)
    return hidden, pooled, extra


SELF_CHECKS = []


def self_check(d, model_factory, batch, hidden, pooled, extra):
    """Reload the written safetensors with our own reader into a fresh model (strict) and rerun."""
    sd = ref.load_checkpoint_dir(d)
    fresh = model_factory()
    fresh.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=True)
    h2, p2, e2 = hidden_and_pooled(fresh, batch)
    diffs = [(h2 - hidden).abs().max().item()]
    if pooled is not None:
        diffs.append((p2 - pooled).abs().max().item())
    for k in extra:
        diffs.append((e2[k] - extra[k]).abs().max().item())
    worst = max(diffs)
    assert worst < 1e-6, f"{d}: reload self-check failed, max abs diff {worst}"
    # the rounded JSON values must stay within the 7-significant-digit rounding error
    with open(os.path.join(d, "reference.json"), encoding="utf-8") as f:
        j = json.load(f)
    jd = (torch.tensor(j["last_hidden_state"]) - hidden).abs().max().item()
    assert jd < 1e-5, f"{d}: json rounding too coarse ({jd})"
    SELF_CHECKS.append((os.path.basename(d), worst, jd))


def make_bert_batch():
    vocab = {t: i for i, t in enumerate(BERT_VOCAB)}
    assert len(vocab) == len(BERT_VOCAB), "duplicate vocab entries"
    rows, types = [], []
    for t, p in zip(BERT_TEXTS, BERT_PAIRS):
        ids, tt = bert_encode(t, p, vocab)
        rows.append(ids)
        types.append(tt)
    ids, mask, tts = pad_batch(rows, vocab["[PAD]"], types)
    return rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": tts}


def make_tiny_bert():
    d = os.path.join(CKPT_ROOT, "tiny-bert")
    fresh_dir(d)
    cfg = bert_config(len(BERT_VOCAB), ["BertModel"])
    model = ref.BertModel(cfg)
    init_weights(model, seed=1001)
    write_json(os.path.join(d, "config.json"), cfg)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), state_dict_as(model, torch.float32))
    write_bert_tokenizer(d)
    rows, batch = make_bert_batch()
    out = write_reference(d, BERT_TEXTS, batch, rows, model, text_pairs=BERT_PAIRS)
    self_check(d, lambda: ref.BertModel(cfg), batch, *out)
    return model, cfg


def make_bert_seqcls_fp16_sharded():
    d = os.path.join(CKPT_ROOT, "tiny-bert-seqcls-fp16-sharded")
    fresh_dir(d)
    cfg = bert_config(len(BERT_VOCAB), ["BertForSequenceClassification"],
                      num_labels=2, id2label={"0": "NEGATIVE", "1": "POSITIVE"},
                      label2id={"NEGATIVE": 0, "POSITIVE": 1}, problem_type="single_label_classification",
                      torch_dtype="float16")
    model = ref.BertForSequenceClassification(cfg)
    init_weights(model, seed=1002)
    round_weights_(model, torch.float16)
    write_json(os.path.join(d, "config.json"), cfg)
    ref.save_sharded_safetensors(d, state_dict_as(model, torch.float16), num_shards=2)
    write_bert_tokenizer(d)
    rows, batch = make_bert_batch()
    out = write_reference(d, BERT_TEXTS, batch, rows, model, text_pairs=BERT_PAIRS)
    self_check(d, lambda: ref.BertForSequenceClassification(cfg), batch, *out)


def make_tiny_roberta():
    d = os.path.join(CKPT_ROOT, "tiny-roberta")
    fresh_dir(d)
    merges = train_byte_bpe(ROBERTA_TEXTS + ROBERTA_EXTRA_TRAINING, 60)
    b2u = bytes_to_unicode()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    write_json(os.path.join(d, "vocab.json"), vocab, indent=None)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    ranks = {m: i for i, m in enumerate(merges)}

    cfg = roberta_config("roberta", len(vocab), ["RobertaModel"])
    model = ref.RobertaModel(cfg)
    init_weights(model, seed=1003)
    write_json(os.path.join(d, "config.json"), cfg)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), state_dict_as(model, torch.float32))
    rows = [roberta_encode(t, vocab, ranks) for t in ROBERTA_TEXTS]
    ids, mask, _ = pad_batch(rows, vocab["<pad>"])
    batch = {"input_ids": ids, "attention_mask": mask}
    assert max(len(r) for r in rows) + 2 <= cfg["max_position_embeddings"]
    out = write_reference(d, ROBERTA_TEXTS, batch, rows, model)
    self_check(d, lambda: ref.RobertaModel(cfg), batch, *out)
    return len(merges)


def make_tiny_xlmr():
    d = os.path.join(CKPT_ROOT, "tiny-xlmr")
    fresh_dir(d)
    sp = train_sentencepiece(os.path.join(d, "sentencepiece.bpe.model"))
    spm_size = sp.get_piece_size()
    cfg = roberta_config("xlm-roberta", spm_size + 2, ["XLMRobertaForMaskedLM"], torch_dtype="bfloat16")
    model = ref.XLMRobertaForMaskedLM(cfg)
    init_weights(model, seed=1004)
    round_weights_(model, torch.bfloat16)
    write_json(os.path.join(d, "config.json"), cfg)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), state_dict_as(model, torch.bfloat16))
    rows = [xlmr_encode(t, sp) for t in XLMR_TEXTS]
    ids, mask, _ = pad_batch(rows, 1)
    batch = {"input_ids": ids, "attention_mask": mask}
    out = write_reference(d, XLMR_TEXTS, batch, rows, model)
    self_check(d, lambda: ref.XLMRobertaForMaskedLM(cfg), batch, *out)
    return spm_size


def make_tiny_distilbert():
    d = os.path.join(CKPT_ROOT, "tiny-distilbert")
    fresh_dir(d)
    cfg = distilbert_config(len(BERT_VOCAB))
    model = ref.DistilBertModel(cfg)
    init_weights(model, seed=1005)
    write_json(os.path.join(d, "config.json"), cfg)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), state_dict_as(model, torch.float32))
    write_bert_tokenizer(d)
    rows, batch = make_bert_batch()
    batch = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}  # no token types
    out = write_reference(d, BERT_TEXTS, batch, rows, model, text_pairs=BERT_PAIRS)
    self_check(d, lambda: ref.DistilBertModel(cfg), batch, *out)


# ======================================================================================
# Independent cross-check: torch.nn.TransformerEncoderLayer (post-LN, erf GELU) fed with the
# weights read back from the written files, compared with the written reference.json.
# ======================================================================================

INDEPENDENT_CHECKS = []


def independent_check(name, prefix, kind):
    import torch.nn.functional as F
    d = os.path.join(CKPT_ROOT, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "reference.json"), encoding="utf-8") as f:
        j = json.load(f)
    sd = {k: v.to(torch.float32) for k, v in ref.load_checkpoint_dir(d).items()}
    ids = torch.tensor(j["input_ids"])
    mask = torch.tensor(j["attention_mask"])
    p = prefix
    if kind == "distilbert":
        H, n_layers, heads, inter, eps = cfg["dim"], cfg["n_layers"], cfg["n_heads"], cfg["hidden_dim"], 1e-12
        pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        x = sd[p + "embeddings.word_embeddings.weight"][ids] + sd[p + "embeddings.position_embeddings.weight"][pos]
        t = p + "transformer.layer.{}."
        parts = dict(q="attention.q_lin", k="attention.k_lin", v="attention.v_lin", o="attention.out_lin",
                     n1="sa_layer_norm", l1="ffn.lin1", l2="ffn.lin2", n2="output_layer_norm")
    else:
        H, n_layers, heads = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
        inter, eps, pad = cfg["intermediate_size"], cfg["layer_norm_eps"], cfg["pad_token_id"]
        if kind == "roberta":  # pad + 1, pad + 2, ... for real tokens, pad for padding
            pos = torch.tensor([[pad + 1 + i if m else pad for i, m in enumerate(row)] for row in j["attention_mask"]])
        else:
            pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        tt = torch.tensor(j["token_type_ids"]) if "token_type_ids" in j else torch.zeros_like(ids)
        x = (sd[p + "embeddings.word_embeddings.weight"][ids] + sd[p + "embeddings.position_embeddings.weight"][pos]
             + sd[p + "embeddings.token_type_embeddings.weight"][tt])
        t = p + "encoder.layer.{}."
        parts = dict(q="attention.self.query", k="attention.self.key", v="attention.self.value",
                     o="attention.output.dense", n1="attention.output.LayerNorm", l1="intermediate.dense",
                     l2="output.dense", n2="output.LayerNorm")
    x = F.layer_norm(x, (H,), sd[p + "embeddings.LayerNorm.weight"], sd[p + "embeddings.LayerNorm.bias"], eps)
    with torch.no_grad():
        for i in range(n_layers):
            w = {k: t.format(i) + v for k, v in parts.items()}
            layer = nn.TransformerEncoderLayer(H, heads, inter, dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                               batch_first=True, norm_first=False).eval()
            layer.self_attn.in_proj_weight.copy_(torch.cat([sd[w[c] + ".weight"] for c in "qkv"]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([sd[w[c] + ".bias"] for c in "qkv"]))
            for mod, key in ((layer.self_attn.out_proj, "o"), (layer.linear1, "l1"), (layer.linear2, "l2"),
                             (layer.norm1, "n1"), (layer.norm2, "n2")):
                mod.weight.copy_(sd[w[key] + ".weight"])
                mod.bias.copy_(sd[w[key] + ".bias"])
            x = layer(x, src_key_padding_mask=(mask == 0))
        diffs = [(x - torch.tensor(j["last_hidden_state"])).abs()[mask.bool()].max().item()]
        if j["pooler_output"] is not None:
            pooled = torch.tanh(F.linear(x[:, 0], sd[p + "pooler.dense.weight"], sd[p + "pooler.dense.bias"]))
            diffs.append((pooled - torch.tensor(j["pooler_output"])).abs().max().item())
            if "logits" in j:
                logits = F.linear(pooled, sd["classifier.weight"], sd["classifier.bias"])
                diffs.append((logits - torch.tensor(j["logits"])).abs().max().item())
    worst = max(diffs)
    assert worst < 1e-5, f"{name}: independent torch.nn check differs by {worst}"
    INDEPENDENT_CHECKS.append((name, worst))


# ======================================================================================
# Broken fixtures
# ======================================================================================

def make_broken(bert_model, bert_cfg):
    fresh_dir(BROKEN_ROOT)
    src = os.path.join(CKPT_ROOT, "tiny-bert")
    sd = state_dict_as(bert_model, torch.float32)

    # truncated: a valid file cut in the middle of its data section
    data = open(os.path.join(src, "model.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    cut = 8 + n + (len(data) - 8 - n) // 2
    with open(os.path.join(BROKEN_ROOT, "truncated.safetensors"), "wb") as f:
        f.write(data[:cut])

    # bad header: header length larger than the whole file
    tmp = os.path.join(BROKEN_ROOT, "bad-header.safetensors")
    ref.save_safetensors(tmp, {"x": torch.arange(4, dtype=torch.float32)})
    raw = bytearray(open(tmp, "rb").read())
    raw[:8] = struct.pack("<Q", len(raw) + 1000)
    with open(tmp, "wb") as f:
        f.write(raw)

    def bert_dir(name, tensors, with_tokenizer=True):
        d = os.path.join(BROKEN_ROOT, name)
        os.makedirs(d)
        shutil.copyfile(os.path.join(src, "config.json"), os.path.join(d, "config.json"))
        if with_tokenizer:
            for fn in ("vocab.txt", "tokenizer_config.json"):
                shutil.copyfile(os.path.join(src, fn), os.path.join(d, fn))
        ref.save_safetensors(os.path.join(d, "model.safetensors"), tensors)

    torch.manual_seed(2001)
    bad = dict(sd)
    bad["encoder.layer.0.intermediate.dense.weight"] = torch.randn(48, HIDDEN) * LINEAR_STD
    bert_dir("shape-mismatch", bad)

    bert_dir("no-tokenizer", sd, with_tokenizer=False)

    missing = {k: v for k, v in sd.items() if k != "encoder.layer.1.output.dense.bias"}
    assert len(missing) == len(sd) - 1
    bert_dir("missing-key", missing)

    extra = dict(sd)
    extra["encoder.layer.0.attention.self.extra.weight"] = torch.randn(HIDDEN, HIDDEN) * LINEAR_STD
    bert_dir("unexpected-key", extra)

    # sanity: our reader rejects the first two, and strict loading rejects the key fixtures
    for fn in ("truncated.safetensors", "bad-header.safetensors"):
        try:
            ref.load_safetensors(os.path.join(BROKEN_ROOT, fn))
        except ValueError:
            pass
        else:
            raise AssertionError(f"{fn} unexpectedly loads")
    for name in ("shape-mismatch", "missing-key", "unexpected-key"):
        try:
            ref.BertModel(bert_cfg).load_state_dict(ref.load_checkpoint_dir(os.path.join(BROKEN_ROOT, name)), strict=True)
        except RuntimeError:
            pass
        else:
            raise AssertionError(f"{name} unexpectedly loads strictly")


def main():
    torch.set_num_threads(1)  # reproducible reductions
    os.makedirs(CKPT_ROOT, exist_ok=True)
    bert_model, bert_cfg = make_tiny_bert()
    make_bert_seqcls_fp16_sharded()
    n_merges = make_tiny_roberta()
    spm_size = make_tiny_xlmr()
    make_tiny_distilbert()
    make_broken(bert_model, bert_cfg)
    independent_check("tiny-bert", "", "bert")
    independent_check("tiny-bert-seqcls-fp16-sharded", "bert.", "bert")
    independent_check("tiny-roberta", "", "roberta")
    independent_check("tiny-xlmr", "roberta.", "roberta")
    independent_check("tiny-distilbert", "", "distilbert")

    print(f"torch {torch.__version__}; roberta merges: {n_merges}; spm pieces: {spm_size}")
    for name, diff, jd in SELF_CHECKS:
        print(f"self-check {name:32s} reload max|diff| = {diff:.3g}   json rounding max|diff| = {jd:.3g}")
    for name, diff in INDEPENDENT_CHECKS:
        print(f"torch.nn.TransformerEncoderLayer check {name:32s} max|diff| = {diff:.3g}")
    for root in (CKPT_ROOT, BROKEN_ROOT):
        for dirpath, _, files in sorted(os.walk(root)):
            for fn in sorted(files):
                p = os.path.join(dirpath, fn)
                print(f"{os.path.getsize(p):9d}  {os.path.relpath(p, REPO)}")


if __name__ == "__main__":
    main()
