"""Hand-written reference implementations of Hugging Face encoder architectures.

Plain torch (tested with torch 1.13 CPU); no transformers / safetensors packages needed.
The state_dict keys of every module here are exactly those of the corresponding
Hugging Face class, so `load_state_dict(strict=True)` works on real HF checkpoints:

  BertModel                        (modeling_bert.py, eager attention)
  RobertaModel / XLMRobertaModel   (modeling_roberta.py / modeling_xlm_roberta.py)
  DistilBertModel                  (modeling_distilbert.py, sinusoidal_pos_embds=False)
  BertForSequenceClassification    (prefix `bert.` + `classifier.*`)
  XLMRobertaForMaskedLM            (prefix `roberta.`, no pooler, `lm_head.*`, decoder tied)

Also a minimal safetensors writer/reader (single file and sharded with
model.safetensors.index.json).

All modules are meant to be used in eval() mode (dropout is not implemented).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "BertModel", "RobertaModel", "XLMRobertaModel", "DistilBertModel",
    "BertForSequenceClassification", "XLMRobertaForMaskedLM",
    "save_safetensors", "save_sharded_safetensors", "load_safetensors",
    "load_safetensors_header", "load_checkpoint_dir", "get_activation",
]


# --------------------------------------------------------------------------------------
# Activations (HF ACT2FN names)
# --------------------------------------------------------------------------------------

def _gelu_erf(x):
    # HF "gelu" -> GELUActivation -> nn.functional.gelu (exact, erf based)
    return F.gelu(x)


def _gelu_tanh(x):
    # HF "gelu_new" (NewGELUActivation) and "gelu_pytorch_tanh" (tanh approximation).
    # Written out explicitly so it also exports to ONNX with any opset.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


_ACTIVATIONS = {
    "gelu": _gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_tanh,  # numerically the same tanh approximation (written differently in HF)
    "relu": F.relu,
}


def get_activation(name):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unsupported activation {name!r}; known: {sorted(_ACTIVATIONS)}")


def _extended_attention_mask(attention_mask, dtype):
    """[B, L] 1/0 mask -> additive [B, 1, 1, L] mask (0 keep, finfo.min masked), as HF eager."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def _cfg(config, key, default=None):
    if isinstance(config, dict):
        return config.get(key, default)
    return getattr(config, key, default)


# --------------------------------------------------------------------------------------
# BERT / RoBERTa
# --------------------------------------------------------------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, config, roberta_positions=False):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.pad_token_id = _cfg(config, "pad_token_id", 0)
        self.roberta_positions = roberta_positions
        self.word_embeddings = nn.Embedding(_cfg(config, "vocab_size"), hidden, padding_idx=self.pad_token_id)
        self.position_embeddings = nn.Embedding(
            _cfg(config, "max_position_embeddings"), hidden,
            padding_idx=self.pad_token_id if roberta_positions else None)
        self.token_type_embeddings = nn.Embedding(_cfg(config, "type_vocab_size", 2), hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=_cfg(config, "layer_norm_eps", 1e-12))

    def position_ids(self, input_ids):
        if self.roberta_positions:
            # HF create_position_ids_from_input_ids (past_key_values_length = 0)
            mask = input_ids.ne(self.pad_token_id).int()
            incremental = torch.cumsum(mask, dim=1).type_as(mask) * mask
            return incremental.long() + self.pad_token_id
        seq_len = input_ids.size(1)
        return torch.arange(seq_len, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand_as(input_ids)

    def forward(self, input_ids, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        emb = (self.word_embeddings(input_ids)
               + self.token_type_embeddings(token_type_ids)
               + self.position_embeddings(self.position_ids(input_ids)))
        return self.LayerNorm(emb)


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.num_heads = _cfg(config, "num_attention_heads")
        if hidden % self.num_heads != 0:
            raise ValueError(f"hidden_size {hidden} not divisible by num_attention_heads {self.num_heads}")
        self.head_dim = hidden // self.num_heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def _split(self, x):
        b, l, _ = x.shape
        return x.view(b, l, self.num_heads, self.head_dim).transpose(1, 2)  # [B, heads, L, d]

    def forward(self, hidden_states, additive_mask):
        q = self._split(self.query(hidden_states))
        k = self._split(self.key(hidden_states))
        v = self._split(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        if additive_mask is not None:
            scores = scores + additive_mask
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v)  # [B, heads, L, d]
        b, _, l, _ = ctx.shape
        return ctx.transpose(1, 2).contiguous().view(b, l, self.num_heads * self.head_dim)


class BertSelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=_cfg(config, "layer_norm_eps", 1e-12))

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, additive_mask):
        return self.output(self.self(hidden_states, additive_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(_cfg(config, "hidden_size"), _cfg(config, "intermediate_size"))
        self.act = get_activation(_cfg(config, "hidden_act", "gelu"))

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.dense = nn.Linear(_cfg(config, "intermediate_size"), hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=_cfg(config, "layer_norm_eps", 1e-12))

    def forward(self, hidden_states, input_tensor):
        return self.LayerNorm(self.dense(hidden_states) + input_tensor)


class BertLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, additive_mask):
        attn = self.attention(hidden_states, additive_mask)
        return self.output(self.intermediate(attn), attn)


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(_cfg(config, "num_hidden_layers"))])

    def forward(self, hidden_states, additive_mask):
        for layer in self.layer:
            hidden_states = layer(hidden_states, additive_mask)
        return hidden_states


class BertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, hidden_states):
        return torch.tanh(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    """HF BertModel. forward returns (last_hidden_state, pooler_output or None)."""

    _roberta_positions = False

    def __init__(self, config, add_pooling_layer=True):
        super().__init__()
        self.config = dict(config) if isinstance(config, dict) else config
        self.embeddings = BertEmbeddings(config, roberta_positions=self._roberta_positions)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.embeddings(input_ids, token_type_ids)
        hidden = self.encoder(hidden, _extended_attention_mask(attention_mask, hidden.dtype))
        pooled = self.pooler(hidden) if self.pooler is not None else None
        return hidden, pooled


class RobertaModel(BertModel):
    """HF RobertaModel: BERT with padding-aware position ids starting at pad_token_id + 1."""

    _roberta_positions = True


class XLMRobertaModel(RobertaModel):
    """HF XLMRobertaModel is architecturally identical to RobertaModel."""


class BertForSequenceClassification(nn.Module):
    """Keys: bert.* + classifier.{weight,bias}. forward -> (logits, last_hidden_state, pooler_output)."""

    def __init__(self, config):
        super().__init__()
        self.bert = BertModel(config, add_pooling_layer=True)
        num_labels = _cfg(config, "num_labels", None)
        if num_labels is None:
            id2label = _cfg(config, "id2label", None)
            num_labels = len(id2label) if id2label else 2
        self.classifier = nn.Linear(_cfg(config, "hidden_size"), num_labels)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        hidden, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(pooled), hidden, pooled


class RobertaLMHead(nn.Module):
    """HF RobertaLMHead / XLMRobertaLMHead. The decoder weight is tied to the word embeddings
    and decoder.bias is tied to `bias`, so only dense.*, layer_norm.* and bias are stored."""

    def __init__(self, config):
        super().__init__()
        hidden = _cfg(config, "hidden_size")
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=_cfg(config, "layer_norm_eps", 1e-5))
        self.bias = nn.Parameter(torch.zeros(_cfg(config, "vocab_size")))

    def forward(self, features, decoder_weight):
        x = self.layer_norm(F.gelu(self.dense(features)))
        return F.linear(x, decoder_weight, self.bias)


class XLMRobertaForMaskedLM(nn.Module):
    """Keys: roberta.* (no pooler) + lm_head.{dense,layer_norm}.* + lm_head.bias.
    forward -> (mlm_logits, last_hidden_state)."""

    def __init__(self, config):
        super().__init__()
        self.roberta = XLMRobertaModel(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        hidden, _ = self.roberta(input_ids, attention_mask, token_type_ids)
        return self.lm_head(hidden, self.roberta.embeddings.word_embeddings.weight), hidden


# --------------------------------------------------------------------------------------
# DistilBERT
# --------------------------------------------------------------------------------------

class DistilEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        dim = _cfg(config, "dim")
        if _cfg(config, "sinusoidal_pos_embds", False):
            raise NotImplementedError("sinusoidal_pos_embds=True is not implemented")
        self.word_embeddings = nn.Embedding(_cfg(config, "vocab_size"), dim, padding_idx=_cfg(config, "pad_token_id", 0))
        self.position_embeddings = nn.Embedding(_cfg(config, "max_position_embeddings"), dim)
        self.LayerNorm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, input_ids):
        seq_len = input_ids.size(1)
        pos = torch.arange(seq_len, dtype=torch.long, device=input_ids.device).unsqueeze(0).expand_as(input_ids)
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(pos))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        dim = _cfg(config, "dim")
        self.n_heads = _cfg(config, "n_heads")
        if dim % self.n_heads != 0:
            raise ValueError(f"dim {dim} not divisible by n_heads {self.n_heads}")
        self.dim_per_head = dim // self.n_heads
        self.q_lin = nn.Linear(dim, dim)
        self.k_lin = nn.Linear(dim, dim)
        self.v_lin = nn.Linear(dim, dim)
        self.out_lin = nn.Linear(dim, dim)

    def forward(self, x, attention_mask):
        b, l, dim = x.shape

        def shape(t):
            return t.view(b, l, self.n_heads, self.dim_per_head).transpose(1, 2)

        q = shape(self.q_lin(x)) / math.sqrt(self.dim_per_head)  # HF scales q before the matmul
        k = shape(self.k_lin(x))
        v = shape(self.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))  # [B, heads, L, L]
        masked = (attention_mask == 0).view(b, 1, 1, l).expand_as(scores)
        scores = scores.masked_fill(masked, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(weights, v).transpose(1, 2).contiguous().view(b, l, dim)
        return self.out_lin(ctx)


class FFN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.lin1 = nn.Linear(_cfg(config, "dim"), _cfg(config, "hidden_dim"))
        self.lin2 = nn.Linear(_cfg(config, "hidden_dim"), _cfg(config, "dim"))
        self.act = get_activation(_cfg(config, "activation", "gelu"))

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, config):
        super().__init__()
        dim = _cfg(config, "dim")
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x, attention_mask):
        sa = self.sa_layer_norm(self.attention(x, attention_mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class DistilTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(config) for _ in range(_cfg(config, "n_layers"))])

    def forward(self, x, attention_mask):
        for layer in self.layer:
            x = layer(x, attention_mask)
        return x


