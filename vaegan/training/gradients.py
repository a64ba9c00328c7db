"""Gradient bookkeeping shared by the training steps."""

from __future__ import annotations

import torch
from torch import nn


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all .grad of `module` (0 when it has none), as a 0-d tensor (no host sync)."""
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    if not norms:
        return torch.zeros((), device=next(module.parameters()).device)
    return torch.linalg.vector_norm(torch.stack(norms))
