#!/usr/bin/python3
"""
Rewrite the gop bundle's acoustic graph (input samples [1, N]) into one that takes a batch:
samples [B, N] (rows zero-padded at the end to the longest) and lengths [B] (int64, each row's
real sample count), with outputs log_posteriors [K, B, T2, V] and frame_energy [B, T].

Why a length input is needed: the graph normalises over TIME, so zero-padding alone would change
every frame of a shorter row:
  - the DC offset removed from the waveform is the mean over all samples (two ReduceMeans);
  - the log-mel features are mean/variance normalised over all frames (ReduceMean_1, _2);
  - the recognisers' convolutions (kernel 5) see the frames after a row's end, which in an
    unbatched run are the convolution's zero padding.
The exporter left all-ones masks before every convolution (ConstantOfShape of the frame
shapes); here those become real length masks, and the three time means become masked means.
Frames past a row's own length are garbage and must be cut by the caller (T = floor((len - 400)
/ 160) + 1 frames of energy, ceil(T / 2) of posteriors). Nothing is retrained: same weights.

Usage: /usr/bin/python3 scripts/export-batched/batched_acoustic.py models/default/acoustic.onnx \
         models/default/acoustic-batched.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper

WINDOW, HOP = 400, 160  # the front-end's Conv on the waveform: kernel 400, stride 160


def const(name, value, dtype=TensorProto.INT64):
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(name, dtype, [len(value)], value))


def scalar(name, value, dtype=TensorProto.INT64):
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(name, dtype, [], [value]))


def length_nodes():
    """lengths → per-row frame counts (int64 and float) and the reshapes the masked means need."""
    n = helper.make_node
    return [
        scalar('bx/window', WINDOW), scalar('bx/hop', HOP), scalar('bx/one', 1), scalar('bx/two', 2), scalar('bx/zero', 0),
        const('bx/shape_b1', [-1, 1]), const('bx/shape_b11', [-1, 1, 1]), const('bx/axis2', [2]), const('bx/axis1', [1]),
        # frames of a row: floor((len - 400) / 160) + 1 (len >= 400; int64 Div truncates)
        n('Sub', ['lengths', 'bx/window'], ['bx/len_minus_window']),
        n('Div', ['bx/len_minus_window', 'bx/hop'], ['bx/hops']),
        n('Add', ['bx/hops', 'bx/one'], ['bx/frames']),
        # frames after the stride-2 input convolution: ceil(T / 2)
        n('Add', ['bx/frames', 'bx/one'], ['bx/frames_plus_one']),
        n('Div', ['bx/frames_plus_one', 'bx/two'], ['bx/frames2']),
        n('Cast', ['lengths'], ['bx/len_f'], to=TensorProto.FLOAT),
        n('Reshape', ['bx/len_f', 'bx/shape_b1'], ['bx/len_b1']),
        n('Reshape', ['bx/len_f', 'bx/shape_b11'], ['bx/len_b11']),
        n('Cast', ['bx/frames'], ['bx/frames_f'], to=TensorProto.FLOAT),
        n('Reshape', ['bx/frames_f', 'bx/shape_b11'], ['bx/frames_b11']),
    ]


def mask_nodes(prefix, like, axis_index, counts):
    """[B, L] float mask, 1 where position < counts[b]; L = like.shape[axis_index]."""
    n = helper.make_node
    return [
        n('Shape', [like], [f'{prefix}/shape']),
        scalar(f'{prefix}/axis', axis_index),
        n('Gather', [f'{prefix}/shape', f'{prefix}/axis'], [f'{prefix}/size'], axis=0),
        n('Range', ['bx/zero', f'{prefix}/size', 'bx/one'], [f'{prefix}/positions']),
        n('Reshape', [counts, 'bx/shape_b1'], [f'{prefix}/counts_b1']),
        n('Less', [f'{prefix}/positions', f'{prefix}/counts_b1'], [f'{prefix}/inside']),
        n('Cast', [f'{prefix}/inside'], [f'{prefix}/mask'], to=TensorProto.FLOAT),
    ]


def masked_mean(out, x, axes, denom, mask=None):
    """out = sum over `axes` of x (times mask) / denom, keepdims: a mean over the row's own length."""
    n = helper.make_node
    nodes, src = [], x
    if mask:
        nodes.append(n('Mul', [x, mask], [f'{out}/masked']))
        src = f'{out}/masked'
    nodes += [n('ReduceSum', [src, axes], [f'{out}/sum'], keepdims=1), n('Div', [f'{out}/sum', denom], [out])]
    return nodes


