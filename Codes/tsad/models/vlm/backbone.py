"""Where the teacher's vision-language backbone comes from: a hub id, a local folder, or ``tiny``.

``tiny`` is a randomly initialised Idefics3 model with SmolVLM's structure and small widths, and
a processor whose byte-level tokenizer is built here. It is saved once into the workspace
(``models/smolvlm-tiny``) so every later stage reloads the same random weights with
``from_pretrained``. It needs no network; anything it produces is labelled ``backbone: tiny``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from tsad.core.common import log
from tsad.core.paths import Workspace

DEFAULT_MODEL = "HuggingFaceTB/SmolVLM-256M-Instruct"
TINY = "tiny"
TINY_DIRNAME = "smolvlm-tiny"
# Files a backbone folder needs; the hub repository also holds ONNX exports we never read.
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model"]

IMAGE_TOKEN = "<image>"
FAKE_IMAGE_TOKEN = "<fake_token_around_image>"
GLOBAL_IMAGE_TOKEN = "<global-img>"
END_TOKEN = "<end_of_utterance>"
GRID_SIDE = 6  # the processor names tiles up to <row_6_col_6>

TINY_IMAGE_SIZE = 512
TINY_PATCH = 32
TINY_SCALE = 4
TINY_WIDTH = 32


@dataclass(frozen=True)
class BackboneSource:
    """Where the teacher's backbone comes from: a Hub id, a local folder or the tiny stand-in."""
    name: str   # "tiny", a hub id, or a folder as the user gave it
    path: str   # the folder from_pretrained reads

    @property
    def untrained(self) -> bool:
        """True for the tiny randomly initialised backbone."""
        return self.name == TINY

    def as_dict(self) -> dict:
        """The entries a checkpoint stores so that inference finds the same backbone."""
        return {"backbone": self.name, "backbone_path": self.path, "backbone_untrained": self.untrained}


def add_backbone_args(parser) -> None:
    """Adds --model (the backbone: tiny, a Hub id or a folder) to a parser."""
    parser.add_argument("--model", default=TINY,
                        help=f"backbone: a hub id (e.g. {DEFAULT_MODEL}), a local folder holding one, or "
                             "'tiny' (a small random Idefics3 built offline; results are labelled untrained)")


def resolve_backbone(model: str, ws: Workspace) -> BackboneSource:
    """Turns --model into a local folder, building the tiny backbone or fetching a hub model if needed."""
    if model == TINY:
        return BackboneSource(TINY, str(ensure_tiny(ws.models_dir / TINY_DIRNAME)))
    folder = Path(model).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder}: no config.json, not a Hugging Face model folder")
        return BackboneSource(model, str(folder.resolve()))
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise FileNotFoundError(f"{model}: no such model folder, and not a hub id of the form owner/name")
    return BackboneSource(model, hub_snapshot(model))


def hub_snapshot(repo_id: str) -> str:
    """The local snapshot of a hub model, downloaded into the Hugging Face cache when missing."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, allow_patterns=HUB_PATTERNS)
    except (OSError, ValueError) as err:  # offline / not cached / unknown repo all land here
        raise RuntimeError(
            f"cannot get the backbone {repo_id!r} ({type(err).__name__}: {err}). Download it where there is "
            f"network with `huggingface-cli download {repo_id}` (it goes into the Hugging Face cache), or "
            f"pass a local folder holding it with --model /path/to/folder, or use --model tiny for an "
            f"untrained offline backbone.") from err


def backbone_from_record(record: dict, run_dir: Path) -> BackboneSource:
    """The backbone a checkpoint was trained with; the tiny one is looked up in the run's workspace."""
    name = record.get("backbone")
    if not name:
        raise ValueError(f"{run_dir}: checkpoint does not name its backbone")
    if name == TINY:
        folder = Workspace(Path(run_dir).resolve().parent).models_dir / TINY_DIRNAME
        if not folder.is_dir():
            folder = Path(record.get("backbone_path", ""))
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{run_dir}: trained on the tiny backbone, but its saved weights are gone "
                                    f"({folder}); retrain the teacher")
        return BackboneSource(TINY, str(folder))
    path = record.get("backbone_path")
    if path and Path(path).is_dir():
        return BackboneSource(name, path)
    if Path(name).is_dir():
        return BackboneSource(name, str(Path(name).resolve()))
    return BackboneSource(name, hub_snapshot(name))


