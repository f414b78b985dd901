"""A VITS inference graph of a Piper *medium* voice's sizes, with random weights.

Why: a sine generator says nothing about what a real voice costs; this graph
does the work of one (text encoder, stochastic duration predictor, flow,
HiFi-GAN decoder) with the layer sizes of piper_train's defaults, which the
published medium voices use (src/python/piper_train/vits/lightning.py and
models.py of the reference training code): hidden and inter channels 192,
filter 768, 6 layers, 2 heads, relative attention window 4 (computed as the
export computes it: padded and reshaped, heads x length^2), FFN kernel 3;
flow of 4 coupling layers (WN of 4 layers, kernel 5); duration predictor with
4 conv flows over DDSConv (kernel 3, 3 layers); decoder of ResBlock2 with
kernels 3, 5, 7 and dilations (1, 2), (2, 6), (3, 12), upsampling 8, 8, 4
from 256 channels with kernels 16, 16, 8. Like Piper's ONNX export, the
posterior encoder (training only) is left out.

One simplification, of no weight in the cost: each conv flow's rational
quadratic spline (an elementwise transform of 2 x phonemes values) is an
affine transform of the same projected parameters. Random weights would give
random durations, so the duration predictor's last affine is set to about
3.5 frames (40 ms) per id, pads included, the pace of
real speech (about 13 phonemes a second). Batch size 1, as
narrator and piper-tts run it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from onnx import ModelProto, TensorProto, helper, numpy_helper

HIDDEN = 192
FILTER = 768
HEADS = 2
LAYERS = 6
WINDOW = 4
FLOW_LAYERS = 4
UPSAMPLE_RATES = (8, 8, 4)
UPSAMPLE_KERNELS = (16, 16, 8)
UPSAMPLE_CHANNELS = 256
RES_KERNELS = (3, 5, 7)
RES_DILATIONS = ((1, 2), (2, 6), (3, 12))
SPLINE_PARAMS = 29  # half_channels * (num_bins * 3 - 1), num_bins = 10
FRAMES_PER_PHONEME = 3.5


class Graph:
    """Nodes and random initializers, named in order."""

    def __init__(self, seed: int) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.params = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: object, dtype: Any = np.float32, hint: str = "c") -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
        return name

    def weight(self, shape: tuple[int, ...], fan_in: int, hint: str) -> str:
        std = 1.0 / math.sqrt(fan_in)
        value = self.rng.normal(0.0, std, size=shape).astype(np.float32)
        self.params += value.size
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    # -- layers ---------------------------------------------------------------

    def conv(
        self,
        x: str,
        c_in: int,
        c_out: int,
        k: int = 1,
        *,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        scale: float = 1.0,
    ) -> str:
        shape = (c_out, c_in // groups, k)
        w = self.weight(shape, c_in // groups * k, "conv_w")
        if scale != 1.0:
            w = self.op("Mul", [w, self.const(scale)])
        inputs = [x, w]
        if bias:
            inputs.append(self.weight((c_out,), c_in * 16, "conv_b"))
        pad = (k * dilation - dilation) // 2
        return self.op(  # type: ignore[no-any-return]
            "Conv",
            inputs,
            kernel_shape=[k],
            pads=[pad, pad],
            dilations=[dilation],
            group=groups,
        )

    def conv_transpose(self, x: str, c_in: int, c_out: int, k: int, u: int) -> str:
        w = self.weight((c_in, c_out, k), c_in * k // u, "up_w")
        b = self.weight((c_out,), c_in * 16, "up_b")
        pad = (k - u) // 2
        return self.op(  # type: ignore[no-any-return]
            "ConvTranspose", [x, w, b], kernel_shape=[k], strides=[u], pads=[pad, pad]
        )

    def layer_norm(self, x: str, channels: int) -> str:
        """VITS's LayerNorm: over channels of [b, c, t]."""
        t = self.op("Transpose", [x], perm=[0, 2, 1])
        gamma = self.const(np.ones(channels), hint="ln_g")
        beta = self.const(np.zeros(channels), hint="ln_b")
        self.params += 2 * channels
        n = self.op("LayerNormalization", [t, gamma, beta], axis=-1, epsilon=1e-5)
        return self.op("Transpose", [n], perm=[0, 2, 1])  # type: ignore[no-any-return]

    def gelu(self, x: str) -> str:
        e = self.op("Erf", [self.op("Mul", [x, self.const(1 / math.sqrt(2))])])
        half = self.op("Mul", [x, self.const(0.5)])
        return self.op("Mul", [half, self.op("Add", [e, self.const(1.0)])])  # type: ignore[no-any-return]

    def split(self, x: str, sizes: list[int], axis: int = 1) -> list[str]:
        return self.op(  # type: ignore[no-any-return]
            "Split", [x, self.const(sizes, np.int64)], n_out=len(sizes), axis=axis
        )


