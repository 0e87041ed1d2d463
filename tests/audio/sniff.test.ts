import { sniffAudioFormat } from '../../src/audio/sniff.js';
import { encodeWav, flacStreamHeader, hasSharedData, readSpeechOceanFlac, sine } from '../support/audio-fixtures.js';

const bytes = (...xs: (number | string)[]): Uint8Array =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : [x])));

describe('sniffAudioFormat', () => {
  test('WAV from RIFF....WAVE', () => {
    expect(sniffAudioFormat(encodeWav(sine(440, 0.1, 16000), 16000))).toBe('wav');
  });

  test('RIFF that is not WAVE (e.g. AVI) is not WAV', () => {
    expect(sniffAudioFormat(bytes('RIFF', 0, 0, 0, 0, 'AVI LIST'))).toBeNull();
  });

  test('FLAC from fLaC, also behind an ID3v2 tag', () => {
    const flac = flacStreamHeader(16000, 1, 16000);
    expect(sniffAudioFormat(flac)).toBe('flac');
    const id3 = bytes('ID3', 4, 0, 0, 0, 0, 0, 2, 0, 0); // 2-byte tag body
    const tagged = new Uint8Array([...id3, ...flac]);
    expect(sniffAudioFormat(tagged)).toBe('flac');
  });

  test('OGG from OggS', () => {
    expect(sniffAudioFormat(bytes('OggS', 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 'OpusHead'))).toBe('ogg');
  });

  test('MP3 from ID3v2 tag or a bare MPEG frame header', () => {
    expect(sniffAudioFormat(bytes('ID3', 3, 0, 0, 0, 0, 0, 0))).toBe('mp3');
    expect(sniffAudioFormat(bytes(0xff, 0xfb, 0x90, 0x64))).toBe('mp3'); // MPEG-1 layer III 128k 44.1k
    expect(sniffAudioFormat(bytes(0xff, 0xf3, 0x48, 0xc4))).toBe('mp3'); // MPEG-2 layer III
  });

  test('AAC ADTS is AAC, not MP3; junk starting with 0xFF is neither', () => {
    expect(sniffAudioFormat(bytes(0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc))).toBe('aac'); // ADTS: layer bits 00
    expect(sniffAudioFormat(bytes(0xff, 0xff, 0xff, 0xff))).toBeNull(); // bad bitrate index
    expect(sniffAudioFormat(bytes(0xff, 0xf1, 0x3c, 0x80, 0x02, 0x1f, 0xfc))).toBeNull(); // ADTS rate index 15: reserved
  });

  test('MP4/M4A from the ftyp box, whatever its brand', () => {
    expect(sniffAudioFormat(bytes(0, 0, 0, 0x1c, 'ftypM4A ', 0, 0, 2, 0))).toBe('m4a');
    expect(sniffAudioFormat(bytes(0, 0, 0, 0x18, 'ftypisom', 0, 0, 2, 0))).toBe('m4a');
    expect(sniffAudioFormat(bytes(0, 0, 0, 0x1c, 'free'))).toBeNull();
  });

  test('WebM/Matroska from the EBML magic', () => {
    expect(sniffAudioFormat(bytes(0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01))).toBe('webm');
  });

  test('text, empty and short inputs are unknown, whatever a filename would say', () => {
    expect(sniffAudioFormat(new TextEncoder().encode('hello.wav: this is not audio'))).toBeNull();
    expect(sniffAudioFormat(new Uint8Array(0))).toBeNull();
    expect(sniffAudioFormat(bytes('fL'))).toBeNull();
    expect(sniffAudioFormat(bytes('RIFF'))).toBeNull();
  });

  (hasSharedData ? test : test.skip)(
    hasSharedData ? 'real SpeechOcean762 FLAC' : 'real SpeechOcean762 FLAC (skipped: ../shared/speechocean762 absent)',
    () => expect(sniffAudioFormat(readSpeechOceanFlac())).toBe('flac'),
  );
});
