#!/usr/bin/env python3
"""Writes the generated nets in nets/ and prints each one's parameter total.

    python3 scripts/gen_nets.py          # rewrite the files
    python3 scripts/gen_nets.py --check  # fail if a committed file differs
    python3 scripts/gen_nets.py --width 0.75  # only MobileNet v1 at that width
                                              # (0.75, 0.5 or 0.25)

The architectures are the published ones as Caffe trains them (cifar10_quick,
cifar10_full, AlexNet, CaffeNet, GoogLeNet, MobileNet v1); the layout is ours.
While emitting layers the script tracks every blob's shape (Caffe's rules:
convolution rounds down, pooling rounds up) and adds up the learnable blobs,
so the totals printed are computed here, independently of the Rust code, and
tests/shipped_files.rs checks the same numbers through the library.
"""
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v if v.isupper() and v.replace("_", "").isalpha() else '"%s"' % v
    if isinstance(v, float):
        return repr(v).rstrip("0").rstrip(".") if "e" not in repr(v) else repr(v)
    return str(v)


def inline(d):
    """{type: gaussian, std: 0.01} -> 'type: "gaussian" std: 0.01'"""
    return " ".join("%s: %s" % (k, fmt(v)) for k, v in d)


class Net:
    def __init__(self, name, header):
        self.name = name
        self.header = header
        self.lines = []
        self.shapes = {}  # blob -> [N, C, H, W] or [N, C]
        self.params = 0  # learnable blob elements, counted once per layer
        self.train = True  # emit learning-rate multipliers and fillers

    def layer(self, name, type_, bottoms, tops, body=(), extra=()):
        out = ["layer {", '  name: "%s"' % name, '  type: "%s"' % type_]
        out += ['  bottom: "%s"' % b for b in bottoms]
        out += ['  top: "%s"' % t for t in tops]
        out += ["  " + e for e in extra]
        out += ["  " + b for b in body]
        out.append("}")
        self.lines.append("\n".join(out))

    def comment(self, text):
        self.lines.append("\n".join("# " + t for t in text.split("\n")))

    # --- data ---------------------------------------------------------------
    def input(self, shape, name="data"):
        self.layer(name, "Input", [], [name],
                   ["input_param { shape { %s } }" % " ".join("dim: %d" % d for d in shape)])
        self.shapes[name] = list(shape)

    def data(self, phase, source, batch, transform, shape):
        body = []
        if transform:
            body.append("transform_param { %s }" % inline(transform))
        body.append('data_param { source: "%s" batch_size: %d backend: LMDB }' % (source, batch))
        self.layer("data", "Data", [], ["data", "label"], body,
                   extra=["include { phase: %s }" % phase])
        self.shapes["data"] = [batch] + list(shape)
        self.shapes["label"] = [batch]

    # --- learnable layers ---------------------------------------------------
    def _mults(self, bias=True, lr=(1, 2), decay=(1, 0)):
        if not self.train:
            return []
        ms = ["param { lr_mult: %s decay_mult: %s }" % (fmt(lr[0]), fmt(decay[0]))]
        if bias:
            ms.append("param { lr_mult: %s decay_mult: %s }" % (fmt(lr[1]), fmt(decay[1])))
        return ms

    def conv(self, name, bottom, num, k, stride=1, pad=0, group=1, bias=True,
             wf=(("type", "xavier"),), bf=(("type", "constant"),), top=None, mults=None):
        top = top or name
        n, c, h, w = self.shapes[bottom]
        assert c % group == 0 and num % group == 0, name
        fields = ["num_output: %d" % num]
        if not bias:
            fields.append("bias_term: false")
        if pad:
            fields.append("pad: %d" % pad)
        fields.append("kernel_size: %d" % k)
        if stride != 1:
            fields.append("stride: %d" % stride)
        if group != 1:
            fields.append("group: %d" % group)
        if self.train:
            fields.append("weight_filler { %s }" % inline(wf))
            if bias:
                fields.append("bias_filler { %s }" % inline(bf))
        body = (mults if mults is not None else self._mults(bias)) + \
            ["convolution_param {"] + ["  " + f for f in fields] + ["}"]
        self.layer(name, "Convolution", [bottom], [top], body)
        oh = (h + 2 * pad - k) // stride + 1
        ow = (w + 2 * pad - k) // stride + 1
        self.shapes[top] = [n, num, oh, ow]
        self.params += num * (c // group) * k * k + (num if bias else 0)
        return top

    def fc(self, name, bottom, num, wf=(("type", "xavier"),), bf=(("type", "constant"),), mults=None):
        shape = self.shapes[bottom]
        fan_in = math.prod(shape[1:])
        fields = ["num_output: %d" % num]
        if self.train:
            fields += ["weight_filler { %s }" % inline(wf), "bias_filler { %s }" % inline(bf)]
        body = (mults if mults is not None else self._mults()) + ["inner_product_param {"] + ["  " + f for f in fields] + ["}"]
        self.layer(name, "InnerProduct", [bottom], [name], body)
        self.shapes[name] = [shape[0], num]
        self.params += num * fan_in + num
        return name

    def batchnorm_scale(self, prefix, blob):
        c = self.shapes[blob][1]
        # Caffe's BatchNorm keeps three blobs (mean, variance, moving-average
        # factor) that the solver must not touch.
        mults = ["param { lr_mult: 0 decay_mult: 0 }"] * 3 if self.train else []
        self.layer(prefix + "/bn", "BatchNorm", [blob], [blob], mults)
        body = []
        if self.train:
            body = ["param { lr_mult: 1 decay_mult: 0 }", "param { lr_mult: 1 decay_mult: 0 }",
                    "scale_param {", "  bias_term: true",
                    '  filler { type: "constant" value: 1 }',
                    '  bias_filler { type: "constant" value: 0 }', "}"]
        else:
            body = ["scale_param { bias_term: true }"]
        self.layer(prefix + "/scale", "Scale", [blob], [blob], body)
        self.params += (2 * c + 1) + 2 * c

    # --- parameter-free layers ----------------------------------------------
    def relu(self, name, blob):
        self.layer(name, "ReLU", [blob], [blob])

    def dropout(self, name, blob, ratio):
        if self.train:  # Dropout is the identity at test time; deploy nets leave it out
            self.layer(name, "Dropout", [blob], [blob], ["dropout_param { dropout_ratio: %s }" % fmt(ratio)])

    def lrn(self, name, bottom, local_size=5, alpha=0.0001, beta=0.75, within=False):
        region = " norm_region: WITHIN_CHANNEL" if within else ""
        self.layer(name, "LRN", [bottom], [name],
                   ["lrn_param { local_size: %d alpha: %s beta: %s%s }" % (local_size, fmt(alpha), fmt(beta), region)])
        self.shapes[name] = list(self.shapes[bottom])
        return name

    def pool(self, name, bottom, kind, k=None, stride=1, pad=0, global_=False):
        n, c, h, w = self.shapes[bottom]
        if global_:
            self.layer(name, "Pooling", [bottom], [name], ["pooling_param { pool: %s global_pooling: true }" % kind])
            self.shapes[name] = [n, c, 1, 1]
            return name
        p = " pad: %d" % pad if pad else ""
        s = " stride: %d" % stride
        self.layer(name, "Pooling", [bottom], [name],
                   ["pooling_param { pool: %s kernel_size: %d%s%s }" % (kind, k, s, p)])

        def out(x):
            o = int(math.ceil((x + 2 * pad - k) / stride)) + 1
            if pad and (o - 1) * stride >= x + pad:
                o -= 1
            return o
        self.shapes[name] = [n, c, out(h), out(w)]
        return name

    def concat(self, name, bottoms):
        n, _, h, w = self.shapes[bottoms[0]]
        for b in bottoms:
            assert self.shapes[b][2:] == [h, w], (name, b, self.shapes[b])
        self.layer(name, "Concat", bottoms, [name])
        self.shapes[name] = [n, sum(self.shapes[b][1] for b in bottoms), h, w]
        return name

    def loss(self, name, bottom, top=None, weight=None):
        extra = ["loss_weight: %s" % fmt(weight)] if weight is not None else []
        self.layer(name, "SoftmaxWithLoss", [bottom, "label"], [top or name], extra)

    def accuracy(self, name, bottom, top_k=None, top=None):
        body = ["accuracy_param { top_k: %d }" % top_k] if top_k else []
        self.layer(name, "Accuracy", [bottom, "label"], [top or name], body,
                   extra=["include { phase: TEST }"])

    def softmax(self, bottom, name="prob"):
        self.layer(name, "Softmax", [bottom], [name])

    def text(self):
        head = "\n".join("# " + l if l else "#" for l in self.header.strip("\n").split("\n"))
        head += "\n# Generated by scripts/gen_nets.py; edit the script, not this file.\n"
        head += "# Parameters (elements of all parameter blobs): {:,}\n".format(self.params)
        return head + 'name: "%s"\n\n' % self.name + "\n".join(self.lines) + "\n"


# ============================================================================
# CIFAR-10
# ============================================================================

CIFAR_MEAN = (("mean_file", "data/mean.binaryproto"),)


def cifar_data(net):
    net.data("TRAIN", "data/cifar10_train_lmdb", 100, CIFAR_MEAN, [3, 32, 32])
    net.data("TEST", "data/cifar10_test_lmdb", 100, CIFAR_MEAN, [3, 32, 32])


def gauss(std):
    return (("type", "gaussian"), ("std", std))


CONST = (("type", "constant"),)


def cifar10_quick_deploy():
    net = Net("CIFAR10_quick", """
cifar10_quick for classification: the net of cifar10_quick_train_test.prototxt
with an Input layer (one 32×32 colour image at a time; subtract
data/mean.binaryproto first, as training did) and a Softmax on top.""")
    net.train = False
    net.input([1, 3, 32, 32])
    net.conv("conv1", "data", 32, 5, pad=2)
    net.pool("pool1", "conv1", "MAX", 3, 2)
    net.relu("relu1", "pool1")
    net.conv("conv2", "pool1", 32, 5, pad=2)
    net.relu("relu2", "conv2")
    net.pool("pool2", "conv2", "AVE", 3, 2)
    net.conv("conv3", "pool2", 64, 5, pad=2)
    net.relu("relu3", "conv3")
    net.pool("pool3", "conv3", "AVE", 3, 2)
    net.fc("ip1", "pool3", 64)
    net.fc("ip2", "ip1", 10)
    net.softmax("ip2")
    return net


def cifar10_full(train):
    net = Net("CIFAR10_full", """
cifar10_full: Caffe's CIFAR-10 model after Krizhevsky's cuda-convnet
layers-18pct — three 5×5 convolutions (32, 32, 64 filters), each followed by
3×3 stride-2 pooling, local response normalization within channels after the
first two, and a single 10-way linear classifier whose weights carry 250× the
weight decay."""
    + ("\nData: `caffers data cifar10` writes the two LMDBs and data/mean.binaryproto." if train else
       "\nDeploy form: one mean-subtracted 32×32 image per pass, Softmax on top."))
    net.train = train
    if train:
        cifar_data(net)
    else:
        net.input([1, 3, 32, 32])
    net.conv("conv1", "data", 32, 5, pad=2, wf=gauss(0.0001), bf=CONST)
    net.pool("pool1", "conv1", "MAX", 3, 2)
    net.relu("relu1", "pool1")
    net.lrn("norm1", "pool1", 3, 5e-05, 0.75, within=True)
    net.conv("conv2", "norm1", 32, 5, pad=2, wf=gauss(0.01), bf=CONST)
    net.relu("relu2", "conv2")
    net.pool("pool2", "conv2", "AVE", 3, 2)
    net.lrn("norm2", "pool2", 3, 5e-05, 0.75, within=True)
    # conv3 learns at the base rate for weights and bias alike (no param blocks).
    net.conv("conv3", "norm2", 64, 5, pad=2, wf=gauss(0.01), bf=CONST, mults=[])
    net.relu("relu3", "conv3")
    net.pool("pool3", "conv3", "AVE", 3, 2)
    if train:
        # The classifier's weights decay 250× as fast as the base rate.
        net.fc("ip1", "pool3", 10, wf=gauss(0.01), bf=CONST,
               mults=["param { lr_mult: 1 decay_mult: 250 }", "param { lr_mult: 2 decay_mult: 0 }"])
        net.accuracy("accuracy", "ip1")
        net.loss("loss", "ip1")
    else:
        net.fc("ip1", "pool3", 10)
        net.softmax("ip1")
    return net


# ============================================================================
# AlexNet and CaffeNet
# ============================================================================

def imagenet_data(net, crop, transform, train_batch, test_batch):
    net.data("TRAIN", "data/ilsvrc12_train_lmdb", train_batch,
             (("mirror", True), ("crop_size", crop)) + transform, [3, crop, crop])
    net.data("TEST", "data/ilsvrc12_val_lmdb", test_batch,
             (("mirror", False), ("crop_size", crop)) + transform, [3, crop, crop])


def alexnet_like(caffenet, train):
    """AlexNet normalizes then pools; CaffeNet pools then normalizes and starts
    its biases at 1 instead of 0.1."""
    name = "CaffeNet" if caffenet else "AlexNet"
    if caffenet:
        header = """
CaffeNet: BVLC's reference ImageNet model, AlexNet (Krizhevsky, Sutskever and
Hinton, "ImageNet Classification with Deep Convolutional Neural Networks",
NIPS 2012) with pooling before normalization and unit initial biases."""
    else:
        header = """
AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
Convolutional Neural Networks", NIPS 2012) as trained by BVLC: five
convolutions (conv2, conv4, conv5 in two groups, as the original two-GPU
split), three fully connected layers, 1000 ILSVRC-2012 classes."""
    header += ("\nData: 256×256 ILSVRC-2012 images in data/ilsvrc12_{train,val}_lmdb, mean image\n"
               "data/imagenet_mean.binaryproto, random 227×227 crops." if train else
               "\nDeploy form: ten mean-subtracted 227×227 crops per pass, Softmax on top.")
    net = Net(name, header)
    net.train = train
    if train:
        imagenet_data(net, 227, (("mean_file", "data/imagenet_mean.binaryproto"),), 256, 50)
    else:
        net.input([10, 3, 227, 227])
    b1 = (("type", "constant"), ("value", 1 if caffenet else 0.1))
    b0 = (("type", "constant"), ("value", 0))
    g01 = gauss(0.01)
    net.conv("conv1", "data", 96, 11, stride=4, wf=g01, bf=b0)
    net.relu("relu1", "conv1")
    if caffenet:
        net.pool("pool1", "conv1", "MAX", 3, 2)
        net.lrn("norm1", "pool1")
        after1 = "norm1"
    else:
        net.lrn("norm1", "conv1")
        net.pool("pool1", "norm1", "MAX", 3, 2)
        after1 = "pool1"
    net.conv("conv2", after1, 256, 5, pad=2, group=2, wf=g01, bf=b1)
    net.relu("relu2", "conv2")
    if caffenet:
        net.pool("pool2", "conv2", "MAX", 3, 2)
        net.lrn("norm2", "pool2")
        after2 = "norm2"
    else:
        net.lrn("norm2", "conv2")
        net.pool("pool2", "norm2", "MAX", 3, 2)
        after2 = "pool2"
    net.conv("conv3", after2, 384, 3, pad=1, wf=g01, bf=b0)
    net.relu("relu3", "conv3")
    net.conv("conv4", "conv3", 384, 3, pad=1, group=2, wf=g01, bf=b1)
    net.relu("relu4", "conv4")
    net.conv("conv5", "conv4", 256, 3, pad=1, group=2, wf=g01, bf=b1)
    net.relu("relu5", "conv5")
    net.pool("pool5", "conv5", "MAX", 3, 2)
    net.fc("fc6", "pool5", 4096, wf=gauss(0.005), bf=b1)
    net.relu("relu6", "fc6")
    net.dropout("drop6", "fc6", 0.5)
    net.fc("fc7", "fc6", 4096, wf=gauss(0.005), bf=b1)
    net.relu("relu7", "fc7")
    net.dropout("drop7", "fc7", 0.5)
    net.fc("fc8", "fc7", 1000, wf=g01, bf=b0)
    if train:
        net.accuracy("accuracy", "fc8")
        net.loss("loss", "fc8")
    else:
        net.softmax("fc8")
    return net


# ============================================================================
# GoogLeNet
# ============================================================================

INCEPTION = [  # name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj (paper's table 1)
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
]

B02 = (("type", "constant"), ("value", 0.2))
B0 = (("type", "constant"), ("value", 0))
XAVIER = (("type", "xavier"),)


def gconv(net, name, bottom, num, k, stride=1, pad=0, relu=None):
    net.conv(name, bottom, num, k, stride=stride, pad=pad, wf=XAVIER, bf=B02)
    net.relu(relu, name)
    return name


def inception(net, bottom, spec):
    tag, c1, r3, c3, r5, c5, pp = spec
    p = "inception_%s/" % tag
    gconv(net, p + "1x1", bottom, c1, 1, relu=p + "relu_1x1")
    gconv(net, p + "3x3_reduce", bottom, r3, 1, relu=p + "relu_3x3_reduce")
    gconv(net, p + "3x3", p + "3x3_reduce", c3, 3, pad=1, relu=p + "relu_3x3")
    gconv(net, p + "5x5_reduce", bottom, r5, 1, relu=p + "relu_5x5_reduce")
    gconv(net, p + "5x5", p + "5x5_reduce", c5, 5, pad=2, relu=p + "relu_5x5")
    net.pool(p + "pool", bottom, "MAX", 3, 1, pad=1)
    gconv(net, p + "pool_proj", p + "pool", pp, 1, relu=p + "relu_pool_proj")
    return net.concat(p + "output", [p + "1x1", p + "3x3", p + "5x5", p + "pool_proj"])


def aux_classifier(net, n, bottom):
    """The paper's auxiliary classifiers: trained with weight 0.3, dropped at
    deployment."""
    p = "loss%d/" % n
    net.pool(p + "ave_pool", bottom, "AVE", 5, 3)
    gconv(net, p + "conv", p + "ave_pool", 128, 1, relu=p + "relu_conv")
    net.fc(p + "fc", p + "conv", 1024, wf=XAVIER, bf=B02)
    net.relu(p + "relu_fc", p + "fc")
    net.dropout(p + "drop_fc", p + "fc", 0.7)
    net.fc(p + "classifier", p + "fc", 1000, wf=XAVIER, bf=B0)
    net.loss(p + "loss", p + "classifier", top=p + "loss%d" % n, weight=0.3)
    net.accuracy(p + "top-1", p + "classifier")
    net.accuracy(p + "top-5", p + "classifier", top_k=5)


def googlenet(train):
    header = """
GoogLeNet (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015) as
trained by BVLC: nine inception modules, 1000 ILSVRC-2012 classes."""
    header += ("\nThe two auxiliary classifiers (after inception_4a and inception_4d, loss\n"
               "weight 0.3) take part in training only; the deploy net has no trace of them.\n"
               "Data: data/ilsvrc12_{train,val}_lmdb, random 224×224 crops, per-channel BGR\n"
               "mean 104, 117, 123." if train else
               "\nDeploy form: ten mean-subtracted 224×224 crops per pass, Softmax on top\n"
               "(no auxiliary classifiers).")
    net = Net("GoogleNet", header)
    net.train = train
    if train:
        imagenet_data(net, 224, (("mean_value", 104), ("mean_value", 117), ("mean_value", 123)), 32, 50)
    else:
        net.input([10, 3, 224, 224])
    gconv(net, "conv1/7x7_s2", "data", 64, 7, stride=2, pad=3, relu="conv1/relu_7x7")
    net.pool("pool1/3x3_s2", "conv1/7x7_s2", "MAX", 3, 2)
    net.lrn("pool1/norm1", "pool1/3x3_s2")
    gconv(net, "conv2/3x3_reduce", "pool1/norm1", 64, 1, relu="conv2/relu_3x3_reduce")
    gconv(net, "conv2/3x3", "conv2/3x3_reduce", 192, 3, pad=1, relu="conv2/relu_3x3")
    net.lrn("conv2/norm2", "conv2/3x3")
    x = net.pool("pool2/3x3_s2", "conv2/norm2", "MAX", 3, 2)
    for spec in INCEPTION:
        x = inception(net, x, spec)
        if spec[0] == "4a" and train:
            aux_classifier(net, 1, x)
        if spec[0] == "4d" and train:
            aux_classifier(net, 2, x)
        if spec[0] == "3b":
            x = net.pool("pool3/3x3_s2", x, "MAX", 3, 2)
        if spec[0] == "4e":
            x = net.pool("pool4/3x3_s2", x, "MAX", 3, 2)
    net.pool("pool5/7x7_s1", x, "AVE", 7, 1)
    net.dropout("pool5/drop_7x7_s1", "pool5/7x7_s1", 0.4)
    net.fc("loss3/classifier", "pool5/7x7_s1", 1000, wf=XAVIER, bf=B0)
    if train:
        net.loss("loss3/loss3", "loss3/classifier", weight=1)
        net.accuracy("loss3/top-1", "loss3/classifier")
        net.accuracy("loss3/top-5", "loss3/classifier", top_k=5)
    else:
        net.softmax("loss3/classifier")
    return net


# ============================================================================
# MobileNet v1
# ============================================================================

MOBILENET = [  # name, depthwise stride, pointwise outputs (paper's table 1)
    ("conv2_1", 1, 64), ("conv2_2", 2, 128),
    ("conv3_1", 1, 128), ("conv3_2", 2, 256),
    ("conv4_1", 1, 256), ("conv4_2", 2, 512),
    ("conv5_1", 1, 512), ("conv5_2", 1, 512), ("conv5_3", 1, 512),
    ("conv5_4", 1, 512), ("conv5_5", 1, 512), ("conv5_6", 2, 1024),
    ("conv6", 1, 1024),
]

MSRA = (("type", "msra"),)


def mobilenet(train, width=1.0):
    header = """
MobileNet v1, width %s, 224×224 (Howard et al., "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications", 2017), in the
layout of the widely used Caffe port: every 3×3 depthwise convolution is a
Convolution with group = channels, every convolution is followed by BatchNorm
+ Scale (the convolutions have no bias) and ReLU, and the classifier is a 1×1
Convolution after global average pooling. 1000 ILSVRC-2012 classes.""" % width
    if width != 1.0:
        header += ("\nWidth multiplier %s: every convolution has %s times the channels of\n"
                   "width 1.0, rounded down, at least 8 (the reference implementation's\n"
                   "min_depth); the classifier keeps its 1000 outputs." % (width, width))
    header += ("\nData: data/ilsvrc12_{train,val}_lmdb, random 224×224 crops, BGR mean\n"
               "103.94, 116.78, 123.68, scaled by 0.017." if train else
               "\nDeploy form: one preprocessed 224×224 image per pass, Softmax on top.")
    net = Net("MobileNet" if width == 1.0 else "MobileNet_%s" % width, header)
    net.train = train

    def depth(channels):
        return max(int(channels * width), 8)

    if train:
        imagenet_data(net, 224, (("scale", 0.017), ("mean_value", 103.94), ("mean_value", 116.78),
                                 ("mean_value", 123.68)), 64, 50)
    else:
        net.input([1, 3, 224, 224])

    def cbr(name, bottom, num, k, stride=1, pad=0, group=1, relu=None):
        net.conv(name, bottom, num, k, stride=stride, pad=pad, group=group, bias=False, wf=MSRA)
        net.batchnorm_scale(name, name)
        net.relu(relu, name)
        return name

    x = cbr("conv1", "data", depth(32), 3, stride=2, pad=1, relu="relu1")
    for name, stride, out in MOBILENET:
        out = depth(out)
        c = net.shapes[x][1]
        x = cbr(name + "/dw", x, c, 3, stride=stride, pad=1, group=c, relu="relu%s/dw" % name[4:])
        x = cbr(name + "/sep", x, out, 1, relu="relu%s/sep" % name[4:])
    net.pool("pool6", x, "AVE", global_=True)
    net.conv("fc7", "pool6", 1000, 1, wf=MSRA, bf=B0)
    if train:
        net.loss("loss", "fc7")
        net.accuracy("top1/acc", "fc7", top=None)
        net.accuracy("top5/acc", "fc7", top_k=5)
    else:
        net.softmax("fc7")
    return net


NETS = {
    "cifar10_quick_deploy": cifar10_quick_deploy,
    "cifar10_full_train_test": lambda: cifar10_full(True),
    "cifar10_full_deploy": lambda: cifar10_full(False),
    "alexnet_train_val": lambda: alexnet_like(False, True),
    "alexnet_deploy": lambda: alexnet_like(False, False),
    "caffenet_train_val": lambda: alexnet_like(True, True),
    "caffenet_deploy": lambda: alexnet_like(True, False),
    "googlenet_train_val": lambda: googlenet(True),
    "googlenet_deploy": lambda: googlenet(False),
    "mobilenet_v1_train_val": lambda: mobilenet(True),
    "mobilenet_v1_deploy": lambda: mobilenet(False),
}

# The width multipliers of the paper's table 6 besides 1.0, as file-name tags.
MOBILENET_WIDTHS = {0.75: "075", 0.5: "050", 0.25: "025"}


def mobilenet_nets(width):
    """The train_val and deploy nets of one MobileNet width multiplier."""
    tag = MOBILENET_WIDTHS[width]
    return {
        "mobilenet_v1_%s_train_val" % tag: lambda: mobilenet(True, width),
        "mobilenet_v1_%s_deploy" % tag: lambda: mobilenet(False, width),
    }


for _width in MOBILENET_WIDTHS:
    NETS.update(mobilenet_nets(_width))


def main():
    args = sys.argv[1:]
    check = "--check" in args
    nets = NETS
    if "--width" in args:
        at = args.index("--width") + 1
        width = float(args[at]) if at < len(args) else None
        if width not in MOBILENET_WIDTHS:
            sys.exit("--width takes one of " + ", ".join(map(str, MOBILENET_WIDTHS)))
        nets = mobilenet_nets(width)
    stale = []
    for name, make in nets.items():
        net = make()
        path = os.path.join(ROOT, "nets", name + ".prototxt")
        text = net.text()
        if check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        print("%-26s %12s parameters" % (name, "{:,}".format(net.params)))
    if stale:
        sys.exit("out of date (run scripts/gen_nets.py): " + ", ".join(stale))


if __name__ == "__main__":
    main()
