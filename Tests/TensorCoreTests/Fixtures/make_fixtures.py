"""PyTorch reference numbers for Concord's tensor primitives (Tests/TensorCoreTests).

usage: python make_fixtures.py     (writes ops.safetensors, torch_written.safetensors and two .npz here)
Made with torch 2.11.0 and safetensors 0.8.0, float32 on the CPU, seed 0.

For every case NAME it stores the inputs NAME.in0, NAME.in1, …, an upstream gradient NAME.up
(the shape of the output), the output NAME.out and the gradients NAME.grad0, … of
sum(out * up) with respect to each input. Integer arguments (class targets) are NAME.targets
(int64). Inputs are kept away from kinks (|x| ≥ 0.1 for abs/relu, clamp bounds ± 0.05) and
in the domain of log/sqrt/pow.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
cases = {}


def away_from_zero(shape, margin=0.1):
    x = torch.randn(shape)
    return torch.where(x.abs() < margin, torch.sign(x + 1e-9) * (margin + x.abs()), x)


def case(name, f, *inputs, targets=None):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    out = f(*xs)
    up = torch.randn(out.shape)
    (out * up).sum().backward()
    for i, x in enumerate(inputs):
        cases[f"{name}.in{i}"] = x
        cases[f"{name}.grad{i}"] = xs[i].grad
    cases[f"{name}.up"] = up
    cases[f"{name}.out"] = out.detach()
    if targets is not None:
        cases[f"{name}.targets"] = targets.clone()


r = torch.randn
case("add", lambda a, b: a + b, r(3, 4), r(4))
case("sub", lambda a, b: a - b, r(2, 3, 4), r(3, 1))
case("mul", lambda a, b: a * b, r(2, 1, 4), r(3, 1))
case("div", lambda a, b: a / b, r(3, 4), away_from_zero((3, 4), 0.5))
case("neg", lambda a: -a, r(5))
case("exp", torch.exp, r(3, 4))
case("log", torch.log, torch.rand(3, 4) + 0.2)
case("sqrt", torch.sqrt, torch.rand(3, 4) + 0.2)
case("pow", lambda a: a.pow(2.5), torch.rand(3, 4) + 0.2)
case("abs", torch.abs, away_from_zero((3, 4)))
case("clamp", lambda a: a.clamp(-0.5, 0.5), torch.tensor([[-1.2, -0.55, -0.3, 0.0], [0.2, 0.45, 0.6, 2.0]]))
case("relu", F.relu, away_from_zero((3, 4)))
case("gelu", F.gelu, r(3, 4) * 2)
case("sigmoid", torch.sigmoid, r(3, 4) * 3)
case("tanh", torch.tanh, r(3, 4) * 2)
case("softplus", F.softplus, torch.tensor([-30.0, -3.0, -0.5, 0.0, 0.7, 5.0, 19.0, 21.0, 40.0]))
case("sum", lambda a: a.sum(dim=(0, 2)), r(2, 3, 4))
case("sum_all", lambda a: a.sum(), r(2, 3, 4))
case("mean", lambda a: a.mean(dim=1, keepdim=True), r(2, 3, 4))
case("var", lambda a: a.var(dim=1), r(2, 5, 3))
case("max", lambda a: a.max(dim=1).values, r(3, 6, 2))
case("min", lambda a: a.min(dim=0).values, r(4, 5))
case("logsumexp", lambda a: torch.logsumexp(a, dim=1), r(3, 7) * 3)
case("matmul", lambda a, b: a @ b, r(3, 5), r(5, 4))
case("matmul_ta", lambda a, b: a.t() @ b, r(5, 3), r(5, 4))
case("matmul_tb", lambda a, b: a @ b.t(), r(3, 5), r(4, 5))
case("matmul_tab", lambda a, b: a.t() @ b.t(), r(5, 3), r(4, 5))
case("bmm", lambda a, b: a @ b, r(2, 3, 5), r(2, 5, 4))
case("bmm_tb", lambda a, b: a @ b.transpose(1, 2), r(2, 3, 5), r(2, 4, 5))
case("linear3d", lambda a, b: a @ b, r(2, 3, 5), r(5, 4))
case("reshape", lambda a: a.reshape(6, 4), r(2, 3, 4))
case("permute", lambda a: a.permute(2, 0, 1).contiguous(), r(2, 3, 4))
case("softmax", lambda a: F.softmax(a, dim=1), r(3, 5) * 2)
case("log_softmax", lambda a: F.log_softmax(a, dim=-1), r(2, 3, 5) * 2)
case("l2_normalize", lambda a: F.normalize(a, dim=1), r(4, 6))
t = torch.tensor([0, 3, 1, 3, 2])
case("cross_entropy", lambda a: F.cross_entropy(a, t), r(5, 4) * 2, targets=t)
case("cross_entropy_ws", lambda a: F.cross_entropy(a, t, weight=torch.tensor([1.0, 2.0, 0.5, 1.5]), label_smoothing=0.1),
     r(5, 4) * 2, targets=t)
case("bce_logits", lambda a, b: F.binary_cross_entropy_with_logits(a, b), r(3, 4) * 2, torch.rand(3, 4))
case("mse", lambda a, b: F.mse_loss(a, b), r(3, 4), r(3, 4))

# Slicing, joining, padding, selecting.
case("slice", lambda a: a[:, 1:4, :], r(2, 5, 3))
case("pad", lambda a: F.pad(a, (0, 0, 2, 1)), r(2, 3, 4))
case("concat", lambda a, b: torch.cat([a, b], dim=1), r(2, 3, 2), r(2, 1, 2))
case("stack", lambda a, b: torch.stack([a, b], dim=1), r(3, 4), r(3, 4))
idx = torch.tensor([2, 0, 2, 1])
case("index_select", lambda a: a.index_select(1, idx), r(2, 3, 4))
ids = torch.tensor([[1, 4, 1], [0, 2, 3]])
case("embedding", lambda w: F.embedding(ids, w), r(5, 6))
mask = torch.tensor([[True, False, False, True], [False, True, False, False], [False, False, False, True]])
case("masked_fill", lambda a: a.masked_fill(mask, -2.5), r(3, 4))
case("where", lambda a, b: torch.where(mask, a, b), r(3, 4), r(3, 4))

# Upsampling (localisation heatmaps to frame size).
case("upsample_nearest", lambda a: F.interpolate(a, size=(7, 5), mode="nearest"), r(2, 3, 3, 2))
case("upsample_bilinear", lambda a: F.interpolate(a, size=(11, 9), mode="bilinear", align_corners=False), r(1, 2, 4, 3))
case("upsample_bilinear_down", lambda a: F.interpolate(a, size=(3, 2), mode="bilinear", align_corners=False), r(1, 1, 7, 5))

# Convolutions, pooling, normalisation.
case("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), r(2, 3, 7, 6), r(4, 3, 3, 3), r(4))
case("conv2d_dilated", lambda x, w: F.conv2d(x, w, stride=1, padding=2, dilation=2), r(1, 2, 6, 6), r(3, 2, 3, 3))
case("conv2d_1x1", lambda x, w: F.conv2d(x, w), r(2, 5, 3, 4), r(3, 5, 1, 1))
case("conv3d_spatial", lambda x, w: F.conv3d(x, w, stride=(1, 2, 2), padding=(0, 1, 1)), r(2, 3, 4, 6, 6), r(4, 3, 1, 3, 3))
case("conv3d_temporal", lambda x, w: F.conv3d(x, w, stride=(2, 1, 1), padding=(1, 0, 0)), r(1, 3, 5, 3, 3), r(2, 3, 3, 1, 1))
case("conv3d_stem", lambda x, w: F.conv3d(x, w, stride=(1, 2, 2), padding=(0, 3, 3)), r(1, 3, 2, 9, 9), r(2, 3, 1, 7, 7))
case("maxpool3d", lambda x: F.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1)), r(2, 2, 3, 7, 7))
case("maxpool2d", lambda x: F.max_pool2d(x, 2, 2), r(2, 3, 6, 4))
case("avgpool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), r(1, 2, 7, 5))
case("avgpool3d", lambda x: F.avg_pool3d(x, 2, 2), r(1, 2, 4, 4, 6))
case("global_avg", lambda x: x.mean(dim=(2, 3, 4)), r(2, 3, 2, 3, 4))
case("layernorm", lambda x, w, b: F.layer_norm(x, (6,), w, b), r(3, 4, 6) * 2 + 1, r(6), r(6))
for name, training in [("batchnorm_train", True), ("batchnorm_eval", False)]:
    rm, rv = torch.randn(3) * 0.1, torch.rand(3) + 0.5
    rm_in, rv_in = rm.clone(), rv.clone()
    case(name, lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.1, eps=1e-5),
         r(4, 3, 2, 5) * 2 + 0.5, r(3), r(3))
    # case() ran the function once: rm/rv now hold the updated running statistics.
    cases[f"{name}.running_mean_before"], cases[f"{name}.running_var_before"] = rm_in, rv_in
    cases[f"{name}.running_mean_after"], cases[f"{name}.running_var_after"] = rm.clone(), rv.clone()

# Added later, at the end so the cases above keep their random values.
sidx = torch.randint(0, 4, (2, 5, 3))  # repeats: several sources add into one entry
case("scatter_add", lambda a, src: a.scatter_add(1, sidx, src), r(2, 4, 3), r(2, 5, 3), targets=sidx)
gidx = torch.randint(0, 3, (2, 3, 6))
case("gather", lambda a: a.gather(2, gidx), r(2, 3, 4), targets=gidx)
# Strided 1x1x1 (the residual shortcut, one product over the batch) and stride 2 over rows long
# enough for the vectorised even-entry gather.
case("conv3d_shortcut", lambda x, w, b: F.conv3d(x, w, b, stride=2), r(2, 3, 3, 6, 40), r(4, 3, 1, 1, 1), r(4))
case("conv2d_wide", lambda x, w: F.conv2d(x, w, stride=2, padding=1), r(1, 2, 5, 40), r(3, 2, 3, 3))

save_file({k: v.contiguous() for k, v in cases.items()}, os.path.join(HERE, "ops.safetensors"),
          metadata={"made_by": "make_fixtures.py", "torch": torch.__version__})
# A file written by safetensors.torch for the reader test: float32, float64 and int64 tensors.
save_file({"weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "bias": torch.tensor([0.5, -1.0]),
           "double": torch.tensor([1.25, 2.5], dtype=torch.float64), "count": torch.tensor(7, dtype=torch.int64)},
          os.path.join(HERE, "torch_written.safetensors"), metadata={"step": "42", "note": "from torch"})
# .npz archives written by NumPy for the reader test: stored (savez) and compressed (refused).
import numpy as np  # noqa: E402
np.savez(os.path.join(HERE, "numpy_written.npz"), a=np.arange(6, dtype=np.float32).reshape(2, 3),
         b=np.array([0.5, -1.5], dtype=np.float32))
np.savez_compressed(os.path.join(HERE, "numpy_compressed.npz"), a=np.arange(3, dtype=np.float32))
print(len(cases), "tensors")
