#!/usr/bin/env python3
"""PyTorch CPU reference for the nets ../shared/bench/torch_reference.py does not cover:
MobileNet v1 forward (batch 8, 224x224, depthwise) and AlexNet/CaffeNet forward (batch 16,
227x227), built to match nets/mobilenet_v1_deploy.prototxt and nets/alexnet_deploy.prototxt
(Caffe's ceil-mode pools, LRN, grouped convs). A reference for benchmarks only; caffers
does not depend on it.

Usage: VENV/bin/python benches/torch_extra.py [--net mobilenet|alexnet|both] [--iters N]
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
    ap.add_argument("--net", choices=["mobilenet", "alexnet", "both"], default="both")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.net in ("mobilenet", "both"):
        bench_forward("mobilenet_v1", MobileNetV1(), torch.randn(8, 3, 224, 224), args.iters, args.warmup)
    if args.net in ("alexnet", "both"):
        bench_forward("alexnet", AlexNet(), torch.randn(16, 3, 227, 227), args.iters, args.warmup)


if __name__ == "__main__":
    main()
