/** Parent types the resolvers receive: database rows, plus a few computed shapes. */
import type { UtteranceDeletion } from '../admin/erase.js';
import type {
  ApiKey,
  Assessment,
  AuditEvent,
  Delivery,
  DeliveryAttempt,
  BulkOperation,
  Job,
  OutboxEvent,
  Learner,
  Organization,
  Rationale,
  RationaleReview,
  Utterance,
  WordAssessment,
  PhonemeAssessment,
  WebhookEndpoint,
  WebhookSecret,
} from '../generated/prisma/client.js';
import type { Principal } from './auth.js';
import type { HumanCheck } from '../assessment/human.js';
import type { Connection } from './pagination.js';
import type { LearnerGroupModel } from '../analytics/cohorts.js';

export type LearnerModel = Learner;
export type UtteranceModel = Utterance;
export type JobModel = Job;
export type BulkOperationModel = BulkOperation;
export type BulkOperationConnectionModel = Connection<BulkOperation>;
export type AssessmentModel = Assessment;
export type WordAssessmentModel = WordAssessment;
export type PhonemeAssessmentModel = PhonemeAssessment;
export type RationaleModel = Rationale;
export type RationaleReviewModel = RationaleReview;
export type OrganizationModel = Organization;
export type ApiKeyModel = ApiKey;
export type AuditEventModel = AuditEvent;
export type ViewerModel = Principal;
/** Connection pages (pagination.ts): `totalCount` is there only when the client selected it. */
export type LearnerConnectionModel = Connection<Learner>;
export type UtteranceConnectionModel = Connection<Utterance>;
export type JobConnectionModel = Connection<Job>;
export type AssessmentConnectionModel = Connection<Assessment>;
export type ApiKeyConnectionModel = Connection<ApiKey>;
export type AuditEventConnectionModel = Connection<AuditEvent>;
export type WebhookEndpointModel = WebhookEndpoint;
export type WebhookSigningSecretModel = WebhookSecret;
export type WebhookDeliveryModel = Delivery;
export type WebhookEventModel = OutboxEvent;
export type WebhookDeliveryAttemptModel = DeliveryAttempt;
export type WebhookEndpointConnectionModel = Connection<WebhookEndpoint>;
export type WebhookDeliveryConnectionModel = Connection<Delivery>;
export type WebhookEventConnectionModel = Connection<OutboxEvent>;
/** deleteUtterance's answer: what was deleted, the learner by database id (read through the loader). */
export type DeleteUtterancePayloadModel = UtteranceDeletion & { utteranceId: string };
/** Query.eventFeed's answer. */
export interface EventFeedPageModel {
  events: OutboxEvent[];
  cursor: string;
  hasMore: boolean;
}
/** An XAPI delivery of the outbox. */
export type XapiDeliveryModel = Delivery;
export type XapiDeliveryConnectionModel = Connection<Delivery>;
/** Rationale.humanCheck as stored. */
export type RationaleAlignmentModel = HumanCheck;

export interface ModelInfoModel {
  name: string;
  version: string;
  kind: string;
  sha256: string;
  executionProvider: string;
  phoneSet: string[];
}

// LTI grade passback (src/lti): the rows themselves; a grade delivery is the outbox's LTI_SCORE
// delivery with the score it posts.
export type { LtiPlatform as LtiPlatformModel, LtiLineItem as LtiLineItemModel, LtiKey as LtiToolKeyModel } from '../generated/prisma/client.js';
export type GradeDeliveryModel = import('../generated/prisma/client.js').Delivery & { ltiScore: import('../generated/prisma/client.js').LtiScore };
export type GradeDeliveryConnectionModel = Connection<GradeDeliveryModel>;
// xAPI (src/xapi): an organisation's LRS row; no resolver reads its password.
export type { XapiLrs as XapiLrsModel } from '../generated/prisma/client.js';
export type LearnerGroupConnectionModel = Connection<LearnerGroupModel>;
