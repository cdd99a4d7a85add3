"""The workspace every stage shares, and every fixed file name, in one place.

Layout (names kept from the original scripts)::

    raw/<database>/                    WFDB records
    Plots_ECG/ecg_plot_<id>.png        one 512x512 image per window
    labels_ECG.csv                     id + 256 label columns, no header
    ECG_segments.npy                   float32 (N, 256, 2)
    windows.csv                        provenance of every window
    Data_split/<split>/images/ecg_plot_<id>.png
    Data_split/<split>/<split>.csv     header "0".."256", column "0" = id
    Data_split/<split>/<split>.npy     float32 (n, 256, 2)
    <run>/                             one folder per trained model (vlm_0.5, LSTM_train, ...)
    Plots/                             figures of the losses and of the evaluation
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
WORKSPACE_ENV = "TSAD_WORKSPACE"
SPLITS = ("train", "val", "test")

STUDENT_RUN = "LSTM_train"
TEACHER_CHECKPOINT = "smolvlm_best.pth"
STUDENT_CHECKPOINT = "best.pth"
LAST_CHECKPOINT = "last.pth"
# a beat classifier beside a detector in its run folder (tsad.models.beat_classifier)
CLASSIFIER_CHECKPOINT = "classifier.pth"
CLASSIFIER_ONNX = "classifier.onnx"     # its onnx export (tsad.models.export), run without torch
# a beat verifier beside a detector (tsad.models.verifier): detection drops the beats it rejects
VERIFIER_CHECKPOINT = "verifier.pth"
VERIFIER_ONNX = "verifier.onnx"
# a run folder's causal detector (bounded look-ahead, detect.py --latency-s), a run folder of its own
CAUSAL_DIR = "causal"
TRAIN_LOSSES = "train_losses.npy"
VAL_LOSSES = "val_losses.npy"
METADATA = "metadata.json"
DATA_MANIFEST = "data_manifest.json"
DATA_INCOMPLETE = ".data_incomplete"  # present while (or after a kill during) the data stage's replacement
SPLIT_MANIFEST = "manifest.json"
THRESHOLD_FILE = "detection.json"     # a run's tuned detection threshold and its warnings
ONNX_FILE = "model.onnx"              # a student exported for onnxruntime (tsad.models.export)

# Models shipped with the repository (trained on the shared records, each with a MODEL_CARD.md):
# a name that detect.py's --run, the app and ``resolve_run_dir`` accept -> its folder under pretrained/.
PRETRAINED_DIR = REPO_ROOT / "pretrained"
PRETRAINED_MODELS = {"pretrained": "fcn20k_svdb_mitdb"}
MODEL_CARD = "MODEL_CARD.md"


def fmt_num(x: float) -> str:
    """0.5 -> '0.5', 1.0 -> '1', 0 -> '0': the spelling used in run and script names."""
    return f"{float(x):g}"


def teacher_run_name(alpha: float) -> str:
    """The run folder of the teacher trained with loss weight ``alpha`` (``vlm_<alpha>``)."""
    return f"vlm_{fmt_num(alpha)}"


def kd_run_name(lam: float, teacher: str) -> str:
    """The run folder of the BiLSTM student distilled from ``teacher`` with weight ``lam``."""
    return f"KD_train_{fmt_num(lam)}_{teacher}"


def plot_name(window_id: int) -> str:
    """The image file name of a window."""
    return f"ecg_plot_{int(window_id)}.png"


def window_id_of_plot(path) -> int:
    """The window id in a plot's file name (the inverse of ``plot_name``)."""
    name = Path(path).name
    if not (name.startswith("ecg_plot_") and name.endswith(".png") and name[9:-4].isdigit()):
        raise ValueError(f"{path}: not a window plot name (ecg_plot_<id>.png)")
    return int(name[9:-4])


def default_workspace() -> Path:
    """$TSAD_WORKSPACE, else workspace/ at the repository root."""
    env = os.environ.get(WORKSPACE_ENV)
    return Path(env) if env else REPO_ROOT / "workspace"


@dataclass(frozen=True)
class Workspace:
    """The folder every stage reads and writes; every file name of the layout above."""
    root: Path

    @classmethod
    def from_arg(cls, arg: str | os.PathLike | None = None) -> "Workspace":
        root = Path(arg) if arg else default_workspace()
        return cls(root.expanduser().resolve())

    def raw(self, database: str) -> Path:
        return self.root / "raw" / database

    @property
    def raw_root(self) -> Path:
        return self.root / "raw"

    @property
    def plots_ecg(self) -> Path:
        return self.root / "Plots_ECG"

    @property
    def labels_csv(self) -> Path:
        return self.root / "labels_ECG.csv"

    @property
    def segments_npy(self) -> Path:
        return self.root / "ECG_segments.npy"

    @property
    def windows_csv(self) -> Path:
        return self.root / "windows.csv"

    @property
    def split_root(self) -> Path:
        return self.root / "Data_split"

    def split_dir(self, split: str) -> Path:
        return self.split_root / split

    def split_images(self, split: str) -> Path:
        return self.split_dir(split) / "images"

    def split_csv(self, split: str) -> Path:
        return self.split_dir(split) / f"{split}.csv"

    def split_npy(self, split: str) -> Path:
        return self.split_dir(split) / f"{split}.npy"

    def run_dir(self, name: str) -> Path:
        return self.root / name

    def resolve_run_dir(self, run: str) -> Path:
        """Where a model named on the command line lives: a shipped model (``pretrained``, see
        PRETRAINED_MODELS), a run folder given by its path (anywhere, holding a checkpoint), or a run
        of this workspace."""
        if run in PRETRAINED_MODELS:
            return PRETRAINED_DIR / PRETRAINED_MODELS[run]
        path = Path(run).expanduser()
        if (path / STUDENT_CHECKPOINT).is_file() or (path / TEACHER_CHECKPOINT).is_file():
            return path.resolve()
        return self.run_dir(run)

    @property
    def models_dir(self) -> Path:
        """Backbones the project builds itself (the tiny teacher), saved for from_pretrained."""
        return self.root / "models"

    @property
    def cache_dir(self) -> Path:
        """Derived data that can be rebuilt: teacher logits, pixel tensors."""
        return self.root / "cache"

    @property
    def plots(self) -> Path:
        return self.root / "Plots"

    @property
    def results_csv(self) -> Path:
        return self.root / "results.csv"

    @property
    def results_md(self) -> Path:
        return self.root / "results.md"
