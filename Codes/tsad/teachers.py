"""Teachers that learn on this machine, and the one table that turns any teacher run into logits.

``picture``: a small convolutional image model reading the same 512x512 plots as the VLM teacher,
trained from random initialisation; it stands in for what a pretrained VLM would bring (its rows
say "picture teacher trained here, stands in for a pretrained VLM"). The image is averaged down 4x
at once, convolutions halve only its height, and the columns are read at each time step's x
position on the plot (``tsad.render.column_to_step_weights``), as the VLM's spatial head does.

``context``: a signal teacher that sees more than the student: ``context`` windows on each side of
the window from the same record (6 s around a 2-s window by default), read from the workspace's
``windows.csv`` and ``ECG_segments.npy``; at a record's edge the missing side repeats the edge
sample and a mask channel (1 = signal, 0 = padding) says so. A wider, deeper TCN
(``tsad.student``'s) reads the whole stretch and gives logits for the centre window.

Both are checkpoints of kind ``teacher`` (``model_config["type"]`` says which) in
``<run>/smolvlm_best.pth``, the file the distillation cache hashes (``tsad.distill``), so
``kd_train.py --teacher RUN`` distils from them through the same cache as from the VLM teacher.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import paths
from .checkpoint import check_kind, load_checkpoint, load_trainable
from .common import get_device, log
from .fileio import load_npy

KIND = "teacher"
TYPES = ("picture", "context")
PICTURE_NOTE = "picture teacher trained here, stands in for a pretrained VLM"
CONTEXT_NOTE = "context teacher trained here: sees the neighbouring seconds of the record"


@dataclass
class TeacherConfig:
    """Every setting of a picture or context teacher; stored in its checkpoint."""

    type: str = "picture"
    samples: int = 256          # window length (the logits' length)
    leads: int = 2
    # picture
    image_size: int = 512
    pool: int = 4               # average the image down this much at once
    channels: int = 32
    # context
    context: int = 1            # windows on each side (1: 6 s around a 2-s window)
    width: int = 64
    depth: int = 7
    kernel_size: int = 5
    dropout: float = 0.1

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"teacher type must be one of {TYPES}, got {self.type!r}")

    @classmethod
    def from_dict(cls, d: dict, source="checkpoint") -> TeacherConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{source}: unknown teacher config keys {sorted(unknown)}")
        return cls(**d)

    @property
    def note(self) -> str:
        return PICTURE_NOTE if self.type == "picture" else CONTEXT_NOTE


# ---- the picture teacher ------------------------------------------------------------------------

class PictureTeacher(nn.Module):
    """(B, 512, 512, 3) uint8 plots -> (B, samples) logits.

    Ink (1 - pixel / 255) averaged down ``pool``x, four 3x3 convolutions that halve the height only,
    the remaining rows stacked into each column's features, columns interpolated at the steps' x
    positions, two dilated 1-D convolutions over the steps, one logit per step.
    """

    def __init__(self, config: TeacherConfig):
        super().__init__()
        from .render import column_to_step_weights

        self.config = c = config
        side = c.image_size // c.pool
        widths = [3, c.channels // 2, c.channels, c.channels, c.channels]
        layers = []
        for w_in, w_out in itertools.pairwise(widths):
            layers += [nn.Conv2d(w_in, w_out, 3, stride=(2, 1), padding=1), nn.BatchNorm2d(w_out), nn.GELU()]
        self.image = nn.Sequential(*layers)
        rows = side // 2 ** 4
        self.columns = nn.Linear(rows * c.channels, 2 * c.channels)
        weights = column_to_step_weights(side, c.samples, c.image_size)
        self.register_buffer("step_weights", torch.as_tensor(weights, dtype=torch.float32), persistent=False)
        w = 2 * c.channels
        self.steps = nn.Sequential(nn.GELU(), nn.Dropout(c.dropout), nn.Conv1d(w, w, 5, padding=2),
                                   nn.BatchNorm1d(w), nn.GELU(), nn.Conv1d(w, w, 5, padding=4, dilation=2),
                                   nn.BatchNorm1d(w), nn.GELU(), nn.Conv1d(w, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        ink = 1.0 - pixels.permute(0, 3, 1, 2).float() / 255.0
        x = self.image(nn.functional.avg_pool2d(ink, self.config.pool))       # (B, C, rows, cols)
        x = self.columns(x.flatten(1, 2).transpose(1, 2))                      # (B, cols, 2C)
        x = torch.einsum("sc,bcd->bds", self.step_weights, x)                 # (B, 2C, steps)
        return self.steps(x)[:, 0]


class PlotImages(Dataset):
    """Plots read from their PNGs as (512, 512, 3) uint8; labels ride along when given."""

    def __init__(self, image_paths, labels: np.ndarray | None = None, size: int = 512):
        self.image_paths = [Path(p) for p in image_paths]
        self.labels = None if labels is None else np.asarray(labels, np.float32)
        self.size = size

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image, UnidentifiedImageError

        path = self.image_paths[i]
        try:
            with Image.open(path) as img:
                array = np.asarray(img.convert("RGB"))
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"{path}: not a readable image ({err})") from err
        if array.shape != (self.size, self.size, 3):
            raise ValueError(f"{path}: expected a {self.size}x{self.size} plot, got {array.shape}")
        item = {"x": torch.from_numpy(np.array(array, copy=True))}
        if self.labels is not None:
            item["y"] = torch.from_numpy(self.labels[i])
        return item


# ---- the context teacher ------------------------------------------------------------------------

class WorkspaceSignals:
    """Every window of a workspace with its record neighbours (``windows.csv`` + ``ECG_segments.npy``)."""

    def __init__(self, root):
        ws = paths.Workspace(Path(root))
        for path in (ws.windows_csv, ws.segments_npy):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: not found; the context teacher reads the workspace's windows "
                                        "(run Codes/Dataset/data_generate.py)")
        table = pd.read_csv(ws.windows_csv, dtype={"record": str})
        missing = {"id", "record", "start"} - set(table.columns)
        if missing:
            raise ValueError(f"{ws.windows_csv}: columns {sorted(missing)} missing")
        self.series = load_npy(ws.segments_npy, expect_ndim=3)
        if len(self.series) != len(table):
            raise ValueError(f"{ws.segments_npy}: {len(self.series)} windows, {ws.windows_csv} lists {len(table)}")
        self.ids = table["id"].to_numpy(np.int64)
        self.records = table["record"].to_numpy()
        starts = table["start"].to_numpy(np.int64)
        # windows of a record are contiguous rows in time order (tsad.ecg.make_windows: non-overlapping)
        same = self.records[1:] == self.records[:-1]
        if (same & (starts[1:] <= starts[:-1])).any():
            raise ValueError(f"{ws.windows_csv}: the windows of a record are not in time order")
        self.row_of = {int(i): k for k, i in enumerate(self.ids)}
        self.root = ws.root

    def rows(self, ids) -> np.ndarray:
        try:
            return np.array([self.row_of[int(i)] for i in ids], np.int64)
        except KeyError as err:
            raise ValueError(f"{self.root / 'windows.csv'}: no window with id {err.args[0]}") from None

    def context(self, ids, context: int) -> np.ndarray:
        """(N, (2 * context + 1) * L, leads + 1) float32: the windows with ``context`` neighbours on each
        side from the same record, the last channel 1 on signal and 0 on padding (the edge sample
        repeated where the record has no neighbour)."""
        rows = self.rows(ids)
        n_win, length, leads = self.series.shape
        span = 2 * context + 1
        out = np.zeros((len(rows), span * length, leads + 1), np.float32)
        for k, row in enumerate(rows):
            record = self.records[row]
            for j, offset in enumerate(range(-context, context + 1)):
                other = row + offset
                part = slice(j * length, (j + 1) * length)
                if 0 <= other < n_win and self.records[other] == record:
                    out[k, part, :leads] = self.series[other]
                    out[k, part, leads] = 1.0
            real = np.flatnonzero(out[k, :, leads])
            first, last = real[0], real[-1]
            out[k, :first, :leads] = out[k, first, :leads]
            out[k, last + 1:, :leads] = out[k, last, :leads]
        return out


class ContextTeacher(nn.Module):
    """(B, (2c+1) L, leads + 1) stretch with its mask channel -> (B, L) logits of the centre window:
    ``tsad.student``'s TCN, wider and deeper (receptive field over 1,000 samples at the defaults)."""

    def __init__(self, config: TeacherConfig):
        super().__init__()
        from .student import build_student, student_config

        self.config = c = config
        self.net = build_student(student_config("tcn", input_size=c.leads + 1, width=c.width, depth=c.depth,
                                                kernel_size=c.kernel_size, dropout=c.dropout))

    def forward(self, stretch: torch.Tensor) -> torch.Tensor:
        start = self.config.context * self.config.samples
        return self.net(stretch)[:, start:start + self.config.samples]


