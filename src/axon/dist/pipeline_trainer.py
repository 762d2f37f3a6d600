"""The Trainer of one process of a pipeline-parallel job (`distributed.strategy: pipeline`).

Checkpoints hold what a one-process run's hold: the full weights (every stage's, gathered
to rank 0) and the optimizer state in the one-process layout (groups as the whole model
makes them, indexed in its parameter order), so a pipeline checkpoint is read by
`axon eval`, `init_from` and a one-process `--resume`, and a pipeline run resumes from a
one-process checkpoint. Each stage's generator state is kept as well, so a resumed
pipeline draws the same dropout masks as an uninterrupted one; the state's own `rng` is the
last stage's, so a one-process run resumed from a pipeline checkpoint draws what the
pipeline would have when only the last stage draws random numbers (dropout in the head)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from axon.dist.group import collective, comm_device
from axon.dist.pipeline import SCHEDULES, Layout, PipelineRunner, PipelineTrainable, make_groups
from axon.dist.sharding import checked_weights
from axon.dist.stages import plan_stages, stage_module
from axon.dist.trainer import DistributedTrainer
from axon.errors import CheckpointError, ConfigError
from axon.train.checkpoint import MODEL_FILE, STATE_FILE, checkpoint_folder, read_checkpoint, snapshot, snapshot_weights
from axon.train.config import OptimizerConfig
from axon.train.optim import build_optimizer, param_groups
from axon.train.trainable import to_device
from axon.train.trainer import rng_state, set_rng_state


class PipelineTrainer(DistributedTrainer):
    """A Trainer for one process of a pipeline: give it the whole model (the same on every
    process, e.g. built with the same seed) and it keeps the stage this process runs.

    `stages` (S) and `data_parallel` (D) must multiply to the number of processes; each
    batch of `batch_size` samples per pipeline is split into `microbatches` (M) under the
    `pipeline_schedule` ("gpipe" or "1f1b", which needs M >= S). Cuts: `split_at` (layer names
    where stages 2..S start) or balanced by `balance` ("parameters" or "multiply_adds").
    The other arguments are the Trainer's; the whole batch is one optimizer step, so
    `grad_accum` stays 1 (M is the accumulation), with the fp32 precision, no compile,
    no gradient clipping, no channels_last and a first-order optimizer config."""

    def __init__(self, model: nn.Module, *, stages: int, microbatches: int = 4, pipeline_schedule: str = "gpipe",
                 split_at: Sequence[str] | None = None, balance: str = "parameters", data_parallel: int = 1,
                 timeout: float = 300.0, device: str = "auto", **kwargs):
        if not dist.is_initialized():
            raise RuntimeError("PipelineTrainer: join the process group first (axon.dist.group.join)")
        check_pipeline_options(dist.get_world_size(), stages, data_parallel, microbatches, pipeline_schedule, kwargs)
        layout = Layout(stages, data_parallel, dist.get_rank())
        plan = plan_stages(model, stages, split_at, balance)
        stage = stage_module(model, plan, layout.stage)
        super().__init__(stage, timeout=timeout, device=device, strategy="ddp", **kwargs)
        self.world_size = data_parallel  # the Trainer's data shares: one per pipeline
        self.layout, self.plan = layout, plan
        self.full_shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
        # the whole model's optimizer groups, by parameter name (a stage keeps every group)
        names = {id(p): name for name, p in model.named_parameters()}
        self.group_names = [[names[id(p)] for p in group["params"]]
                            for group in param_groups(model, self.optimizer_config)]
        self.group_options = [{k: v for k, v in group.items() if k != "params"}
                              for group in param_groups(model, self.optimizer_config)]
        with collective("the creation of the pipeline's process groups", timeout):
            self.groups = make_groups(layout, timeout)
        self.runner = PipelineRunner(self.model, layout, self.groups, self.device, microbatches, pipeline_schedule,
                                     self.loss_fn)

    @property
    def data_shard(self) -> tuple[int, int]:
        return self.layout.replica, self.layout.replicas

    def make_optimizer(self) -> torch.optim.Optimizer:
        mine = dict(self.model.named_parameters())
        groups = [{"params": [mine[n] for n in names if n in mine], **options}
                  for names, options in zip(self.group_names, self.group_options)]
        return build_optimizer(self.model, self.optimizer_config, groups)

    def make_trainable(self, loader: DataLoader) -> PipelineTrainable:
        return PipelineTrainable(self.runner, loader, self.device, self.timeout,
                                 partial(to_device, device=self.device))

    def evaluation_totals(self, loader: DataLoader) -> list[float]:
        was_training = self.model.training
        self.model.eval()
        totals = [0.0, 0.0, 0.0]
        try:
            with torch.no_grad(), collective(f"the pipeline evaluation of stage {self.layout.stage}", self.timeout):
                for batch in loader:
                    inputs, targets = to_device(batch, self.device)
                    sums = self.runner.run(inputs, targets, train=False)
                    totals = [a + b for a, b in zip(totals, sums)]
        finally:
            self.model.train(was_training)
        return totals

    def all_reduce_sums(self, values: list[float]) -> list[float]:
        """Every stage of a pipeline has its pipeline's sums: add up the pipelines'."""
        if self.layout.replicas == 1:
            return list(values)
        totals = torch.tensor(values, dtype=torch.float64, device=comm_device())
        with collective("the all-reduce of epoch metrics", self.timeout):
            dist.all_reduce(totals, group=self.groups.data)
        return totals.tolist()

    # ----- checkpoints: the whole model's weights and optimizer state, gathered to rank 0
    def _order(self, names: dict[str, nn.Parameter] | None = None) -> list[str]:
        """Parameter names in optimizer-index order: the whole model's, or this stage's."""
        return [n for group in self.group_names for n in group if names is None or n in names]

    def checkpoint_payload(self) -> tuple[dict, dict] | None:
        mine = None
        if self.layout.replica == 0:
            order = self._order(dict(self.model.named_parameters()))
            optimizer = self.optimizer.state_dict()
            named = {order[i]: value for i, value in optimizer["state"].items()}
            mine = (snapshot_weights(self.model), snapshot(named), snapshot(rng_state()))
        parts = [None] * dist.get_world_size() if self.is_main_process else None
        with collective("the gather of the stages for a checkpoint", self.timeout):
            dist.gather_object(mine, parts, dst=0)
        if not self.is_main_process:
            return None
        stages = [parts[rank] for rank in self.layout.pipeline_ranks(0)]
        weights = {name: t for part in stages for name, t in part[0].items()}
        index = {name: i for i, name in enumerate(self._order())}
        state = snapshot(self.state_dict())
        groups = state["optimizer"]["param_groups"]
        state["optimizer"] = {
            "state": {index[name]: value for part in stages for name, value in part[1].items()},
            "param_groups": [{**group, "params": [index[n] for n in names]}
                             for group, names in zip(groups, self.group_names)],
        }
        state["pipeline_rng"] = [part[2] for part in stages]
        state["rng"] = snapshot(stages[-1][2])  # a one-process resume continues the head's generator
        return weights, state

    def load_optimizer_state(self, state: dict) -> None:
        """Take this stage's part of a whole-model optimizer state (one-process layout)."""
        if len(state["param_groups"]) != len(self.group_names):
            raise CheckpointError(
                f"optimizer state: {len(state['param_groups'])} parameter groups, but this run's optimizer "
                f"has {len(self.group_names)} (the optimizer config differs from the checkpoint's)"
            )
        full = {name: i for i, name in enumerate(self._order())}
        order = self._order(dict(self.model.named_parameters()))
        mine = {name: i for i, name in enumerate(order)}
        local = {
            "state": {mine[n]: state["state"][full[n]] for n in order if full[n] in state["state"]},
            "param_groups": [{**group, "params": [mine[n] for n in names if n in mine]}
                             for group, names in zip(state["param_groups"], self.group_names)],
        }
        self.optimizer.load_state_dict(local)

    def load_state_dict(self, state: dict, source: str | Path = "trainer state") -> None:
        super().load_state_dict(state, source)
        if "pipeline_rng" in state and len(state["pipeline_rng"]) == self.layout.stages:
            set_rng_state(state["pipeline_rng"][self.layout.stage])

    def load_checkpoint(self, folder: str | Path) -> None:
        state = read_checkpoint(folder)  # checked before the model is touched
        self.load_weights(checkpoint_folder(folder) / MODEL_FILE)
        self.load_state_dict(state, checkpoint_folder(folder) / STATE_FILE)

    def load_weights(self, path: str | Path) -> None:
        """Every process reads the whole model's weights and keeps its stage's."""
        weights = checked_weights(path, self.full_shapes)
        self.model.load_state_dict({name: weights[name] for name in self.model.state_dict()})


