"""Teacher speed: the input pipeline against the seed's per-sample processor call, and forward /
train-step windows per second of the real SmolVLM-256M architecture (random weights from its config).

    python benchmarks/bench_teacher.py --config-dir ../shared/models/SmolVLM-256M-Instruct [--device cuda]

On CUDA the defaults use large batches and both precisions; on a CPU they use one window and one
timed step so the run takes minutes. ``--part input`` or ``--part model`` runs one half.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tsad.core.common import get_device, make_parser, seed_everything  # noqa: E402
from tsad.models.vlm.backbone import load_processor  # noqa: E402
from tsad.models.vlm.losses import teacher_loss  # noqa: E402
from tsad.models.vlm.settings import TeacherSettings
from tsad.models.vlm.teacher import TeacherInputs, WindowImages, build_random_teacher, normalise_pixels

SETTINGS = {"one-tile": TeacherSettings(), "seed-tiles": TeacherSettings(image_splitting=True)}


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--config-dir", default=os.environ.get("TSAD_SMOLVLM_DIR"),
                        help="folder with SmolVLM's config and processor files (default: $TSAD_SMOLVLM_DIR)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--part", choices=("all", "input", "model"), default="all")
    parser.add_argument("--input-windows", type=int, default=64, help="plots decoded by the project's pipeline")
    parser.add_argument("--seed-windows", type=int, default=6, help="plots sent through the seed's processor call")
    parser.add_argument("--layouts", default="one-tile,seed-tiles", help="comma list of one-tile, seed-tiles")
    parser.add_argument("--precisions", default=None, help="comma list of fp32, bf16 (default: both)")
    parser.add_argument("--steps", default="forward,train", help="comma list of forward, train")
    parser.add_argument("--batch", type=int, default=None, help="one-tile batch (default: 64 on CUDA, 1 on CPU)")
    parser.add_argument("--seed-batch", type=int, default=None, help="seed-tiles batch (default: 8 on CUDA, 1 on CPU)")
    parser.add_argument("--iters", type=int, default=None, help="timed steps (default: 10 on CUDA, 1 on CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (default: 3 on CUDA, 0 on CPU)")
    args = parser.parse_args(argv)
    if not args.config_dir:
        parser.error("--config-dir (or $TSAD_SMOLVLM_DIR) is needed: the folder with SmolVLM's config.json")
    return args


def synthetic_plot(rng) -> np.ndarray:
    """A 512x512 plot like the project's: white, two traces in the upper and lower halves."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (512, 512), "white")
    draw = ImageDraw.Draw(img)
    x = np.arange(256) * 2
    for centre, colour in ((128, "red"), (384, "blue")):
        y = centre - 60 * (np.sin(x / 40 + rng.random() * 6) + (rng.random(256) < 0.02) * 1.5)
        draw.line(list(zip(x.tolist(), y.tolist())), fill=colour, width=2)
    return np.asarray(img)


