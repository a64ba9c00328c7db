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


def gradients(loss: torch.Tensor, net: nn.Module) -> list[torch.Tensor | None]:
    """d loss / d (each trainable parameter of `net`), and of no other network; the graph is kept for later losses."""
    params = [p for p in net.parameters() if p.requires_grad]
    return list(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))


def apply_gradients(net: nn.Module, grads: list[torch.Tensor | None], optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """Set .grad from `grads`, step, and return the gradient norm."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p, g in zip(params, grads):
        p.grad = torch.zeros_like(p) if g is None else g
    norm = grad_norm(net)
    optimizer.step()
    return norm