def _i64(g: Graph, *parts: str | int) -> str:
    """A 1-D int64 tensor of scalars (graph tensors) and constants."""
    items = [
        g.const([p], np.int64)
        if isinstance(p, int)
        else g.op("Unsqueeze", [p, g.const([0], np.int64)])
        for p in parts
    ]
    return g.op("Concat", items, axis=0)  # type: ignore[no-any-return]


def _relative_embeddings(g: Graph, hint: str, length: str) -> str:
    """[1, 1, 2l-1, kc]: the window's 2w+1 embeddings, zero-padded to every
    relative position of a length-l sentence (VITS _get_relative_embeddings)."""
    kc = HIDDEN // HEADS
    w = g.op(
        "Reshape",
        [g.weight((2 * WINDOW + 1, kc), kc, hint), g.const([1, 1, -1, kc], np.int64)],
    )
    zero = g.const(0, np.int64)
    pad = g.op("Max", [g.op("Sub", [length, g.const(WINDOW + 1, np.int64)]), zero])
    start = g.op("Max", [g.op("Sub", [g.const(WINDOW + 1, np.int64), length]), zero])
    span = g.op(
        "Sub", [g.op("Mul", [length, g.const(2, np.int64)]), g.const(1, np.int64)]
    )
    padded = g.op("Pad", [w, _i64(g, 0, 0, pad, 0, 0, 0, pad, 0)])
    end = g.op("Add", [start, span])
    return g.op(  # type: ignore[no-any-return]
        "Slice", [padded, _i64(g, start), _i64(g, end), g.const([2], np.int64)]
    )


def _relative_to_absolute(g: Graph, x: str, length: str) -> str:
    """[1, h, l, 2l-1] -> [1, h, l, l] by padding and reshaping, as VITS does."""
    one = g.const(1, np.int64)
    x = g.op("Pad", [x, _i64(g, 0, 0, 0, 0, 0, 0, 0, 1)])
    flat = g.op("Reshape", [x, g.const([1, HEADS, -1], np.int64)])
    flat = g.op("Pad", [flat, _i64(g, 0, 0, 0, 0, 0, g.op("Sub", [length, one]))])
    two_l = g.op("Mul", [length, g.const(2, np.int64)])
    shape = _i64(g, 1, HEADS, g.op("Add", [length, one]), g.op("Sub", [two_l, one]))
    square = g.op("Reshape", [flat, shape])
    return g.op(  # type: ignore[no-any-return]
        "Slice",
        [
            square,
            _i64(g, 0, g.op("Sub", [length, one])),
            _i64(g, length, g.op("Sub", [two_l, one])),
            g.const([2, 3], np.int64),
        ],
    )


