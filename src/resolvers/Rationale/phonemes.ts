import type { RationaleResolvers } from '../../generated/graphql.js';
import type { TokenFaithfulness } from '../../types.js';

export const phonemes: RationaleResolvers['phonemes'] = (rationale) =>
  rationale.phonemeCheck as unknown as TokenFaithfulness;
