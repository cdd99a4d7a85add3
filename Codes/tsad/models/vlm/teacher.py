"""The teacher: SmolVLMTSAD (a frozen SmolVLM backbone with a trainable connector and head), its
input pipeline, and the functions other stages call: ``load_teacher``, ``teacher_logits``,
``predict_images``.

The prompt never changes, so it is tokenised once and kept in the model; a batch carries only
pixels. By default a window's 512x512 plot is one tile: the batch carries the raw uint8 pixels
and the model rescales and normalises them on its device, which equals the Idefics3 processor's
output for a 512x512 image and costs a PNG decode per window. With ``image_splitting`` (the seed's
setting) the processor itself runs in the DataLoader workers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from tsad.core import paths
from tsad.core.checkpoint import check_kind, load_checkpoint, load_trainable
from tsad.core.common import autocast_dtype, get_device
from tsad.core.geometry import checkpoint_geometry
from tsad.data.render import column_to_step_weights, rendered
from tsad.models.kinds import VLM_TEACHER as TEACHER_KIND
from tsad.models.predictor import Predictor
from tsad.models.vlm.backbone import (
    BackboneSource,
    backbone_from_record,
    load_backbone,
    load_config,
    load_processor,
)
from tsad.models.vlm.settings import TeacherSettings

# ---- the model --------------------------------------------------------------------------------

def image_token_grid(prompt_ids, image_token_id: int) -> np.ndarray:
    """Sequence positions of the image tokens laid out as the image: (rows, cols) int64.

    The processor writes each tile's tokens as one contiguous run, row by row (Idefics3's pixel
    shuffle keeps the patches' row-major order); with image splitting the tiles come row by row
    (``<row_i_col_j>``) and a downscaled global view last, which the grid leaves out (it holds the
    same image at a quarter of the resolution). One tile: an 8 x 8 grid on SmolVLM-256M.
    """
    ids = np.asarray(prompt_ids).ravel()
    positions = np.flatnonzero(ids == image_token_id)
    if not len(positions):
        raise ValueError("the prompt holds no image token")
    runs = np.split(positions, np.flatnonzero(np.diff(positions) > 1) + 1)
    per_tile = len(runs[0])
    side = round(per_tile ** 0.5)
    if side * side != per_tile or any(len(r) != per_tile for r in runs):
        raise ValueError(f"image token runs of lengths {[len(r) for r in runs]}: not square tiles of one size")
    tiles_side = 1
    if len(runs) > 1:
        tiles_side = round((len(runs) - 1) ** 0.5)
        if tiles_side * tiles_side != len(runs) - 1:
            raise ValueError(f"{len(runs)} image tiles: not an n x n grid plus a global view")
        runs = runs[:-1]
    grid = np.empty((tiles_side * side, tiles_side * side), np.int64)
    for k, run in enumerate(runs):
        tile_row, tile_col = divmod(k, tiles_side)
        grid[tile_row * side:(tile_row + 1) * side, tile_col * side:(tile_col + 1) * side] = run.reshape(side, side)
    return grid


class SpatialHead(nn.Module):
    """Image-token hidden states -> 256 logits, keeping where things are in the picture.

    The tokens are read in their grid (``image_token_grid``), averaged over the image's height, and
    the resulting columns, left to right, are interpolated at each time step's x position on the
    plot (``tsad.data.render.column_to_step_weights``); a per-step network (a linear map plus a learned
    step embedding, a 5-step convolution, a linear read-out) turns them into one logit per step.
    """

    def __init__(self, width: int, grid: np.ndarray, settings: TeacherSettings, image_size: int):
        super().__init__()
        hidden = settings.spatial_width
        weights = column_to_step_weights(grid.shape[1], settings.out_len, image_size)
        self.register_buffer("grid", torch.as_tensor(grid, dtype=torch.long), persistent=False)
        self.register_buffer("step_weights", torch.as_tensor(weights, dtype=torch.float32), persistent=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, hidden)
        self.step_embedding = nn.Parameter(torch.zeros(settings.out_len, hidden))
        self.local = nn.Conv1d(hidden, hidden, 5, padding=2)
        self.dropout = nn.Dropout(settings.dropout)
        self.out = nn.Linear(hidden, 1)

    def columns(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, T, D) last hidden state -> (B, cols, D): image tokens averaged over the grid's rows."""
        return hidden[:, self.grid].mean(dim=1)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        cols = self.norm(self.columns(hidden).float())
        steps = torch.einsum("sc,bcd->bsd", self.step_weights, cols)
        x = nn.functional.gelu(self.proj(steps) + self.step_embedding)
        x = nn.functional.gelu(self.local(self.dropout(x).transpose(1, 2))).transpose(1, 2)
        return self.out(self.dropout(x)).squeeze(-1)


