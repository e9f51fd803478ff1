"""Settings every trainer shares: seeded, CPU-or-GPU as available, no hub, no checkpoints on disk
other than the final model (DVC versions that), progress bars on."""

from __future__ import annotations

import tempfile

import torch

from redditess.runtime import scratch_dir


def common_args(seed: int, *, epochs: float, batch_size: int, learning_rate: float) -> dict:
    """Keyword arguments for any ``transformers.TrainingArguments`` subclass (trl configs too)."""
    return dict(
        output_dir=tempfile.mkdtemp(prefix="train-", dir=scratch_dir()),  # inside the workspace, removed with it
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        seed=seed,
        data_seed=seed,
        save_strategy="no",
        report_to=[],
        logging_steps=10,
        bf16=False,  # fp32 keeps CPU runs bit-identical across reruns
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def log_history_rows(history: list[dict], keys: list[str], step_key: str = "step") -> list[dict]:
    """Training-log rows that carry every key in ``keys`` (for DVC plots)."""
    return [
        {step_key: row[step_key], **{k: float(row[k]) for k in keys}}
        for row in history
        if step_key in row and all(k in row for k in keys)
    ]
