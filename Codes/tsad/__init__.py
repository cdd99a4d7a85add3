"""tsad: VLM-guided knowledge distillation for ECG beat (anomaly) detection.

Shared logic for the stage scripts under ``Codes/``, in subpackages by job (docs/ARCHITECTURE.md):
core, data, scoring, models, detection, training, experiments, app and cli. Nothing here runs at
import; ``tsad.detect_beats`` and ``tsad.detect_record`` (``tsad.api``) are looked up on first use,
so importing any one submodule does not import the others.
"""

__version__ = "0.1.0"

__all__ = ["detect_beats", "detect_record"]


def __getattr__(name):
    # the public face, imported on first use: every ``tsad.x`` import passes through this package,
    # which must not import the detection stack for it
    if name in __all__:
        from tsad import api

        return getattr(api, name)
    raise AttributeError(f"module 'tsad' has no attribute {name!r}")
