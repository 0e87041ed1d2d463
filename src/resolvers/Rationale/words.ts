import type { RationaleResolvers } from '../../generated/graphql.js';
import type { TokenFaithfulness } from '../../types.js';

export const words: RationaleResolvers['words'] = (rationale) => rationale.wordCheck as unknown as TokenFaithfulness;
