"""The teacher's spatial head (``--head spatial``): the image tokens' grid bookkeeping on the real
SmolVLM configuration (random weights: the shared folder holds no weights), the column-to-step map
from the renderer's geometry, and training on the tiny backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsad.core.checkpoint import load_checkpoint
from tsad.core.paths import TEACHER_CHECKPOINT, teacher_run_name
from tsad.data.render import column_to_step_weights, render_window, step_x
from tsad.models.vlm import backbone as bb
from tsad.models.vlm.losses import teacher_loss
from tsad.models.vlm.settings import TeacherSettings
from tsad.models.vlm.teacher import (
    SmolVLMTSAD,
    TeacherInputs,
    build_random_teacher,
    build_teacher,
    image_token_grid,
    load_teacher,
    total_and_trainable_parameters,
)
from tsad.training import vlm_teacher


def _inputs(smolvlm_dir, splitting: bool) -> TeacherInputs:
    return TeacherInputs(bb.load_processor(smolvlm_dir, image_splitting=splitting),
                         TeacherSettings(head="spatial", image_splitting=splitting))


# ---- where the image tokens sit ----------------------------------------------------------------

def test_one_tile_image_tokens_form_an_8x8_grid(smolvlm_dir):
    inputs = _inputs(smolvlm_dir, False)
    ids = inputs.prompt_ids.numpy()
    image_id = inputs.processor.image_token_id
    positions = np.flatnonzero(ids == image_id)
    assert len(positions) == inputs.image_tokens == 64
    assert np.array_equal(positions, np.arange(positions[0], positions[0] + 64))  # one contiguous run
    tok = inputs.processor.tokenizer
    assert tok.convert_ids_to_tokens(int(ids[positions[0] - 1])) == "<global-img>"
    assert tok.convert_ids_to_tokens(int(ids[positions[-1] + 1])) == "<fake_token_around_image>"
    grid = image_token_grid(ids, image_id)
    assert grid.shape == (8, 8)
    assert np.array_equal(grid, positions.reshape(8, 8))  # row-major: row 0 first, left to right


def test_split_tiles_sit_in_their_places(smolvlm_dir):
    inputs = _inputs(smolvlm_dir, True)
    ids = inputs.prompt_ids.numpy()
    tok = inputs.processor.tokenizer
    grid = image_token_grid(ids, inputs.processor.image_token_id)
    assert inputs.image_tokens == 17 * 64 and grid.shape == (32, 32)
    for tile_row in range(4):
        for tile_col in range(4):
            block = grid[tile_row * 8:(tile_row + 1) * 8, tile_col * 8:(tile_col + 1) * 8]
            first = int(block[0, 0])
            assert np.array_equal(block.ravel(), np.arange(first, first + 64))
            assert tok.convert_ids_to_tokens(int(ids[first - 1])) == f"<row_{tile_row + 1}_col_{tile_col + 1}>"
    # the global view (the last run, after <global-img>) is left out of the grid
    global_start = int(np.flatnonzero(ids == tok.convert_tokens_to_ids("<global-img>"))[0]) + 1
    assert global_start > grid.max() and not np.isin(np.arange(global_start, global_start + 64), grid).any()


def test_grid_rejects_ragged_runs():
    ids = np.array([5, 9, 9, 9, 9, 5, 9, 9, 5])
    with pytest.raises(ValueError, match="not square tiles"):
        image_token_grid(ids, 9)
    with pytest.raises(ValueError, match="no image token"):
        image_token_grid(np.array([1, 2, 3]), 9)


@pytest.fixture(scope="module")
def shallow_real_backbone(smolvlm_dir):
    """The real configuration's geometry (512 px, 16-px patches, pixel shuffle 4, widths 768/576) with
    no transformer layers: each image token then depends on its own 64x64 pixels only, so the grid's
    order can be read off a perturbed image. Random weights."""
    from transformers import AutoModel

    config = bb.load_config(smolvlm_dir)
    config.vision_config.num_hidden_layers = 0
    config.text_config.num_hidden_layers = 0
    torch.manual_seed(0)
    return AutoModel.from_config(config, dtype=torch.float32)


@pytest.mark.parametrize("splitting, cell, block", [(False, (3, 5), (64, 16, 48)), (True, (13, 22), (16, 4, 12))])
def test_grid_cell_reads_its_own_part_of_the_picture(smolvlm_dir, shallow_real_backbone, splitting, cell, block):
    """Darken the middle of one grid cell's pixels: only that cell's hidden state changes."""
    inputs = _inputs(smolvlm_dir, splitting)
    model = SmolVLMTSAD(shallow_real_backbone, inputs.settings, inputs.prompt_ids, inputs.prompt_mask,
                        inputs.pixel_scale, inputs.pixel_shift).eval()
    blank = np.full((512, 512, 3), 255, np.uint8)
    image = blank.copy()
    size, lo, hi = block  # a cell covers `size` pixels of the 512 plot; darken [lo, hi) inside it
    (r, c) = cell
    image[r * size + lo:r * size + hi, c * size + lo:c * size + hi] = 0
    with torch.no_grad():
        pixels = torch.stack([inputs(blank), inputs(image)])
        cells = model.hidden_states(pixels)[:, model.spatial.grid]
        logits = model(pixels)
    changed = torch.nonzero((cells[1] - cells[0]).abs().amax(-1) > 1e-5).tolist()
    assert changed == [list(cell)]
    assert logits.shape == (2, 256)


def test_real_config_spatial_head_counts(smolvlm_dir):
    model, _ = build_random_teacher(smolvlm_dir, TeacherSettings(head="spatial"), device="meta")
    _, trainable = total_and_trainable_parameters(model)
    head = sum(p.numel() for p in model.spatial.parameters())
    connector_and_norm = 576 * 12288 + 576
    assert trainable == head + connector_and_norm
    assert not hasattr(model, "lstm")
    assert tuple(model.spatial.grid.shape) == (8, 8) and tuple(model.spatial.step_weights.shape) == (256, 8)


# ---- columns to time steps -------------------------------------------------------------------

def test_columns_map_to_the_plotted_steps():
    weights = column_to_step_weights(8, 256)
    assert weights.shape == (256, 8)
    np.testing.assert_allclose(weights.sum(1), 1.0)
    centre = (weights * np.arange(8)).sum(1)  # the column position each step reads
    assert np.all(np.diff(centre) > 0)  # left to right
    # the plotted line really is where the weights look: a step drawn as a spike darkens its strip
    series = np.zeros((256, 2))
    series[200, 0] = 1.0
    image = render_window(series)
    rows, cols = np.nonzero((image[:256] < 160).any(axis=2))
    peak_x = cols[rows == rows.min()].mean()  # the spike's tip, drawn at step 200's x
    x = step_x(256)
    assert abs(peak_x - x[200]) <= 1.5
    assert abs(centre[200] - ((peak_x + 0.5) / 64 - 0.5)) <= 1.5 / 64
    assert 0.125 * 512 < x[0] < x[-1] < 0.9 * 512  # the axis margins of the renderer


# ---- training on the tiny backbone --------------------------------------------------------------

def test_spatial_head_learns_on_tiny(tmp_path, split_workspace):
    from tsad.data.splits import load_split

    source = bb.BackboneSource(bb.TINY, str(bb.ensure_tiny(tmp_path / "models" / bb.TINY_DIRNAME)))
    model, inputs = build_teacher(source, TeacherSettings(head="spatial", spatial_width=32))
    assert model.spatial.grid.shape == (4, 4)  # the tiny backbone: 16 image tokens per tile
    train = load_split(split_workspace, "train").subset(4)
    pixels = torch.stack([inputs.load(p) for p in train.image_paths])
    labels = torch.from_numpy(train.labels)
    torch.manual_seed(0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    model.train()
    losses = []
    for _ in range(15):
        loss = teacher_loss(model(pixels), labels, 0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


def test_head_choice_lives_in_the_checkpoint(split_workspace):
    vlm_teacher.main(["--workspace", str(split_workspace.root), "--limit-train", "4", "--limit-val", "2",
                        "--epochs", "1", "--batch-size", "2", "--lr", "1e-3", "--warmup-steps", "0",
                        "--device", "cpu", "--head", "spatial", "--spatial-width", "16"], run="vlm_1")
    run = split_workspace.run_dir(teacher_run_name(1.0))
    state = load_checkpoint(run / TEACHER_CHECKPOINT)
    assert state["model_config"]["head"] == "spatial" and state["model_config"]["spatial_width"] == 16
    assert any(k.startswith("spatial.") for k in state["model"]) and not any(k.startswith("lstm.") for k in state["model"])
    bundle = load_teacher(run, "cpu")
    assert bundle.settings.head == "spatial" and bundle.model.spatial.proj.out_features == 16
    for name, value in state["model"].items():
        assert torch.equal(bundle.model.state_dict()[name], value), name


def test_unknown_head_refused():
    with pytest.raises(ValueError, match="--head must be one of"):
        TeacherSettings(head="pooled")