def _absolute_to_relative(g: Graph, x: str, length: str) -> str:
    """[1, h, l, l] -> [1, h, l, 2l-1], the inverse layout."""
    one = g.const(1, np.int64)
    x = g.op("Pad", [x, _i64(g, 0, 0, 0, 0, 0, 0, 0, g.op("Sub", [length, one]))])
    flat = g.op("Reshape", [x, g.const([1, HEADS, -1], np.int64)])
    flat = g.op("Pad", [flat, _i64(g, 0, 0, length, 0, 0, 0)])
    wide = g.op(
        "Reshape",
        [flat, _i64(g, 1, HEADS, length, g.op("Mul", [length, g.const(2, np.int64)]))],
    )
    return g.op(  # type: ignore[no-any-return]
        "Slice",
        [
            wide,
            g.const([1], np.int64),
            g.const([2**62], np.int64),
            g.const([3], np.int64),
        ],
    )


def _attention(g: Graph, x: str, mask2: str, length: str) -> str:
    """Multi-head self-attention with VITS's relative positions (window 4),
    computed as the reference's export computes them: O(heads x l^2) memory."""
    kc = HIDDEN // HEADS
    heads_shape = g.const([1, HEADS, kc, -1], np.int64)

    def heads(y: str) -> str:
        return g.op("Transpose", [g.op("Reshape", [y, heads_shape])], perm=[0, 1, 3, 2])

    q = heads(g.op("Mul", [g.conv(x, HIDDEN, HIDDEN), g.const(1 / math.sqrt(kc))]))
    k = heads(g.conv(x, HIDDEN, HIDDEN))
    v = heads(g.conv(x, HIDDEN, HIDDEN))
    rel_k = _relative_embeddings(g, "rel_k", length)
    rel_v = _relative_embeddings(g, "rel_v", length)
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    rel_logits = g.op("MatMul", [q, g.op("Transpose", [rel_k], perm=[0, 1, 3, 2])])
    scores = g.op("Add", [scores, _relative_to_absolute(g, rel_logits, length)])
    masked = g.op("Mul", [g.op("Sub", [g.const(1.0), mask2]), g.const(-1e4)])
    p = g.op("Softmax", [g.op("Add", [scores, masked])], axis=-1)
    out = g.op("MatMul", [p, v])
    out = g.op(
        "Add", [out, g.op("MatMul", [_absolute_to_relative(g, p, length), rel_v])]
    )
    out = g.op("Transpose", [out], perm=[0, 1, 3, 2])
    out = g.op("Reshape", [out, g.const([1, HIDDEN, -1], np.int64)])
    return g.conv(out, HIDDEN, HIDDEN)


def _text_encoder(g: Graph, ids: str, mask: str, length: str) -> tuple[str, str, str]:
    emb = g.weight((256, HIDDEN), HIDDEN, "emb")
    x = g.op("Mul", [g.op("Gather", [emb, ids]), g.const(math.sqrt(HIDDEN))])
    x = g.op("Mul", [g.op("Transpose", [x], perm=[0, 2, 1]), mask])
    mask2 = g.op(
        "Mul",
        [
            g.op("Unsqueeze", [mask, g.const([3], np.int64)]),
            g.op("Unsqueeze", [mask, g.const([2], np.int64)]),
        ],
    )
    for _ in range(LAYERS):
        x = g.layer_norm(g.op("Add", [x, _attention(g, x, mask2, length)]), HIDDEN)
        y = g.op("Relu", [g.conv(g.op("Mul", [x, mask]), HIDDEN, FILTER, 3)])
        y = g.op("Mul", [g.conv(g.op("Mul", [y, mask]), FILTER, HIDDEN, 3), mask])
        x = g.layer_norm(g.op("Add", [x, y]), HIDDEN)
    x = g.op("Mul", [x, mask])
    stats = g.op("Mul", [g.conv(x, HIDDEN, 2 * HIDDEN, scale=0.1), mask])
    m, logs = g.split(stats, [HIDDEN, HIDDEN])
    return x, m, logs


