import type { UtteranceResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: UtteranceResolvers['id'] = (utterance) => toGlobalId('Utterance', utterance.id);
