"""fit under torchrun with two CPU processes (gloo): the run records its world size, the processes
train on disjoint halves of the windows, and the result is one process's run with both halves in
each step (gradients averaged), not two independent runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from tsad.core import paths
from tsad.core.checkpoint import load_checkpoint

N_TRAIN, N_VAL, BATCH, EPOCHS, LR = 16, 8, 4, 2, 0.05

SCRIPT = textwrap.dedent(f"""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {str(paths.REPO_ROOT / "Codes")!r})
    import torch
    from torch import nn
    from torch.utils.data import Dataset
    from tsad.training.loop import TrainConfig, close_distributed, fit, init_distributed

    class Recording(Dataset):
        '''Appends every index it is asked for to a file of this process.'''
        def __init__(self, x, y, log):
            self.x, self.y, self.log = x, y, log
        def __len__(self):
            return len(self.y)
        def __getitem__(self, i):
            with open(self.log, "a") as f:
                f.write(f"{{i}}\\n")
            return self.x[i], self.y[i]

    run_dir = Path(sys.argv[1])
    rank, world, device = init_distributed("cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.randn({N_TRAIN + N_VAL}, 6, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    log = str(run_dir) + f"_rank{{rank}}_"
    train = Recording(x[:{N_TRAIN}], y[:{N_TRAIN}], log + "train.txt")
    val = Recording(x[{N_TRAIN}:], y[{N_TRAIN}:], log + "val.txt")
    torch.manual_seed(0)
    model = nn.Linear(6, 1)
    def mse(m, batch):
        return ((m(batch[0]).squeeze(-1) - batch[1]) ** 2).mean()
    cfg = TrainConfig(epochs={EPOCHS}, batch_size={BATCH}, lr={LR}, warmup_steps=0, weight_decay=0.0,
                      patience=100, device="cpu", seed=0)
    fit(model, train, val, mse, cfg, run_dir, kind="test", model_config={{}}, device=device)
    close_distributed()
""")


def _mse(model, x, y):
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_TRAIN + N_VAL, 6, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    return x, y


def _seen(run_dir, rank, split):
    path = f"{run_dir}_rank{rank}_{split}.txt"
    return [int(line) for line in open(path).read().split()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    script = root / "fit_script.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    one = subprocess.run([sys.executable, str(script), str(root / "one")], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(script), str(root / "two")], env=env, capture_output=True, text=True,
                         timeout=240, check=False)
    assert two.returncode == 0, two.stderr[-3000:]
    return root / "one", root / "two"


def test_the_run_records_its_world_size(runs):
    one, two = runs
    meta_one = json.loads((one / paths.METADATA).read_text())
    meta_two = json.loads((two / paths.METADATA).read_text())
    assert (meta_one["world_size"], meta_one["train_windows_per_process"]) == (1, N_TRAIN)
    assert (meta_two["world_size"], meta_two["train_windows_per_process"]) == (2, N_TRAIN // 2)
    assert load_checkpoint(two / paths.STUDENT_CHECKPOINT)["world_size"] == 2


def test_each_process_trains_on_a_disjoint_half(runs):
    _, two = runs
    half = N_TRAIN // 2
    seen = [_seen(two, rank, "train") for rank in (0, 1)]
    assert [len(s) for s in seen] == [EPOCHS * half] * 2
    for epoch in range(EPOCHS):
        a, b = (set(s[epoch * half:(epoch + 1) * half]) for s in seen)
        assert len(a) == len(b) == half and not a & b and a | b == set(range(N_TRAIN)), epoch
    # a new shuffle per epoch (DistributedSampler.set_epoch)
    assert seen[0][:half] != seen[0][half:]
    val = [_seen(two, rank, "val") for rank in (0, 1)]
    assert sorted(val[0][:N_VAL // 2] + val[1][:N_VAL // 2]) == list(range(N_VAL))


def test_two_processes_equal_one_process_stepping_on_both_halves(runs):
    """Half the optimiser steps of a one-process run, each on the union of the two shards' batches:
    replayed here in one process, it reaches the same weights (up to float summation order)."""
    one, two = runs
    x, y = _data()
    steps_per_epoch = N_TRAIN // 2 // BATCH
    a, b = load_checkpoint(one / paths.LAST_CHECKPOINT), load_checkpoint(two / paths.LAST_CHECKPOINT)
    assert a["scheduler"]["last_epoch"] == EPOCHS * N_TRAIN // BATCH
    assert b["scheduler"]["last_epoch"] == EPOCHS * steps_per_epoch

    torch.manual_seed(0)
    model = nn.Linear(6, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    total = EPOCHS * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: (total - step) / total)
    seen = [_seen(two, rank, "train") for rank in (0, 1)]
    for step in range(total):
        idx = seen[0][step * BATCH:(step + 1) * BATCH] + seen[1][step * BATCH:(step + 1) * BATCH]
        opt.zero_grad()
        _mse(model, x[idx], y[idx]).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(b["model"][name], value, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a["model"][name], value, atol=1e-3), name  # the one-process run differs

    # the logged validation loss is the mean over all val windows, not one process's half
    meta = json.loads((two / paths.METADATA).read_text())
    with torch.no_grad():
        full_val = _mse(model, x[N_TRAIN:], y[N_TRAIN:]).item()
    assert meta["val_losses"][-1] == pytest.approx(full_val, rel=1e-5)