def _dds_conv(g: Graph, x: str, mask: str, cond: str | None = None) -> str:
    if cond is not None:
        x = g.op("Add", [x, cond])
    for i in range(3):
        y = g.conv(
            g.op("Mul", [x, mask]), HIDDEN, HIDDEN, 3, dilation=3**i, groups=HIDDEN
        )
        y = g.gelu(g.layer_norm(y, HIDDEN))
        y = g.gelu(g.layer_norm(g.conv(y, HIDDEN, HIDDEN), HIDDEN))
        x = g.op("Add", [x, y])
    return g.op("Mul", [x, mask])  # type: ignore[no-any-return]


def _duration(g: Graph, x: str, mask: str, noise_w: str) -> str:
    """Stochastic duration predictor, reversed: log durations [1, 1, t]."""
    h = g.conv(x, HIDDEN, HIDDEN)
    h = g.op("Mul", [g.conv(_dds_conv(g, h, mask), HIDDEN, HIDDEN), mask])
    noise = g.op("RandomNormalLike", [g.op("Concat", [mask, mask], axis=1)])
    z = g.op("Mul", [noise, noise_w])
    swap = g.const([1, 0], np.int64)
    for _ in range(3):  # flows reversed, less the one the reference drops
        z = g.op("Gather", [z, swap], axis=1)
        z0, z1 = g.split(z, [1, 1])
        p = _dds_conv(g, g.conv(z0, 1, HIDDEN), mask, cond=h)
        p = g.op("Mul", [g.conv(p, HIDDEN, SPLINE_PARAMS, scale=0.1), mask])
        shift, scale, _rest = g.split(p, [1, 1, SPLINE_PARAMS - 2])
        z1 = g.op(
            "Mul",
            [
                g.op("Sub", [z1, g.op("Tanh", [shift])]),
                g.op("Exp", [g.op("Mul", [g.op("Tanh", [scale]), g.const(-0.2)])]),
            ],
        )
        z = g.op("Mul", [g.op("Concat", [z0, z1], axis=1), mask])
    # elementwise affine, reversed: (z - m) * exp(-logs), set to ~3.5 frames.
    logs = math.log(4.0)
    m = g.const(np.full((2, 1), -math.log(FRAMES_PER_PHONEME) * 4.0), hint="ea_m")
    z = g.op("Mul", [g.op("Sub", [z, m]), g.const(math.exp(-logs))])
    g.params += 4
    logw, _ = g.split(g.op("Mul", [z, mask]), [1, 1])
    return logw  # type: ignore[no-any-return]


def _expand(g: Graph, logw: str, mask: str, length_scale: str) -> str:
    """Frame-to-phoneme alignment [t, frames] from the durations (generate_path)."""
    w = g.op(
        "Ceil", [g.op("Mul", [g.op("Mul", [g.op("Exp", [logw]), mask]), length_scale])]
    )
    w = g.op("Reshape", [w, g.const([-1], np.int64)])
    total = g.op("Max", [g.op("ReduceSum", [w], keepdims=0), g.const(1.0)])
    end = g.op("CumSum", [w, g.const(0, np.int64)])
    start = g.op("Sub", [end, w])
    frames = g.op(
        "Unsqueeze",
        [g.op("Range", [g.const(0.0), total, g.const(1.0)]), g.const([0], np.int64)],
    )
    col = g.const([1], np.int64)
    after = g.op("GreaterOrEqual", [frames, g.op("Unsqueeze", [start, col])])
    before = g.op("Less", [frames, g.op("Unsqueeze", [end, col])])
    return g.op("Cast", [g.op("And", [after, before])], to=TensorProto.FLOAT)  # type: ignore[no-any-return]


