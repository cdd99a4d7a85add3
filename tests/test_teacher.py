"""The teacher model, its backbone sources and input pipeline, on the tiny backbone and on the real
SmolVLM configuration (random weights; the shared folder holds no weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tsad.core.checkpoint import load_checkpoint
from tsad.core.paths import TEACHER_CHECKPOINT, teacher_run_name
from tsad.models.vlm import backbone as bb
from tsad.models.vlm.losses import teacher_loss
from tsad.models.vlm.settings import DEFAULT_PROMPT, TeacherSettings
from tsad.models.vlm.teacher import (
    TeacherInputs,
    WindowImages,
    build_random_teacher,
    build_teacher,
    load_teacher,
    normalise_pixels,
    predict_images,
    teacher_logits,
    total_and_trainable_parameters,
)
from tsad.training import vlm_teacher

HEAD_PREFIXES = ("proj.", "lstm.", "out.")


def trainable_names(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


@pytest.fixture
def tiny(tmp_path):
    source = bb.BackboneSource(bb.TINY, str(bb.ensure_tiny(tmp_path / "models" / bb.TINY_DIRNAME)))
    model, inputs = build_teacher(source, TeacherSettings())
    return source, model, inputs


# ---- the real configuration --------------------------------------------------------------------

def test_real_config_parameter_counts(smolvlm_dir):
    model, inputs = build_random_teacher(smolvlm_dir, device="meta")
    total, trainable = total_and_trainable_parameters(model)
    assert (total, trainable) == (230_577_280, 9_556_096)
    assert round(100 * trainable / total, 2) == 4.14
    extra = {n for n in trainable_names(model) if not n.startswith(HEAD_PREFIXES)}
    assert extra == {"backbone.connector.modality_projection.proj.weight", "backbone.text_model.norm.weight"}
    assert model.lstm.hidden_size == 288 and model.lstm.bidirectional  # 576 / 2 per direction


def test_real_processor_image_tokens(smolvlm_dir):
    one_tile = TeacherInputs(bb.load_processor(smolvlm_dir), TeacherSettings())
    seed = TeacherInputs(bb.load_processor(smolvlm_dir, image_splitting=True), TeacherSettings(image_splitting=True))
    assert (one_tile.image_tokens, one_tile.tiles) == (64, 1)
    assert (seed.image_tokens, seed.tiles) == (1088, 17)
    assert one_tile.prompt_ids[0].item() != one_tile.processor.image_token_id


def test_raw_pixels_equal_the_processor(smolvlm_dir):
    """The model's on-device normalisation of uint8 pixels reproduces the processor's pixel values."""
    inputs = TeacherInputs(bb.load_processor(smolvlm_dir), TeacherSettings())
    img = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    ref = inputs.processor.image_processor(images=[[img]], return_tensors="pt")["pixel_values"]
    ours = normalise_pixels(inputs(img)[None], inputs.pixel_scale, inputs.pixel_shift)
    assert ours.shape == ref.shape == (1, 1, 3, 512, 512)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_shared_folder_without_weights_is_refused(smolvlm_dir):
    with pytest.raises(FileNotFoundError, match="no weights.*--model tiny"):
        bb.load_backbone(bb.BackboneSource(str(smolvlm_dir), str(smolvlm_dir)))


# ---- backbone sources --------------------------------------------------------------------------

def test_offline_hub_error_says_what_to_do(monkeypatch, tmp_path):
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(RuntimeError, match="huggingface-cli download someone/absent.*--model tiny"):
        bb.resolve_backbone("someone/absent", None)


def test_missing_folder_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        bb.resolve_backbone(str(tmp_path / "nothing"), None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        bb.resolve_backbone(str(tmp_path / "empty"), None)


def test_tiny_backbone_structure_and_reload(tiny, tmp_path):
    source, model, inputs = tiny
    config = model.backbone.config
    vision = config.vision_config
    assert config.model_type == "idefics3"
    assert config.image_token_id == inputs.processor.tokenizer.convert_tokens_to_ids("<image>")
    seq_len = (vision.image_size // vision.patch_size) ** 2 // config.scale_factor ** 2
    assert inputs.processor.image_seq_len == seq_len == inputs.image_tokens == 16
    for token in ("<fake_token_around_image>", "<global-img>", "<row_4_col_4>", "<end_of_utterance>"):
        assert inputs.processor.tokenizer.convert_tokens_to_ids(token) != inputs.processor.tokenizer.unk_token_id
    again, _ = build_teacher(source, TeacherSettings())  # from_pretrained of the saved folder
    for (name, a), b in zip(model.backbone.state_dict().items(), again.backbone.state_dict().values()):
        assert torch.equal(a, b), name
    assert bb.ensure_tiny(tmp_path / "models" / bb.TINY_DIRNAME) == tmp_path / "models" / bb.TINY_DIRNAME


def test_only_connector_final_norm_and_head_train(tiny):
    _, model, _ = tiny
    names = trainable_names(model)
    assert {n for n in names if not n.startswith(HEAD_PREFIXES)} == {
        "backbone.connector.modality_projection.proj.weight", "backbone.text_model.norm.weight"}
    assert not any(n.startswith(("backbone.vision_model", "backbone.text_model.layers",
                                 "backbone.text_model.embed")) for n in names)


def test_seed_processor_setting_on_tiny(tmp_path):
    folder = bb.ensure_tiny(tmp_path / bb.TINY_DIRNAME)
    source = bb.BackboneSource(bb.TINY, str(folder))
    model, inputs = build_teacher(source, TeacherSettings(image_splitting=True))
    assert (inputs.tiles, inputs.image_tokens) == (17, 17 * 16)
    pixels = torch.stack([inputs(np.full((512, 512, 3), 200, np.uint8))] * 2)
    assert pixels.shape == (2, 17, 3, 512, 512)
    model.eval()
    with torch.no_grad():
        assert model(pixels).shape == (2, 256)


def test_bad_prompt_and_bad_image(tiny):
    with pytest.raises(ValueError, match="exactly once"):
        TeacherSettings(prompt="no image token here")
    _, _, inputs = tiny
    with pytest.raises(ValueError, match="512x512"):
        inputs(np.zeros((256, 512, 3), np.uint8))


def test_unreadable_image_named(tiny, tmp_path):
    bad = tmp_path / "ecg_plot_0.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="ecg_plot_0.png: not a readable image"):
        WindowImages([bad], tiny[2])[0]


# ---- training --------------------------------------------------------------------------------

def test_tiny_teacher_loss_goes_down(tiny, split_workspace):
    """Direct steps on four synthetic spiky windows (tsad.data.ecg's real svdb windows are not on main yet)."""
    from tsad.data.splits import load_split

    _, model, inputs = tiny
    train = load_split(split_workspace, "train").subset(3)
    batch = {"pixels": torch.stack([inputs.load(p) for p in train.image_paths]),
             "labels": torch.from_numpy(train.labels)}
    torch.manual_seed(0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    losses = []
    for _ in range(12):
        loss = teacher_loss(model(batch["pixels"]), batch["labels"], 0.5)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


def test_train_checkpoint_round_trip(split_workspace):
    vlm_teacher.main(["--workspace", str(split_workspace.root), "--limit-train", "6", "--limit-val", "4",
                        "--epochs", "2", "--batch-size", "3", "--lr", "1e-3", "--warmup-steps", "0",
                        "--device", "cpu"], run="vlm_0.5")
    run = split_workspace.run_dir(teacher_run_name(0.5))
    state = load_checkpoint(run / TEACHER_CHECKPOINT)  # weights_only=True inside
    assert state["kind"] == "smolvlm_tsad" and state["backbone"] == "tiny" and state["backbone_untrained"]
    assert state["model_config"]["prompt"] == DEFAULT_PROMPT and state["alpha"] == 0.5
    assert not any(k.startswith(("backbone.vision_model", "backbone.text_model.layers")) for k in state["model"])
    raw = torch.load(run / TEACHER_CHECKPOINT, weights_only=True)
    assert set(raw["model"]) == set(state["model"])

    bundle = load_teacher(run, "cpu")
    assert not bundle.model.training
    for name, value in state["model"].items():
        assert torch.equal(bundle.model.state_dict()[name], value), name
    images = [Image.open(p) for p in sorted((split_workspace.split_images("test")).glob("*.png"))[:3]]
    live = predict_images(bundle, images)
    batched = teacher_logits(run, sorted(split_workspace.split_images("test").glob("*.png"))[:3],
                             batch_size=2, device="cpu", progress=False)
    assert live.shape == batched.shape == (3, 256) and batched.dtype == np.float32
    np.testing.assert_allclose(live, batched, rtol=1e-4, atol=1e-5)


def test_teacher_modules_import_without_wfdb_and_streamlit():
    """The GPU machine lacks wfdb and streamlit."""
    import subprocess
    import sys

    from tsad.core.paths import REPO_ROOT

    code = ("import sys; sys.modules['wfdb'] = None; sys.modules['streamlit'] = None; "
            f"sys.path.insert(0, {str(REPO_ROOT / 'Codes')!r}); "
            "import tsad.models.vlm.teacher, tsad.training.vlm_teacher, tsad.training.vlm_teacher_infer, tsad.models.vlm.losses, tsad.models.vlm.backbone")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
