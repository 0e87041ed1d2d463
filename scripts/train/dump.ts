/**
 * Decode SpeechOcean762 audio through the platform's decode path (src/audio/decode.ts) and write
 * a compact cache for scripts/train/train.py:
 *   <out>/<split>.pcm    int16 little-endian samples of every utterance, concatenated
 *                        (the decoded float samples times 32767 (audio-decode divides 16-bit PCM by 32767); checked to be exact)
 *   <out>/<split>.json   {sampleRate, dtype, utterances: [{id, speaker, offset, length, ...labels}]}
 *
 *   npx tsx scripts/train/dump.ts [--data ../shared/speechocean762] [--out data/train-cache] [--splits train,dev]
 *
 * Deterministic: utterances are written in sorted id order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../../src/audio/decode.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const dataDir = path.resolve(arg('data', '../shared/speechocean762'));
const outDir = path.resolve(arg('out', 'data/train-cache'));
const splits = arg('splits', 'train,dev').split(',').filter(Boolean);

function readKaldiMap(file: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!fs.existsSync(file)) return m;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t) continue;
    // key and value are separated by any whitespace: spk2age uses a tab (with ' ' alone every age was null)
    const [key, ...rest] = t.split(/\s+/);
    m.set(key!, rest.join(' '));
  }
  return m;
}

async function dumpSplit(split: string): Promise<void> {
  const scores = JSON.parse(fs.readFileSync(path.join(dataDir, split, 'scores.json'), 'utf8')) as Record<string, unknown>;
  const utt2spk = readKaldiMap(path.join(dataDir, split, 'utt2spk'));
  const spk2age = readKaldiMap(path.join(dataDir, split, 'spk2age'));
  const ids = Object.keys(scores).sort();
  const pcmPath = path.join(outDir, `${split}.pcm`);
  const fd = fs.openSync(pcmPath, 'w');
  let offset = 0;
  let inexact = 0;
  const utterances: unknown[] = [];
  const t0 = Date.now();
  for (const [n, id] of ids.entries()) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dataDir, 'audio', `${id}.flac`)));
    const audio = await decodeAudio(bytes, { maxSeconds: 120, minSeconds: 0 });
    const s = audio.samples;
    const pcm = new Int16Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const v = Math.max(-32768, Math.min(32767, Math.round(s[i] * 32767)));
      if (Math.abs(v - s[i] * 32767) > 1e-3) inexact++;
      pcm[i] = v;
    }
    fs.writeSync(fd, new Uint8Array(pcm.buffer));
    const speaker = utt2spk.get(id) ?? id.slice(0, 4);
    utterances.push({ id, speaker, age: Number(spk2age.get(speaker) ?? NaN), offset, length: s.length, labels: scores[id] });
    offset += s.length;
    if ((n + 1) % 250 === 0) console.log(`${split}: ${n + 1}/${ids.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  fs.closeSync(fd);
  fs.writeFileSync(
    path.join(outDir, `${split}.json`),
    JSON.stringify({ sampleRate: 16000, dtype: 'int16', scale: 32767, inexactSamples: inexact, utterances }),
  );
  console.log(`${split}: ${ids.length} utterances, ${(offset / 16000 / 3600).toFixed(2)} h, inexact samples ${inexact}`);
}

fs.mkdirSync(outDir, { recursive: true });
for (const split of splits) await dumpSplit(split);
