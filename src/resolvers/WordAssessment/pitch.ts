import type { WordAssessmentResolvers } from '../../generated/graphql.js';
import { medianSemitones, wordPitch } from '../../assessment/intonation.js';
import { decodeTimeline } from '../../assessment/timeline-codec.js';
import type { PitchTrack } from '../../types.js';

/** Each assessment's contour decoded and its median found once per request (keyed on the loaded row). */
const decoded = new WeakMap<object, { track: PitchTrack; centre: number } | null>();

/** From the assessment the request's loader already holds (Assessment.words loaded this word through it). */
export const pitch: WordAssessmentResolvers['pitch'] = async (word, _args, ctx) => {
  if (word.startMs === null || word.endMs === null || word.errorType === 'OMITTED') return null;
  const assessment = await ctx.loaders.assessment.load(word.assessmentId);
  // Another sentence was read: the words' times are an alignment of this text to it.
  if (!assessment || assessment.flags.includes('READ_WRONG_TEXT')) return null;
  if (!decoded.has(assessment)) {
    const track = decodeTimeline(assessment.timeline)?.pitch ?? null;
    const centre = track ? medianSemitones(track) : null;
    decoded.set(assessment, track && centre !== null ? { track, centre } : null);
  }
  const found = decoded.get(assessment);
  return found ? wordPitch(found.track, word.startMs, word.endMs, found.centre) : null;
};
