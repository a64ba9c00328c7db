"""Evaluation of trained runs: score them on equal terms and write a comparison report (Markdown, HTML, JSON).

    from vaegan.evaluation import EvalConfig, evaluate_runs
    html = evaluate_runs(["runs/00000-...-vae-...", "runs/00001-...-vaegan-..."], EvalConfig(samples=5000))
"""

from vaegan.evaluation.report import evaluate_runs, write_report
from vaegan.evaluation.scoring import EvalConfig, MixedDataError, RunFolderError, RunResult, score_run

__all__ = ["EvalConfig", "MixedDataError", "RunFolderError", "RunResult", "evaluate_runs", "score_run", "write_report"]
