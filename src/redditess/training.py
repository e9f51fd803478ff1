"""What every training stage shares: trainer arguments built from params (seeded, no hub, no
checkpoints but the final model), precision chosen on purpose, LoRA through peft, model loading and
saving, and the checks that stop a stage with one line before any weights are loaded."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path

import torch

from redditess.config import TrainingConfig
from redditess.runtime import InputError, scratch_dir

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


LOG_EVERY = 0.02


def common_args(seed: int, *, epochs: float | None, batch_size: int, learning_rate: float) -> dict:
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
        # A ratio of the run's steps (transformers' and trl's reading of a value below 1): about 50
        # points per training curve at any size, every step when a run has fewer than 50. A fixed 10
        # left the real profile's reward-model and DPO curves empty (53 pairs: 7 steps).
        logging_steps=LOG_EVERY,
        logging_first_step=True,
        bf16=False,  # trl configs default to bf16=True; precision comes from training.dtype only
        fp16=False,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


# --------------------------------------------------------------------------- checks before loading
def precision_problem(dtype: str, *, cuda: bool, bf16_supported: bool) -> str | None:
    """Why ``training.dtype`` cannot run on this device (None when it can)."""
    if dtype == "fp16" and not cuda:
        return "training.dtype: fp16 mixed precision needs a CUDA GPU and none is visible; use bf16 or fp32"
    if dtype == "bf16" and cuda and not bf16_supported:
        return ("training.dtype: bf16 is not supported by this GPU (compute capability < 8.0); "
                "use fp16 or fp32")
    return None


def check_precision(training: TrainingConfig) -> None:
    cuda = torch.cuda.is_available()
    problem = precision_problem(training.dtype, cuda=cuda, bf16_supported=cuda and torch.cuda.is_bf16_supported())
    if problem:
        raise InputError(problem)
    if training.pure_low_precision and training.dtype == "fp32":
        raise InputError("training.pure_low_precision: needs training.dtype bf16 or fp16 (it is fp32)")
    quant = training.lora.quantize
    if quant != "none":
        if not training.lora.enabled:
            raise InputError(f"training.lora.quantize: {quant} (QLoRA) needs training.lora.enabled: true")
        if not cuda:
            raise InputError(f"training.lora.quantize: {quant} needs a CUDA GPU (bitsandbytes) and none is visible")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise InputError(f"training.lora.quantize: {quant} needs bitsandbytes (pip install bitsandbytes)") from None


def check_lora_targets(model_path: str | Path, training: TrainingConfig, *, revision: str | None = None) -> None:
    """Every ``training.lora.target_modules`` name exists in the model, checked on an empty (meta)
    copy built from its config, so nothing is loaded."""
    lora = training.lora
    if not lora.enabled or lora.target_modules == ["all-linear"]:
        return
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(str(model_path), revision=revision)
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()} | {n for n, _ in model.named_modules()}
    missing = [t for t in lora.target_modules if t not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise InputError(f"training.lora.target_modules: {missing[0]!r} is not a module of {model_path} "
                         f"({config.model_type}; its linear layers: {', '.join(linear)})")


# --------------------------------------------------------------------------- trainer arguments
def check_trainer_args(config_cls, extra: dict, param: str) -> None:
    """Every name in ``<stage>.trainer_args`` is a field of the trl config (checked before loading)."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    for key in extra:
        if key not in fields:
            raise InputError(f"params.yaml: {param}.{key} is not a field of trl's {config_cls.__name__}")


def trainer_config(config_cls, seed: int, training: TrainingConfig, extra: dict, param: str, *, epochs: float | None,
                   batch_size: int, learning_rate: float, **fixed):
    """A trl config: the shared defaults, ``training``'s knobs and precision, the stage's own
    settings, then ``<stage>.trainer_args`` (each name checked against ``config_cls``'s fields)."""
    check_trainer_args(config_cls, extra, param)
    args = common_args(seed, epochs=epochs or 0, batch_size=batch_size, learning_rate=learning_rate)
    if epochs is None:  # PPO counts episodes, not epochs
        args.pop("num_train_epochs")
    args.update(
        bf16=training.dtype == "bf16", fp16=training.dtype == "fp16",
        gradient_checkpointing=training.gradient_checkpointing,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        warmup_steps=training.warmup_steps if training.warmup_steps < 1 else int(training.warmup_steps),
        weight_decay=training.weight_decay, max_grad_norm=training.max_grad_norm,
    )
    if training.gradient_checkpointing:
        args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    args.update(fixed)
    args.update(extra)
    return config_cls(**args)


