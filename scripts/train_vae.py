#!/usr/bin/env python3
"""Train a VAE: `python scripts/train_vae.py --dataset fashion_mnist --epochs 5` (see --help)."""

from vaegan.cli import train_main

if __name__ == "__main__":
    train_main("vae")