class Arrays(Dataset):
    def __init__(self, x: np.ndarray, labels: np.ndarray | None = None):
        self.x = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        self.labels = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels, np.float32))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        item = {"x": self.x[i]}
        if self.labels is not None:
            item["y"] = self.labels[i]
        return item


# ---- building, training, loading ----------------------------------------------------------------

def build(config: TeacherConfig) -> nn.Module:
    return PictureTeacher(config) if config.type == "picture" else ContextTeacher(config)


def workspace_of(run_dir) -> Path:
    """The workspace a run folder lies in (runs may sit in sub-folders, e.g. a study's folds)."""
    for folder in Path(run_dir).resolve().parents:
        if (folder / "windows.csv").is_file():
            return folder
    raise FileNotFoundError(f"{run_dir}: no workspace (windows.csv) above this run folder")


def dataset(config: TeacherConfig, data, ws_root=None) -> Dataset:
    """The teacher's inputs for a SplitData (its ids, labels and image paths)."""
    if config.type == "picture":
        return PlotImages(data.image_paths, data.labels, config.image_size)
    return Arrays(WorkspaceSignals(ws_root).context(data.ids, config.context), data.labels)


def train_teacher(ws: paths.Workspace, run_name: str, config: TeacherConfig, train, val, cfg, *,
                  resume: bool = False, extra: dict | None = None) -> dict:
    """Trains a picture or context teacher from random initialisation on ``train`` (SplitData),
    early-stopped on ``val``, into ``ws/run_name``; BCE on the beat labels. Returns fit's history."""
    import torch.nn.functional as F

    from .train import fit

    if train.series.shape[1] != config.samples or train.series.shape[2] != config.leads:
        raise ValueError(f"{ws.root}: windows of shape {train.series.shape[1:]}, the teacher config says "
                         f"({config.samples}, {config.leads})")

    def loss_fn(model, batch):
        return F.binary_cross_entropy_with_logits(model(batch["x"]).float(), batch["y"])

    from .geometry import load_workspace_geometry

    geometry = load_workspace_geometry(ws)  # stored with the weights: kd_train.py checks it against its data
    log.info("%s teacher %s: %d train / %d val windows (%s)", config.type, run_name, len(train), len(val),
             config.note)
    return fit(build(config), dataset(config, train, ws.root), dataset(config, val, ws.root), loss_fn, cfg,
               ws.run_dir(run_name), kind=KIND, model_config=asdict(config), best_name=paths.TEACHER_CHECKPOINT,
               resume=resume, extra={"note": config.note, "n_train": len(train), "n_val": len(val),
                                     "geometry": geometry.to_dict(), **(extra or {})})