class SmolVLMTSAD(nn.Module):
    """Backbone -> head -> 256 logits. The ``seed`` head: mask-weighted mean of the last hidden state
    -> MLP -> BiLSTM -> 256 logits (the BiLSTM sees a sequence of length one, as in the seed); the
    ``spatial`` head: ``SpatialHead`` on the image tokens.

    Trainable: the connector (modality projection), the decoder's final RMSNorm, and the head.
    """

    def __init__(self, backbone: nn.Module, settings: TeacherSettings, prompt_ids: torch.Tensor,
                 prompt_mask: torch.Tensor, pixel_scale: torch.Tensor, pixel_shift: torch.Tensor):
        super().__init__()
        self.backbone = backbone
        self.settings = settings
        width = backbone.config.text_config.hidden_size
        if settings.head == "spatial":
            grid = image_token_grid(prompt_ids.cpu().numpy(), backbone.config.image_token_id)
            self.spatial = SpatialHead(width, grid, settings, settings.longest_edge)
        else:
            hidden = settings.head_hidden or width
            if hidden % 2:
                raise ValueError(f"head width {hidden} must be even (two LSTM directions of half of it)")
            self.proj = nn.Sequential(nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.GELU(),
                                      nn.Dropout(settings.dropout))
            self.lstm = nn.LSTM(hidden, hidden // 2, batch_first=True, bidirectional=True)
            self.out = nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(settings.dropout),
                                     nn.Linear(hidden, settings.out_len))
        self.register_buffer("prompt_ids", prompt_ids.view(1, -1).long(), persistent=False)
        self.register_buffer("prompt_mask", prompt_mask.view(1, -1).long(), persistent=False)
        self.register_buffer("pixel_scale", pixel_scale.float().clone(), persistent=False)
        self.register_buffer("pixel_shift", pixel_shift.float().clone(), persistent=False)
        self.freeze_backbone()

    def freeze_backbone(self) -> None:
        # The decoder's final RMSNorm (576 weights) trains with the connector: that is what makes
        # the trainable count the original model's 9,556,096 on the real config (connector +
        # head alone give 9,555,520), so the original froze the layers and embeddings, not the norm.
        """Freezes the backbone but for the connector and the decoder's final norm."""
        self.backbone.requires_grad_(False)
        self.backbone.connector.requires_grad_(True)
        self.backbone.text_model.norm.requires_grad_(True)

    def pixel_values(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 plots -> (B, 1, 3, H, W) normalised; processor output passes through."""
        if pixels.dtype != torch.uint8:
            return pixels
        return normalise_pixels(pixels, self.pixel_scale, self.pixel_shift)

    def hidden_states(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, T, D) last hidden state of the prompt with the image."""
        pixel_values = self.pixel_values(pixels)
        batch = pixel_values.shape[0]
        mask = self.prompt_mask.expand(batch, -1)
        return self.backbone(input_ids=self.prompt_ids.expand(batch, -1), attention_mask=mask,
                             pixel_values=pixel_values, use_cache=False).last_hidden_state

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """The seed head's input: the mask-weighted mean over every token."""
        hidden = self.hidden_states(pixels)
        weights = self.prompt_mask.expand(hidden.shape[0], -1).unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 plots (or processor output) -> (B, out_len) logits."""
        if self.settings.head == "spatial":
            return self.spatial(self.hidden_states(pixels))
        x = self.proj(self.features(pixels)).unsqueeze(1)
        x, _ = self.lstm(x)
        return self.out(x.squeeze(1))


def normalise_pixels(pixels: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 1, 3, H, W) float: x * rescale / std - mean / std, in one pass over
    channels-last memory (a permuted copy first costs twice as much on a CPU)."""
    x = pixels.float()
    x.mul_(scale).add_(shift)
    return x.permute(0, 3, 1, 2).unsqueeze(1)


def total_and_trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters)."""
    total = sum(p.numel() for p in model.parameters())
    return total, sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---- the input pipeline -----------------------------------------------------------------------

class TeacherInputs:
    """Turns plots into what SmolVLMTSAD.forward takes, and holds the tokenised prompt."""

    def __init__(self, processor, settings: TeacherSettings):
        self.processor = processor
        self.settings = settings
        edge = settings.longest_edge
        blank = np.full((edge, edge, 3), 255, np.uint8)
        encoded = processor(text=[settings.prompt], images=[[blank]], return_tensors="pt")
        self.prompt_ids = encoded["input_ids"][0]
        self.prompt_mask = encoded["attention_mask"][0]
        self.tiles = encoded["pixel_values"].shape[1]
        self.image_tokens = int((self.prompt_ids == processor.image_token_id).sum())
        ip = processor.image_processor
        std = torch.tensor(ip.image_std, dtype=torch.float64)
        self.pixel_scale = (float(ip.rescale_factor) / std).float()
        self.pixel_shift = (-torch.tensor(ip.image_mean, dtype=torch.float64) / std).float()

    @property
    def raw_pixels(self) -> bool:
        """True when batches carry raw uint8 pixels (one tile), False when the processor splits images."""
        return not self.settings.image_splitting

    def __call__(self, image, where="image") -> torch.Tensor:
        """One plot (PIL image or (H, W, 3) uint8 array) -> the tensor a batch stacks."""
        array = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else np.asarray(image)
        edge = self.settings.longest_edge
        if array.shape != (edge, edge, 3) or array.dtype != np.uint8:
            raise ValueError(f"{where}: expected a {edge}x{edge} RGB uint8 plot, got shape {array.shape} "
                             f"{array.dtype}")
        if self.raw_pixels:
            return torch.from_numpy(np.array(array, copy=True, order="C"))
        pixels = self.processor.image_processor(images=[[array]], return_tensors="pt")["pixel_values"][0]
        if pixels.shape[0] != self.tiles:
            raise ValueError(f"{where}: {pixels.shape[0]} tiles, the prompt was built for {self.tiles}")
        return pixels

    def load(self, path) -> torch.Tensor:
        """An image file as the model's input."""
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                return self(img, where=str(path))
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"{path}: not a readable image ({err})") from err


