#!/usr/bin/env python3
"""PyTorch CPU reference for the nets ../shared/bench/torch_reference.py does not cover:
MobileNet v1 forward (batch 8, 224x224, depthwise), AlexNet/CaffeNet forward (batch 16,
227x227) and BVLC GoogLeNet forward (batch 8, 224x224), built to match
nets/mobilenet_v1_deploy.prototxt, nets/alexnet_deploy.prototxt and
nets/googlenet_deploy.prototxt (Caffe's ceil-mode pools, LRN, grouped convs, inception
modules). A reference for benchmarks only; caffers
does not depend on it.

Usage: VENV/bin/python benches/torch_extra.py [--net mobilenet|alexnet|googlenet|all] [--iters N]
Prints `<net> forward only (eval, no_grad): ... median M ...` lines as torch_reference.py.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class AlexNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, 1000)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

    def forward(self, x):
        x = self.lrn(F.relu(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        x = self.lrn(F.relu(self.conv2(x)))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        x = F.max_pool2d(F.relu(self.conv5(x)), 3, 2, ceil_mode=True)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc6(x))
        x = F.relu(self.fc7(x))
        return F.softmax(self.fc8(x), dim=1)


def conv_bn(cin, cout, stride, groups=1, k=3):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    def __init__(self):
        super().__init__()
        cfg = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
               (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
        layers = [conv_bn(3, 32, 2)]
        for cin, cout, s in cfg:
            layers.append(conv_bn(cin, cin, s, groups=cin))
            layers.append(conv_bn(cin, cout, 1, k=1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Conv2d(1024, 1000, 1)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return F.softmax(torch.flatten(self.fc(x), 1), dim=1)


class Inception(nn.Module):
    """One GoogLeNet inception module: 1x1 | 1x1→3x3 | 1x1→5x5 | 3x3 max pool→1x1, concatenated."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        self.b1 = nn.Conv2d(cin, c1, 1)
        self.b3r = nn.Conv2d(cin, c3r, 1)
        self.b3 = nn.Conv2d(c3r, c3, 3, padding=1)
        self.b5r = nn.Conv2d(cin, c5r, 1)
        self.b5 = nn.Conv2d(c5r, c5, 5, padding=2)
        self.bp = nn.Conv2d(cin, cp, 1)

    def forward(self, x):
        a = F.relu(self.b1(x))
        b = F.relu(self.b3(F.relu(self.b3r(x))))
        c = F.relu(self.b5(F.relu(self.b5r(x))))
        d = F.relu(self.bp(F.max_pool2d(x, 3, 1, padding=1, ceil_mode=True)))
        return torch.cat([a, b, c, d], 1)


class GoogLeNet(nn.Module):
    """BVLC GoogLeNet (deploy): no auxiliary heads, dropout is the identity in eval."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.conv2r = nn.Conv2d(64, 64, 1)
        self.conv2 = nn.Conv2d(64, 192, 3, padding=1)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.i3 = nn.Sequential(Inception(192, 64, 96, 128, 16, 32, 32),
                                Inception(256, 128, 128, 192, 32, 96, 64))
        self.i4 = nn.Sequential(Inception(480, 192, 96, 208, 16, 48, 64),
                                Inception(512, 160, 112, 224, 24, 64, 64),
                                Inception(512, 128, 128, 256, 24, 64, 64),
                                Inception(512, 112, 144, 288, 32, 64, 64),
                                Inception(528, 256, 160, 320, 32, 128, 128))
        self.i5 = nn.Sequential(Inception(832, 256, 160, 320, 32, 128, 128),
                                Inception(832, 384, 192, 384, 48, 128, 128))
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2, ceil_mode=True)
        x = self.lrn(x)
        x = F.relu(self.conv2(F.relu(self.conv2r(x))))
        x = F.max_pool2d(self.lrn(x), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.i3(x), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.i4(x), 3, 2, ceil_mode=True)
        x = F.avg_pool2d(self.i5(x), 7, 1)
        return F.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def bench_forward(label, model, x, iters, warmup):
    model.eval()
    times = []
    with torch.no_grad():
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            model(x)
            t1 = time.perf_counter()
            if i >= warmup:
                times.append(t1 - t0)
    ms = [t * 1e3 for t in times]
    med = statistics.median(ms)
    print(f"{label} forward only (eval, no_grad): n={len(ms)} ms/iter mean {statistics.fmean(ms):.2f} "
          f"median {med:.2f} min {min(ms):.2f} | images/s (median) {x.shape[0] * 1e3 / med:.0f}")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", choices=["mobilenet", "alexnet", "googlenet", "both", "all"],
                    default="all", help="both = mobilenet and alexnet")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.net in ("mobilenet", "both", "all"):
        bench_forward("mobilenet_v1", MobileNetV1(), torch.randn(8, 3, 224, 224), args.iters, args.warmup)
    if args.net in ("alexnet", "both", "all"):
        bench_forward("alexnet", AlexNet(), torch.randn(16, 3, 227, 227), args.iters, args.warmup)
    if args.net in ("googlenet", "all"):
        bench_forward("googlenet", GoogLeNet(), torch.randn(8, 3, 224, 224), args.iters, args.warmup)


if __name__ == "__main__":
    main()
