"""Launch a training stage with ``accelerate launch`` and the config named by
``training.accelerate_config``, after the checks that need no model:

    python -m redditess.launch stages/sft.py 0      # what dvc.yaml runs (sft@0: replicate 0)

The config is parsed by accelerate's own parser; a config asking for more GPUs than this machine
has, a missing launcher dependency (DeepSpeed) or a precision the device cannot run stops here with
one line naming the param. A failed stage has already printed its own one-line error, so only its
exit status is passed on (no launcher traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

from redditess.config import TrainingConfig, load_params
from redditess.runtime import InputError, stage


def load_accelerate_config(path: str | Path):
    """The config as accelerate reads it (``ClusterConfig``); a bad file is one line naming it."""
    from accelerate.commands.config.config_args import load_config_from_file

    if not Path(path).is_file():
        raise InputError(f"training.accelerate_config: {path} not found (configs are in accelerate_configs/)")
    try:
        return load_config_from_file(str(path))
    except Exception as exc:  # accelerate raises TypeError/ValueError/yaml errors for a bad file
        raise InputError(f"training.accelerate_config: {path} is not a valid accelerate config: {exc}") from None


def gpus_needed(config) -> int:
    """GPUs one machine must have for ``config`` (0 for CPU configs)."""
    if config.use_cpu:
        return 0
    per_machine = max(1, (config.num_processes or 1) // max(1, config.num_machines or 1))
    ids = str(config.gpu_ids) if config.gpu_ids not in (None, "all") else ""
    return max(per_machine, len([i for i in ids.split(",") if i.strip()]))


def check_accelerate_config(path: str | Path, gpus_here: int) -> object:
    config = load_accelerate_config(path)
    need = gpus_needed(config)
    if need > gpus_here:
        raise InputError(f"training.accelerate_config: {path} asks for {need} GPU(s) on this machine, which has "
                         f"{gpus_here}; pick another config in accelerate_configs/ or edit its num_processes")
    if str(config.distributed_type).endswith("DEEPSPEED"):
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            raise InputError(f"training.accelerate_config: {path} uses DeepSpeed, which is not installed "
                             f"(pip install deepspeed)") from None
    return config


def launch(script: str, training: TrainingConfig, seed: int = 0, script_args: list[str] | None = None) -> int:
    import os

    import torch
    from accelerate.commands.launch import launch_command, launch_command_parser

    from redditess.training import check_precision

    check_precision(training)
    check_accelerate_config(training.accelerate_config, torch.cuda.device_count())
    # Set before the stage processes start, where they can take effect (not from inside a process).
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    args = launch_command_parser().parse_args(["--config_file", training.accelerate_config, script, *(script_args or [])])
    try:
        launch_command(args)
    except Exception as exc:  # the stage's own error line is already on stderr
        return getattr(exc, "returncode", None) or 1
    return 0


@stage
def main() -> None:
    if len(sys.argv) not in (2, 3) or not sys.argv[1].endswith(".py"):
        raise InputError("usage: python -m redditess.launch stages/<stage>.py [REPLICATE]")
    params = load_params()
    from redditess.replicates import replicate_from_argv

    replicate_from_argv(params.seeds, sys.argv[2:])  # a replicate not in seeds stops here, in one line
    code = launch(sys.argv[1], params.training, params.seed, sys.argv[2:])
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
