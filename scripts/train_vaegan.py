#!/usr/bin/env python3
"""Train a VAE-GAN (Larsen et al. 2016): `python scripts/train_vaegan.py --dataset fashion_mnist` (see --help)."""

from vaegan.cli import train_main

if __name__ == "__main__":
    train_main("vaegan")