def load(run_dir, device=None) -> tuple[nn.Module, TeacherConfig]:
    path = Path(run_dir) / paths.TEACHER_CHECKPOINT
    state = load_checkpoint(path)
    check_kind(state, KIND, path)
    config = TeacherConfig.from_dict(state.get("model_config") or {}, str(path))
    model = build(config)
    load_trainable(model, state["model"], source=str(path))
    return model.to(device or get_device()).eval(), config


@torch.inference_mode()
def logits(run_dir, image_paths, batch_size: int = 32, device=None, progress: bool = False, ids=None) -> np.ndarray:
    """(N, samples) float32 logits of a picture or context teacher for the windows whose plots are
    ``image_paths`` (the window ids are read from the plots' names unless ``ids`` gives them)."""
    device = get_device(device or "auto") if not isinstance(device, torch.device) else device
    model, config = load(run_dir, device)
    image_paths = [Path(p) for p in image_paths]
    if config.type == "picture":
        ds = PlotImages(image_paths, size=config.image_size)
    else:
        ids = [paths.window_id_of_plot(p) for p in image_paths] if ids is None else ids
        signals = WorkspaceSignals(workspace_of(run_dir))
        if signals.series.shape[1:] != (config.samples, config.leads):
            raise ValueError(f"{run_dir}: a context teacher for windows of ({config.samples}, {config.leads}), "
                             f"but {signals.root} has windows of shape {signals.series.shape[1:]}")
        ds = Arrays(signals.context(ids, config.context))
    out = [model(batch["x"].to(device)).float().cpu().numpy()
           for batch in DataLoader(ds, batch_size=batch_size, shuffle=False)]
    return np.concatenate(out) if out else np.empty((0, config.samples), np.float32)