# --------------------------------------------------------------------------- models
def load_dtype(training: TrainingConfig) -> torch.dtype:
    """fp32 master weights unless pure low precision was asked for (and then it is logged)."""
    if training.pure_low_precision:
        log.warning("training.pure_low_precision: weights and optimiser state are kept in %s; updates below its "
                    "resolution are lost", training.dtype)
        return DTYPES[training.dtype]
    return torch.float32


def _quantization(training: TrainingConfig):
    if training.lora.quantize == "none":
        return None
    from transformers import BitsAndBytesConfig

    compute = DTYPES["bf16" if training.dtype == "fp32" else training.dtype]
    if training.lora.quantize == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute,
                                  bnb_4bit_use_double_quant=True)
    return BitsAndBytesConfig(load_in_8bit=True)


def load_model(path: str | Path, training: TrainingConfig, *, kind: str = "causal", revision: str | None = None):
    """A causal LM (``kind="causal"``) or one-output sequence classifier (``kind="reward"``) in the
    training dtype (fp32 master weights by default), quantized for QLoRA when asked."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kwargs = dict(dtype=load_dtype(training), revision=revision)
    quant = _quantization(training)
    if quant is not None:
        kwargs["quantization_config"] = quant
    if kind == "reward":
        model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    if quant is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=training.gradient_checkpointing)
    return model


def lora_config(training: TrainingConfig, task_type: str = "CAUSAL_LM"):
    """The peft LoraConfig for ``training.lora`` (None when LoRA is off)."""
    lora = training.lora
    if not lora.enabled:
        return None
    from peft import LoraConfig

    targets = "all-linear" if lora.target_modules == ["all-linear"] else list(lora.target_modules)
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets,
                      task_type=task_type)


def with_lora(model, training: TrainingConfig, task_type: str = "CAUSAL_LM"):
    """``model`` with fresh LoRA adapters (for models a trainer does not wrap itself)."""
    config = lora_config(training, task_type)
    if config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, config)


def save_model(model, tokenizer, path: str | Path) -> None:
    """Adapters merged into the weights, so the folder loads with plain ``from_pretrained``."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))


def save_trained(model, tokenizer, path: str | Path) -> int:
    """Save from every process: ZeRO-3 shards are gathered first (a collective every process must
    enter), then the main process writes ``path`` atomically. Returns the parameter count."""
    import contextlib

    from redditess.io import atomic_path

    params = list(model.parameters())
    gather = contextlib.nullcontext()
    if any(hasattr(p, "ds_id") for p in params):  # DeepSpeed ZeRO-3 partitioned parameters
        import deepspeed

        gather = deepspeed.zero.GatheredParameters(params, modifier_rank=None)
    with gather:
        count = sum(p.numel() for p in model.parameters())
        if is_main_process():
            with atomic_path(path) as tmp:
                save_model(model, tokenizer, tmp)
    return count


def pretokenized_dpo_trainer():
    """trl's DPOTrainer taking rows already tokenized by the one prompt path (``prompt_ids``,
    ``chosen_ids``, ``rejected_ids``); trl would otherwise re-tokenize text its own way (its BOS,
    prompt and response tokenized jointly)."""
    from trl import DPOTrainer

    class PretokenizedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            if args.max_length is not None and args.truncation_mode == "keep_start":  # as trl: nothing to learn
                dataset = dataset.filter(lambda r: len(r["prompt_ids"]) < args.max_length)
            return dataset

    return PretokenizedDPOTrainer


def is_main_process() -> bool:
    """Only the main process writes outputs when accelerate launched several."""
    from accelerate import PartialState

    return PartialState().is_main_process


def log_history_rows(history: list[dict], keys: list[str], step_key: str = "step") -> list[dict]:
    """Training-log rows that carry every key in ``keys`` (for DVC plots); none is an error: the
    run took no step, or logged nothing a chart could draw."""
    rows = [
        {step_key: row[step_key], **{k: float(row[k]) for k in keys}}
        for row in history
        if step_key in row and all(k in row for k in keys)
    ]
    if not rows:
        raise InputError(f"training logged no {'/'.join(keys)} (log entries: {len(history)}): the run took no "
                         f"optimiser step, so its curve and model are empty (more data or a smaller batch_size)")
    return rows
