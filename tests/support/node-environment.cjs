// audio-decode's WASM decoders likewise check WebAssembly objects across realms.
// onnxruntime-node checks `data instanceof Float32Array` against the outer realm's constructors;
// Jest's vm context has its own, so share the typed arrays (and Buffer) with the sandbox.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'BigInt64Array',
  'Uint8Array', 'Uint16Array', 'Uint32Array', 'BigUint64Array', 'Uint8ClampedArray',
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer', 'WebAssembly',
];

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}
module.exports = SharedTypedArrayEnvironment;