class WindowImages(Dataset):
    """Plots read and preprocessed in DataLoader workers; labels ride along when given."""

    def __init__(self, image_paths, inputs: TeacherInputs, labels: np.ndarray | None = None):
        self.image_paths = [Path(p) for p in image_paths]
        self.inputs = inputs
        self.labels = None if labels is None else np.asarray(labels, np.float32)
        if self.labels is not None and len(self.labels) != len(self.image_paths):
            raise ValueError(f"{len(self.image_paths)} images but {len(self.labels)} label rows")

    def __len__(self) -> int:
        return len(self.image_paths)

    def __getitem__(self, i: int) -> dict:
        item = {"pixels": self.inputs.load(self.image_paths[i])}
        if self.labels is not None:
            item["labels"] = torch.from_numpy(self.labels[i])
        return item


# ---- building and loading ---------------------------------------------------------------------

def build_teacher(source: BackboneSource, settings: TeacherSettings, weights: bool = True):
    """(SmolVLMTSAD, TeacherInputs) for a backbone; ``weights=False`` gives a random backbone."""
    processor = load_processor(source.path, settings.image_splitting, settings.longest_edge)
    inputs = TeacherInputs(processor, settings)
    backbone = load_backbone(source, weights=weights)
    if backbone.config.image_token_id != processor.image_token_id:
        raise ValueError(f"{source.path}: model image token {backbone.config.image_token_id} differs from "
                         f"the tokenizer's {processor.image_token_id}")
    model = SmolVLMTSAD(backbone, settings, inputs.prompt_ids, inputs.prompt_mask, inputs.pixel_scale,
                        inputs.pixel_shift)
    return model, inputs


def build_random_teacher(config_dir, settings: TeacherSettings | None = None, device="meta"):
    """The full architecture from a config folder without weights (parameter counts, benchmarks)."""
    from transformers import AutoModel

    settings = settings or TeacherSettings()
    inputs = TeacherInputs(load_processor(config_dir, settings.image_splitting, settings.longest_edge), settings)
    with torch.device(device):
        backbone = AutoModel.from_config(load_config(config_dir), dtype=torch.float32)
        model = SmolVLMTSAD(backbone, settings, inputs.prompt_ids, inputs.prompt_mask,
                            inputs.pixel_scale, inputs.pixel_shift)
    return model, inputs


