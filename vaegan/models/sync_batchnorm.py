"""BatchNorm whose training statistics cover the global batch of all data-parallel processes.

torch.nn.SyncBatchNorm does this on GPUs only; this one works on any device and backend (gloo on CPU too), so the
equality of an N-process run with a 1-process run can be tested on the CPU. It keeps BatchNorm's parameters and
buffers under the same names, so checkpoints move freely between runs with and without it.

Why it matters: each process normalises with the mean and variance of its own rows otherwise, i.e. of B/N images
instead of B. With a small per-process batch those statistics are noisy (and differ from a 1-process run's); with
it, each forward pass costs two small all-reduces per BatchNorm layer (mean, then variance) and as many backwards.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class _SumOverProcesses(torch.autograd.Function):
    """y = the sum of x over all processes. Backward: each process's x reaches every process's loss, so its gradient
    is the sum of the gradients that arrive at y on all processes."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


def sum_over_processes(x: torch.Tensor) -> torch.Tensor:
    return _SumOverProcesses.apply(x)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """A BatchNorm1d/2d (input (N, C), (N, C, L) or (N, C, H, W)) that, when training with several processes,
    normalises by the statistics of the inputs of all of them. Otherwise it is the plain BatchNorm."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 3, 4):
            raise ValueError(f"expected a 2D, 3D or 4D input, got {input.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        # Two passes (mean, then squared deviations) as BatchNorm itself computes them: E[x^2] - E[x]^2 would lose
        # digits to cancellation. The all-reduces are differentiable: each process's loss reaches every input.
        count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        total = sum_over_processes(torch.cat([x.sum(dims), count]))
        n = total[-1].detach()
        mean = total[:-1] / n
        centred = x - mean.view(shape)
        var = sum_over_processes(centred.square().sum(dims)) / n
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), factor)
                unbiased = var.detach() * n / (n - 1).clamp_min(1)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        return y


def use_global_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d in net (in place) by a GlobalBatchNorm holding the same parameters and buffers."""
    for name, child in net.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            new = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats,
                                  device=child.weight.device if child.affine else None)
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            setattr(net, name, new)
        else:
            use_global_batchnorm(child)
    return net
