"""A Piper voice's graph cut where its HiFi-GAN decoder starts (and the decoder
in two stages).

Why: a VITS decoder's working memory grows with the audio of one inference
(about 0.9 kB per output sample with a medium voice: im2col buffers of its
last convolutions), and it does most of the work. Cut off from the text side
(encoder, duration predictor, flow), the decoder can run over a sentence's
latent frames a window at a time, so memory no longer grows with a sentence,
while the text side still sees the whole sentence, as piper-tts runs it, and
keeps its prosody. The decoder is convolutional: with enough frames of
context around a window, its output there is the same as the whole run's
(piper_session measures that reach on the voice itself).

The cut is found by the graph's shape, not by node names (exports name nodes
differently): the first ``ConvTranspose`` is the decoder's first upsampling;
walking back from it through activations and the speaker conditioning's
``Add`` reaches the decoder's first ``Conv`` (``conv_pre``), whose data input
is the latent ``z``. The decoder is everything on a path from ``z`` to the
audio output; whatever else it reads (a speaker's conditioning, weights
computed by the graph) the text side computes and hands over. A graph where
this does not hold (no ``ConvTranspose``, control flow in the decoder) is not
cut, and runs whole.

The decoder is cut once more, before its second upsampling: most of the
context a window needs is its first stage's (``conv_pre`` and the first
residual blocks reach ~12 latent frames), while the later stages, which do
~80 % of the arithmetic at 8 and 64 times the frame rate, reach about one
frame. Run as two stages, each windowed with its own context, the costly
stages no longer recompute a dozen frames on each side of every window.

This module is the one place that reads ONNX protobufs (the ``onnx`` package).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["VoiceParts", "split_voice"]

# Ops the walk from the first upsampling back to ``conv_pre`` may cross.
_PASS_THROUGH = {"LeakyRelu", "Relu", "Identity", "Cast"}
# The phoneme ids input of a Piper voice.
IDS_INPUT = "input"


@dataclass(frozen=True)
class VoiceParts:
    """The parts of a voice for onnxruntime: serialized, or the paths of the
    files they were kept in.

    ``text_side`` takes the voice's inputs and returns ``latent`` then
    ``handed``, in that order; ``decoder`` takes ``latent``, ``handed`` and
    ``passed`` (voice inputs it reads directly) and returns the audio, or,
    when the decoder was cut in two, ``tail_input`` for ``tail``, which
    takes it and the decoder's own inputs named in ``tail_passed`` and
    returns the audio. ``channels`` is the latent's channel count.
    """

    text_side: bytes | str
    decoder: bytes | str
    latent: str
    handed: tuple[str, ...]
    passed: tuple[str, ...]
    channels: int
    tail: bytes | str | None = None
    tail_input: str = ""
    tail_passed: tuple[str, ...] = ()


def split_voice(model_path: Path) -> VoiceParts | None:
    """Cut ``model_path``'s graph before its decoder, or None if it has none
    that can be cut (then the caller runs the model whole).

    Raises:
        ImportError: the ``onnx`` package is missing.
        Exception: the file is not an ONNX model (the ``onnx`` parser's error).
    """
    import onnx

    model = onnx.load(str(model_path))
    found = _find_decoder(model.graph)
    if found is None:
        return None
    latent, channels = found
    parts = _cut(model, latent, channels)
    if parts is None:
        return None
    assert isinstance(parts.decoder, bytes)
    stages = _split_decoder(parts.decoder, latent)
    if stages is None:
        return parts
    return replace(
        parts,
        decoder=stages.text_side,
        tail=stages.decoder,
        tail_input=stages.latent,
        tail_passed=stages.passed,
    )


def _split_decoder(decoder: bytes, latent: str) -> VoiceParts | None:
    """The decoder cut before its second upsampling: ``text_side`` is then
    the first stage, ``decoder`` the rest. None when there is no second
    upsampling, or when the rest would read more than the first stage's
    output and the decoder's non-time inputs: a tensor the first stage
    computes, or the latent ``latent`` itself (which runs along the frames,
    so windows of the rest would not line up with it)."""
    import onnx

    model = onnx.load_from_string(decoder)
    ups = [n for n in model.graph.node if n.op_type == "ConvTranspose"]
    if len(ups) < 2:
        return None
    stages = _cut(model, ups[1].input[0], 0)
    if stages is None or stages.handed or latent in stages.passed:
        return None
    return stages


def _find_decoder(graph: Any) -> tuple[str, int] | None:
    """The latent tensor feeding the decoder and its channel count."""
    producer = {out: node for node in graph.node for out in node.output}
    first_up = next((n for n in graph.node if n.op_type == "ConvTranspose"), None)
    if first_up is None or not graph.output:
        return None
    from_ids = _depends_on(producer, IDS_INPUT)
    tensor = first_up.input[0]
    for _ in range(64):
        node = producer.get(tensor)
        if node is None:
            return None
        if node.op_type in _PASS_THROUGH:
            tensor = node.input[0]
        elif node.op_type == "Add":
            # conv_pre(z) + cond(g): follow the branch the text flows through.
            branches = [i for i in node.input if i and from_ids(i)]
            if len(branches) != 1:
                return None
            tensor = branches[0]
        elif node.op_type == "Conv":
            weights = {i.name: i for i in graph.initializer}
            weight = weights.get(node.input[1])
            if weight is None or len(weight.dims) != 3:
                return None
            groups = next((a.i for a in node.attribute if a.name == "group"), 1)
            return node.input[0], int(weight.dims[1]) * max(1, groups)
        else:
            return None
    return None


def _depends_on(producer: dict[str, Any], source: str) -> Any:
    """A memoized test: does a tensor depend on ``source``?"""
    memo: dict[str, bool] = {}

    def test(tensor: str) -> bool:
        # Iterative, so a deep graph does not hit the recursion limit.
        stack = [tensor]
        while stack:
            top = stack[-1]
            if top in memo:
                stack.pop()
                continue
            node = producer.get(top)
            if top == source or node is None:
                memo[top] = top == source
                stack.pop()
                continue
            pending = [i for i in node.input if i and i not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[top] = any(memo[i] for i in node.input if i)
            stack.pop()
        return memo[tensor]

    return test


def _closure(start: Iterable[str], step: Any) -> set[int]:
    """Indices of the nodes reached from ``start`` by ``step(tensor)``."""
    seen: set[int] = set()
    stack = list(start)
    while stack:
        for index, tensors in step(stack.pop()):
            if index not in seen:
                seen.add(index)
                stack.extend(tensors)
    return seen


def _cut(model: Any, latent: str, channels: int) -> VoiceParts | None:
    from onnx import TensorProto, helper

    graph = model.graph
    nodes = list(graph.node)
    made_by = {out: i for i, n in enumerate(nodes) for out in n.output}
    read_by: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        for name in node.input:
            read_by[name].append(i)
    after = _closure([latent], lambda t: [(i, nodes[i].output) for i in read_by[t]])
    before_out = _closure(
        [o.name for o in graph.output],
        lambda t: (
            [(made_by[t], [i for i in nodes[made_by[t]].input if i])]
            if t in made_by
            else []
        ),
    )
    decoder = [i for i in range(len(nodes)) if i in after and i in before_out]
    if not decoder or any(
        a.type in (a.GRAPH, a.GRAPHS) for i in decoder for a in nodes[i].attribute
    ):
        return None
    inits = {t.name for t in graph.initializer}
    inputs = {i.name: i for i in graph.input}
    made_in_decoder = {o for i in decoder for o in nodes[i].output}
    outside: list[str] = []
    for i in decoder:
        for name in nodes[i].input:
            external = name and name != latent and name not in made_in_decoder
            if external and name not in inits and name not in outside:
                outside.append(name)
    handed = tuple(n for n in outside if n not in inputs)
    passed = tuple(n for n in outside if n in inputs)
    text_nodes = _closure(
        [latent, *handed],
        lambda t: (
            [(made_by[t], [i for i in nodes[made_by[t]].input if i])]
            if t in made_by
            else []
        ),
    )

    def initializers(chosen: list[int]) -> list[Any]:
        read = {name for i in chosen for name in nodes[i].input}
        return [t for t in graph.initializer if t.name in read]

    def value(name: str) -> Any:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)

    def model_of(chosen: list[int], ins: list[Any], outs: list[Any]) -> bytes:
        sub = helper.make_graph(
            [nodes[i] for i in chosen], graph.name, ins, outs, initializers(chosen)
        )
        made = helper.make_model(sub, opset_imports=list(model.opset_import))
        made.ir_version = model.ir_version
        data: bytes = made.SerializeToString()
        return data

    decoder_bytes = model_of(
        decoder,
        [value(latent), *map(value, handed), *(inputs[n] for n in passed)],
        list(graph.output),
    )
    outputs = [value(latent), *map(value, handed)]
    text_bytes = _text_side_in_place(
        model, [nodes[i] for i in sorted(text_nodes)], outputs
    )
    return VoiceParts(
        text_side=text_bytes,
        decoder=decoder_bytes,
        latent=latent,
        handed=handed,
        passed=passed,
        channels=channels,
    )


def _text_side_in_place(model: Any, kept: list[Any], outputs: list[Any]) -> bytes:
    """``model`` made into its text side, serialized. The text side holds
    nearly all the weights: cut in place rather than copied, so the cut holds
    the model once, not twice (the decoder is serialized before)."""
    graph = model.graph
    read = {name for node in kept for name in node.input}
    made = {out for node in kept for out in node.output}
    for index in reversed(range(len(graph.initializer))):
        if graph.initializer[index].name not in read:
            del graph.initializer[index]
    for index in reversed(range(len(graph.value_info))):
        if graph.value_info[index].name not in made:
            del graph.value_info[index]
    copies = [type(node).FromString(node.SerializeToString()) for node in kept]
    del graph.node[:]
    graph.node.extend(copies)
    del graph.output[:]
    graph.output.extend(outputs)
    data: bytes = model.SerializeToString()
    return data