def run_logits(run_dir, image_paths, **kwargs) -> np.ndarray:
    """Logits of any teacher run: the checkpoint's kind picks the code (the VLM teacher, or one of
    these). The cache in tsad.distill calls this for every ``--teacher``."""
    path = Path(run_dir) / paths.TEACHER_CHECKPOINT
    kind = load_checkpoint(path).get("kind")
    if kind == KIND:
        return logits(run_dir, image_paths, **kwargs)
    from .teacher import TEACHER_KIND, teacher_logits

    if kind != TEACHER_KIND:
        raise ValueError(f"{path}: checkpoint of a {kind!r} model, not a teacher")
    return teacher_logits(run_dir, image_paths, **kwargs)


# ---- the training scripts (picture_teacher_train.py, context_teacher_train.py) ------------------

# Sized for a 2-core CPU (docs in the scripts); every flag overrides them.
TRAIN_DEFAULTS = {
    "picture": {"epochs": 3, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.01, "warmup_steps": 100, "patience": 2},
    "context": {"epochs": 6, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.01, "warmup_steps": 100, "patience": 2},
}


def default_run_name(kind: str) -> str:
    return f"{kind}_teacher"


def train_main(argv=None, kind: str = "picture", doc: str | None = None) -> dict:
    """The whole of picture_teacher_train.py / context_teacher_train.py: flags, seed, train on the
    workspace's train split (validated on val)."""
    from .common import make_parser, seed_everything, setup_logging
    from .splits import load_split
    from .train import TrainConfig, add_train_args

    parser = make_parser(doc)
    parser.add_argument("--run-name", default=default_run_name(kind), help="run folder in the workspace")
    parser.add_argument("--limit-train", type=int, default=None, help="use only the first N train windows")
    parser.add_argument("--limit-val", type=int, default=None, help="use only the first N val windows")
    if kind == "picture":
        parser.add_argument("--channels", type=int, default=TeacherConfig.channels, help="convolution width")
        parser.add_argument("--pool", type=int, default=TeacherConfig.pool,
                            help="average the 512x512 plot down this much first")
    else:
        parser.add_argument("--context", type=int, default=TeacherConfig.context,
                            help="neighbouring windows read on each side (1: 6 s around a 2-s window)")
        parser.add_argument("--width", type=int, default=TeacherConfig.width, help="TCN channels")
        parser.add_argument("--depth", type=int, default=TeacherConfig.depth, help="TCN residual blocks")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    add_train_args(parser, **TRAIN_DEFAULTS[kind])
    args = parser.parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    ws = paths.Workspace.from_arg(args.workspace)
    train = load_split(ws, "train", check_images=kind == "picture").subset(args.limit_train)
    val = load_split(ws, "val", check_images=kind == "picture").subset(args.limit_val)
    settings = {k: getattr(args, k) for k in ("channels", "pool", "context", "width", "depth") if hasattr(args, k)}
    config = TeacherConfig(type=kind, samples=train.series.shape[1], leads=train.series.shape[2], **settings)
    return train_teacher(ws, args.run_name, config, train, val, TrainConfig.from_args(args), resume=args.resume)
