import type { UtteranceResolvers } from '../../generated/graphql.js';
import { decodeMetadata } from '../../assessment/metadata.js';

/** What the submitter gave: readable by any key that reads the utterance, a write-only key's own submission included. */
export const metadata: UtteranceResolvers['metadata'] = (u) => decodeMetadata(u.metadata);
