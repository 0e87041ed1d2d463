/**
 * Context-dependent phone evidence (src/inference/gop/native-cd.ts, issue 13; not in the default
 * bundle yet) against its numpy reference (scripts/train/native_cd.py fixture), on the recording of
 * native-reference.json: the triphones chosen from the model's table, and the alignment and columns
 * computed from the reference's senone log-likelihoods.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CONTEXT_PHONE_FEATURES, contextPhoneFeatures, referenceTriphones, TriphoneTable } from '../../src/inference/gop/native-cd.js';
import { NATIVE_PHONES, SIL } from '../../src/inference/gop/native.js';

const dir = path.join(import.meta.dirname, 'fixtures');
const read = <T>(name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as T;
const ci = read<{ frames: number; senone_loglik_f32: string }>('native-reference.json');
const cd = read<{
  words: string[][]; frames: number; triphones: number[][]; table: number[][]; senones: number[];
  cd_senone_loglik_f32: string; names: string[]; features: number[][];
}>('native-cd-reference.json');
const floats = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const native = { ll: floats(ci.senone_loglik_f32), cdLl: floats(cd.cd_senone_loglik_f32), senones: cd.senones, frames: cd.frames };
const table = new TriphoneTable(cd.table);
const id = (p: string) => NATIVE_PHONES.indexOf(p as (typeof NATIVE_PHONES)[number]);

describe('context-dependent phone evidence (CMU Sphinx en-us triphone senones)', () => {
  it('the fixture is the CI fixture\'s recording', () => {
    expect(cd.frames).toBe(ci.frames);
    expect(cd.names).toEqual([...CONTEXT_PHONE_FEATURES]);
  });

  it('chooses the reference\'s triphones as the numpy reference does', () => {
    expect(referenceTriphones(table, cd.words)).toEqual(cd.triphones);
  });

  it('falls back to another word position, then silence as context, then the CI phone', () => {
    const [k, ao, l, b] = ['K', 'AO', 'L', 'B'].map(id) as [number, number, number, number];
    const exact = [ao, k, l, 0, 10, 11, 12];
    expect(new TriphoneTable([exact]).lookup(ao, k, l, 0)).toEqual([10, 11, 12]);
    expect(new TriphoneTable([exact]).lookup(ao, k, l, 3)).toEqual([10, 11, 12]); // another word position
    expect(new TriphoneTable([[ao, SIL, l, 1, 20, 21, 22]]).lookup(ao, b, l, 1)).toEqual([20, 21, 22]); // silence on the left
    expect(new TriphoneTable([[ao, k, SIL, 1, 30, 31, 32], [ao, SIL, SIL, 1, 40, 41, 42]]).lookup(ao, k, b, 1)).toEqual([30, 31, 32]);
    expect(new TriphoneTable([[ao, SIL, SIL, 1, 40, 41, 42]]).lookup(ao, k, b, 1)).toEqual([40, 41, 42]);
    expect(new TriphoneTable([]).lookup(ao, k, l, 0)).toEqual([3 * ao, 3 * ao + 1, 3 * ao + 2]); // the CI phone
  });

  it('reads the table file native_cd.py writes (rows of 7 little-endian uint16) and refuses anything else', () => {
    const file = Buffer.alloc(cd.table.length * 14);
    cd.table.forEach((row, i) => row.forEach((v, j) => file.writeUInt16LE(v, i * 14 + 2 * j)));
    expect(referenceTriphones(TriphoneTable.fromBytes(file), cd.words)).toEqual(cd.triphones);
    expect(() => TriphoneTable.fromBytes(file.subarray(0, 13))).toThrow(/not rows of 7 uint16/);
    expect(() => TriphoneTable.fromBytes(new Uint8Array(0))).toThrow(/not rows of 7 uint16/);
    const outOfRange = Buffer.from(file.subarray(0, 14));
    outOfRange.writeUInt16LE(42, 0); // no phone 42
    expect(() => TriphoneTable.fromBytes(outOfRange)).toThrow(/row 0 .* out of the model's range/);
    outOfRange.writeUInt16LE(cd.table[0]![0]!, 0);
    outOfRange.writeUInt16LE(5126, 12); // no senone 5126
    expect(() => TriphoneTable.fromBytes(outOfRange)).toThrow(/out of the model's range/);
  });

  it('the columns from the reference log-likelihoods are the reference columns', () => {
    const { columns } = contextPhoneFeatures(native, cd.words, cd.triphones as [number, number, number][]);
    const F = CONTEXT_PHONE_FEATURES.length;
    expect(columns.length).toBe(cd.features.length * F);
    cd.features.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(columns[i * F + j]! - v)).toBeLessThan(1e-3 * (1 + Math.abs(v)))));
  });

  it('aligns every phone, in order, through its own triphone\'s states', () => {
    const { alignment } = contextPhoneFeatures(native, cd.words, cd.triphones as [number, number, number][]);
    expect(alignment!.segments).toHaveLength(cd.triphones.length);
    let previousEnd = 0;
    alignment!.segments.forEach(([a, b], i) => {
      expect(a).toBeGreaterThanOrEqual(previousEnd);
      expect(b - a).toBeGreaterThanOrEqual(3);
      for (let t = a; t < b; t++) expect(cd.triphones[i]).toContain(cd.senones[alignment!.senone[t]! - 126]);
      previousEnd = b;
    });
  });

  it('a recording too short for its phones yields missing values', () => {
    const frames = 5;
    const short = { ...native, ll: native.ll.subarray(0, frames * 126), cdLl: native.cdLl.subarray(0, frames * cd.senones.length), frames };
    const { alignment, columns } = contextPhoneFeatures(short, cd.words, cd.triphones as [number, number, number][]);
    expect(alignment).toBeNull();
    expect([...columns].every((v) => Number.isNaN(v))).toBe(true);
  });

  it('refuses triphones whose senones were not scored', () => {
    expect(() => contextPhoneFeatures({ ...native, senones: cd.senones.slice(1), cdLl: native.cdLl }, cd.words, cd.triphones as [number, number, number][]))
      .toThrow(/not scored/);
  });
});
