#!/usr/bin/env python3
"""The receptive field of U-Net's output units measured by back-propagation, in float64 (a virtualenv with torch).

Writes Tests/ZooTests/Fixtures/reference/unet_receptive_field.json (committed; SegmentationTests reads it). The
network is zoo/unet.yaml's geometry (unpadded 3×3 convolutions, 2×2 pools, 2×2 stride-2 transposed convolutions,
centre crops, concatenations) with the channels divided by 16 (the field does not depend on them), the ReLUs
removed, max pools turned into average pools (the same windows) and every weight positive, so an input pixel gets
a non-zero gradient exactly when some path reaches it. For output units u = 0 … 15 of row and column u, it records
the first and last input row reached.

  /tmp/venv-ref/bin/python scripts/measure_unet_rf.py
"""
import json
import os

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures", "reference", "unet_receptive_field.json")
SIDE = 188  # the smallest input with a 4-pixel output grows to 16 output pixels at 252


def double_conv(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3), nn.Conv2d(o, o, 3))


def centre_crop(x, like):
    dy = (x.shape[2] - like.shape[2]) // 2
    dx = (x.shape[3] - like.shape[3]) // 2
    return x[:, :, dy:dy + like.shape[2], dx:dx + like.shape[3]]


class UNet(nn.Module):
    def __init__(self, w=4):
        super().__init__()
        self.down = nn.ModuleList([double_conv(1, w), double_conv(w, 2 * w), double_conv(2 * w, 4 * w),
                                   double_conv(4 * w, 8 * w)])
        self.bottom = double_conv(8 * w, 16 * w)
        self.upconv = nn.ModuleList([nn.ConvTranspose2d(16 * w >> k, 8 * w >> k, 2, stride=2) for k in range(4)])
        self.conv = nn.ModuleList([double_conv(16 * w >> k, 8 * w >> k) for k in range(4)])
        self.head = nn.Conv2d(w, 2, 1)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = nn.functional.avg_pool2d(x, 2)
        x = self.bottom(x)
        for k in range(4):
            x = self.upconv[k](x)
            x = torch.cat([centre_crop(skips[3 - k], x), x], 1)
            x = self.conv[k](x)
        return self.head(x)


def main():
    side = 252
    model = UNet().double().eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g, dtype=torch.float64) + 0.5)
                m.bias.zero_()
    x = torch.ones(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    y = model(x)
    units = []
    for u in range(y.shape[2]):
        x.grad = None
        y = model(x)
        y[0, :, u, u].sum().backward()
        reached = x.grad[0, 0].abs() > 0
        rows = reached.any(1).nonzero().flatten()
        cols = reached.any(0).nonzero().flatten()
        units.append({"unit": u, "rows": [int(rows[0]), int(rows[-1])], "cols": [int(cols[0]), int(cols[-1])]})
        print(units[-1])
    doc = {
        "about": __doc__.split("\n\n")[1].replace("\n", " "),
        "input": [1, 1, side, side],
        "output": list(y.shape),
        "units": units,
    }
    with open(OUT, "w") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
