"""The KD loss against hand-computed values, and the teacher-logits cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kd_helpers import StandInTeacher, logits_for_id, write_teacher_checkpoint

from tsad.data.splits import load_split
from tsad.models.student import RNNAnomalyDetector, StudentConfig
from tsad.training.distill import cache_paths, cached_teacher_logits, kd_loss, teacher_hash
from tsad.training.loop import TrainConfig
from tsad.training.students import train_run

# s = [0, 2], y = [1, 0], t = [2, -2], T = 2, written out by hand:
# hard = mean(log(1+e^0) - 0, log(1+e^2)) = mean(0.693147, 2.126928)
# soft targets sigmoid(t/T) = [0.731059, 0.268941]; s/T = [0, 1]
# soft = mean(log 2, log(1+e) - 0.268941) = mean(0.693147, 1.044321); weighted by T^2 = 4
S, Y, T_LOGITS = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0]), torch.tensor([2.0, -2.0])
HARD = 1.410037596
SOFT_T2 = 3.474934893


@pytest.mark.parametrize("lam, expected", [(0.0, HARD), (1.0, SOFT_T2), (0.5, 0.5 * HARD + 0.5 * SOFT_T2)])
def test_kd_loss_matches_hand_computed_values(lam, expected):
    assert kd_loss(S, Y, T_LOGITS, lam, 2.0).item() == pytest.approx(expected, abs=1e-6)


def test_lam_zero_ignores_the_teacher():
    a = kd_loss(S, Y, T_LOGITS, 0.0, 2.0)
    b = kd_loss(S, Y, -T_LOGITS * 5, 0.0, 2.0)
    assert a.item() == b.item()


def test_cache_calls_the_teacher_once_per_window_across_epochs_and_runs(split_workspace):
    ws = split_workspace
    write_teacher_checkpoint(ws)
    teacher = StandInTeacher()
    cfg = TrainConfig(epochs=2, batch_size=8, warmup_steps=0, device="cpu")
    kwargs = dict(lam=1.0, teacher="vlm_1", limit_train=12, limit_val=4, logits_fn=teacher,
                  model_config=StudentConfig(hidden_size=8, num_layers=1))  # small: the cache is under test
    train_run(ws, cfg, **kwargs)
    assert sorted(teacher.windows) == sorted(list(range(12)) + list(range(24, 28)))
    assert teacher.calls == 2  # one batched call per split
    train_run(ws, cfg, run_name="again", **kwargs)
    assert teacher.calls == 2  # the second run reads the cache only

    logits_path, ids_path = cache_paths(ws, "vlm_1", teacher_hash(ws, "vlm_1"), "train")
    assert logits_path.is_file() and np.load(ids_path).tolist() == list(range(12))


def test_cache_returns_rows_in_the_requested_order_and_adds_only_new_windows(split_workspace):
    ws = split_workspace
    write_teacher_checkpoint(ws)
    train = load_split(ws, "train", check_images=False)
    teacher = StandInTeacher()
    first = cached_teacher_logits(ws, "vlm_1", "train", train.ids[:5], train.image_paths[:5], logits_fn=teacher)
    order = np.array([7, 2, 0, 6])
    got = cached_teacher_logits(ws, "vlm_1", "train", train.ids[order],
                                [train.image_paths[i] for i in order], logits_fn=teacher)
    assert teacher.windows == [0, 1, 2, 3, 4, 7, 6]
    np.testing.assert_array_equal(got, np.stack([logits_for_id(int(i)) for i in train.ids[order]]))
    np.testing.assert_array_equal(first[2], got[1])


def test_a_new_teacher_checkpoint_gets_a_new_cache(split_workspace):
    ws = split_workspace
    train = load_split(ws, "train", check_images=False)
    teacher = StandInTeacher()
    write_teacher_checkpoint(ws, content=b"first weights")
    cached_teacher_logits(ws, "vlm_1", "train", train.ids[:3], train.image_paths[:3], logits_fn=teacher)
    write_teacher_checkpoint(ws, content=b"retrained weights")
    cached_teacher_logits(ws, "vlm_1", "train", train.ids[:3], train.image_paths[:3], logits_fn=teacher)
    assert teacher.calls == 2
    assert len(list((ws.cache_dir / "teacher_logits").glob("vlm_1_*_train.npy"))) == 2


def test_a_half_written_cache_is_rebuilt(split_workspace):
    ws = split_workspace
    write_teacher_checkpoint(ws)
    train = load_split(ws, "train", check_images=False)
    teacher = StandInTeacher()
    cached_teacher_logits(ws, "vlm_1", "train", train.ids[:4], train.image_paths[:4], logits_fn=teacher)
    _, ids_path = cache_paths(ws, "vlm_1", teacher_hash(ws, "vlm_1"), "train")
    np.save(ids_path, train.ids[:2])  # as if killed between the two writes
    got = cached_teacher_logits(ws, "vlm_1", "train", train.ids[:4], train.image_paths[:4], logits_fn=teacher)
    assert teacher.calls == 2
    np.testing.assert_array_equal(got[3], logits_for_id(int(train.ids[3])))


def test_missing_teacher_checkpoint_and_images_are_named(split_workspace):
    ws = split_workspace
    train = load_split(ws, "train", check_images=False)
    with pytest.raises(FileNotFoundError, match="smolvlm_best.pth"):
        cached_teacher_logits(ws, "vlm_1", "train", train.ids[:2], train.image_paths[:2], logits_fn=StandInTeacher())
    write_teacher_checkpoint(ws)
    train.image_paths[1].unlink()
    with pytest.raises(FileNotFoundError, match="ecg_plot_1.png"):
        cached_teacher_logits(ws, "vlm_1", "train", train.ids[:2], train.image_paths[:2], logits_fn=StandInTeacher())


def test_with_lam_one_the_student_moves_toward_the_teacher(split_workspace):
    train = load_split(split_workspace, "train", check_images=False).subset(8)
    x, y = torch.from_numpy(train.series), torch.from_numpy(train.labels)
    # A stand-in teacher that marks each spike and its neighbours softly, unlike the hard labels.
    near_spike = torch.nn.functional.max_pool1d(y[:, None], 5, stride=1, padding=2)[:, 0]
    t = torch.where(near_spike > 0, 2.0, -3.0)
    torch.manual_seed(0)
    model = RNNAnomalyDetector()

    def gap_and_loss():
        model.eval()
        with torch.no_grad():
            s = model(x)
            return (torch.sigmoid(s) - torch.sigmoid(t)).abs().mean().item(), kd_loss(s, y, t, 1.0, 2.0).item()

    gap0, loss0 = gap_and_loss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        model.train()
        loss = kd_loss(model(x), y, t, 1.0, 2.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    gap1, loss1 = gap_and_loss()
    assert loss1 < loss0
    assert gap1 < 0.7 * gap0