def _flow(g: Graph, z: str) -> str:
    """Residual coupling block, reversed (4 mean-only layers over a WN of 4)."""
    half = HIDDEN // 2
    flip = g.const(np.arange(HIDDEN - 1, -1, -1), np.int64)
    for _ in range(4):
        z = g.op("Gather", [z, flip], axis=1)
        z0, z1 = g.split(z, [half, half])
        h = g.conv(z0, half, HIDDEN)
        out = None
        for i in range(FLOW_LAYERS):
            a, b = g.split(g.conv(h, HIDDEN, 2 * HIDDEN, 5), [HIDDEN, HIDDEN])
            acts = g.op("Mul", [g.op("Tanh", [a]), g.op("Sigmoid", [b])])
            if i < FLOW_LAYERS - 1:
                res, skip = g.split(g.conv(acts, HIDDEN, 2 * HIDDEN), [HIDDEN, HIDDEN])
                h = g.op("Add", [h, res])
            else:
                skip = g.conv(acts, HIDDEN, HIDDEN)
            out = skip if out is None else g.op("Add", [out, skip])
        assert out is not None
        m = g.conv(out, HIDDEN, half, scale=0.1)
        z = g.op("Concat", [z0, g.op("Sub", [z1, m])], axis=1)
    return z


def _decoder(g: Graph, z: str) -> str:
    """HiFi-GAN generator, ResBlock2: [1, 192, frames] -> [1, 1, frames * 256]."""
    x = g.conv(z, HIDDEN, UPSAMPLE_CHANNELS, 7)
    ch = UPSAMPLE_CHANNELS
    for u, k in zip(UPSAMPLE_RATES, UPSAMPLE_KERNELS, strict=True):
        x = g.op("LeakyRelu", [x], alpha=0.1)
        x = g.conv_transpose(x, ch, ch // 2, k, u)
        ch //= 2
        total = None
        for kernel, dilations in zip(RES_KERNELS, RES_DILATIONS, strict=True):
            y = x
            for d in dilations:
                y = g.op(
                    "Add",
                    [
                        g.conv(
                            g.op("LeakyRelu", [y], alpha=0.1),
                            ch,
                            ch,
                            kernel,
                            dilation=d,
                        ),
                        y,
                    ],
                )
            total = y if total is None else g.op("Add", [total, y])
        assert total is not None
        x = g.op("Mul", [total, g.const(1 / len(RES_KERNELS))])
    x = g.op("LeakyRelu", [x], alpha=0.01)
    return g.op("Tanh", [g.conv(x, ch, 1, 7, bias=False, scale=0.3)])  # type: ignore[no-any-return]


def build_medium(seed: int = 0) -> tuple[ModelProto, int]:
    """The medium-sized VITS graph and its parameter count."""
    g = Graph(seed)
    idx = [g.const(i, np.int64) for i in range(3)]
    noise_scale, length_scale, noise_w = (g.op("Gather", ["scales", i]) for i in idx)
    length = g.op("Gather", [g.op("Shape", ["input"]), idx[1]])
    pos = g.op("Range", [g.const(0, np.int64), length, g.const(1, np.int64)])
    valid = g.op(
        "Less",
        [
            g.op("Unsqueeze", [pos, g.const([0], np.int64)]),
            g.op("Unsqueeze", ["input_lengths", g.const([1], np.int64)]),
        ],
    )
    mask = g.op(
        "Unsqueeze",
        [g.op("Cast", [valid], to=TensorProto.FLOAT), g.const([1], np.int64)],
    )
    x, m_p, logs_p = _text_encoder(g, "input", mask, length)
    path = _expand(g, _duration(g, x, mask, noise_w), mask, length_scale)
    m_p = g.op("MatMul", [m_p, path])
    logs_p = g.op("MatMul", [logs_p, path])
    noise = g.op("Mul", [g.op("RandomNormalLike", [m_p]), noise_scale])
    z_p = g.op("Add", [m_p, g.op("Mul", [noise, g.op("Exp", [logs_p])])])
    audio = _decoder(g, _flow(g, z_p))
    g.nodes.append(helper.make_node("Identity", [audio], ["output"]))
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "time"])
    graph = helper.make_graph(
        g.nodes, "narrator_test_voice_medium", inputs, [output], g.inits
    )
    model = helper.make_model(
        graph,
        producer_name="narrator scripts/make_test_voice.py --size medium",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    return model, g.params
