"""Reference for tests/test_optim.c: torch.optim.AdamW (two parameter groups: weights decay,
biases do not) + LambdaLR cosine-with-warmup + clip_grad_norm_ + an EMA of the weights, on a tiny
MLP  out = tanh(x W1^T + b1) W2^T + b2  trained by mean squared error for 10 steps, one fresh
batch per step. Saves the inputs, initial weights, hyper-parameters, the per-step loss, lr and
pre-clipping gradient norm, and the final weights and EMA weights.

    /usr/bin/python3 tests/reference/adamw.py   # writes tests/data/optim/adamw_mlp.safetensors
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import save  # noqa: E402

SEED = 1234
torch.manual_seed(SEED)
torch.set_num_threads(1)

STEPS, B, DIN, H, DOUT = 10, 8, 6, 16, 3
LR, BETA1, BETA2, EPS, WD = 3e-2, 0.9, 0.95, 1e-8, 0.1
WARMUP, TOTAL, MIN_RATIO, MAX_NORM, EMA_DECAY = 3, 10, 0.1, 0.5, 0.9

x = torch.randn(STEPS, B, DIN)
y = 2.0 * torch.randn(STEPS, B, DOUT)
W1 = (torch.randn(H, DIN) / math.sqrt(DIN)).requires_grad_()
b1 = (0.1 * torch.randn(H)).requires_grad_()
W2 = (torch.randn(DOUT, H) / math.sqrt(H)).requires_grad_()
b2 = (0.1 * torch.randn(DOUT)).requires_grad_()
init = {k: v.detach().clone() for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}


def lr_lambda(k):  # HF get_cosine_schedule_with_warmup, with a floor
    if k < WARMUP:
        return k / WARMUP
    progress = min(1.0, (k - WARMUP) / (TOTAL - WARMUP))
    return MIN_RATIO + (1 - MIN_RATIO) * 0.5 * (1 + math.cos(math.pi * progress))


opt = torch.optim.AdamW([{"params": [W1, W2], "weight_decay": WD}, {"params": [b1, b2], "weight_decay": 0.0}],
                        lr=LR, betas=(BETA1, BETA2), eps=EPS, foreach=False)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
ema = {k: v.detach().clone() for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}
losses, lrs, norms = [], [], []
for k in range(STEPS):
    opt.zero_grad()
    out = torch.tanh(x[k] @ W1.T + b1) @ W2.T + b2
    loss = ((out - y[k]) ** 2).mean()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_([W1, b1, W2, b2], MAX_NORM)
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
    with torch.no_grad():
        for name, p in dict(W1=W1, b1=b1, W2=W2, b2=b2).items():
            ema[name].mul_(EMA_DECAY).add_(p, alpha=1 - EMA_DECAY)
    losses.append(loss.item())
    norms.append(norm.item())

print("loss", ["%.5f" % v for v in losses])
print("grad_norm", ["%.4f" % v for v in norms], "(clipped when >", MAX_NORM, ")")
print("lr", ["%.5f" % v for v in lrs])
hp = np.array([LR, BETA1, BETA2, EPS, WD, WARMUP, TOTAL, MIN_RATIO, MAX_NORM, EMA_DECAY], dtype=np.float64)
tensors = {"x": x, "y": y, "hp": hp,
           "loss": np.array(losses, np.float32), "lr": np.array(lrs, np.float64),
           "grad_norm": np.array(norms, np.float32)}
for k, v in init.items():
    tensors["init." + k] = v
for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items():
    tensors["final." + k] = v
    tensors["ema." + k] = ema[k]
here = os.path.dirname(os.path.abspath(__file__))
save(os.path.join(here, "..", "data", "optim", "adamw_mlp.safetensors"), tensors, script=__file__, seed=SEED,
     desc="AdamW(wd on weights only)+LambdaLR cosine warmup+clip_grad_norm_+EMA, tanh MLP 6-16-3, MSE, 10 steps, B=8",
     extra_meta={"torch": torch.__version__,
                 "hp_order": "lr beta1 beta2 eps weight_decay warmup total min_ratio max_norm ema_decay"})
