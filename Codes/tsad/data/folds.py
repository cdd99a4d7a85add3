"""Which windows or records train, validate and test: shuffled windows, named records, or
record-wise folds. Pure functions of names and seeds (no files), shared by the split stage
(``tsad.data.split.split``), cross-validation (``tsad.experiments.crossval``) and the distillation study.

Records of several databases (svdb at 128 Hz, mitdb at 360 Hz, ...) are kept apart where it
matters: given each record's database (``groups``), folds and validation records are drawn per
database, so that every fold tests and validates on each database in proportion. With one
database the draws are exactly those of a plain record-wise split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsad.core.paths import SPLITS


def assign_splits(ids, records, fractions, seed: int, by: str) -> dict[str, np.ndarray]:
    """Window-wise (shuffled) or record-wise (no record in two splits) assignment of window ``ids``
    by fractions ``(train, val)``; the rest tests."""
    train, val = fractions
    if not (0 < train < 1 and 0 <= val < 1 and train + val < 1):
        raise ValueError(f"fractions train={train} val={val} leave no test split")
    rng = np.random.default_rng(seed)
    n = len(ids)
    if by == "window":
        order = rng.permutation(n)
        n_train, n_val = int(round(n * train)), int(round(n * val))
        parts = np.split(order, [n_train, n_train + n_val])
    elif by == "record":
        names = pd.unique(records)
        if len(names) < 3:
            raise ValueError(f"--by record needs at least 3 records, found {len(names)}")
        names = names[rng.permutation(len(names))]
        counts = pd.Series(records).value_counts()[names].to_numpy()
        cum = np.cumsum(counts) / n
        split_of = np.where(cum <= train + 1e-9, 0, np.where(cum <= train + val + 1e-9, 1, 2))
        split_of[0] = 0
        for k in (1, 2):  # every split gets a record, taken from the end of the one before
            if not (split_of == k).any():
                split_of[np.nonzero(split_of == k - 1)[0][-1]] = k
        if not (split_of == 0).any():
            raise ValueError("too few records for a record-wise split")
        member = dict(zip(names, split_of))
        which = np.array([member[r] for r in records])
        parts = [np.nonzero(which == k)[0] for k in range(3)]
    else:
        raise ValueError(f"--by must be 'window' or 'record', not {by!r}")
    return {name: np.sort(ids[idx]) for name, idx in zip(SPLITS, parts)}


def _by_group(names, groups) -> dict[str, list[str]]:
    """Sorted record names per group (database), groups in sorted order; one group "" when None."""
    names = sorted(set(map(str, names)))
    if groups is None:
        return {"": names}
    missing = [n for n in names if n not in groups]
    if missing:
        raise ValueError(f"record(s) {', '.join(missing[:5])} have no database")
    out: dict[str, list[str]] = {}
    for n in names:
        out.setdefault(str(groups[n]), []).append(n)
    return dict(sorted(out.items()))


def record_folds(names, folds: int, seed: int, groups: dict | None = None) -> list[list[str]]:
    """Record-wise k-fold: the records, shuffled with ``seed``, cut into ``folds`` near-equal parts.

    Parameters
    ----------
    names : iterable of str
        Record names (repeats are ignored: one name per window is fine).
    folds : int
        Number of folds, 2 .. number of records.
    seed : int
        The shuffle's seed; the same seed gives the same folds.
    groups : dict, optional
        Record -> database. Each database is shuffled and cut alone and its parts dealt to the
        folds so that the folds it fills least come first, which keeps every fold's share of each
        database near equal. With one database (or None) this is the plain record-wise k-fold.

    Returns
    -------
    list of list of str
        The test records of each fold; every record is in exactly one.
    """
    per_group = _by_group(names, groups)
    n = sum(len(v) for v in per_group.values())
    if not 2 <= folds <= n:
        raise ValueError(f"--folds must lie in 2..{n} (the number of records), got {folds}")
    rng = np.random.default_rng(seed)
    out: list[list[str]] = [[] for _ in range(folds)]
    for members in per_group.values():
        order = rng.permutation(len(members))
        parts = np.array_split(order, folds)
        # the larger parts (array_split puts them first) go to the folds with the fewest records
        fill = sorted(range(folds), key=lambda k: (len(out[k]), k))
        for k, part in zip(fill, parts):
            out[k].extend(members[i] for i in part)
    return [sorted(f) for f in out]


def assign_record_parts(
    names,
    *,
    test_records=None,
    val_records=None,
    folds: int | None = None,
    fold: int | None = None,
    val: float = 0.05,
    seed: int = 42,
    groups: dict | None = None,
) -> dict[str, list[str]]:
    """Which records form train, val and test, chosen by name or by fold.

    ``test_records``/``val_records`` name them (the rest train); ``folds``/``fold`` take fold
    ``fold`` of ``record_folds`` as test. Without named val records, ``round(val * n)`` records (at
    least one) of the non-test records, drawn with ``seed``, validate; with ``groups`` (record ->
    database) that many are drawn from each database that still has training records, so the
    threshold is tuned on every database the model will see. Raises ValueError naming an unknown
    record, a record named twice or an empty part."""
    names = sorted(set(map(str, names)))
    test_records = [str(r) for r in (test_records or [])]
    val_records = [str(r) for r in (val_records or [])]
    named = test_records + val_records
    unknown = [r for r in named if r not in names]
    if unknown:
        raise ValueError(f"record(s) {', '.join(unknown)} not in the workspace (it has {', '.join(names)})")
    twice = sorted({r for r in named if named.count(r) > 1})
    if twice:
        raise ValueError(f"record(s) {', '.join(twice)} named twice in --test-records/--val-records")
    if folds is not None:
        if test_records:
            raise ValueError("give either --test-records or --folds/--fold, not both")
        if fold is None or not 0 <= fold < folds:
            raise ValueError(f"--fold must lie in 0..{folds - 1} with --folds {folds}, got {fold}")
        test_records = record_folds(names, folds, seed, groups)[fold]
        clash = sorted(set(val_records) & set(test_records))
        if clash:
            raise ValueError(f"--val-records {', '.join(clash)} lie in test fold {fold}")
    if not test_records:
        raise ValueError("the test part is empty: name --test-records or choose --folds/--fold")
    rest = [r for r in names if r not in test_records and r not in val_records]
    if not val_records:
        val_records = draw_validation(rest, val, seed, groups)
        rest = [r for r in rest if r not in val_records]
    parts = {"train": rest, "val": sorted(val_records), "test": sorted(test_records)}
    for split_name, part in parts.items():
        if not part:
            raise ValueError(f"the {split_name} part is empty ({len(names)} records in the workspace)")
    return parts


def draw_validation(names, val: float, seed: int, groups: dict | None = None) -> list[str]:
    """``round(val * n)`` (at least one) of ``names`` drawn with ``seed + 1`` to validate; with
    ``groups`` (record -> database) that many from each database, except a database with a single
    record, which keeps it for training."""
    out: list[str] = []
    rng = np.random.default_rng(seed + 1)
    for members in _by_group(names, groups).values():
        if not members:
            continue
        n_val = max(1, int(round(val * len(members))))
        if groups is not None and n_val >= len(members):
            continue
        pick = rng.permutation(len(members))[:n_val]
        out += [members[i] for i in pick]
    return sorted(out)


def database_test_parts(
    groups: dict, test_database: str, val: float = 0.05, seed: int = 42
) -> dict[str, list[str]]:
    """Leave one database out: every record of ``test_database`` tests, the other databases' records
    train (``round(val * n)`` of each validate). Raises ValueError for an unknown database or when
    no other database is left to train on."""
    databases = sorted(set(map(str, groups.values())))
    if test_database not in databases:
        raise ValueError(f"database {test_database!r} not in the workspace (it has {', '.join(databases)})")
    if len(databases) < 2:
        raise ValueError(f"leaving out {test_database!r} leaves no database to train on")
    tests = sorted(r for r, d in groups.items() if str(d) == test_database)
    return assign_record_parts(list(groups), test_records=tests, val=val, seed=seed, groups=groups)
