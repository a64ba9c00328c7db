#!/usr/bin/env python3
"""Visual attribute vectors of a trained run (Larsen et al. 2016, section 5): for every label of its training data,
the mean encoder mean of images with the label minus that of images without it, saved as
RUN_DIR/checkpoints/<which>.attributes.npz (computed once per checkpoint). Then edits of test images along them:
a PNG grid per edit (a row per image: the input, then Dec(mu(x) + alpha * direction) at each strength alpha, a
label over each column) and,
for Fashion-MNIST, the bundled classifier's mean probability of the target label per strength (edits.json and
probability.png). Also vectors.npy (K x latent_dim float32) and labels.json (their names) for other tools.

Labels: Fashion-MNIST, MNIST and CIFAR-10 classes; a folder's class subfolders; CelebA's 40 attributes from
list_attr_celeba.txt beside list_eval_partition.txt."""

import argparse
import json
from pathlib import Path

import numpy as np

from vaegan.atomic import atomic_write, atomic_write_text
from vaegan.attributes import (CURVE_IMAGES, GRID_ROWS, STRENGTHS, attributes_path, default_edits,
                               describe_default_edits, edit_classifier, edit_grid, parse_edits, parse_strengths,
                               run_edits, trained_run_attributes)
from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.config import check_device
from vaegan.data.labels import dataset_labels
from vaegan.evaluation.figures import edit_curves_figure
from vaegan.run_folder import finite_or_null
from vaegan.sampling import save_png
from vaegan.trained_run import load_trained_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    p.add_argument("run_dir", help="a run folder made by training")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("--edit", action="append", default=None, metavar="SRC:DST",
                   help="an edit, repeatable: SOURCE:TARGET moves test images of SOURCE towards TARGET (classes); "
                        f"TARGET alone adds an attribute (CelebA) (default: {describe_default_edits()})")
    p.add_argument("--strengths", type=parse_strengths, metavar="A,B,...",
                   default=",".join(f"{a:g}" for a in STRENGTHS),
                   help="comma-separated strengths alpha (0: the reconstruction, 1: the full vector)")
    p.add_argument("--rows", type=positive_int, default=GRID_ROWS, help="test images per edit grid")
    p.add_argument("--images", type=positive_int, default=CURVE_IMAGES,
                   help="test images per edit whose classifier probabilities are averaged")
    p.add_argument("--scale", type=positive_int, default=1,
                   help="enlarge each edit grid's images this many times (nearest neighbour); the alpha labels over "
                        "the columns grow with them")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/attributes/step-STEP)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "attributes", "--out")
        run = load_trained_run(args.run_dir, args.which, args.device)
        vectors = trained_run_attributes(run)  # NoLabelsError (one line) for unlabelled data, before any output
        edits = parse_edits(args.edit, vectors) if args.edit else default_edits(run.cfg.data.dataset, vectors)
        out = Path(args.out or Path(args.run_dir) / "attributes" / f"step-{run.step:07d}")
        out.mkdir(parents=True, exist_ok=True)
        test = run.dataset("test")
        results = run_edits(run.nets["encoder"], run.nets["decoder"], vectors, test.images,
                            dataset_labels(test, run.cfg.data.root), edits, args.strengths, edit_classifier(test),
                            rows=args.rows, curve_images=args.images)
        atomic_write(out / "vectors.npy", lambda f: np.save(f, vectors.vectors.float().numpy()))
        atomic_write_text(out / "labels.json", json.dumps({
            "names": list(vectors.names), "kind": "classes" if vectors.exclusive else "binary attributes",
            "n_with": vectors.n_with.tolist(), "n_without": vectors.n_without.tolist(), "step": run.step,
            "saved_as": str(attributes_path(run.run_dir, run.which))}, indent=2))
        for r in results:
            save_png(edit_grid(r, args.scale), out / f"edit-{r.edit.slug}.png")
        atomic_write_text(out / "edits.json", json.dumps(finite_or_null(
            {"step": run.step, "edits": {r.edit.title: r.record() for r in results}}), indent=2, allow_nan=False))
        plotted = edit_curves_figure([(run.run_dir.name, results)], out / "probability.png")
        for r in results:
            curve = "" if r.p_target is None else (
                f": P({r.edit.target_name}) {r.p_target[0]:.2f} at alpha {r.strengths[0]:g} -> {r.p_target[-1]:.2f} "
                f"at {r.strengths[-1]:g} (real {r.edit.target_name} images: {r.real_p_target:.2f})")
            print(f"{r.edit.title}{curve}")
        print(f"wrote {len(results)} edit grid(s){', probability.png' if plotted else ''}, edits.json, vectors.npy "
              f"and labels.json of step {run.step} to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
