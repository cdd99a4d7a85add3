"""Benchmark: seconds per epoch of the plain student against distillation from cached logits.

    python benchmarks/bench_kd.py [--workspace W] [--windows 2000] [--rounds 2] [--teacher vlm_1]

Both modes train the same windows with the same loop (tsad.training.loop.fit); rounds alternate the two
modes so that a change in machine load hits both. Without --teacher, the teacher logits come from
a stand-in (logits derived from the labels, written to the same cache), and the windows are
the workspace's train split if there is one, else synthetic spiky windows; the output says which.
The cost of building the cache is reported on its own, as is the cost of reading it back.
Goal: a KD epoch costs at most 1.3x a student epoch.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tsad.core.common import make_parser, seed_everything, setup_logging  # noqa: E402
from tsad.core.paths import Workspace, plot_name  # noqa: E402
from tsad.data.splits import load_split  # noqa: E402
from tsad.models.student import RNNAnomalyDetector  # noqa: E402
from tsad.training.distill import cached_teacher_logits  # noqa: E402
from tsad.training.loop import TrainConfig, fit  # noqa: E402
from tsad.training.students import WindowDataset, bce_loss, make_kd_loss  # noqa: E402

GOAL = 1.3


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--windows", type=int, default=2000, help="train windows per epoch")
    parser.add_argument("--val-windows", type=int, default=200, help="validation windows per epoch")
    parser.add_argument("--rounds", type=int, default=2, help="epochs timed per mode (alternating)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--teacher", default=None,
                        help="a real teacher run in the workspace (default: a stand-in teacher)")
    parser.add_argument("--device", default="auto")
    return parser.parse_args(argv)


def synthetic_windows(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    series = rng.normal(0, 0.05, (n, 256, 2)).astype(np.float32)
    labels = np.zeros((n, 256), np.float32)
    for k in range(n):
        beats = np.arange(rng.integers(5, 40), 256, rng.integers(70, 110))
        labels[k, beats] = 1
        series[k, beats] += 1.5
    return series, labels


def standin_teacher(labels_by_id: dict):
    """Plays tsad.models.vlm.teacher.teacher_logits: confident logits around each labelled beat."""
    def logits_fn(run_dir, image_paths, batch_size=32, device=None, progress=True):
        rows = [labels_by_id[int(Path(p).stem.rsplit("_", 1)[1])] for p in image_paths]
        return np.where(np.stack(rows) > 0, 4.0, -4.0).astype(np.float32)
    return logits_fn


def load_windows(args, ws: Workspace, rng):
    if ws.split_csv("train").is_file():
        splits = [load_split(ws, s, check_images=args.teacher is not None) for s in ("train", "val")]
        train, val = splits[0].subset(args.windows), splits[1].subset(args.val_windows)
        source = f"workspace {ws.root} (train {len(train)}, val {len(val)} windows)"
        return (train.ids, train.series, train.labels, train.image_paths), \
               (val.ids, val.series, val.labels, val.image_paths), source
    if args.teacher:
        raise FileNotFoundError(f"{ws.split_csv('train')}: --teacher needs a workspace with a split")
    out = []
    for start, n in ((0, args.windows), (args.windows, args.val_windows)):
        series, labels = synthetic_windows(n, rng)
        ids = np.arange(start, start + n)
        out.append((ids, series, labels, [ws.split_images("bench") / plot_name(i) for i in ids]))
    return out[0], out[1], f"synthetic spiky windows (train {args.windows}, val {args.val_windows})"


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv=None) -> dict:
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_kd_") as tmp:
        scratch = Workspace(Path(tmp))
        ws = Workspace.from_arg(args.workspace) if args.workspace else scratch
        train, val, source = load_windows(args, ws, np.random.default_rng(args.seed))
        teacher = args.teacher or "standin"
        logits_fn = None
        if args.teacher is None:
            # The stand-in never opens the images; placeholder files satisfy the cache's check.
            for paths_ in (train[3], val[3]):
                for p in paths_:
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.touch()
            logits_fn = standin_teacher({int(i): y for part in (train, val) for i, y in zip(part[0], part[2])})
            sha = "0" * 64
        else:
            sha = None
        cache_ws = scratch if args.teacher is None else ws

        def build():
            return [cached_teacher_logits(cache_ws, teacher, split, part[0], part[3], logits_fn=logits_fn,
                                          checkpoint_sha256=sha, progress=False)
                    for split, part in (("train", train), ("val", val))]
        (t_train, t_val), build_s = timed(build)
        _, read_s = timed(build)

        cfg = TrainConfig(epochs=1, batch_size=args.batch_size, warmup_steps=0, device=args.device,
                          seed=args.seed)
        modes = {"student": ([WindowDataset(train[1], train[2]), WindowDataset(val[1], val[2])], bce_loss),
                 "kd": ([WindowDataset(train[1], train[2], t_train), WindowDataset(val[1], val[2], t_val)],
                        make_kd_loss(0.5, 2.0))}
        seconds = {m: [] for m in modes}
        for r in range(args.rounds):
            for mode, (datasets, loss_fn) in modes.items():
                torch.manual_seed(args.seed)
                state = fit(RNNAnomalyDetector(), *datasets, loss_fn, cfg, scratch.run_dir(f"{mode}_{r}"),
                            kind="student", model_config={})
                seconds[mode].append(state["epoch_seconds"][0])

    student_s, kd_s = statistics.median(seconds["student"]), statistics.median(seconds["kd"])
    ratio = kd_s / student_s
    report = {"windows": source, "teacher": args.teacher or "stand-in (no real teacher)",
              "cache_build_s": build_s, "cache_read_s": read_s, "student_epoch_s": seconds["student"],
              "kd_epoch_s": seconds["kd"], "ratio": ratio, "goal_met": ratio <= GOAL,
              "machine": f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
                         f"device {args.device}"}
    print_report(report, args)
    return report


def print_report(r: dict, args: argparse.Namespace) -> None:
    print(f"windows: {r['windows']}; batch {args.batch_size}; teacher: {r['teacher']}")
    print(f"machine: {r['machine']}")
    print(f"teacher-logits cache: built in {r['cache_build_s']:.2f} s, read back in {r['cache_read_s']:.3f} s")
    print("| mode | epoch seconds (each round) | median |")
    print("|---|---|---|")
    for mode in ("student", "kd"):
        vals = r[f"{mode}_epoch_s"]
        print(f"| {mode} | {', '.join(f'{v:.1f}' for v in vals)} | {statistics.median(vals):.1f} |")
    print(f"KD / student = {r['ratio']:.2f} (goal <= {GOAL}: {'met' if r['goal_met'] else 'NOT met'})")


if __name__ == "__main__":
    main()
