"""Unigram SentencePiece fixture: real XLM-R's sentencepiece.bpe.model is a Unigram model despite its name.

Writes tests/fixtures/tokenizers/xlmr-unigram/{sentencepiece.bpe.model, expected.json}: a tiny Unigram model trained
with the sentencepiece package on make_fixtures.py's multilingual corpus, and the fairseq-offset ids that
sentencepiece itself gives for some texts (the authoritative tokenizer). Run: /usr/bin/python3 tests/reference/make_unigram_fixture.py
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import make_fixtures as mf  # noqa: E402
import sentencepiece as spm  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tokenizers", "xlmr-unigram")
TEXTS = [
    "Héllo World!",
    "Привет, мир! Добрый день.",
    "你好世界。今天天气很好。",
    "Transformers run in TorchSharp without Python, 42 times.",
    "  leading and   inner spaces ",
    "",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    model_path = os.path.abspath(os.path.join(OUT, "sentencepiece.bpe.model"))
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with open("corpus.txt", "w", encoding="utf-8") as f:
                for line in mf.XLMR_TRAINING:
                    f.write(line + "\n")
            spm.SentencePieceTrainer.train(
                input="corpus.txt", model_prefix="sp", model_type="unigram", vocab_size=120,
                character_coverage=1.0, normalization_rule_name="nmt_nfkc", num_threads=1,
                unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
            shutil.copyfile("sp.model", model_path)
        finally:
            os.chdir(cwd)
    sp = spm.SentencePieceProcessor(model_file=model_path)
    expected = {"texts": TEXTS, "expected_ids": [mf.xlmr_encode(t, sp) for t in TEXTS],
                "pieces": [sp.encode(t, out_type=str) for t in TEXTS], "spm_size": sp.get_piece_size()}
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
