"""The picture teacher: a small convolutional image model reading the same 512x512 plots as the VLM
teacher, trained from random initialisation; it stands in for what a pretrained VLM would bring (its
rows say "picture teacher trained here, stands in for a pretrained VLM"). The image is averaged down
4x at once, convolutions halve only its height, and the columns are read at each time step's x
position on the plot (``tsad.data.render.column_to_step_weights``), as the VLM's spatial head does.

Whole-record detection renders each window's plot on the fly (``tsad.data.render.render_window``, the
pixels of the saved PNGs)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from tsad.data.render import column_to_step_weights, rendered
from tsad.models.teachers.base import TeacherConfig, TeacherKind, sigmoid_batches

NOTE = "picture teacher trained here, stands in for a pretrained VLM"


class PictureTeacher(nn.Module):
    """(B, 512, 512, 3) uint8 plots -> (B, samples) logits.

    Ink (1 - pixel / 255) averaged down ``pool``x, four 3x3 convolutions that halve the height only,
    the remaining rows stacked into each column's features, columns interpolated at the steps' x
    positions, two dilated 1-D convolutions over the steps, one logit per step.
    """

    def __init__(self, config: TeacherConfig):
        super().__init__()

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


def _add_args(parser) -> None:
    parser.add_argument("--channels", type=int, default=TeacherConfig.channels, help="convolution width")
    parser.add_argument("--pool", type=int, default=TeacherConfig.pool,
                        help="average the 512x512 plot down this much first")


def _predictor_parts(model: nn.Module, config: TeacherConfig, run_dir, batch_size: int) -> dict:
    def image_probs(images) -> np.ndarray:
        pixels = np.stack([np.asarray(img.convert("RGB") if hasattr(img, "convert") else img, np.uint8)
                           for img in images])
        return sigmoid_batches(model, pixels, batch_size)

    return {"window_probs": rendered(image_probs, config.samples), "image_probs": image_probs}


PICTURE = TeacherKind(
    name="picture", note=NOTE, build=PictureTeacher,
    dataset=lambda config, data, ws_root: PlotImages(data.image_paths, data.labels, config.image_size),
    inputs=lambda run_dir, config, image_paths, ids: PlotImages(image_paths, size=config.image_size),
    add_args=_add_args, settings=("channels", "pool"), reads_plots=True,
    train_defaults={"epochs": 3, "batch_size": 32, "lr": 2e-3, "weight_decay": 0.01, "warmup_steps": 100,
                    "patience": 2},
    predictor_parts=_predictor_parts)
