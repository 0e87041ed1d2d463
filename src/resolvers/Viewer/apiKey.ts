import type { ViewerResolvers } from '../../generated/graphql.js';
import { AppError } from '../../errors.js';

/** The calling key's own row: any key may see itself. */
export const apiKey: ViewerResolvers['apiKey'] = async (_principal, _args, ctx) => {
  const key = await ctx.loaders.ownApiKey();
  // Deleted between authentication and this read (keys are revoked, not deleted, so hardly ever).
  if (!key) throw new AppError('UNAUTHENTICATED', 'The API key is not valid.');
  return key;
};