def rewrite(model):
    g = model.graph
    by_name = {node.name: node for node in g.node}
    for name in ('/front/ReduceMean', '/ReduceMean', '/front/ReduceMean_1', '/front/ReduceMean_2', '/Gather', '/ConstantOfShape', '/ConstantOfShape_1'):
        if name not in by_name:
            sys.exit(f'unexpected graph: node {name} not found (is this the so762-gop acoustic graph?)')
    replaced = {
        # DC offset: mean of the row's own samples (padding is zeros, so the sum is unchanged)
        '/front/ReduceMean': masked_mean('/front/ReduceMean_output_0', '/front/Unsqueeze_output_0', 'bx/axis2', 'bx/len_b11'),
        '/ReduceMean': masked_mean('/ReduceMean_output_0', 'samples', 'bx/axis1', 'bx/len_b1'),
        # feature mean/variance over the row's own frames
        '/front/ReduceMean_1': mask_nodes('bx/m1', '/front/Log_output_0', 1, 'bx/frames')
        + [helper.make_node('Unsqueeze', ['bx/m1/mask', 'bx/axis2'], ['bx/m1/mask_bt1'])]
        + masked_mean('/front/ReduceMean_1_output_0', '/front/Log_output_0', 'bx/axis1', 'bx/frames_b11', 'bx/m1/mask_bt1'),
        '/front/ReduceMean_2': masked_mean('/front/ReduceMean_2_output_0', '/front/Pow_output_0', 'bx/axis1', 'bx/frames_b11', 'bx/m1/mask_bt1'),
        # frame energy of every row, not row 0
        '/Gather': [helper.make_node('Identity', ['/Div_output_0'], ['/Gather_output_0'])],
        # the exporter's all-ones masks before each convolution become the rows' real lengths
        '/ConstantOfShape': [helper.make_node('Identity', ['bx/m1/mask'], ['/ConstantOfShape_output_0'])],
        '/ConstantOfShape_1': mask_nodes('bx/m2', '/Slice_2_output_0', 1, 'bx/frames2')
        + [helper.make_node('Identity', ['bx/m2/mask'], ['/ConstantOfShape_1_output_0'])],
    }
    nodes = length_nodes()
    for node in g.node:
        if node.name in replaced:
            nodes += replaced[node.name]
        elif node.op_type == 'Concat' and list(node.output) == ['log_posteriors']:
            # [K*B, T2, V] → [K, B, T2, V]: one leading axis per recogniser
            nodes.append(const('bx/axis0', [0]))
            for i, src in enumerate(node.input):
                nodes.append(helper.make_node('Unsqueeze', [src, 'bx/axis0'], [f'bx/recogniser{i}']))
            nodes.append(helper.make_node('Concat', [f'bx/recogniser{i}' for i in range(len(node.input))], ['log_posteriors'], axis=0))
        else:
            nodes.append(node)
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]  # shapes inferred for B = 1 would now be wrong
    del g.input[:]
    g.input.extend([
        helper.make_tensor_value_info('samples', TensorProto.FLOAT, ['B', 'N']),
        helper.make_tensor_value_info('lengths', TensorProto.INT64, ['B']),
    ])
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info('log_posteriors', TensorProto.FLOAT, ['K', 'B', 'T2', 'V']),
        helper.make_tensor_value_info('frame_energy', TensorProto.FLOAT, ['B', 'T']),
    ])
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = rewrite(onnx.load(sys.argv[1]))
    onnx.save(model, sys.argv[2])
    print(f'wrote {sys.argv[2]}')


if __name__ == '__main__':
    main()
