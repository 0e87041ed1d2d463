import type { AssessmentResolvers } from '../../generated/graphql.js';
import type { RequestContext } from '../../graphql/context.js';
import { compareLabels, type ComparableLabels } from '../../assessment/agreement.js';
import type { AssessmentModel } from '../../graphql/models.js';

/** Words and phonemes through the per-request loaders, so a page of assessments batches. */
async function comparable(a: AssessmentModel, ctx: RequestContext): Promise<ComparableLabels> {
  const words = await ctx.loaders.wordsByAssessment.load(a.id);
  const phonemes = await ctx.loaders.phonemesByWord.loadMany(words.map((w) => w.id));
  return {
    sentence: a,
    words: words.map((w, i) => {
      const p = phonemes[i];
      if (p instanceof Error) throw p;
      return { accuracy: w.accuracy, phonemes: p!.map((x) => x.accuracy) };
    }),
  };
}

export const agreementWithHuman: AssessmentResolvers['agreementWithHuman'] = async (assessment, _args, ctx) => {
  if (assessment.source !== 'MODEL') return null;
  const human = await ctx.loaders.latestHumanByUtterance.load(assessment.utteranceId);
  if (!human) return null;
  const [model, labels] = await Promise.all([comparable(assessment, ctx), comparable(human, ctx)]);
  return { humanLabels: human, ...compareLabels(model, labels) };
};
