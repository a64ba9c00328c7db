#!/usr/bin/env python3
"""Train a Soft-IntroVAE (Daniel & Tamar 2021): `python scripts/train_softintrovae.py --dataset fashion_mnist` (see
--help)."""

from vaegan.cli import train_main

if __name__ == "__main__":
    train_main("softintrovae")