def check_pipeline_options(world_size: int, stages: int, data_parallel: int, microbatches: int, schedule: str,
                           trainer_options: dict) -> None:
    """ConfigError naming the setting a pipeline cannot run with."""
    if stages < 2:
        raise ConfigError(f"distributed.stages: expected at least 2 stages, got {stages}")
    if data_parallel < 1:
        raise ConfigError(f"distributed.data_parallel: expected at least 1, got {data_parallel}")
    if stages * data_parallel != world_size:
        raise ConfigError(
            f"distributed.stages {stages} x data_parallel {data_parallel} = {stages * data_parallel} processes, "
            f"but the job has {world_size} (start it with --nproc {stages * data_parallel})"
        )
    if microbatches < 1:
        raise ConfigError(f"distributed.microbatches: expected at least 1, got {microbatches}")
    if schedule not in SCHEDULES:
        raise ConfigError(f"distributed.schedule: expected one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if schedule == "1f1b" and microbatches < stages:
        raise ConfigError(f"distributed.schedule: 1f1b needs at least as many micro-batches as stages "
                          f"(microbatches {microbatches} < stages {stages}); use gpipe or more micro-batches")
    unsupported = {
        "grad_accum": (1, "the micro-batches are the accumulation; set distributed.microbatches"),
        "precision": ("fp32", "pipeline stages run in fp32"),
        "compile": (False, "pipeline stages run eagerly"),
        "clip_grad_norm": (None, "the norm would span the stages"),
        "channels_last": (False, "stage boundaries are sent in the default layout"),
    }
    for key, (plain, why) in unsupported.items():
        if trainer_options.get(key, plain) != plain:
            raise ConfigError(f"{key}: {trainer_options[key]!r} is not supported with distributed.strategy "
                              f"pipeline ({why})")
    optimizer = trainer_options.get("optimizer", "adamw")
    if not isinstance(optimizer, (str, OptimizerConfig)) or getattr(optimizer, "name", optimizer) == "lbfgs":
        raise ConfigError("optimizer: distributed.strategy pipeline needs sgd or adamw given by name or "
                          "OptimizerConfig (not lbfgs or a callable)")