class DistilBertModel(nn.Module):
    """HF DistilBertModel. forward returns (last_hidden_state, None) (no pooler)."""

    def __init__(self, config):
        super().__init__()
        self.config = dict(config) if isinstance(config, dict) else config
        self.embeddings = DistilEmbeddings(config)
        self.transformer = DistilTransformer(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self.transformer(self.embeddings(input_ids), attention_mask), None


MODEL_CLASSES = {
    "bert": BertModel,
    "roberta": RobertaModel,
    "xlm-roberta": XLMRobertaModel,
    "distilbert": DistilBertModel,
}


# --------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------

_DTYPE_TO_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.int64: "I64", torch.int32: "I32"}
_ST_ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}


def _tensor_bytes(t):
    if sys.byteorder != "little":
        raise RuntimeError("this writer assumes a little-endian host")
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit patterns as int16
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(path, tensors, metadata=None):
    """Write `tensors` (ordered dict name -> tensor) to a .safetensors file.

    Layout: u64 LE header length N, N bytes of JSON header (space padded to a multiple
    of 8), then the raw little-endian tensor bytes in the header's order."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _DTYPE_TO_ST:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        b = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPE_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    meta = {"format": "pt"}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    header = {"__metadata__": meta, **header}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    return offset


def save_sharded_safetensors(directory, tensors, num_shards=2, metadata=None,
                             index_name="model.safetensors.index.json"):
    """Split `tensors` (in order) into `num_shards` files of roughly equal byte size named
    model-0000i-of-0000n.safetensors, plus the HF index json. Returns the shard file names."""
    names = list(tensors)
    sizes = [tensors[n].numel() * tensors[n].element_size() for n in names]
    total = sum(sizes)
    target = total / num_shards
    groups = [[] for _ in range(num_shards)]
    acc, gi = 0, 0
    for n, s in zip(names, sizes):
        # advance to the next shard once this one reached its share (keep at least one key each)
        if gi < num_shards - 1 and groups[gi] and acc + s / 2 > target * (gi + 1):
            gi += 1
        groups[gi].append(n)
        acc += s
    if any(not g for g in groups):
        raise ValueError("too few tensors for the requested number of shards")
    files = []
    weight_map = {}
    for i, g in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{num_shards:05d}.safetensors"
        save_safetensors(os.path.join(directory, fname), {n: tensors[n] for n in g}, metadata)
        files.append(fname)
        for n in g:
            weight_map[n] = fname
    with open(os.path.join(directory, index_name), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")
    return files


_ST_NUMPY = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors_header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: file too short")
        (n,) = struct.unpack("<Q", raw)
        size = os.path.getsize(path)
        if n > size - 8:
            raise ValueError(f"{path}: header length {n} exceeds file size {size}")
        return n, json.loads(f.read(n).decode("utf-8"))


def load_safetensors(path):
    """Read a .safetensors file into an ordered dict name -> tensor (stored dtype)."""
    n, header = load_safetensors_header(path)
    with open(path, "rb") as f:
        f.seek(8 + n)
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if e > len(data) or b > e:
            raise ValueError(f"{path}: {name} data_offsets {b}..{e} out of range ({len(data)} data bytes)")
        shape = info["shape"]
        dt = info["dtype"]
        count = int(np.prod(shape)) if shape else 1
        if count * _ST_ITEMSIZE[dt] != e - b:
            raise ValueError(f"{path}: {name} byte size mismatch")
        chunk = data[b:e]
        if dt == "BF16":
            arr = np.frombuffer(chunk, dtype="<i2").copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        else:
            arr = np.frombuffer(chunk, dtype=np.dtype(_ST_NUMPY[dt]).newbyteorder("<")).copy()
            t = torch.from_numpy(arr)
        out[name] = t.reshape(shape)
    return out


def load_checkpoint_dir(directory):
    """Load model.safetensors or the sharded model.safetensors.index.json of a HF folder."""
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return load_safetensors(single)
    index = os.path.join(directory, "model.safetensors.index.json")
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    out = {}
    for fname in sorted(set(weight_map.values())):
        out.update(load_safetensors(os.path.join(directory, fname)))
    return {k: out[k] for k in weight_map}
