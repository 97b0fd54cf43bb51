"""The papers' formulas, computed with the learner's own weights, and the usual mistakes ("mutants").

A check runs the learner's module, then these formulas with the weights it found
in that module: the right one and, for each usual mistake, the formula with that
mistake made. The mutant that matches names the mistake in its hint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..i18n import t

# ---- CBAM's spatial gate: M_s(F) = σ(f^{k×k}([AvgPool_c(F); MaxPool_c(F)])) ------------------------


def spatial_map(x, w, b, *, norm: nn.BatchNorm2d | None = None, first="avg", second="max",
                activation="sigmoid"):
    """M_s(x), (N, 1, H, W); ``first``/``second`` pick the descriptor's maps (a mutant may use "sum")."""
    pools = {"avg": x.mean(dim=1, keepdim=True), "max": x.amax(dim=1, keepdim=True),  # (N, 1, H, W) each
             "sum": x.sum(dim=1, keepdim=True)}
    z = F.conv2d(torch.cat([pools[first], pools[second]], dim=1), w, b, padding=w.shape[-1] // 2)  # (N, 1, H, W)
    if norm is not None:  # eval-mode BatchNorm: an affine map with its running statistics
        z = F.batch_norm(z, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps)
    if activation == "sigmoid":
        return torch.sigmoid(z)
    if activation == "softmax":  # over the H·W positions
        return torch.softmax(z.flatten(1), dim=1).view_as(z)
    return z


def spatial_mutants(x, w, b, norm=None) -> dict[str, torch.Tensor]:
    """The usual mistakes: the hint that names each -> x gated with that mistake made."""
    def gate(**kw):
        return spatial_map(x, w, b, norm=norm, **kw)

    return {
        t("the descriptor uses the average twice: concatenate the channel-wise AVERAGE and the channel-wise "
          "MAX (x.amax(dim=1, keepdim=True))"): x * gate(second="avg"),
        t("the descriptor uses the max twice: concatenate the channel-wise average (x.mean(dim=1, "
          "keepdim=True)) AND max"): x * gate(first="max"),
        t("the two maps are concatenated as [max; avg]; this exercise follows the paper's [avg; max] order "
          "(the conv's weights are not symmetric, so the order matters)"): x * gate(first="max", second="avg"),
        t("the first map is the SUM over the channels; AvgPool_c is the mean, x.mean(dim=1, keepdim=True)"):
            x * gate(first="sum"),
        t("the sigmoid is missing: M_s = σ(conv(...)) keeps every weight in (0, 1)"): x * gate(activation=None),
        t("the gate is a softmax over the positions; CBAM applies a sigmoid to each position on its own "
          "(weights in (0, 1) that need not sum to 1)"): x * gate(activation="softmax"),
        t("the output is x * (1 + M_s), BAM's residual form; CBAM's spatial gate returns M_s(F) ⊗ F"):
            x * (1 + gate()),
    }


# ---- the bottleneck MLP, CBAM's channel gate and SE ---------------------------------------------


def mlp(v, w0, b0, w1, b1, *, relu=True):
    """W1 δ(W0 v + b0) + b1 for v of shape (N, C)."""
    h = F.linear(v, w0, b0)  # (N, C) -> (N, hidden)
    return F.linear(F.relu(h) if relu else h, w1, b1)  # (N, hidden) -> (N, C)


def channel_map(x, weights, *, pools=("avg", "max"), combine="sigmoid", relu=True):
    """M_c(x) = σ(MLP(AvgPool(x)) + MLP(MaxPool(x))), (N, C, 1, 1); ``combine`` names mutants."""
    vectors = {"avg": x.mean(dim=(2, 3)), "max": x.amax(dim=(2, 3))}  # (N, C, H, W) -> (N, C)
    outs = [mlp(vectors[p], *weights, relu=relu) for p in pools]
    if combine == "sigmoid":
        m = torch.sigmoid(sum(outs))
    elif combine == "per-path":
        m = sum(torch.sigmoid(o) for o in outs)
    elif combine == "softmax":
        m = torch.softmax(sum(outs), dim=1)
    else:
        m = sum(outs)
    return m[:, :, None, None]  # (N, C) -> (N, C, 1, 1)


def channel_mutants(x, weights) -> dict[str, torch.Tensor]:
    n, c, _, w = x.shape

    def gate(**kw):
        return channel_map(x, weights, **kw)

    mutants = {
        t("the average is used twice: one path pools with the mean over H×W, the other with the MAX over H×W "
          "(x.amax(dim=(2, 3)))"): x * gate(pools=("avg", "avg")),
        t("the max is used twice: one path pools with the MEAN over H×W, the other with the max"):
            x * gate(pools=("max", "max")),
        t("only one pooled path: CBAM adds the MLP outputs of the average- AND the max-pooled vectors"):
            x * gate(pools=("avg",)),
        t("only the max-pooled path: CBAM adds the MLP outputs of the average- AND the max-pooled vectors"):
            x * gate(pools=("max",)),
        t("the sigmoid is missing: M_c = σ(MLP(avg) + MLP(max)) keeps every weight in (0, 1)"):
            x * gate(combine=None),
        t("the sigmoid is applied to each path and then added: add the two MLP outputs first, then one sigmoid"):
            x * gate(combine="per-path"),
        t("the gate is a softmax over the channels; CBAM applies a sigmoid to each channel on its own"):
            x * gate(combine="softmax"),
        t("the ReLU between the MLP's two layers is missing: MLP(v) = W1 δ(W0 v)"): x * gate(relu=False),
    }
    if w == c:  # a gate viewed as (N, 1, 1, C) broadcasts along W without an error only when W == C
        mutants[t("the gate is broadcast with the wrong shape: view it as (N, C, 1, 1) so each channel gets one "
                  "weight (here it ran only because W equals C)")] = x * gate().view(n, 1, 1, c)
    return mutants


def se_map(x, weights, *, pool="avg", relu=True, sigmoid=True):
    """s = σ(W2 δ(W1 GAP(x))), (N, C, 1, 1)."""
    z = x.mean(dim=(2, 3)) if pool == "avg" else x.amax(dim=(2, 3))  # squeeze: (N, C)
    s = mlp(z, *weights, relu=relu)  # excite: (N, C)
    return (torch.sigmoid(s) if sigmoid else s)[:, :, None, None]


def se_mutants(x, weights) -> dict[str, torch.Tensor]:
    n, c, _, w = x.shape
    mutants = {
        t("the squeeze uses max pooling; SE squeezes with the global AVERAGE over H×W"):
            x * se_map(x, weights, pool="max"),
        t("the ReLU between the two FC layers is missing"): x * se_map(x, weights, relu=False),
        t("the sigmoid is missing: s = σ(W2 δ(W1 z)) keeps every weight in (0, 1)"):
            x * se_map(x, weights, sigmoid=False),
    }
    if w == c:
        mutants[t("the scale is broadcast with the wrong shape: view s as (N, C, 1, 1)")] = (
            x * se_map(x, weights).view(n, 1, 1, c))
    return mutants


# ---- CBAM: the three arrangements ---------------------------------------------------------------


def cbam(x, order, mlp_weights, conv_weights, norm=None):
    """CBAM in ``order`` with one instance's weights: channel-spatial (Eq. 1), spatial-channel, parallel."""
    def m_c(t):
        return channel_map(t, mlp_weights)  # (N, C, 1, 1)

    def m_s(t):
        return spatial_map(t, *conv_weights, norm=norm)  # (N, 1, H, W)

    if order == "channel-spatial":
        f1 = x * m_c(x)
        return f1 * m_s(f1)
    if order == "spatial-channel":
        f1 = x * m_s(x)
        return f1 * m_c(f1)
    return x * m_c(x) * m_s(x)


def cbam_mutants(x, mlp_weights, conv_weights, norm=None) -> dict[str, torch.Tensor]:
    """The usual mistakes of the default, channel-then-spatial order."""
    w, b = conv_weights
    f1 = x * channel_map(x, mlp_weights)
    return {
        t("the order is reversed: the paper applies channel attention FIRST, then spatial attention on its "
          "output (spatial first is the blog's order, slightly worse in CBAM's ablation)"):
            cbam(x, "spatial-channel", mlp_weights, conv_weights, norm),
        t("both gates read the input F (the parallel arrangement); the paper's default is sequential: "
          "spatial attention reads F' = M_c(F) ⊗ F"): cbam(x, "parallel", mlp_weights, conv_weights, norm),
        t("the spatial map is computed from F' but multiplies the original F; multiply F' by it"):
            x * spatial_map(f1, w, b, norm=norm),
        t("the channel gate is not applied: F' = M_c(F) ⊗ F comes first"): x * spatial_map(x, w, b, norm=norm),
        t("the spatial gate is not applied: F'' = M_s(F') ⊗ F'"): f1,
        **{t("channel gate: {hint}", hint=h): m * spatial_map(m, w, b, norm=norm)
           for h, m in channel_mutants(x, mlp_weights).items()},
        **{t("spatial gate: {hint}", hint=h): m for h, m in spatial_mutants(f1, w, b, norm).items()},
    }