# ---- loading ----------------------------------------------------------------------------------

def load_config(path):
    """The backbone's transformers configuration from a folder."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(path)


def load_backbone(source: BackboneSource, weights: bool = True):
    """The Idefics3 model without its language-model head, in float32 (autocast picks bf16 on CUDA)."""
    from transformers import AutoModel

    if not weights:
        return AutoModel.from_config(load_config(source.path), dtype=torch.float32)
    folder = Path(source.path)
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise FileNotFoundError(f"{folder}: holds the configuration but no weights (*.safetensors); download "
                                f"the full model (huggingface-cli download {DEFAULT_MODEL}) or use --model tiny")
    return AutoModel.from_pretrained(source.path, dtype=torch.float32)


def load_processor(path, image_splitting: bool = False, longest_edge: int = 512):
    """The Idefics3 processor, by default one tile of ``longest_edge`` pixels per image.

    ``image_splitting=True`` restores SmolVLM's own preprocessing (upscale to 4 x longest_edge, cut
    16 tiles plus a global view): the seed's setting.
    """
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(path)
    ip = processor.image_processor
    ip.do_image_splitting = image_splitting
    ip.size = {"longest_edge": 4 * longest_edge if image_splitting else longest_edge}
    ip.max_image_size = {"longest_edge": longest_edge}
    return processor


# ---- the tiny backbone ------------------------------------------------------------------------

def tiny_special_tokens() -> list[str]:
    """The special tokens the tiny stand-in's tokenizer needs."""
    grid = [f"<row_{i + 1}_col_{j + 1}>" for i in range(GRID_SIDE) for j in range(GRID_SIDE)]
    return [FAKE_IMAGE_TOKEN, IMAGE_TOKEN, GLOBAL_IMAGE_TOKEN, END_TOKEN, *grid]


def build_tiny_tokenizer():
    """Byte-level BPE without merges: any prompt tokenises, one token per byte, in 300 entries."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    base = ["<pad>", "<unk>", "<|im_start|>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(base + alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token=END_TOKEN,
                                   pad_token="<pad>", unk_token="<unk>",
                                   additional_special_tokens=tiny_special_tokens())


def tiny_image_seq_len() -> int:
    """Image tokens per tile of the tiny stand-in."""
    return (TINY_IMAGE_SIZE // TINY_PATCH) ** 2 // TINY_SCALE ** 2


def build_tiny(seed: int = 0):
    """(model, processor): SmolVLM's structure with 32-wide layers, one of each, random weights."""
    import transformers
    from transformers import Idefics3Config, Idefics3Processor

    tokenizer = build_tiny_tokenizer()
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    w = TINY_WIDTH
    config = Idefics3Config(
        image_token_id=image_token_id, scale_factor=TINY_SCALE, tie_word_embeddings=False, use_cache=False,
        vision_config=dict(hidden_size=w, intermediate_size=2 * w, num_hidden_layers=1, num_attention_heads=2,
                           image_size=TINY_IMAGE_SIZE, patch_size=TINY_PATCH),
        text_config=dict(model_type="llama", hidden_size=w, intermediate_size=2 * w, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=w // 2,
                         vocab_size=len(tokenizer), max_position_embeddings=4096,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False),
    )
    image_processor_cls = getattr(transformers, "Idefics3ImageProcessorPil", None) or \
        transformers.Idefics3ImageProcessor
    image_processor = image_processor_cls(
        do_image_splitting=True, size={"longest_edge": 4 * TINY_IMAGE_SIZE},
        max_image_size={"longest_edge": TINY_IMAGE_SIZE}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor = Idefics3Processor(image_processor, tokenizer, image_seq_len=tiny_image_seq_len())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        from transformers import AutoModel

        model = AutoModel.from_config(config, dtype=torch.float32)
    if model.config.image_token_id != processor.image_token_id:
        raise AssertionError("tiny backbone: model and tokenizer disagree on the <image> token id")
    return model, processor


def ensure_tiny(folder: Path) -> Path:
    """Builds and saves the tiny backbone once; the folder appears complete or not at all."""
    folder = Path(folder)
    if (folder / "config.json").is_file() and (folder / "processor_config.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    model, processor = build_tiny()
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "config.json").is_file():  # not a concurrent rank that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built the tiny (untrained) backbone in %s", folder)
    return folder