def write_plots(folder: Path, n: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        paths.append(folder / f"ecg_plot_{i}.png")
        Image.fromarray(synthetic_plot(rng)).save(paths[-1])
    return paths


def bench_input(args) -> list[str]:
    from PIL import Image
    from torch.utils.data import DataLoader

    inputs = TeacherInputs(load_processor(args.config_dir), TeacherSettings())
    seed_processor = __import__("transformers").AutoProcessor.from_pretrained(args.config_dir)  # its defaults
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_plots(Path(tmp), max(args.input_windows, args.seed_windows))
        loader = DataLoader(WindowImages(paths[:args.input_windows], inputs), batch_size=16)
        start = time.perf_counter()
        batches = [batch["pixels"] for batch in loader]  # what DataLoader workers deliver
        ours = args.input_windows / (time.perf_counter() - start)
        start = time.perf_counter()
        for pixels in batches:  # the model does this on its device; here the CPU pays
            normalise_pixels(pixels, inputs.pixel_scale, inputs.pixel_shift)
        ours_cpu = 1 / (1 / ours + (time.perf_counter() - start) / args.input_windows)
        start = time.perf_counter()
        for p in paths[:args.seed_windows]:
            with Image.open(p) as img:
                out = seed_processor(text=[TeacherSettings().prompt], images=[[img.convert("RGB")]],
                                     return_tensors="pt")
        seed = args.seed_windows / (time.perf_counter() - start)
    seed_mib = out["pixel_values"].numel() * 4 / 2 ** 20
    return ["| pipeline | windows/s | ms/window | tensor per window |", "|---|---:|---:|---:|",
            f"| project, one process: PNG decode to a uint8 batch (one 512 tile, 64 tokens) | {ours:.1f} | "
            f"{1000 / ours:.1f} | {512 * 512 * 3 / 2 ** 20:.2f} MiB uint8 |",
            f"| project, plus normalising on the CPU (a CPU-only run) | {ours_cpu:.1f} | {1000 / ours_cpu:.1f} | "
            f"{512 * 512 * 3 * 4 / 2 ** 20:.0f} MiB float32 |",
            f"| seed (processor per sample, defaults: 2048 px, 17 tiles, 1,088 tokens) | {seed:.2f} | "
            f"{1000 / seed:.0f} | {seed_mib:.0f} MiB float32 |",
            f"| speed-up (decode to batch / with CPU normalising) | {ours / seed:.0f}x / {ours_cpu / seed:.0f}x | | |"]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(args, device) -> list[str]:
    cuda = device.type == "cuda"
    precisions = (args.precisions or "fp32,bf16").split(",")
    iters = args.iters or (10 if cuda else 1)
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 0)
    batches = {"one-tile": args.batch or (64 if cuda else 1), "seed-tiles": args.seed_batch or (8 if cuda else 1)}
    model, _ = build_random_teacher(args.config_dir, TeacherSettings(), device=device)
    plot = synthetic_plot(np.random.default_rng(1))
    rows = ["| layout | image tokens | precision | step | batch | windows/s | s/step |",
            "|---|---:|---|---|---:|---:|---:|"]
    for layout in args.layouts.split(","):
        inputs = TeacherInputs(load_processor(args.config_dir, SETTINGS[layout].image_splitting), SETTINGS[layout])
        model.prompt_ids = inputs.prompt_ids.view(1, -1).to(device)
        model.prompt_mask = inputs.prompt_mask.view(1, -1).to(device)
        bs = batches[layout]
        pixels = torch.stack([inputs(plot)] * bs).to(device)
        labels = torch.zeros(bs, 256, device=device)
        labels[:, ::90] = 1
        for precision in precisions:
            amp = dict(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
            for step in args.steps.split(","):
                model.train(step == "train")
                optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

                def one_step():
                    if step == "forward":
                        with torch.inference_mode(), torch.autocast(**amp):
                            model(pixels)
                        return
                    with torch.autocast(**amp):
                        loss = teacher_loss(model(pixels), labels, 0.5)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()

                for _ in range(warmup):
                    one_step()
                _sync(device)
                start = time.perf_counter()
                for _ in range(iters):
                    one_step()
                _sync(device)
                seconds = (time.perf_counter() - start) / iters
                rows.append(f"| {layout} | {inputs.image_tokens} | {precision} | {step} | {bs} | "
                            f"{bs / seconds:.3g} | {seconds:.3g} |")
                print(rows[-1], flush=True)
    return rows


def describe(device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"CPU, {os.cpu_count()} cores visible, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def main(argv=None):
    args = parse_args(argv)
    seed_everything(args.seed)
    device = get_device(args.device)
    print(f"# bench_teacher on {describe(device)}", flush=True)
    if args.part in ("all", "input"):
        print("\n## input pipeline (this machine's CPU)\n" + "\n".join(bench_input(args)), flush=True)
    if args.part in ("all", "model"):
        rows = bench_model(args, device)
        print("\n## model (random weights, real config)\n" + "\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
