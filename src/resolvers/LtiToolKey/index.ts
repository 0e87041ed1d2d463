import type { LtiToolKeyResolvers } from '../../generated/graphql.js';

export const kid: LtiToolKeyResolvers['kid'] = (key) => key.id;
/** Only the public members, whatever the row holds (the private key is another column, never read here). */
export const publicJwk: LtiToolKeyResolvers['publicJwk'] = (key) => {
  const { kty, n, e, kid, alg, use } = key.publicJwk as Record<string, unknown>;
  return { kty, n, e, kid, alg, use };
};
