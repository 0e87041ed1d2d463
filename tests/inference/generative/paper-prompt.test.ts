/**
 * The paper's prompt as README.md in src/inference/generative gives it for a manifest: it is a valid
 * decoder-only template, and renders the transcript and IPA target phonemes where the paper's
 * build_comprehensive_prompt puts them, inside the chat template, ending at the `Verdict:` cue.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { AUDIO_SLOT, renderPrompt, validateGenerativeConfig } from '../../../src/inference/generative/config.js';
import { WORDS } from './fixtures.js';

const readme = readFileSync('src/inference/generative/README.md', 'utf8');
const template = JSON.parse(/^"template": ("(?:[^"\\]|\\.)*")$/m.exec(readme)![1]!) as string;
const hash = '0'.repeat(64);

describe("the paper's prompt template from the README", () => {
  test('validates as a decoder-only rubric bundle', () => {
    const config = validateGenerativeConfig({
      encoder: { file: 'encoder.onnx', sha256: hash },
      decoder: { numLayers: 32, numHeads: 32, headDim: 128, architecture: 'decoder-only', audioToken: '<|AUDIO|>', cacheType: 'float16' },
      tokenizer: { file: 'tokenizer.json', sha256: hash, eos: '<|im_end|>', addBos: false },
      prompt: { template },
      stopTokens: ['<|im_end|>', '<|endoftext|>'],
      maxNewTokens: 450,
      responseFormat: 'rubric',
    });
    expect(config.decoder.architecture).toBe('decoder-only');
  });

  test('renders the audio slot, the transcript and the IPA target phonemes, and ends at the Verdict cue', () => {
    const prompt = renderPrompt(template, WORDS, 'rubric');
    expect(prompt.split(AUDIO_SLOT)).toHaveLength(2);
    expect(prompt).toContain(`Audio 1: <|audio_bos|>${AUDIO_SLOT}<|audio_eos|>\nTask: Assess the speech comprehensively`);
    expect(prompt).toContain('6. Phoneme Accuracy:\n- Rate each phoneme (Excellent/Good/Average/Bad/Worst).\n  (Excellent=1.9-2.0, Good=1.5-1.8, Average=1.0-1.4, Bad=0.5-0.9, Worst=0.0-0.4)\n\n');
    expect(prompt).toContain('Transcript: "WE CALL IT BEAR"\nTarget Phonemes: w i k ɔ l ɪ t b ɛ ɹ\n\nOutput Format:\nAccuracy: Label\n');
    expect(prompt.endsWith('Phonemes: p/Label p/Label ...\nVerdict:<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
  });
});
