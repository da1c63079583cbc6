"""Reference outputs of the encoder presets of `peers/models.py` (Tests/EncodersTests).

usage: python make_fixtures.py     (writes encoders.safetensors here)
Made with torch 2.11.0. No weights are stored: both sides fill every state_dict entry by the
same formula (`fill` below, mirrored in EncoderTests.swift) so the file stays small, and the
input is a formula too. Stored: each model's state_dict names and shapes (metadata
`<model>.names`, JSON), its eval-mode output, r2plus1d's feature map, and for vit-tiny-mae (fixed tube mask) its loss,
the first 4 predicted tokens and the sum and absolute sum of the whole prediction.
"""
import json
import math
import os
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../shared/peers"))
import models  # noqa: E402


def formula(name, k, n, shape):
    i = torch.arange(n, dtype=torch.float64)
    s = torch.sin(0.1 * i + 0.7 * k)
    if name.endswith("running_var"):
        return 1 + 0.5 * s.abs()
    if name.endswith("running_mean"):
        return 0.05 * s
    if len(shape) == 1:
        return 1 + 0.1 * s if name.endswith("weight") else 0.1 * s
    fan_in = n // shape[0]
    return s * math.sqrt(3 / fan_in)


def fill(model):
    sd = model.state_dict()
    for k, name in enumerate(sorted(sd)):
        t = sd[name]
        if name.endswith("num_batches_tracked"):
            t.fill_(3)
        else:
            t.copy_(formula(name, k, t.numel(), list(t.shape)).reshape(t.shape).to(t.dtype))


def signal(shape):
    n = math.prod(shape)
    return (0.5 * torch.sin(0.05 * torch.arange(n, dtype=torch.float64))).reshape(shape).float()


out, meta = {}, {}
with torch.no_grad():
    for name, model, shape in [("vggish", models.VGGishTiny(), (2, 1, 96, 64)),
                               ("r2plus1d", models.R2Plus1DTiny(), (1, 3, 8, 112, 112)),
                               ("resnet", models.ResNetTiny(), (1, 3, 112, 112))]:
        fill(model)
        model.eval()
        x = signal(shape)
        out[f"{name}.output"] = model(x)
        if name == "r2plus1d":
            out[f"{name}.features"] = model.features(x)
        meta[f"{name}.names"] = json.dumps({k: list(v.shape) for k, v in model.state_dict().items()})
    # The narration encoder and the heads: ids with padding and one row of padding only.
    ids = torch.tensor([[5, 17, 0, 9999, 0, 0], [0, 0, 0, 0, 0, 0], [3, 3, 3, 1, 2, 0]])
    wp = models.WordPool()
    fill(wp)
    out["wordpool.output"] = wp(ids)
    meta["wordpool.names"] = json.dumps({k: list(v.shape) for k, v in wp.state_dict().items()})
    for name, model, inputs in [("projection", models.ProjectionHead(), [signal((4, 256))]),
                                ("avc", models.AVCHead(), [signal((3, 256)), signal((3, 256)) * -0.5])]:
        fill(model)
        model.eval()
        out[f"{name}.output"] = model(*inputs)
        meta[f"{name}.names"] = json.dumps({k: list(v.shape) for k, v in model.state_dict().items()})
    # vit-tiny-mae with a fixed tube mask (the masked spatial positions listed below).
    mae = models.VitTinyMAE()
    fill(mae)
    x = signal((2, 3, 8, 112, 112))
    chosen = [[(10 * i + 3) % 49 for i in range(44)], [(5 * i + 1) % 49 for i in range(44)]]  # 44 distinct each
    hw = torch.zeros(2, 49, dtype=torch.bool)
    for b in range(2):
        hw[b, chosen[b]] = True
    mask = hw.repeat(1, 4)
    pred = mae(x, mask)
    out["mae.output_first_tokens"] = pred[:, :4].contiguous()   # the whole [2, 176, 1536] is 2 MB
    out["mae.output_stats"] = torch.stack([pred.sum(), pred.abs().sum()])
    out["mae.loss"] = mae.loss(x, mask).reshape(1)
    meta["mae.names"] = json.dumps({k: list(v.shape) for k, v in mae.state_dict().items()})
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "encoders.safetensors"), metadata=meta)
print({k: tuple(v.shape) for k, v in out.items()})