@dataclass
class TeacherBundle:
    """A loaded teacher: model, inputs, device, backbone source, settings and checkpoint header."""
    model: SmolVLMTSAD
    inputs: TeacherInputs
    device: torch.device
    source: BackboneSource
    settings: TeacherSettings
    run_dir: Path | None = None
    header: dict = field(default_factory=dict)   # the checkpoint's entries but its weights


def checkpoint_header(source: BackboneSource, settings: TeacherSettings, inputs: TeacherInputs) -> tuple:
    """(model_config, extra) for tsad.training.loop.fit."""
    return asdict(settings), {**source.as_dict(), "image_tokens": inputs.image_tokens}


def load_teacher(run_dir, device=None) -> TeacherBundle:
    """A trained teacher from its run folder, rebuilt from the checkpoint alone, in eval mode."""
    run_dir = Path(run_dir)
    path = run_dir / paths.TEACHER_CHECKPOINT
    state = load_checkpoint(path)
    check_kind(state, TEACHER_KIND, path)
    source = backbone_from_record(state, run_dir)
    settings = TeacherSettings.from_record(state.get("model_config", {}))
    model, inputs = build_teacher(source, settings)
    load_trainable(model, state["model"], source=str(path))
    device = get_device(device or "auto") if not isinstance(device, torch.device) else device
    model.to(device).eval()
    header = {k: v for k, v in state.items() if k != "model"}
    return TeacherBundle(model, inputs, device, source, settings, run_dir, header)


def _as_bundle(run_dir_or_bundle, device) -> TeacherBundle:
    if isinstance(run_dir_or_bundle, TeacherBundle):
        return run_dir_or_bundle
    return load_teacher(run_dir_or_bundle, device)


@torch.inference_mode()
def _logits(bundle: TeacherBundle, pixels: torch.Tensor) -> torch.Tensor:
    device = bundle.device
    amp = autocast_dtype(device)
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        return bundle.model(pixels.to(device, non_blocking=True)).float().cpu()


def teacher_logits(run_dir_or_bundle, image_paths, batch_size: int = 32, device=None, progress: bool = True,
                   num_workers: int = 0) -> np.ndarray:
    """(N, 256) float32 logits for every image, in order, in batches (no window is dropped)."""
    bundle = _as_bundle(run_dir_or_bundle, device)
    paths_list = list(image_paths)
    out = np.empty((len(paths_list), bundle.settings.out_len), np.float32)
    loader = DataLoader(WindowImages(paths_list, bundle.inputs), batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, pin_memory=bundle.device.type == "cuda")
    row = 0
    for batch in tqdm(loader, desc="teacher logits", disable=None if progress else True, leave=False):
        logits = _logits(bundle, batch["pixels"]).numpy()
        out[row:row + len(logits)] = logits
        row += len(logits)
    if row != len(paths_list):
        raise RuntimeError(f"teacher_logits: scored {row} of {len(paths_list)} windows")
    return out


def predictor(run_dir, state: dict, device: str = "auto", batch_size: int = 64) -> Predictor:
    """The Predictor of a VLM teacher run (``tsad.models.loader.KINDS``' entry for checkpoints of
    kind ``smolvlm_tsad``): plots rendered on the fly, the pixels of the saved PNGs."""
    geometry = checkpoint_geometry(state)
    bundle = load_teacher(run_dir, device)

    def image_probs(images) -> np.ndarray:
        return torch.sigmoid(torch.from_numpy(predict_images(bundle, images))).numpy()

    tiny = bool(getattr(bundle.source, "untrained", False))
    return Predictor(Path(run_dir).name, "teacher", geometry, rendered(image_probs, geometry.samples),
                     description="teacher" + (" (tiny random backbone)" if tiny else ""),
                     info={"tiny_backbone": tiny}, image_probs=image_probs, model=bundle.model)


def predict_images(bundle: TeacherBundle, images) -> np.ndarray:
    """(N, 256) logits for plots in memory (PIL images or (512, 512, 3) uint8 arrays)."""
    pixels = torch.stack([bundle.inputs(img, where=f"image {i}") for i, img in enumerate(images)])
    return _logits(bundle, pixels).numpy()
