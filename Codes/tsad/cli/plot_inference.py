"""Score every inference output of a workspace, write the results table and the evaluation figures.

    python Codes/Inference/plot_inference.py --workspace W [--threshold X] [--tolerance 2] [--n-examples 4]

Finds W/<run>/all_probs_<run>.npy for every run (vlm_0.5, vlm_1, LSTM_train, KD_train_*), runs the
wfdb XQRS baseline on the test split (cached in W/xqrs), prints the table and writes
W/results.csv, W/results.md and W/Plots/inference_*.png. Definitions: docs/METRICS.md.
"""

from __future__ import annotations

from tsad.core.common import log, make_parser, seed_everything, setup_logging
from tsad.core.errors import run_cli
from tsad.core.paths import Workspace
from tsad.experiments.evaluate import evaluate_workspace, to_markdown, write_figures, write_results
from tsad.scoring.metrics import DEFAULT_TOLERANCE


def parse_args(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--threshold", type=float, default=None,
                        help="peak-picking threshold for every window (default: each window's mean probability)")
    parser.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE,
                        help="squeezing tolerance w in samples: a true beat covers [i-w, i+w]")
    parser.add_argument("--n-examples", type=int, default=4, help="example windows drawn for every model")
    parser.add_argument("--no-xqrs", action="store_true", help="leave out the wfdb XQRS baseline row")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging()
    seed_everything(args.seed)
    ws = Workspace.from_arg(args.workspace)
    evaluation = evaluate_workspace(ws, threshold=args.threshold, tolerance=args.tolerance,
                                    with_xqrs=not args.no_xqrs)
    for message in evaluation.missing:
        log.warning("skipped: %s", message)
    print(to_markdown(evaluation.table))
    write_results(ws, evaluation, args.threshold, args.tolerance)
    figures = write_figures(ws, evaluation, n_examples=args.n_examples, seed=args.seed)
    log.info("wrote %s, %s and %d figures in %s", ws.results_csv, ws.results_md, len(figures), ws.plots)
    return evaluation


if __name__ == "__main__":   # python -m tsad.cli.plot_inference
    run_cli(main)
