/** Every aspect phrase the writer may use carries the sentiment of each band it declares it fits. */
import { checkRationale } from '../../src/rationale/check.js';
import type { SentenceAspect } from '../../src/rationale/calibration.js';
import { ASPECT_PHRASES, SOUND_EXAMPLES, SCHWA_EXAMPLES } from '../../src/rationale/wording.js';
import { CUE_VALUE, MODIFIERS, NEGATORS, ASPECT_OF } from '../../src/rationale/lexicon.js';
import type { AssessmentLabels } from '../../src/types.js';

const SCORE = { low: 3, mid: 6, high: 9 } as const;
const VERDICT_KEY: Record<SentenceAspect, 'accuracy' | 'fluency' | 'prosody' | 'overall'> = {
  accuracy: 'accuracy', fluency: 'fluency', prosody: 'prosody', total: 'overall',
};

function labelsWith(aspect: SentenceAspect, score: number): AssessmentLabels {
  const sentence = { accuracy: 6, fluency: 6, prosody: 6, completeness: 10, total: 6, [aspect]: score };
  return { sentence, words: [{ text: 'CAT', accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'K', accuracy: 2 }] }] };
}

for (const [audience, aspects] of Object.entries(ASPECT_PHRASES)) {
  for (const [aspect, phrases] of Object.entries(aspects) as [SentenceAspect, (typeof aspects)['accuracy']][]) {
    test(`${audience} ${aspect}: each phrase fits exactly the bands it declares`, () => {
      for (const ph of phrases) {
        for (const band of ['low', 'mid', 'high'] as const) {
          const plausibility = checkRationale(ph.text, labelsWith(aspect, SCORE[band])).plausibility;
          const verdict = plausibility[VERDICT_KEY[aspect]];
          const expected = ph.fits.includes(band) ? 'consistent' : 'inconsistent';
          if (verdict !== expected) throw new Error(`"${ph.text}" at ${band}: ${verdict}, expected ${expected}`);
          // and it speaks of its own aspect only ("sounds" would be read as pronunciation)
          const others = Object.entries(plausibility).filter(([k, v]) => k !== VERDICT_KEY[aspect] && v !== 'not_mentioned');
          if (others.length) throw new Error(`"${ph.text}" also reads as ${others.map(([k]) => k).join(', ')}`);
        }
      }
    });
  }
}

test('every band of every aspect has a phrase without a content condition, for each audience', () => {
  for (const aspects of Object.values(ASPECT_PHRASES)) {
    for (const phrases of Object.values(aspects)) {
      for (const fits of [['high'], ['mid', 'high'], ['mid'], ['low', 'mid'], ['low']]) {
        expect(phrases.some((p) => !p.when && p.fits.join() === fits.join())).toBe(true);
      }
    }
  }
});

test('example words are no cue, negator, modifier or aspect word of the checker', () => {
  for (const w of [...Object.values(SOUND_EXAMPLES).flat(), ...SCHWA_EXAMPLES]) {
    expect([w, CUE_VALUE.has(w) || MODIFIERS.has(w) || NEGATORS.has(w) || ASPECT_OF.has(w)]).toEqual([w, false]);
  }
});
