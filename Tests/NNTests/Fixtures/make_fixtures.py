"""PyTorch reference numbers for Concord's layers and optimizers (Tests/NNTests).

usage: python make_fixtures.py     (writes layers.safetensors here)
Made with torch 2.11.0 and safetensors 0.8.0, float32, seed 0. Imports the naming contract
`../../../../shared/peers/models.py` for the transformer block.

For each layer L: its state_dict as L.<name> (so loading it exercises the names), the input
L.input, an upstream gradient L.up, the output L.output, and the gradients L.grad.<param> and
L.grad.input of sum(output * up). BatchNorm in training mode also stores L.after.running_mean
and L.after.running_var. For the optimizers: a start value, three gradients, and the value
after each step.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../shared/peers"))
import models  # noqa: E402

torch.manual_seed(0)
out = {}


def layer_case(name, module, x, train=True):
    module.train(train)
    for k, v in module.state_dict().items():
        out[f"{name}.{k}"] = v.clone()
    xi = x.clone().requires_grad_(True)
    y = module(xi)
    up = torch.randn(y.shape)
    (y * up).sum().backward()
    out[f"{name}.input"] = x
    out[f"{name}.up"] = up
    out[f"{name}.output"] = y.detach()
    out[f"{name}.grad.input"] = xi.grad
    for k, p in module.named_parameters():
        out[f"{name}.grad.{k}"] = p.grad
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and train:
        out[f"{name}.after.running_mean"] = module.running_mean.clone()
        out[f"{name}.after.running_var"] = module.running_var.clone()


layer_case("linear", nn.Linear(5, 3), torch.randn(4, 5))
layer_case("conv3d", nn.Conv3d(3, 4, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False), torch.randn(2, 3, 2, 6, 6))
layer_case("conv2d", nn.Conv2d(2, 3, 3, 1, 1, bias=True), torch.randn(2, 2, 5, 4))
bn1 = nn.BatchNorm1d(6)
with torch.no_grad():
    bn1.weight.uniform_(0.5, 1.5); bn1.bias.uniform_(-0.5, 0.5)
layer_case("bn1d", bn1, torch.randn(8, 6) * 2 + 1)
bn3 = nn.BatchNorm3d(3)
with torch.no_grad():
    bn3.running_mean.uniform_(-0.2, 0.2); bn3.running_var.uniform_(0.5, 1.5); bn3.num_batches_tracked.fill_(5)
layer_case("bn3d_eval", bn3, torch.randn(2, 3, 2, 3, 3), train=False)
ln = nn.LayerNorm(8)
with torch.no_grad():
    ln.weight.uniform_(0.5, 1.5); ln.bias.uniform_(-0.5, 0.5)
layer_case("layernorm", ln, torch.randn(2, 3, 8))
layer_case("block", models.Block(12, 3), torch.randn(2, 5, 12))

# Optimizers: p0, grads g[0..2], and p after each step.
p0 = torch.randn(6)
grads = torch.randn(3, 6)
out["opt.p0"], out["opt.grads"] = p0, grads
for name, make in [("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
                   ("sgd_plain", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-4)),
                   ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05))]:
    p = p0.clone().requires_grad_(True)
    opt = make([p])
    steps = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        steps.append(p.detach().clone())
    out[f"opt.{name}"] = torch.stack(steps)
p = p0.clone().requires_grad_(True)
p.grad = grads[0].clone() * 10
norm = torch.nn.utils.clip_grad_norm_([p], 1.0)
out["clip.grad"], out["clip.norm"] = p.grad.clone(), norm.reshape(1)

save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "layers.safetensors"),
          metadata={"made_by": "make_fixtures.py", "torch": torch.__version__})
print(len(out), "tensors")
