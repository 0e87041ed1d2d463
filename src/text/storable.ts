/**
 * Strings PostgreSQL's text cannot hold as they are: a NUL, or an unpaired UTF-16 surrogate (not a
 * character; encoded to UTF-8 it would become U+FFFD, so two different ids could turn into one). The
 * API refuses them in requests (src/graphql/limits.ts); what an LMS answers is checked the same way
 * before it is stored (src/lti/members.ts).
 */
const NUL = '\u0000';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` cannot be stored as it is, or null. */
export function unstorableReason(value: string): string | null {
  if (value.includes(NUL)) return 'a NUL character (\\u0000), which text cannot hold';
  if (LONE_SURROGATE.test(value)) return 'an unpaired UTF-16 surrogate (not a character), which text cannot hold as sent';
  return null;
}
