"""PyTorch reference numbers for Concord's objectives (Tests/ObjectivesTests).

usage: python make_fixtures.py     (writes objectives.safetensors here)
Made with torch 2.11.0 (the margin and avnce_loc_bg cases with 2.13.0, which reproduces the others bit for bit), seed 0. Each case stores its inputs, the loss and the gradients of
the loss with respect to the inputs. The multi-clip loss is written from its formula (SupCon-style
average over the positives); with rho = 2 it is checked against SimCLR's NT-Xent as written in
the SimCLR reference code.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
out = {}


def symmetric_infonce(v, a, t=0.07):
    logits = v @ a.t() / t
    target = torch.arange(v.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def multiclip(z, rho, t=0.1):
    n = z.shape[0]
    logits = z @ z.t() / t
    eye = torch.eye(n, dtype=torch.bool)
    logits = logits.masked_fill(eye, float("-inf"))
    logp = F.log_softmax(logits, dim=1)
    video = torch.arange(n) // rho
    pos = (video[:, None] == video[None, :]) & ~eye
    return -(logp.masked_fill(~pos, 0).sum(1) / pos.sum(1)).mean()


def nt_xent(z, t=0.1):
    # SimCLR: views interleaved as (2i, 2i+1); positives are the partner view.
    n = z.shape[0]
    sim = z @ z.t() / t
    sim.fill_diagonal_(float("-inf"))
    target = torch.arange(n) ^ 1
    return F.cross_entropy(sim, target)


def case(name, f, *inputs):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    loss = f(*xs)
    loss.backward()
    out[f"{name}.loss"] = loss.detach().reshape(1)
    for i, (x, xr) in enumerate(zip(inputs, xs)):
        out[f"{name}.in{i}"] = x
        out[f"{name}.grad{i}"] = xr.grad


v, a = F.normalize(torch.randn(6, 16), dim=1), F.normalize(torch.randn(6, 16), dim=1)
case("avnce", symmetric_infonce, v, a)
case("rho2", lambda z: multiclip(z, 2), F.normalize(torch.randn(8, 16), dim=1))
case("rho3", lambda z: multiclip(z, 3), F.normalize(torch.randn(9, 16), dim=1))
def localized(vmap, a, t=0.07):
    # EZ-VSL: s_ij = max over locations of <v_i(l), a_j>.
    sim = torch.einsum("bdl,cd->blc", vmap, a)            # [B video, L, B audio]
    logits = sim.max(dim=1).values / t
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


vmap = F.normalize(torch.randn(4, 8, 9), dim=1)
case("avnce_loc", localized, vmap, F.normalize(torch.randn(4, 8), dim=1))
out["avnce_loc.heatmaps"] = torch.einsum("bdl,bd->bl", vmap, out["avnce_loc.in1"])
z = F.normalize(torch.randn(8, 16), dim=1)
out["ntxent.in0"], out["ntxent.loss"] = z, nt_xent(z).reshape(1)


def milnce(video, text):
    # MIL-NCE as in the paper's reference code (antoine77340/MIL-NCE_HowTo100M, loss.py):
    # x[i, j, k] = <video_i, text_{j,k}>; positives on the diagonal block; the denominator is
    # row i and column i of every candidate (the positives appear in both halves).
    x = video @ text.t()
    x = x.view(video.shape[0], video.shape[0], -1)
    nominator = (x * torch.eye(x.shape[0])[:, :, None]).sum(dim=1)
    nominator = torch.logsumexp(nominator, dim=1)
    denominator = torch.cat((x, x.permute(1, 0, 2)), dim=1).view(x.shape[0], -1)
    denominator = torch.logsumexp(denominator, dim=1)
    return torch.mean(denominator - nominator)


# Added later, after the cases above so their random values stay as they were.
case("milnce", milnce, torch.randn(5, 12), torch.randn(20, 12))  # B = 5 clips, K = 4 narrations each
case("nce", milnce, torch.randn(6, 12), torch.randn(6, 12))      # K = 1: the single-positive baseline


def margin_loss(video, audio, y, eta=0.99):
    # AVTS (Korbar et al. 2018), eq. 2: y·d² + (1 − y)·max(η − d, 0)², d the L2 distance.
    d2 = ((video - audio) ** 2).sum(dim=1)
    d = torch.sqrt(d2 + 1e-12)
    return (y * d2 + (1 - y) * torch.clamp(eta - d, min=0) ** 2).mean()


# Rows 0-3: audio near its clip (d below the margin, so negatives among them are pushed);
# rows 4-7: unrelated (d about 1.4, beyond the margin: no push).
mv = F.normalize(torch.randn(8, 16), dim=1)
ma = F.normalize(torch.cat([mv[:4] + 0.25 * torch.randn(4, 16), torch.randn(4, 16)]), dim=1)
my = torch.tensor([1.0, 0, 1, 0, 1, 0, 1, 0])
case("margin", lambda v, a: margin_loss(v, a, my), mv, ma)
out["margin.labels"] = my


def localized_background(vmap, a, t=0.07):
    # LVS's hard negative in its simplest form: each clip's mean location with its own audio
    # is one more column of the video -> audio logits.
    sim = torch.einsum("bdl,cd->blc", vmap, a)
    logits = sim.max(dim=1).values / t
    own = torch.einsum("bdl,bd->bl", vmap, a).mean(dim=1, keepdim=True) / t
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(torch.cat([logits, own], dim=1), target) + F.cross_entropy(logits.t(), target))


case("avnce_loc_bg", localized_background, F.normalize(torch.randn(4, 8, 9), dim=1), F.normalize(torch.randn(4, 8), dim=1))
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "objectives.safetensors"))
print(sorted(out))
