/**
 * A minimal ONNX protobuf writer, so tests can build small graphs in TypeScript (no python in CI).
 *
 * Covers what test graphs need: ModelProto (ir_version 8, opset 17 by default), GraphProto with
 * nodes, inputs/outputs with fixed or symbolic dims, and float32 / int64 / int32 / bool initializers
 * (stored as raw_data, little-endian). Attributes: int, float, string, ints, floats, tensor.
 *
 *   const g = new GraphBuilder('enc');
 *   g.input('samples', 'float32', [1, 'N']);
 *   g.node('ReduceMean', ['samples'], ['m'], { axes: [1], keepdims: 1 });
 *   g.output('m', 'float32', [1, 1]);
 *   writeFileSync('enc.onnx', g.toModel());
 *
 * Field numbers are from onnx/onnx.proto (IR version 8).
 */

export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';
export type Dim = number | string;

const ELEM: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10 };

// ---------------------------------------------------------------- protobuf wire format

class Writer {
  private chunks: number[] = [];

  private varint(v: bigint): void {
    // int64 fields: negative values are encoded as 10-byte two's complement
    let x = v < 0n ? v + (1n << 64n) : v;
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }
  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(data.length));
    for (const b of data) this.chunks.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.chunks.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

// ---------------------------------------------------------------- tensors and types

export interface TensorInit {
  type: ElemType;
  dims: number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
}

function rawData(t: TensorInit): Uint8Array {
  const n = t.data.length;
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (n !== expected) throw new Error(`onnx-builder: tensor has ${n} values for dims [${t.dims.join(', ')}] (${expected})`);
  switch (t.type) {
    case 'float32':
      return new Uint8Array(Float32Array.from(t.data as ArrayLike<number>).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(t.data as ArrayLike<number>).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from(Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v))).buffer);
    case 'bool':
      return Uint8Array.from(t.data as ArrayLike<number>, (v) => (v ? 1 : 0));
    case 'float16':
      throw new Error('onnx-builder: float16 is supported for graph inputs and outputs only, not initializers');
  }
}

function tensorProto(name: string, t: TensorInit): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, ELEM[t.type]);
  if (name) w.string(8, name);
  w.bytes(9, rawData(t));
  return w;
}

function valueInfo(name: string, type: ElemType, shape: Dim[]): Writer {
  const shapeW = new Writer();
  for (const d of shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shapeW.message(1, dim);
  }
  const tensorType = new Writer().int(1, ELEM[type]).message(2, shapeW);
  const typeProto = new Writer().message(1, tensorType);
  return new Writer().string(1, name).message(2, typeProto);
}

// ---------------------------------------------------------------- attributes

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | { tensor: TensorInit };

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 };

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().string(1, name);
  if (typeof v === 'number') {
    // integers are INT; use { float: x } for a FLOAT attribute
    w.int(3, v).int(20, ATTR.INT);
  } else if (typeof v === 'string') {
    w.string(4, v).int(20, ATTR.STRING);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, ATTR.INTS);
  } else if ('floats' in v) {
    for (const x of v.floats) w.float(7, x);
    w.int(20, ATTR.FLOATS);
  } else if ('float' in v) {
    w.float(2, v.float).int(20, ATTR.FLOAT);
  } else {
    w.message(5, tensorProto('', v.tensor)).int(20, ATTR.TENSOR);
  }
  return w;
}

// ---------------------------------------------------------------- graph

export class GraphBuilder {
  private readonly nodes: Writer[] = [];
  private readonly inits: Writer[] = [];
  private readonly inputs: Writer[] = [];
  private readonly outputs: Writer[] = [];
  private counter = 0;

  constructor(readonly name = 'graph') {}

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): string {
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** A constant (initializer); returns its name. */
  init(name: string, t: TensorInit): string {
    this.inits.push(tensorProto(name, t));
    return name;
  }

  /** Shorthands for 1-D int64 / float constants, and scalars (dims []). */
  ints(values: number[], name = this.fresh('c')): string {
    return this.init(name, { type: 'int64', dims: [values.length], data: values });
  }
  scalarInt(value: number, name = this.fresh('c')): string {
    return this.init(name, { type: 'int64', dims: [], data: [value] });
  }
  scalarFloat(value: number, name = this.fresh('c')): string {
    return this.init(name, { type: 'float32', dims: [], data: [value] });
  }

  fresh(prefix = 't'): string {
    return `${prefix}_${this.counter++}`;
  }

  /**
   * Add a node. `outputs` may be a number (that many fresh names) or names; returns the output names.
   */
  node(opType: string, inputs: string[], outputs: string[] | number = 1, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    const w = new Writer();
    for (const i of inputs) w.string(1, i);
    for (const o of outs) w.string(2, o);
    w.string(3, this.fresh(`n_${opType}`));
    w.string(4, opType);
    for (const [k, v] of Object.entries(attrs)) w.message(5, attribute(k, v));
    this.nodes.push(w);
    return outs;
  }

  /** One-output node; returns its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(opType, inputs, output ? [output] : 1, attrs)[0]!;
  }

  private graphProto(): Writer {
    const g = new Writer();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, this.name);
    for (const t of this.inits) g.message(5, t);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    return g;
  }

  /** Serialise as a ModelProto. */
  toModel(options: { irVersion?: number; opset?: number; producer?: string } = {}): Uint8Array {
    const opset = new Writer().string(1, '').int(2, options.opset ?? 17);
    return new Writer()
      .int(1, options.irVersion ?? 8)
      .string(2, options.producer ?? 'speechmark-tests')
      .message(7, this.graphProto())
      .message(8, opset)
      .finish();
  }
}
