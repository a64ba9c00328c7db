"""Gradient bookkeeping shared by the training steps."""

from __future__ import annotations

import torch
from torch import nn

from vaegan.distributed import SINGLE, Processes


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all .grad of `module` (0 when it has none), as a 0-d tensor (no host sync)."""
    norms = [p.grad.detach().norm() for p in module.parameters() if p.grad is not None]
    if not norms:
        return torch.zeros((), device=next(module.parameters()).device)
    return torch.linalg.vector_norm(torch.stack(norms))


def gradients(loss: torch.Tensor, net: nn.Module, processes: Processes = SINGLE) -> list[torch.Tensor]:
    """d loss / d (each trainable parameter of `net`), and of no other network, averaged over the processes (one
    all-reduce); a parameter the loss does not reach gets zeros. The graph is kept for later losses."""
    params = [p for p in net.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    processes.average_(grads)
    return grads


def apply_gradients(net: nn.Module, grads: list[torch.Tensor], optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """Set .grad from `grads`, step, and return the gradient norm."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p, g in zip(params, grads):
        p.grad = g
    norm = grad_norm(net)
    optimizer.step()
    return norm
