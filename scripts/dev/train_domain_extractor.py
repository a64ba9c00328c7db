"""Train the domain feature extractor (a small CNN classifier) on a labelled dataset.

Writes the weights (metrics/domain.py format) and a json next to them with sha256, dataset, test
accuracy, epochs, seed and architecture. The bundled Fashion-MNIST weights were made with
    python scripts/dev/train_domain_extractor.py --dataset fashion_mnist --epochs 3 --seed 0
after which BUNDLED_WEIGHTS_SHA256 in metrics/domain.py was set to the printed sha256. Use the file
with your own data via get_extractor("domain", weights_path=PATH).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from metrics.domain import DomainNet, DomainNetConfig, save_domain_net, to_network_input
from metrics.files import write_atomically
from vaegan.data import load_dataset

REPO = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion_mnist", help="a labelled dataset name known to vaegan.data")
    p.add_argument("--data-root", default=None, help="folder searched first for the dataset files")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine-decayed to 0)")
    p.add_argument("--feature-dim", type=int, default=128, help="width of the feature (penultimate) layer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="use only the first N images of each split (quick runs)")
    p.add_argument("--out", default=None,
                   help="weights path; default metrics/weights/domain_<dataset>.pt (a json is written next to it)")
    args = p.parse_args(argv)
    if min(args.epochs, args.batch_size, args.feature_dim, 1 if args.limit is None else args.limit) < 1 or args.lr <= 0:
        p.error("--epochs, --batch-size, --feature-dim, --limit must be >= 1 and --lr > 0")
    return args


def accuracy(model: DomainNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of images (uint8 (N, C, S, S)) whose predicted class equals labels (int64 (N,))."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for lo in range(0, len(images), batch_size):
            logits = model(to_network_input(images[lo:lo + batch_size]))
            correct += int((logits.argmax(1) == labels[lo:lo + batch_size]).sum())
    return correct / len(images)


def train(model: DomainNet, images: torch.Tensor, labels: torch.Tensor, args: argparse.Namespace) -> None:
    """Adam + cosine schedule, cross-entropy, reshuffled each epoch; prints a progress line every ~10 s."""
    generator = torch.Generator().manual_seed(args.seed)
    steps_per_epoch = -(-len(images) // args.batch_size)
    total = steps_per_epoch * args.epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    start = last = time.monotonic()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        for lo in range(0, len(images), args.batch_size):
            idx = order[lo:lo + args.batch_size]
            loss = F.cross_entropy(model(to_network_input(images[idx])), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            now = time.monotonic()
            if now - last >= 10 or step == total:
                rate = step * args.batch_size / (now - start)
                print(f"epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {loss.item():.3f} "
                      f"{rate:.0f} img/s ETA {(total - step) * args.batch_size / rate:.0f} s", flush=True)
                last = now


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_set = load_dataset(args.dataset, "train", root=args.data_root, limit=args.limit)
    test_set = load_dataset(args.dataset, "test", root=args.data_root, limit=args.limit)
    if train_set.labels is None or test_set.labels is None:
        print(f"error: dataset {args.dataset!r} has no labels; the domain extractor is trained as a classifier "
              "and needs a labelled dataset", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    config = DomainNetConfig(in_channels=train_set.channels, image_size=train_set.image_size,
                             feature_dim=args.feature_dim, num_classes=int(train_set.labels.max()) + 1)
    model = DomainNet(config)
    print(f"training on {len(train_set)} {args.dataset} images, {sum(p.numel() for p in model.parameters())} "
          f"parameters, config {asdict(config)}", flush=True)
    train(model, train_set.images, train_set.labels, args)
    test_accuracy = accuracy(model, test_set.images, test_set.labels)
    print(f"test accuracy {test_accuracy:.4f} on {len(test_set)} images", flush=True)

    out = Path(args.out) if args.out else REPO / "metrics" / "weights" / f"domain_{args.dataset}.pt"
    sha256 = save_domain_net(model, out)
    provenance = {
        "sha256": sha256, "dataset": args.dataset, "data": [train_set.identity, test_set.identity],
        "test_accuracy": round(test_accuracy, 4),
        "n_train": len(train_set), "n_test": len(test_set), "epochs": args.epochs, "batch_size": args.batch_size,
        "lr": args.lr, "seed": args.seed, "architecture": asdict(config), "features": "embed (pre-ReLU)",
        "input_scaling": "uint8 / 127.5 - 1", "torch": torch.__version__,
    }
    text = json.dumps(provenance, indent=2) + "\n"
    write_atomically(out.with_suffix(".json"), lambda f: f.write(text.encode()))
    print(f"wrote {out} (sha256 {sha256}) and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
