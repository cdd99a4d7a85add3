"""Benchmark: every student architecture's training and inference speed, and whole-record detection.

    python benchmarks/bench_students.py [--threads 2] [--train-windows 1024] [--record PATH/svdb/800]
        [--score W/detections/xqrs --input-dir PATH/svdb]

For each architecture of tsad.models.student.ARCHITECTURES (the original BiLSTM among them, in the same
run): training throughput (windows per second through forward, backward and an AdamW step, batch
64, with the recommended augmentation) on --threads threads, and inference throughput on one thread
(batch 256). With --record, the real-time factor of whole-record detection (tsad.detection.records: windows
every half window, stitched, beats picked) of that record by an untrained model of each
architecture on one thread; speed does not depend on the weights. Architectures are timed in
rounds, alternating, so a change of machine load hits all of them.
Goals (issue 12 and 11): one epoch over the 53,100 windows of the 59 shared svdb records in <= 2 min
for the fastest architecture (>= 443 windows/s); whole-record detection of a 30-minute record by
the lambda-0 student >= 900x real time on one core.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tsad.core.common import make_parser, seed_everything  # noqa: E402
from tsad.data.augment import AugmentConfig  # noqa: E402
from tsad.models import predictor
from tsad.models.student import ARCHITECTURES, build_student, count_parameters, student_config, student_probs  # noqa: E402
from tsad.training.flags import Recipe
from tsad.training.students import make_loss  # noqa: E402

EPOCH_WINDOWS = 53_100
EPOCH_GOAL_S = 120.0
RTF_GOAL = 900.0


def parse_args(argv=None):
    p = make_parser(__doc__)
    p.add_argument("--threads", type=int, default=2, help="torch threads for training")
    p.add_argument("--train-windows", type=int, default=1024, help="windows per timed training round")
    p.add_argument("--infer-windows", type=int, default=2048, help="windows per timed inference round")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds per architecture (median reported)")
    p.add_argument("--archs", nargs="+", default=sorted(ARCHITECTURES), help="architectures to time")
    p.add_argument("--record", default=None, help="a WFDB record for the whole-record real-time factor")
    p.add_argument("--score", default=None, metavar="DIR",
                   help="a folder of detections (detect.py) to time EC57 scoring of, against --input-dir")
    p.add_argument("--input-dir", default=None, help="the records of --score")
    return p.parse_args(argv)


def time_training(model, loss_fn, series, labels, batch: int = 64) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for i in range(0, len(series), batch):
        b = {"x": series[i:i + batch], "y": labels[i:i + batch]}
        loss = loss_fn(model, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return len(series) / (time.perf_counter() - start)


def main(argv=None) -> dict:
    args = parse_args(argv)
    seed_everything(args.seed)
    rng = np.random.default_rng(args.seed)
    series = torch.from_numpy(rng.normal(0, 0.3, (args.train_windows, 256, 2)).astype(np.float32))
    labels = torch.from_numpy((rng.random((args.train_windows, 256)) < 1 / 85).astype(np.float32))
    infer = rng.normal(0, 0.3, (args.infer_windows, 256, 2)).astype(np.float32)
    loss_fn = make_loss(recipe=Recipe(AugmentConfig(), 1.0, 1.0))
    models = {a: build_student(student_config(a)) for a in args.archs}
    train_ws = {a: [] for a in args.archs}
    infer_ws = {a: [] for a in args.archs}
    for _ in range(args.rounds):
        for arch, model in models.items():
            torch.set_num_threads(args.threads)
            train_ws[arch].append(time_training(model, loss_fn, series, labels))
            torch.set_num_threads(1)
            model.eval()
            start = time.perf_counter()
            student_probs(model, infer)
            infer_ws[arch].append(len(infer) / (time.perf_counter() - start))
    rtf = {}
    if args.record:
        from tsad.core.geometry import WindowGeometry
        from tsad.detection import records

        torch.set_num_threads(1)
        for arch, model in models.items():
            model.eval()
            det = predictor.Predictor(arch, "student", WindowGeometry(),
                                   lambda x, m=model: student_probs(m, x))
            result = records.detect_record(det, args.record, threshold=0.5)
            rtf[arch] = result.duration_s / result.seconds
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.2f} at the end; training on {args.threads} thread(s), "
          f"inference on 1")
    print("| architecture | parameters | train windows/s | epoch of 53,100 windows (s) | infer windows/s (1 core) |"
          + (" whole-record real-time factor (1 core) |" if rtf else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if rtf else ""))
    out = {}
    for arch in args.archs:
        tr, inf = statistics.median(train_ws[arch]), statistics.median(infer_ws[arch])
        out[arch] = {"params": count_parameters(models[arch]), "train_ws": tr, "infer_ws": inf,
                     "epoch_s": EPOCH_WINDOWS / tr, "rtf": rtf.get(arch)}
        print(f"| {arch} | {out[arch]['params']:,} | {tr:.0f} | {EPOCH_WINDOWS / tr:.0f} | {inf:.0f} |"
              + (f" {rtf[arch]:.0f}x |" if rtf else ""))
    if args.score:
        from tsad.scoring import ec57

        start = time.perf_counter()
        table = ec57.score_folder(args.score, args.input_dir, "tsad")
        ec57.summarise(table)
        print(f"EC57 scoring of {len(table)} records ({int(table['n_ref'].sum()):,} reference beats), "
              f"with the bootstrap summary: {time.perf_counter() - start:.2f} s (goal: 59 records < 5 s)")
    fastest = min(out, key=lambda a: out[a]["epoch_s"])
    print(f"fastest epoch: {fastest}, {out[fastest]['epoch_s']:.0f} s (goal <= {EPOCH_GOAL_S:.0f} s)")
    return out


if __name__ == "__main__":
    main()
