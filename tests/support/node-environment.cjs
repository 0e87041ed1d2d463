// audio-decode's WASM decoders likewise check WebAssembly objects across realms.
// onnxruntime-node checks `data instanceof Float32Array` against the outer realm's constructors;
// Jest's vm context has its own, so share the typed arrays (and Buffer) with the sandbox.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'BigInt64Array',
  'Uint8Array', 'Uint16Array', 'Uint32Array', 'BigUint64Array', 'Uint8ClampedArray',
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer', 'WebAssembly',
];

/**
 * With WebAssembly shared, its errors are the outer realm's TypeError, so the sandbox's
 * `instanceof TypeError` is false and PGlite's start-up (which relies on it) fails. Let the sandbox's
 * TypeError recognise the outer one too.
 */
function shareTypeError(inner) {
  const outer = TypeError;
  if (inner === outer) return;
  const plain = Function.prototype[Symbol.hasInstance];
  Object.defineProperty(inner, Symbol.hasInstance, {
    configurable: true,
    value: (v) => plain.call(inner, v) || plain.call(outer, v),
  });
}

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    shareTypeError(this.global.TypeError);
  }
}
module.exports = SharedTypedArrayEnvironment;
