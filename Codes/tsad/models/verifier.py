"""The beat verifier: the learned beat classifier (``tsad.models.beat_classifier``) with a sixth class,
NOT_A_BEAT, trained on what its detector finds (the detections no reference beat matches within
150 ms are NOT_A_BEAT), and the rule by which it removes a detection.

A detection is dropped when the verifier's probability of NOT_A_BEAT is above ``drop_above`` (None:
when NOT_A_BEAT is its most likely class), unless the beat class it would give the detection (the
most likely of the others) is one of ``keep_classes``: a verifier that keeps V never removes a beat
it finds ventricular (and, with ``keep_classified``, one the run's beat classifier calls so). Early, unlike the patient's usual beat and often in noise is what both
ventricular beats and false beats are; docs/RESULTS.md sections N and P measured that keeping V is
what holds the V sensitivity while the false beats fall.

It sits beside its detector in the run folder (``verifier.pth``, with its rule in the checkpoint);
detection then drops what it rejects (``tsad.detection.streaming``). This module is numpy only:
detection through onnxruntime applies the rule without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsad.data.ecg import AAMI_CLASSES

NOT_A_BEAT = "X"
VERIFIER_CLASSES = (*AAMI_CLASSES, NOT_A_BEAT)     # the verifier's outputs, in order


def beat_labels(probs: np.ndarray) -> np.ndarray:
    """Each detection's beat class by a verifier's (detections, VERIFIER_CLASSES) probabilities: the
    most likely of the classes other than NOT_A_BEAT."""
    beat_probs = np.delete(probs, VERIFIER_CLASSES.index(NOT_A_BEAT), axis=1)
    return np.asarray([c for c in VERIFIER_CLASSES if c != NOT_A_BEAT], dtype=object)[beat_probs.argmax(axis=1)]


def droppable(labels: np.ndarray, keep_classes: tuple = ()) -> np.ndarray:
    """Which detections a verifier may drop at all: those whose beat class (``labels``, from
    ``beat_labels``) is not one of ``keep_classes``."""
    return ~np.isin(labels, list(keep_classes))


@dataclass(frozen=True)
class VerifierRule:
    """When a verifier drops a detection (module docstring)."""

    drop_above: float | None = None      # None: when NOT_A_BEAT is the most likely class
    keep_classes: tuple = ()
    # also keep what the run's beat classifier gives one of keep_classes (it must then be there)
    keep_classified: bool = False

    def keep(self, probs: np.ndarray, labels: np.ndarray | None = None,
             classified: np.ndarray | None = None) -> np.ndarray:
        """Which detections stay, from the verifier's (detections, VERIFIER_CLASSES) probabilities
        (and their ``beat_labels``, where already worked out) and, for a rule with
        ``keep_classified``, the classes the beat classifier gave them (``classified``)."""
        probs = np.asarray(probs)
        if not len(probs):
            return np.zeros(0, bool)
        not_beat = VERIFIER_CLASSES.index(NOT_A_BEAT)
        keep = probs.argmax(axis=1) != not_beat if self.drop_above is None else probs[:, not_beat] <= self.drop_above
        labels = beat_labels(probs) if labels is None else labels
        keep |= ~droppable(labels, self.keep_classes)
        if self.keep_classified:
            if classified is None:
                raise ValueError("this verifier's rule also keeps what the beat classifier calls "
                                 f"{' or '.join(self.keep_classes)}: give the classifier's classes")
            keep |= ~droppable(np.asarray(classified, dtype=object), self.keep_classes)
        return keep

    def as_dict(self) -> dict:
        return {"drop_above": self.drop_above, "keep_classes": list(self.keep_classes),
                "keep_classified": self.keep_classified}

    @classmethod
    def from_dict(cls, d: dict, source: str = "checkpoint") -> VerifierRule:
        unknown = set(d) - {"drop_above", "keep_classes", "keep_classified"}
        if unknown:
            raise ValueError(f"{source}: unknown verifier rule field(s) {', '.join(sorted(unknown))}")
        drop_above = d.get("drop_above")
        if drop_above is not None and not 0.0 <= float(drop_above) <= 1.0:
            raise ValueError(f"{source}: drop_above {drop_above} is not a probability")
        keep = tuple(d.get("keep_classes") or ())
        bad = [c for c in keep if c not in AAMI_CLASSES]
        if bad:
            raise ValueError(f"{source}: keep_classes {bad} are not AAMI classes ({', '.join(AAMI_CLASSES)})")
        return cls(None if drop_above is None else float(drop_above), keep, bool(d.get("keep_classified", False)))
