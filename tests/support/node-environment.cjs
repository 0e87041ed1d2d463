// audio-decode's WASM decoders likewise check WebAssembly objects across realms.
// onnxruntime-node checks `data instanceof Float32Array` against the outer realm's constructors;
// Jest's vm context has its own, so share the typed arrays (and Buffer) with the sandbox.
const { TestEnvironment } = require('jest-environment-node');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

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

/**
 * `@jest-environment-options {"privateTmpdir": true}` gives a test file a temp directory of its own:
 * os.tmpdir() (in the real process, where graphql-upload's fs-capacitor and the server run) points
 * into it for the file's run. Setting process.env.TMPDIR inside a test does not do this: the test
 * sees a copy of process.env, and a temp file that another suite in the other worker leaves in the
 * shared /tmp was then counted as this file's (one CI run on 2 December failed 38 tests so).
 */
class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    shareTypeError(this.global.TypeError);
    this.privateTmpdir = config.projectConfig.testEnvironmentOptions?.privateTmpdir === true;
  }

  async setup() {
    await super.setup();
    if (!this.privateTmpdir) return;
    this.outerTmpdir = process.env.TMPDIR;
    this.tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'speechmark-private-tmp-'));
    process.env.TMPDIR = this.tmpdir;
    this.global.process.env.TMPDIR = this.tmpdir;
  }

  async teardown() {
    if (this.tmpdir) {
      if (this.outerTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = this.outerTmpdir;
      fs.rmSync(this.tmpdir, { recursive: true, force: true });
    }
    await super.teardown();
  }
}
module.exports = SharedTypedArrayEnvironment;
