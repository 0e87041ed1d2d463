import type { Resolvers } from '../generated/graphql.js';
import * as Query from './Query/index.js';
import * as Mutation from './Mutation/index.js';
import * as Viewer from './Viewer/index.js';
import * as ViewerApiKey from './ViewerApiKey/index.js';
import * as Learner from './Learner/index.js';
import * as Utterance from './Utterance/index.js';
import * as Job from './Job/index.js';
import * as BulkOperation from './BulkOperation/index.js';
import * as DeleteUtterancePayload from './DeleteUtterancePayload/index.js';
import * as Assessment from './Assessment/index.js';
import * as WordAssessment from './WordAssessment/index.js';
import * as PhonemeAssessment from './PhonemeAssessment/index.js';
import * as Rationale from './Rationale/index.js';
import * as RationaleAlignment from './RationaleAlignment/index.js';
import * as Node from './Node/index.js';
import * as Organization from './Organization/index.js';
import * as ApiKey from './ApiKey/index.js';
import * as AuditEvent from './AuditEvent/index.js';
import * as PageInfo from './PageInfo/index.js';
import * as LearnerGroup from './LearnerGroup/index.js';
import * as GroupComparison from './GroupComparison/index.js';
// LTI grade passback
import * as LtiPlatform from './LtiPlatform/index.js';
import * as LtiToolKey from './LtiToolKey/index.js';
import * as LtiLineItem from './LtiLineItem/index.js';
import * as GradeDelivery from './GradeDelivery/index.js';
import * as XapiDelivery from './XapiDelivery/index.js';
import * as Subscription from './Subscription/index.js';
import * as WebhookEndpoint from './WebhookEndpoint/index.js';
import * as WebhookSigningSecret from './WebhookSigningSecret/index.js';
import * as WebhookDelivery from './WebhookDelivery/index.js';
import * as WebhookEvent from './WebhookEvent/index.js';
import { scalars } from './scalars.js';
import type { RequestContext } from '../graphql/context.js';

type MutationField = (parent: unknown, args: unknown, ctx: RequestContext, info: unknown) => unknown;

/**
 * Each root mutation field starts with the request's loaders emptied: the fields of one operation
 * run one after another, and one field's answer must show what the fields before it wrote, not rows
 * an earlier payload read (and the loaders cached) before those writes.
 */
function startingFresh<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).map(([name, resolve]) => [name, ((parent, args, ctx, info) => {
    ctx.loaders.forgetCached();
    return (resolve as MutationField)(parent, args, ctx, info);
  }) satisfies MutationField])) as T;
}

export const resolvers: Resolvers = {
  ...scalars,
  Query: { ...Query },
  Mutation: startingFresh({ ...Mutation }),
  Viewer: { ...Viewer },
  ViewerApiKey: { ...ViewerApiKey },
  Learner: { ...Learner },
  Utterance: { ...Utterance },
  Job: { ...Job },
  BulkOperation: { ...BulkOperation },
  DeleteUtterancePayload: { ...DeleteUtterancePayload },
  Assessment: { ...Assessment },
  WordAssessment: { ...WordAssessment },
  PhonemeAssessment: { ...PhonemeAssessment },
  Rationale: { ...Rationale },
  RationaleAlignment: { ...RationaleAlignment },
  Node: { ...Node },
  Organization: { ...Organization },
  ApiKey: { ...ApiKey },
  AuditEvent: { ...AuditEvent },
  PageInfo: { ...PageInfo },
  LearnerGroup: { ...LearnerGroup },
  GroupComparison: { ...GroupComparison },
  LtiPlatform: { ...LtiPlatform },
  LtiToolKey: { ...LtiToolKey },
  LtiLineItem: { ...LtiLineItem },
  GradeDelivery: { ...GradeDelivery },
  XapiDelivery: { ...XapiDelivery },
  Subscription: { ...Subscription },
  WebhookEndpoint: { ...WebhookEndpoint },
  WebhookSigningSecret: { ...WebhookSigningSecret },
  WebhookDelivery: { ...WebhookDelivery },
  WebhookEvent: { ...WebhookEvent },
};
