"""The VLM teacher's settings (``TeacherSettings``, stored in every checkpoint), its prompt worded for
the workspace's windows, and the flags that set them (``add_teacher_args``)."""

from __future__ import annotations

from dataclasses import dataclass

from tsad.core.geometry import WindowGeometry
from tsad.models.vlm.backbone import IMAGE_TOKEN

_COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def prompt_for(geometry: WindowGeometry) -> str:
    """The seed's prompt, worded for a window geometry (two leads of 256 samples: the seed's text)."""
    leads = _COUNT_WORDS.get(geometry.n_leads, str(geometry.n_leads))
    return (IMAGE_TOKEN + f"The given image is a time series of {leads} variable with {geometry.samples} time "
            f"stamps. Find out the anomalous time stamps from 0 to {geometry.samples - 1}.")


DEFAULT_PROMPT = prompt_for(WindowGeometry())
HEADS = ("seed", "spatial")


@dataclass
class TeacherSettings:
    """What the model and its inputs need beyond the backbone; stored in every checkpoint."""
    prompt: str = DEFAULT_PROMPT
    image_splitting: bool = False
    longest_edge: int = 512
    head_hidden: int | None = None  # None: the text decoder's width, as the seed
    dropout: float = 0.2
    out_len: int = WindowGeometry().samples
    # "seed": the original head (mean of every token -> MLP -> BiLSTM of length one -> 256 logits);
    # "spatial": the image tokens in their grid, pooled over height, columns read at each step's x.
    head: str = "seed"
    spatial_width: int = 128  # the spatial head's per-step width

    def __post_init__(self):
        if self.prompt.count(IMAGE_TOKEN) != 1:
            raise ValueError(f"the prompt must hold {IMAGE_TOKEN} exactly once, got: {self.prompt!r}")
        if self.head not in HEADS:
            raise ValueError(f"--head must be one of {HEADS}, got {self.head!r}")

    @classmethod
    def for_geometry(cls, geometry: WindowGeometry, prompt: str | None = None, **kwargs) -> TeacherSettings:
        """Settings whose output length and (default) prompt follow the workspace's windows."""
        if prompt is None or prompt == DEFAULT_PROMPT:
            prompt = prompt_for(geometry)
        return cls(prompt=prompt, out_len=geometry.samples, **kwargs)

    @classmethod
    def from_record(cls, record: dict) -> TeacherSettings:
        """Settings from a checkpoint's model_config (unknown keys ignored)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in record.items() if k in known})


def add_teacher_args(parser) -> None:
    """Adds --prompt and --image-splitting."""
    parser.add_argument("--prompt", default=None,
                        help="text given with every image; holds <image> once (default: the seed's prompt "
                             "worded for the workspace's window length and leads)")
    parser.add_argument("--image-splitting", "--seed-processor", dest="image_splitting", action="store_true",
                        help="the seed's preprocessing: upscale to 2048 and cut 16 tiles plus a global view "
                             "(1,088 image tokens instead of 64; about 17 times the vision compute)")
    parser.add_argument("--head", choices=HEADS, default="seed",
                        help="seed: the original head (mean of all tokens -> MLP -> BiLSTM -> 256 logits); "
                             "spatial: image tokens in their grid, pooled over height, columns mapped to the "
                             "256 steps by the plot's x-axis, then a small per-step network (default: seed)")
    parser.add_argument("--spatial-width", type=int, default=128, help="the spatial head's per-step width")
