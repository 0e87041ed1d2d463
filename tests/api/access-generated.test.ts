/**
 * Access control, generated from the schema (issue 8). Every Query field, every Mutation payload
 * and every field path below them to a bounded depth is run over real HTTP with an API key of each
 * combination of scopes of organisation A, and with an ADMIN key of organisation B, against data
 * seeded through the API (a real upload scored by the real model, human labels, a flagged
 * rationale, a failed job). The oracle comes from a small policy map: each object type of the
 * schema is classified by the scope needed to see it, and the test fails when a type, a Mutation or
 * a required argument appears that nobody has classified, so a new field is covered (or a decision
 * forced) without editing a hand-written list of queries.
 *
 * A leak is any of:
 *  - an object of a type the key may not see, non-null in the response (the objects a mutation
 *    returns as its own write are the exception for learner data, never for scores);
 *  - for a key without SCORES_READ (or ADMIN), any id, global id, cursor or text of organisation
 *    A's learner data anywhere in the response; for a non-ADMIN key, any id of an admin row;
 *  - for organisation B, any id (raw, or inside a global id or cursor) or text of organisation A;
 *  - a refusal with another code than FORBIDDEN (NOT_FOUND for organisation B), or a FORBIDDEN
 *    message that does not name the scope; and, the other way round, any error for a key that
 *    holds every scope the path needs, or a silent null where the full admin key got data.
 * The full ADMIN key must see a non-null object of every type the paths reach, so the checks
 * above are never vacuous.
 *
 * ACCESS_DEPTH (default 5) bounds query paths (object fields, the root field included); mutation
 * payload paths go one level less, since every run of them writes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { startTestApp, testDatabases, waitForJob, type TestApp } from '../support/app.js';
import { GqlClient, type GqlResponse } from '../support/client.js';
import { seedModelAssessment } from '../support/seed.js';
import { seedLearner } from '../support/history.js';
import { speechLikeWav } from '../support/audio-fixtures.js';
import { createApiKey, type Scope } from '../../src/graphql/auth.js';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids.js';
import { checkRationale } from '../../src/rationale/check.js';
import type { AssessmentLabels, ReferenceWord } from '../../src/types.js';
import { createLtiLineItem, registerLtiPlatform, rotateLtiPlatformKey } from '../../src/lti/platforms.js';
import { cliActor } from '../../src/admin/audit.js';
import { createEndpoint } from '../../src/outbox/endpoints.js';
import { Receiver } from '../support/receiver.js';
import { LtiTestPlatform } from '../support/lti-platform.js';
import { startBulkReassessment } from '../../src/assessment/bulk.js';
import { setXapiLrs } from '../../src/xapi/lrs-settings.js';
import { loadConfig } from '../../src/config.js';
import { analyzeReferenceText } from '../../src/text/reference.js';

const DATABASES = await testDatabases();
const schema = buildSchema(readFileSync(path.resolve('schema.graphql'), 'utf8'));
const QUERY_DEPTH = Number(process.env.ACCESS_DEPTH ?? 5);
const MUTATION_DEPTH = QUERY_DEPTH - 1;
/** The LMS group id of the seeded learners (Query.group, compareGroups). */
const ACCESS_GROUP = 'access-group';

// ---------------------------------------------------------------------------------------------
// The policy, as the test sees it (src/graphql/access.ts has it in words).

/**
 * ANY: every key of the organisation. PAYLOAD: a mutation's result wrapper (its objects are the
 * mutation's own writes). LEARNER: learner data (SCORES_READ, except the objects a mutation just
 * wrote and returns). SCORES: anything that carries scores or what was derived from them
 * (SCORES_READ, always). ADMIN: admin things. PART: a value inside its parent row, no scores of its
 * own: it needs what its parent needs.
 */
type Need = 'ANY' | 'PAYLOAD' | 'LEARNER' | 'SCORES' | 'ADMIN' | 'PART';
const TYPE_NEEDS: Record<string, Need> = {
  Query: 'ANY',
  Mutation: 'ANY',
  /** Its fields are classified in SUBSCRIPTIONS. */
  Subscription: 'ANY',
  Viewer: 'ANY',
  // A key sees itself (its own id, name, prefix, expiry), whatever its scopes.
  ViewerApiKey: 'ANY',
  Organization: 'ANY',
  ModelInfo: 'ANY',
  SubmitUtterancePayload: 'PAYLOAD',
  Learner: 'LEARNER',
  LearnerConnection: 'LEARNER',
  LearnerEdge: 'LEARNER',
  LearnerActivity: 'LEARNER',
  Utterance: 'LEARNER',
  UtteranceConnection: 'LEARNER',
  UtteranceEdge: 'LEARNER',
  Job: 'LEARNER',
  /** A bulk re-assessment: read like jobs; its learner's id is learner data. */
  BulkOperation: 'LEARNER',
  BulkOperationConnection: 'LEARNER',
  BulkOperationEdge: 'LEARNER',
  /** How many utterances the selection matched, by state: SCORES_READ even on an operation the key just started. */
  BulkOperationProgress: 'SCORES',
  JobConnection: 'LEARNER',
  JobEdge: 'LEARNER',
  ReferenceWord: 'PART',
  ReferenceTextPreview: 'ANY',
  AudioInfo: 'PART',
  PageInfo: 'PART',
  Assessment: 'SCORES',
  AssessmentConnection: 'SCORES',
  AssessmentEdge: 'SCORES',
  ModelRef: 'SCORES',
  SentenceScores: 'SCORES',
  SentenceScoreDifferences: 'SCORES',
  WordAssessment: 'SCORES',
  PhonemeAssessment: 'SCORES',
  SyllableAssessment: 'SCORES',
  WordBreak: 'SCORES',
  /** Pitch from the model's tracker: derived from the recording like scores. */
  Intonation: 'SCORES',
  PitchPoint: 'SCORES',
  WordPitch: 'SCORES',
  /** Timing and miscues from the model's alignment (issue 11): derived from the recording like scores. */
  Pause: 'SCORES',
  /** Rates and pauses from the model's alignment, like Pause. */
  FluencyMetrics: 'SCORES',
  InsertedSpeech: 'SCORES',
  Rationale: 'SCORES',
  Plausibility: 'SCORES',
  TokenFaithfulness: 'SCORES',
  RationaleAlignment: 'SCORES',
  Agreement: 'SCORES',
  /** The model's raw output is in it. */
  JobError: 'SCORES',
  ModelTrustStats: 'ADMIN',
  /** Deployment-wide worker heartbeats (no tenant data): admins of every organisation see them. */
  WorkerStatus: 'ADMIN',
  TrustChecks: 'ADMIN',
  /** People's verdicts on rationales: the operators' notes, not learner feedback. */
  RationaleReview: 'ADMIN',
  ReviewStats: 'ADMIN',
  FlagShare: 'ADMIN',
  MeanFaithfulness: 'ADMIN',
  ApiKey: 'ADMIN',
  ApiKeyConnection: 'ADMIN',
  ApiKeyEdge: 'ADMIN',
  CreatedApiKey: 'ADMIN',
  RotatedApiKey: 'ADMIN',
  EraseLearnerPayload: 'ADMIN',
  DeleteUtterancePayload: 'ADMIN',
  AuditEvent: 'ADMIN',
  AuditEventConnection: 'ADMIN',
  AuditEventEdge: 'ADMIN',
  // History analytics (issue 9): derived from scores, so SCORES_READ; the model audit is ADMIN.
  LearnerProgress: 'SCORES',
  AspectProgress: 'SCORES',
  ProgressBucket: 'SCORES',
  SoundStat: 'SCORES',
  WordStat: 'SCORES',
  TextStat: 'SCORES',
  SoundChange: 'SCORES',
  LearnerGroup: 'SCORES',
  LearnerGroupConnection: 'SCORES',
  LearnerGroupEdge: 'SCORES',
  LearnerDrop: 'SCORES',
  /** A group member and when they last practised: learner data, no scores. */
  InactiveLearner: 'LEARNER',
  GroupComparison: 'SCORES',
  AspectComparison: 'SCORES',
  SoundComparison: 'SCORES',
  /** Inside a LearnerGroup (SCORES) or a ModelAudit (ADMIN). */
  AspectDistribution: 'PART',
  ModelAudit: 'ADMIN',
  /** Organization.usage: what the organisation used, an operator's figures. */
  OrganizationUsage: 'ADMIN',
  UsageBucket: 'ADMIN',
  UsageFigures: 'ADMIN',
  ModelAgreement: 'ADMIN',
  AspectAgreement: 'ADMIN',
  // LTI grade passback (issue 10): platforms and their keys are admin configuration; the line item
  // and delivery status of an assessment's score are read with the scores.
  LtiPlatform: 'ADMIN',
  LtiToolKey: 'ADMIN',
  LtiLineItem: 'SCORES',
  GradeDelivery: 'SCORES',
  /** Listing and re-sending grade and statement deliveries is LMS administration. */
  GradeDeliveryConnection: 'ADMIN',
  GradeDeliveryEdge: 'ADMIN',
  ResentDeliveries: 'ADMIN',
  /** A re-grade's outcome: LMS administration. */
  RegradeLtiLineItemPayload: 'ADMIN',
  /** A roster sync's outcome (user ids of the course's members): LMS administration. */
  LtiMembersSync: 'ADMIN',
  SkippedLtiMember: 'ADMIN',
  // Webhooks (issue 10): admin things; their payloads carry learner data and scores.
  WebhookEndpoint: 'ADMIN',
  WebhookEndpointConnection: 'ADMIN',
  WebhookEndpointEdge: 'ADMIN',
  WebhookSigningSecret: 'ADMIN',
  CreatedWebhookEndpoint: 'ADMIN',
  RotatedWebhookSecret: 'ADMIN',
  ResentWebhookDeliveries: 'ADMIN',
  WebhookDelivery: 'ADMIN',
  WebhookDeliveryConnection: 'ADMIN',
  WebhookDeliveryEdge: 'ADMIN',
  /** Events carry learner data and scores: SCORES_READ through `events`; under a delivery, ADMIN like it. */
  WebhookEvent: 'SCORES',
  WebhookEventConnection: 'SCORES',
  WebhookEventEdge: 'SCORES',
  EventFeedPage: 'SCORES',
  WebhookDeliveryAttempt: 'ADMIN',
  // xAPI (issue 10): the organisation's Learning Record Store is admin configuration.
  XapiLrs: 'ADMIN',
  XapiDelivery: 'ADMIN',
  XapiDeliveryConnection: 'ADMIN',
  XapiDeliveryEdge: 'ADMIN',
};

/** Root fields whose need is not their type's: a field described "(admin scope)" needs ADMIN too. */
/**
 * Entry fields whose need depends on the type they return: `node(id)` needs what the object's type
 * needs (its own Organization: any key; an ApiKey: ADMIN); `nodes(ids)` also refuses, once, a key
 * without SCORES_READ, whatever the ids.
 */
const FIELD_NEEDS: Record<string, (typeNeed: Need) => Need> = {
  'Query.node': (n) => n,
  'Query.nodes': (n) => (n === 'ANY' ? 'LEARNER' : n),
};

interface Seed {
  learnerId: string;
  externalId: string;
  utteranceId: string;
  jobId: string;
  modelAssessmentId: string;
  organizationId: string;
  adminKeyId: string;
  referenceWords: ReferenceWord[];
  /** Global ids of a webhook endpoint and of one of its deliveries (with an attempt). */
  webhookEndpointId: string;
  webhookDeliveryId: string;
  /** Global id of a bulk re-assessment of the seeded learner. */
  bulkOperationId: string;
  /** The seeded submission's line item (global id), its score and that score's first delivery (global id). */
  ltiLineItemId: string;
  ltiScoreId: string;
  gradeDeliveryId: string;
  /** The assessment.completed event the server's LRS got a statement delivery for, and that delivery (global id). */
  xapiEventId: string;
  xapiDeliveryId: string;
  /** The seeded LTI platform and an audit event of the seeding (global ids). */
  ltiPlatformId: string;
  auditEventId: string;
  /** A platform registered with the local LTI test platform, and the course roster it serves (NRPS). */
  rosterPlatformId: string;
  rosterUrl: string;
}

/** Global ids of seeded rows for `node(id)`, per Node type. */
function nodeIds(s: Seed): Record<string, string> {
  return {
    Learner: s.learnerId,
    Utterance: s.utteranceId,
    Job: s.jobId,
    Assessment: s.modelAssessmentId,
    Organization: toGlobalId('Organization', s.organizationId),
    ApiKey: toGlobalId('ApiKey', s.adminKeyId),
    WebhookEndpoint: s.webhookEndpointId,
    WebhookDelivery: s.webhookDeliveryId,
    BulkOperation: s.bulkOperationId,
    GradeDelivery: s.gradeDeliveryId,
    XapiDelivery: s.xapiDeliveryId,
    LtiPlatform: s.ltiPlatformId,
    LtiLineItem: s.ltiLineItemId,
    AuditEvent: s.auditEventId,
  };
}

/** Values for required arguments of Query fields, by `Type.field.argument`; ID args of a field that returns a seeded type are filled by type. */
function queryArgument(s: Seed, field: GraphQLField<unknown, unknown>, arg: GraphQLArgument): string | string[] | undefined {
  if (`${field.name}.${arg.name}` === 'learnerByExternalId.externalId') return s.externalId;
  if (`${field.name}.${arg.name}` === 'learnersByExternalIds.externalIds') return [s.externalId, 'nobody-here'];
  if (`${field.name}.${arg.name}` === 'previewReferenceText.text') return 'Dr. Smith paid 3 dollars';
  if (field.name === 'group' || field.name === 'compareGroups') return ACCESS_GROUP;
  const byType = nodeIds(s)[getNamedType(field.type).name];
  return getNamedType(arg.type).name === 'ID' ? byType : undefined;
}

function humanLabelsInput(ref: ReferenceWord[]) {
  return {
    sentence: { accuracy: 7, fluency: 6, prosody: 6, completeness: 10, total: 7 },
    words: ref.map((w, i) => ({ text: w.text, accuracy: i % 2 ? 4 : 9, stress: 10, total: i % 2 ? 4 : 9, phonemes: w.phones.map((_, j) => (j ? 1.5 : 2)) })),
  };
}

interface MutationSpec {
  /** The scope the mutation itself requires. */
  need: Scope;
  /** Variables for one run; called once per run, so a run may write its own fresh target. */
  variables(ctx: RunContext): Promise<Record<string, unknown>>;
  /** submitUtterance: the file goes in this variable, as a multipart request. */
  upload?: string;
}

interface RunContext {
  t: TestApp;
  seed: Seed;
  organizationId: string;
}

/**
 * Every Mutation, classified: how to run it safely once per path and key. One that is not listed
 * fails the test. Destructive ones act on a target made fresh for the run (in organisation A, so
 * organisation B's key must be refused it).
 */
const MUTATIONS: Record<string, MutationSpec> = {
  createLearner: {
    need: 'ASSESS_WRITE',
    variables: async () => ({ input: { externalId: `gen-${randomUUID()}`, displayName: 'Generated' } }),
  },
  updateLearner: {
    need: 'ASSESS_WRITE',
    variables: async (c) => ({ id: await freshLearner(c), input: { displayName: 'Updated', addGroups: [`gen-group-${randomUUID()}`] } }),
  },
  submitUtterance: {
    need: 'ASSESS_WRITE',
    upload: 'variables.input.audio',
    variables: async ({ seed }) => ({ input: { learnerId: seed.learnerId, referenceText: 'A bear is here', audio: null } }),
  },
  reassessUtterance: { need: 'ASSESS_WRITE', variables: async ({ seed }) => ({ utteranceId: seed.utteranceId }) },
  reassessUtterances: { need: 'ASSESS_WRITE', variables: async ({ seed }) => ({ input: { learnerId: seed.learnerId } }) },
  cancelBulkOperation: { need: 'ASSESS_WRITE', variables: async (c) => ({ id: await freshBulkOperation(c) }) },
  createApiKey: { need: 'ADMIN', variables: async () => ({ input: { name: `gen-${randomUUID()}`, scopes: ['SCORES_READ'] } }) },
  attachHumanLabels: {
    need: 'ADMIN',
    variables: async ({ seed }) => ({ utteranceId: seed.utteranceId, labels: humanLabelsInput(seed.referenceWords), rater: 'generated rater' }),
  },
  reviewRationale: {
    need: 'ADMIN',
    variables: async ({ seed }) => ({ assessmentId: seed.modelAssessmentId, verdict: 'ACCURATE', note: 'generated review' }),
  },
  revokeApiKey: { need: 'ADMIN', variables: async (c) => ({ id: await freshKey(c) }) },
  rotateApiKey: { need: 'ADMIN', variables: async (c) => ({ id: await freshKey(c) }) },
  eraseLearner: { need: 'ADMIN', variables: async (c) => ({ id: await freshLearner(c) }) },
  deleteUtterance: { need: 'ADMIN', variables: async (c) => ({ id: await freshUtterance(c) }) },
  registerLtiPlatform: { need: 'ADMIN', variables: async () => ({ input: ltiPlatformInput() }) },
  rotateLtiPlatformKey: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiPlatform(c) }) },
  activateLtiPlatformKey: { need: 'ADMIN', variables: async (c) => ({ id: await rotatedLtiPlatform(c) }) },
  createLtiLineItem: {
    need: 'ADMIN',
    variables: async (c) => ({ input: { platformId: await freshLtiPlatform(c), url: `https://lms.example/lineitems/${randomUUID()}`, aspect: 'TOTAL', scoreMaximum: 100 } }),
  },
  createWebhookEndpoint: {
    need: 'ADMIN',
    variables: async ({ t }) => ({ input: { url: `${receiverUrl(t)}/gen-${randomUUID()}`, eventTypes: ['assessment.completed'] } }),
  },
  updateWebhookEndpoint: { need: 'ADMIN', variables: async (c) => ({ id: await freshEndpoint(c), input: { description: 'updated' } }) },
  deleteWebhookEndpoint: { need: 'ADMIN', variables: async (c) => ({ id: await freshEndpoint(c) }) },
  rotateWebhookSecret: { need: 'ADMIN', variables: async (c) => ({ id: await freshEndpoint(c) }) },
  resendWebhookDelivery: { need: 'ADMIN', variables: async ({ seed }) => ({ id: seed.webhookDeliveryId }) },
  sendTestWebhook: { need: 'ADMIN', variables: async (c) => ({ endpointId: await freshEndpoint(c) }) },
  setXapiAccountHomePage: { need: 'ADMIN', variables: async () => ({ url: `https://lms-${randomUUID()}.example` }) },
  // 0 days: keeps every recording, so the suite's seeded audio stays.
  setAudioRetention: { need: 'ADMIN', variables: async () => ({ days: 0 }) },
  setXapiLrs: {
    need: 'ADMIN',
    variables: async () => ({ input: { endpoint: 'https://lrs.example/xapi/', username: `gen-${randomUUID()}`, password: 'generated secret' } }),
  },
  // Organisation-wide, no id: each run first sets an LRS to remove (else the first run's removal
  // leaves the next keys nothing, a null that is no refusal).
  removeXapiLrs: { need: 'ADMIN', variables: async (c) => (await freshXapiLrs(c), {}) },
  resendFailedWebhookDeliveries: {
    need: 'ADMIN',
    variables: async ({ seed }) => ({ endpointId: seed.webhookEndpointId, since: '2026-01-01T00:00:00Z' }),
  },
  updateLtiPlatform: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiPlatform(c), input: { name: 'Renamed LMS' } }) },
  deleteLtiPlatform: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiPlatform(c) }) },
  updateLtiLineItem: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiLineItem(c), input: { label: 'relabelled', scoreMaximum: 50 } }) },
  deleteLtiLineItem: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiLineItem(c) }) },
  regradeLtiLineItem: { need: 'ADMIN', variables: async (c) => ({ id: await freshLtiLineItem(c) }) },
  resendGradeDelivery: { need: 'ADMIN', variables: async (c) => ({ id: await failedDelivery(c, 'LTI_SCORE') }) },
  resendFailedGradeDeliveries: { need: 'ADMIN', variables: async ({ seed }) => ({ lineItemId: seed.ltiLineItemId, since: '2026-01-01T00:00:00Z' }) },
  resendXapiDelivery: { need: 'ADMIN', variables: async (c) => ({ id: await failedDelivery(c, 'XAPI') }) },
  resendFailedXapiDeliveries: { need: 'ADMIN', variables: async () => ({ since: '2026-01-01T00:00:00Z' }) },
  // The same roster each run: the first creates its learner, the rest change nothing.
  syncLtiMembers: { need: 'ADMIN', variables: async ({ seed }) => ({ input: { platformId: seed.rosterPlatformId, contextMembershipsUrl: seed.rosterUrl } }) },
};

/**
 * A settled (FAILED) delivery of the seeded statement, or of the seeded user's latest score (the
 * seeded one, or the grade a run's attachHumanLabels posted after it: only the latest may be sent
 * again), fresh for the run, so a re-send never meets one that the delivery worker is sending at
 * that moment (CONFLICT, not a refusal).
 */
async function failedDelivery({ t, seed, organizationId }: RunContext, channel: 'LTI_SCORE' | 'XAPI'): Promise<string> {
  const prisma = t.app.services.prisma;
  const seeded = await prisma.ltiScore.findUniqueOrThrow({ where: { id: seed.ltiScoreId }, select: { lineItemId: true, userId: true } });
  const latest = await prisma.ltiScore.findFirstOrThrow({ where: seeded, orderBy: [{ scoredAt: 'desc' }, { id: 'desc' }], select: { id: true } });
  const eventId = channel === 'XAPI'
    ? seed.xapiEventId
    : (await prisma.delivery.findFirstOrThrow({ where: { ltiScoreId: latest.id }, select: { eventId: true } })).eventId;
  const d = await prisma.delivery.create({
    data: { organizationId, eventId, channel, ltiScoreId: channel === 'LTI_SCORE' ? latest.id : null, status: 'FAILED', attempts: 1 },
  });
  return toGlobalId(channel === 'XAPI' ? 'XapiDelivery' : 'GradeDelivery', d.id);
}

/** The server's own rules for LMS endpoints, as its resolvers pass them. */
const endpointRules = (t: TestApp) => ({ policy: t.app.services.webhookPolicy, allowHttp: t.app.services.config.webhookAllowHttp });

function ltiPlatformInput() {
  return { name: 'Generated LMS', issuer: 'https://lms.example', clientId: `gen-${randomUUID()}`, deploymentId: '1', tokenEndpoint: 'https://lms.example/token' };
}

async function freshLtiPlatform({ t, organizationId }: RunContext) {
  const platform = await registerLtiPlatform(t.app.services.prisma, organizationId, ltiPlatformInput(), cliActor(), endpointRules(t));
  return toGlobalId('LtiPlatform', platform.id);
}

/** A fresh platform with a key waiting to sign (rotated, its grace not passed). */
async function rotatedLtiPlatform(c: RunContext) {
  const id = await freshLtiPlatform(c);
  await rotateLtiPlatformKey(c.t.app.services.prisma, c.organizationId, fromGlobalId(id)!.id, cliActor());
  return id;
}

async function freshLtiLineItem(c: RunContext) {
  const platformId = fromGlobalId(await freshLtiPlatform(c))!.id;
  const item = await createLtiLineItem(
    c.t.app.services.prisma, c.organizationId, { platformId, url: `https://lms.example/lineitems/${randomUUID()}`, aspect: 'TOTAL', scoreMaximum: 100 }, cliActor(), endpointRules(c.t),
  );
  return toGlobalId('LtiLineItem', item.id);
}

/** Where the seeded endpoints point: the receiver started for the suite (see seedOrganisationA). */
const receivers = new Map<TestApp, Receiver>();
function receiverUrl(t: TestApp): string {
  return receivers.get(t)!.url;
}

async function freshEndpoint({ t, organizationId }: RunContext) {
  const { endpoint } = await createEndpoint(
    t.app.services.prisma,
    { policy: t.app.services.webhookPolicy, allowHttp: true, maxEndpoints: t.config.webhookMaxEndpoints },
    { organizationId, url: `${receiverUrl(t)}/target-${randomUUID()}`, eventTypes: ['utterance.submitted'] },
    { apiKeyId: null, label: 'cli:access-test' },
  );
  // Subscribed to nothing (a state the API never writes): no event of the runs going on at the same
  // time fans out to it, so every key sees the same, empty, deliveries of a fresh endpoint.
  await t.app.services.prisma.webhookEndpoint.update({ where: { id: endpoint.id }, data: { eventTypes: [] } });
  return toGlobalId('WebhookEndpoint', endpoint.id);
}

async function freshXapiLrs({ t, organizationId }: RunContext) {
  const { prisma, config, webhookPolicy } = t.app.services;
  const input = { endpoint: 'https://lrs.example/xapi/', username: `target-${randomUUID()}`, password: 'generated secret' };
  await setXapiLrs(prisma, { policy: webhookPolicy, allowHttp: config.webhookAllowHttp }, organizationId, input, cliActor());
}

async function freshKey({ t, organizationId }: RunContext) {
  const { apiKey } = await createApiKey(t.app.services.prisma, organizationId, `target-${randomUUID()}`, ['SCORES_READ']);
  return toGlobalId('ApiKey', apiKey.id);
}

async function freshBulkOperation({ t, seed, organizationId }: RunContext) {
  const op = await startBulkReassessment(t.app.services.prisma, {
    organizationId, actor: cliActor(), learnerId: fromGlobalId(seed.learnerId)!.id, maxAttempts: 1,
  });
  return toGlobalId('BulkOperation', op.id);
}

/** An utterance row of a fresh learner (its recording is a digest no file has: nothing on disk to lose). */
async function freshUtterance(c: RunContext) {
  const learnerId = fromGlobalId(await freshLearner(c))!.id;
  const utterance = await c.t.app.services.prisma.utterance.create({
    data: {
      organizationId: c.organizationId, learnerId, referenceText: 'We call it bear', referenceWords: analyzeReferenceText('We call it bear') as never,
      audioSha256: randomUUID().replace(/-/g, '').padEnd(64, '0'), audioFormat: 'wav', audioBytes: 44, durationMs: 500,
      sourceSampleRate: 16000, sourceChannels: 1, speechMs: 400,
    },
  });
  return toGlobalId('Utterance', utterance.id);
}

async function freshLearner({ t, organizationId }: RunContext) {
  const learner = await t.app.services.prisma.learner.create({ data: { organizationId, externalId: `target-${randomUUID()}` } });
  return toGlobalId('Learner', learner.id);
}

// ---------------------------------------------------------------------------------------------
// Paths.

interface Step {
  field: GraphQLField<unknown, unknown>;
  /** The concrete object type this step's value has (an interface is split per implementation). */
  type: GraphQLObjectType;
  /** Declared through an interface: select with an inline fragment. */
  viaInterface: boolean;
}

interface PathSpec {
  root: 'query' | 'mutation';
  steps: Step[];
  /** Literal arguments of the root field (queries). */
  rootArgs: string;
  /** For printing. */
  name: string;
}

const possibleTypes = (t: GraphQLField<unknown, unknown>['type']): { type: GraphQLObjectType; viaInterface: boolean }[] => {
  const named = getNamedType(t);
  if (isObjectType(named)) return [{ type: named, viaInterface: false }];
  if (isInterfaceType(named)) return schema.getPossibleTypes(named).map((type) => ({ type, viaInterface: true }));
  throw new Error(`type ${named.name} is neither object, interface nor leaf: teach the generator about it`);
};

const requiredArgs = (f: GraphQLField<unknown, unknown>) => f.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);

/** Object-typed fields of `type` to follow, within depth, each type at most twice on the way. */
function extend(chain: Step[], depth: number, out: Step[][]) {
  out.push(chain);
  if (chain.length >= depth) return;
  const last = chain.at(-1)!.type;
  for (const field of Object.values(last.getFields())) {
    if (isLeafType(getNamedType(field.type))) continue;
    const missing = requiredArgs(field);
    if (missing.length) throw new Error(`${last.name}.${field.name} has required arguments (${missing.map((a) => a.name)}): give the generator values for them`);
    for (const p of possibleTypes(field.type)) {
      if (chain.filter((s) => s.type === p.type).length >= 2) continue;
      extend([...chain, { field, ...p }], depth, out);
    }
  }
}

function queryPaths(seed: Seed): PathSpec[] {
  const paths: PathSpec[] = [];
  for (const field of Object.values(schema.getQueryType()!.getFields())) {
    if (isLeafType(getNamedType(field.type))) throw new Error(`Query.${field.name} is a leaf: classify it in the generator`);
    for (const p of possibleTypes(field.type)) {
      const args: string[] = [];
      for (const arg of requiredArgs(field)) {
        // node(id) / nodes(ids): the id of the seeded row of the implementation being followed.
        const value =
          field.name === 'node' ? nodeIds(seed)[p.type.name]
          : field.name === 'nodes' ? (nodeIds(seed)[p.type.name] === undefined ? undefined : [nodeIds(seed)[p.type.name]])
          : queryArgument(seed, field, arg);
        if (value === undefined) throw new Error(`no value for the required argument Query.${field.name}(${arg.name}) (${p.type.name}): add one to the generator`);
        args.push(`${arg.name}: ${JSON.stringify(value)}`);
      }
      const chains: Step[][] = [];
      extend([{ field, ...p }], QUERY_DEPTH, chains);
      for (const steps of chains) {
        paths.push({ root: 'query', steps, rootArgs: args.length ? `(${args.join(', ')})` : '', name: pathName(steps) });
      }
    }
  }
  return paths;
}

function mutationPaths(): PathSpec[] {
  const paths: PathSpec[] = [];
  for (const field of Object.values(schema.getMutationType()!.getFields())) {
    if (!MUTATIONS[field.name]) throw new Error(`Mutation.${field.name} is not classified: add it to MUTATIONS (its scope and how to run it safely)`);
    for (const p of possibleTypes(field.type)) {
      const chains: Step[][] = [];
      extend([{ field, ...p }], MUTATION_DEPTH, chains);
      for (const steps of chains) paths.push({ root: 'mutation', steps, rootArgs: '', name: pathName(steps) });
    }
  }
  for (const name of Object.keys(MUTATIONS)) {
    if (!schema.getMutationType()!.getFields()[name]) throw new Error(`MUTATIONS lists ${name}, which the schema no longer has`);
  }
  return paths;
}

function pathName(steps: Step[]): string {
  return steps.map((s) => `${s.field.name}${s.viaInterface ? `<${s.type.name}>` : ''}`).join('.');
}

/** `__typename` and every leaf field of the type that takes no required argument. */
/**
 * Leaf fields with a scope of their own, above what their object needs: left out of the generated
 * selections (one refused leaf would mark the whole object refused) and tested where they are made.
 * Utterance.audioUrl (SCORES_READ, on an utterance a write key gets back from submitUtterance):
 * tests/api/audio-playback.test.ts. Utterance.learnerGroups (SCORES_READ, the same case):
 * tests/api/xapi-delivery.test.ts. BulkOperation.status, completedAt and cancelledAt (SCORES_READ,
 * on the operation a write key gets back from reassessUtterances or cancelBulkOperation):
 * tests/api/bulk-reassess.test.ts.
 */
const SCOPED_LEAVES = new Set(['Utterance.audioUrl', 'Utterance.learnerGroups', 'BulkOperation.status', 'BulkOperation.completedAt', 'BulkOperation.cancelledAt']);

function leaves(type: GraphQLObjectType): string {
  const names = Object.values(type.getFields())
    .filter((f) => isLeafType(getNamedType(f.type)) && requiredArgs(f).length === 0 && !SCOPED_LEAVES.has(`${type.name}.${f.name}`))
    .map((f) => f.name);
  return ['__typename', ...names].join(' ');
}

function selection(steps: Step[], i: number): string {
  const step = steps[i]!;
  const inner = `${leaves(step.type)}${i + 1 < steps.length ? ` ${steps[i + 1]!.field.name} { ${selection(steps, i + 1)} }` : ''}`;
  return step.viaInterface ? `__typename ... on ${step.type.name} { ${inner} }` : inner;
}

function operation(p: PathSpec): string {
  const root = p.steps[0]!;
  if (p.root === 'query') return `query { ${root.field.name}${p.rootArgs} { ${selection(p.steps, 0)} } }`;
  const defs = root.field.args.map((a) => `$${a.name}: ${String(a.type)}`);
  const args = root.field.args.map((a) => `${a.name}: $${a.name}`);
  const wrap = (s: string) => (s ? `(${s})` : '');
  return `mutation${wrap(defs.join(', '))} { ${root.field.name}${wrap(args.join(', '))} { ${selection(p.steps, 0)} } }`;
}

// ---------------------------------------------------------------------------------------------
// Principals and the oracle.

interface Principal {
  label: string;
  client: GqlClient;
  /** The key's own id: not hidden from the key itself (it names itself in the audio URLs it signs, as an AWS access key id does in a presigned URL). */
  apiKeyId: string;
  scopes: Scope[];
  other: boolean;
}

const SCOPE_SETS: Scope[][] = [
  ['ASSESS_WRITE'],
  ['SCORES_READ'],
  ['ADMIN'],
  ['ASSESS_WRITE', 'SCORES_READ'],
  ['ASSESS_WRITE', 'ADMIN'],
  ['SCORES_READ', 'ADMIN'],
  ['ASSESS_WRITE', 'SCORES_READ', 'ADMIN'],
];

const holds = (p: Principal, scope: Scope) => p.scopes.includes(scope) || p.scopes.includes('ADMIN');

/** Whether the principal may see an object whose (effective) need is `need`. */
function allowed(p: Principal, need: Need): boolean {
  if (need === 'LEARNER' || need === 'SCORES') return holds(p, 'SCORES_READ');
  if (need === 'ADMIN') return holds(p, 'ADMIN');
  return true;
}

function typeNeed(type: GraphQLObjectType): Need {
  const need = TYPE_NEEDS[type.name];
  if (!need) throw new Error(`type ${type.name} is not classified: add it to TYPE_NEEDS`);
  return need;
}

/** The need of each step's object: its type's, a PART's parent's, raised by the root field's own. */
function stepNeeds(p: PathSpec): Need[] {
  const needs: Need[] = [];
  p.steps.forEach((s, i) => {
    let need = typeNeed(s.type);
    if (need === 'PART') need = i > 0 ? needs[i - 1]! : 'ANY';
    if (i === 0 && p.root === 'query') {
      const key = `Query.${s.field.name}`;
      need = FIELD_NEEDS[key]?.(need) ?? need;
      if (/admin scope/i.test(s.field.description ?? '')) need = 'ADMIN';
    }
    needs.push(need);
  });
  return needs;
}

/** Mutations that return a row they changed but did not create. */
const EXISTING_TARGETS = new Set(['updateLearner']);

/**
 * Objects a mutation returns as its own write: the root value, and the objects of a PAYLOAD
 * wrapper (and the PARTs inside them). Learner data there is visible to the key that wrote it.
 */
function ownWrite(p: PathSpec, i: number): boolean {
  if (p.root !== 'mutation') return false;
  // A learner that existed before: the key reads back only the fields its input set (the generator
  // selects them all, so it must be refused them).
  if (EXISTING_TARGETS.has(p.steps[0]!.field.name)) return false;
  let j = 0;
  if (typeNeed(p.steps[0]!.type) === 'PAYLOAD') j = 1;
  if (i <= j) return true;
  for (let k = j + 1; k <= i; k++) if (typeNeed(p.steps[k]!.type) !== 'PART') return false;
  return true;
}

interface Sensitive {
  /** Organisation A's row ids by table. */
  ids: Map<string, string>;
  /** `ownerKeyId`: an API key's own name or prefix, which that key may read about itself. */
  texts: { value: string; table: string; ownerKeyId?: string }[];
}

const LEARNER_TABLES = new Set(['Learner', 'Utterance', 'Job', 'BulkOperation', 'Assessment', 'WordAssessment', 'PhonemeAssessment', 'Rationale',
  // LTI: an assessment's line item and delivery are read with its scores.
  'LtiLineItem', 'LtiScoreDelivery', 'LtiSubmission',
  // The events feed (Query.events): what webhooks carry, read with the data it reports.
  'OutboxEvent']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Which of organisation A's tables the principal may not learn anything from. */
function hiddenTable(p: Principal, table: string): boolean {
  if (p.other) return true;
  if (table === 'Organization') return false;
  if (LEARNER_TABLES.has(table)) return !holds(p, 'SCORES_READ');
  return !holds(p, 'ADMIN'); // ApiKey, AuditEvent, and any table added later
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** A string as sent, and decoded when it is base64url (global ids, cursors). */
function readings(s: string): string[] {
  if (!/^[A-Za-z0-9_-]{16,}={0,2}$/.test(s)) return [s];
  return [s, Buffer.from(s, 'base64url').toString('utf8')];
}

interface Outcome {
  leaks: string[];
  /** Per step: whether a non-null object was seen there (for the full admin's reference run). */
  reached: boolean[];
  typesSeen: Set<string>;
}

function judge(p: PathSpec, who: Principal, res: GqlResponse, sensitive: Sensitive, adminReached: boolean[] | undefined, sentText: string): Outcome {
  const leaks: string[] = [];
  const leak = (what: string) => leaks.push(`${who.label} ${p.name}: ${what}`);
  const needs = stepNeeds(p);
  const entryNeed = p.root === 'mutation' ? MUTATIONS[p.steps[0]!.field.name]!.need : null;
  const reached = p.steps.map(() => false);
  const typesSeen = new Set<string>();

  // Objects, step by step, lists flattened.
  const visit = (value: unknown, i: number) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) return value.forEach((v) => visit(v, i));
    const obj = value as Record<string, unknown>;
    const step = p.steps[i]!;
    if (obj.__typename !== step.type.name) {
      if (step.viaInterface) return; // another implementation of the interface
      leak(`expected a ${step.type.name}, got ${JSON.stringify(obj.__typename)}`);
      return;
    }
    reached[i] = true;
    typesSeen.add(step.type.name);
    const need = needs[i]!;
    const exempt = ownWrite(p, i) && need === 'LEARNER';
    if (!allowed(who, need) && !exempt) leak(`a ${step.type.name} (needs ${need}) came back non-null`);
    if (i + 1 < p.steps.length) visit(obj[p.steps[i + 1]!.field.name], i + 1);
  };
  visit(res.data?.[p.steps[0]!.field.name], 0);

  // Values: ids inside any string (decoded too), and texts.
  for (const s of strings(res.data)) {
    for (const r of readings(s)) {
      for (const id of r.match(UUID) ?? []) {
        const table = sensitive.ids.get(id);
        if (table === 'ApiKey' && id === who.apiKeyId) continue;
        if (table && hiddenTable(who, table)) leak(`an id of ${table} (${id}) in ${JSON.stringify(s)}`);
      }
    }
    for (const t of sensitive.texts) {
      if (t.ownerKeyId === who.apiKeyId) continue; // a key sees its own name and prefix (viewer.apiKey)
      if (hiddenTable(who, t.table) && s.includes(t.value)) leak(`${t.table} text ${JSON.stringify(t.value)}`);
    }
  }

  // Errors: only refusals, naming the scope; none at all for a key that holds every need.
  const entryOk = entryNeed === null || holds(who, entryNeed);
  const mayAll = entryOk && needs.every((n, i) => allowed(who, n) || (ownWrite(p, i) && n === 'LEARNER'));
  for (const e of res.errors ?? []) {
    const code = e.extensions?.code;
    if (code === 'FORBIDDEN') {
      if (!/lacks the (ASSESS_WRITE|SCORES_READ|ADMIN) scope/.test(e.message)) leak(`FORBIDDEN without naming a scope: ${e.message}`);
      if (mayAll && !who.other) leak(`refused though it holds every scope the path needs: ${e.message}`);
    } else if (code === 'NOT_FOUND' && who.other) {
      // Organisation A's ids are not found for organisation B; the message only echoes the id sent.
    } else {
      leak(`unexpected error ${code}: ${e.message}`);
    }
    for (const id of e.message.match(UUID) ?? []) {
      if (sensitive.ids.has(id) && hiddenTable(who, sensitive.ids.get(id)!) && !sentText.includes(id)) leak(`an id in an error message: ${e.message}`);
    }
  }
  if (mayAll && !who.other && res.errors === undefined && adminReached) {
    // What the full admin reached, a key that may read all of it reaches too (no silent null).
    adminReached.forEach((r, i) => {
      if (r && !reached[i]) leak(`null at ${p.steps[i]!.field.name} where the admin key got data, without an error`);
    });
  }
  if (!mayAll && !who.other && adminReached?.every(Boolean) && !(res.errors ?? []).some((e) => e.extensions?.code === 'FORBIDDEN')) {
    leak('a path it may not read came back without FORBIDDEN');
  }
  return { leaks, reached, typesSeen };
}

// ---------------------------------------------------------------------------------------------
// Seeding and running.

async function organisationRows(t: TestApp, organizationId: string): Promise<Sensitive> {
  const prisma = t.app.services.prisma;
  const tables = await prisma.$queryRawUnsafe<{ table_name: string }[]>(
    // Tables with rows of their own (an id); the analytics rollups are keyed by learner and hold no ids.
    `SELECT c.table_name FROM information_schema.columns c
      WHERE c.table_schema = current_schema() AND c.column_name = 'organizationId'
        AND EXISTS (SELECT 1 FROM information_schema.columns i
                     WHERE i.table_schema = c.table_schema AND i.table_name = c.table_name AND i.column_name = 'id')`,
  );
  const ids = new Map<string, string>([[organizationId, 'Organization']]);
  for (const { table_name } of tables) {
    const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(
      `SELECT id::text AS id FROM "${table_name}" WHERE "organizationId" = $1::uuid`,
      organizationId,
    );
    for (const r of rows) ids.set(r.id, table_name);
  }
  // A grade delivery (GradeDelivery.id) is read with its assessment's scores; the outbox's other
  // deliveries (webhooks, xAPI statements) stay admin rows.
  const grades = await prisma.delivery.findMany({ where: { organizationId, channel: 'LTI_SCORE' }, select: { id: true } });
  for (const g of grades) ids.set(g.id, 'LtiScoreDelivery');
  const texts: Sensitive['texts'] = [];
  const add = (table: string, ...values: (string | null | undefined)[]) => {
    for (const v of values) if (v && v.length >= 6) texts.push({ value: v, table });
  };
  const where = { where: { organizationId } };
  for (const l of await prisma.learner.findMany(where)) add('Learner', l.externalId, l.displayName);
  for (const u of await prisma.utterance.findMany(where)) add('Utterance', u.referenceText, u.audioSha256);
  for (const r of await prisma.rationale.findMany(where)) add('Rationale', r.text);
  for (const r of await prisma.rationaleReview.findMany(where)) add('RationaleReview', r.note, r.reviewer);
  for (const a of await prisma.assessment.findMany(where)) add('Assessment', a.rater);
  for (const j of await prisma.job.findMany(where)) add('Job', j.errorMessage, j.rawOutput);
  for (const k of await prisma.apiKey.findMany(where)) {
    for (const v of [k.name, k.prefix]) if (v.length >= 6) texts.push({ value: v, table: 'ApiKey', ownerKeyId: k.id });
  }
  add('Organization', (await prisma.organization.findUniqueOrThrow({ where: { id: organizationId } })).name);
  return { ids, texts };
}

async function seedOrganisationA(t: TestApp, lms: LtiTestPlatform) {
  const prisma = t.app.services.prisma;
  const org = await prisma.organization.findFirstOrThrow({ orderBy: { createdAt: 'asc' } });
  // A webhook endpoint receiving everything, so the seed's events are delivered (with an attempt each).
  const hook = await t.admin.request(
    `mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }`,
    { i: { url: `${receiverUrl(t)}/seed`, eventTypes: ['assessment.completed', 'assessment.failed', 'utterance.submitted', 'humanLabels.attached'], description: 'access seed' } },
  );
  if (hook.errors) throw new Error(JSON.stringify(hook.errors));
  const webhookEndpointId: string = hook.data.createWebhookEndpoint.endpoint.id;
  const externalId = `access-learner-${randomUUID()}`;
  const created = await t.admin.request(`mutation($i: CreateLearnerInput!) { createLearner(input: $i) { id } }`, {
    i: { externalId, displayName: 'Access Seed Learner' },
  });
  const learnerId: string = created.data.createLearner.id;
  // An LTI platform and line item the submission names: its completion queues a grade delivery.
  const platform = await t.admin.request(`mutation($i: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $i) { id } }`, { i: ltiPlatformInput() });
  const lineItem = await t.admin.request(`mutation($i: CreateLtiLineItemInput!) { createLtiLineItem(input: $i) { id } }`, {
    i: { platformId: platform.data.registerLtiPlatform.id, url: 'https://lms.example/lineitems/seed', aspect: 'TOTAL', scoreMaximum: 100 },
  });
  // A real upload, scored by the real model through the in-process worker.
  const submitted = await t.admin.upload(
    `mutation($input: SubmitUtteranceInput!) { submitUtterance(input: $input) { utterance { id } job { id } } }`,
    { input: { learnerId, referenceText: 'We call it bear', audio: null, lti: { lineItemId: lineItem.data.createLtiLineItem.id } } },
    'variables.input.audio',
    { bytes: speechLikeWav(1.5), name: 'speech.wav' },
  );
  if (submitted.errors) throw new Error(JSON.stringify(submitted.errors));
  const { utterance, job } = submitted.data.submitUtterance;
  const done = await waitForJob(t.admin, job.id);
  if (done.status !== 'SUCCEEDED') throw new Error(`seed job ${done.status}`);
  // From here on jobs stay queued: every reassessUtterance run below would otherwise be scored.
  await t.app.worker?.stop({ graceful: true });
  // A group for the cohort fields: the seeded learner, one whose scores dropped (latest 5 below the
  // one before) and who has not practised for months, so every analytics type has a value.
  await prisma.learner.update({ where: { id: fromGlobalId(learnerId)!.id }, data: { groups: [ACCESS_GROUP] } });
  const takes = [9, 3, 3, 3, 3, 3].map((total, i) => ({ at: `2026-01-0${i + 1}T10:00:00Z`, total, th: 1, r: 2, think: 5, bear: 9 }));
  await seedLearner(prisma, org.id, takes, [ACCESS_GROUP]);

  const utteranceRow = await prisma.utterance.findUniqueOrThrow({ where: { id: fromGlobalId(utterance.id)!.id } });
  const ref = utteranceRow.referenceWords as unknown as ReferenceWord[];
  // A second model assessment whose rationale contradicts its labels, for the review queue.
  const labels: AssessmentLabels = {
    sentence: { accuracy: 3, fluency: 4, prosody: 4, completeness: 10, total: 3 },
    words: ref.map((w) => ({ text: w.text, accuracy: 2, stress: 10, total: 2, phonemes: w.phones.map((symbol) => ({ symbol, accuracy: 0.5 })) })),
    // timing and miscues with a pause and an inserted stretch, so Pause and InsertedSpeech have values
    diagnostics: {
      words: ref.map((w, i) => ({
        startMs: 1000 + 600 * i, endMs: 1300 + 600 * i, errorType: 'MISPRONOUNCED' as const,
        phonemes: w.phones.map((_p, j) => ({
          startMs: 1000 + 600 * i + Math.floor((300 * j) / w.phones.length), endMs: 1000 + 600 * i + Math.floor((300 * (j + 1)) / w.phones.length),
          produced: 'S', producedConfidence: 0.7, deleted: false, substituted: true,
        })),
      })),
      pauses: [{ afterWordIndex: 0, startMs: 1300, endMs: 1600 }],
      insertions: [{ afterWordIndex: null, startMs: 200, endMs: 600, phones: ['AH', 'M'] }],
      // voiced frames inside every word's time, so WordPitch has values too
      pitch: { hopMs: 20, firstMs: 10, semitones: Array.from({ length: 200 }, (_, i) => (i % 3 ? 4 + (i % 5) : null)) },
    },
  };
  const praise = 'Excellent work: every word was perfect and your fluency was superb.';
  const flagged = await seedModelAssessment(prisma, utteranceRow, labels, { text: praise, check: checkRationale(praise, labels) }, { version: 'flagged-seed' });
  // A person's verdict on it, so Rationale.review has a value to reach (and a note to leak).
  const reviewed = await t.admin.request(
    `mutation($a: ID!) { reviewRationale(assessmentId: $a, verdict: INACCURATE, note: "seeded review note") { id } }`,
    { a: toGlobalId('Assessment', flagged) },
  );
  if (reviewed.errors) throw new Error(JSON.stringify(reviewed.errors));
  // Human labels through the API: alignment and agreement get values.
  const attached = await t.admin.request(
    `mutation($u: ID!, $l: HumanLabelsInput!) { attachHumanLabels(utteranceId: $u, labels: $l, rater: "seed rater") { id } }`,
    { u: utterance.id, l: humanLabelsInput(ref) },
  );
  if (attached.errors) throw new Error(JSON.stringify(attached.errors));
  // A job that failed with the model's raw output kept (what the worker writes for MODEL_OUTPUT_INVALID).
  const reassessed = await t.admin.request(`mutation($u: ID!) { reassessUtterance(utteranceId: $u) { id } }`, { u: utterance.id });
  await prisma.job.update({
    where: { id: fromGlobalId(reassessed.data.reassessUtterance.id)!.id },
    data: { status: 'FAILED', errorCode: 'MODEL_OUTPUT_INVALID', errorMessage: 'seeded failure', rawOutput: '{"accuracy": 7, "seeded": "raw output"}', finishedAt: new Date() },
  });
  const adminKey = await prisma.apiKey.findFirstOrThrow({ where: { organizationId: org.id }, orderBy: { createdAt: 'asc' } });
  const bulk = await startBulkReassessment(prisma, { organizationId: org.id, actor: cliActor(), learnerId: fromGlobalId(learnerId)!.id, maxAttempts: 1 });
  // The upload's utterance.submitted delivery, once its attempt is recorded.
  const delivered = await waitForDelivered(t, org.id);
  const score = await prisma.ltiScore.findFirstOrThrow({ where: { organizationId: org.id } });
  const gradeDelivery = await prisma.delivery.findFirstOrThrow({ where: { ltiScoreId: score.id }, orderBy: { createdAt: 'asc' } });
  const xapiDelivery = await prisma.delivery.findFirstOrThrow({ where: { organizationId: org.id, channel: 'XAPI' } });
  // From here on deliveries stay as the runs leave them: a re-sent delivery attempted between one
  // key's run and another's would read differently (an attempt log for one, none for the other).
  await t.app.deliveries?.stop({ deadlineMs: 10_000 });
  const auditEvent = await prisma.auditEvent.findFirstOrThrow({ where: { organizationId: org.id }, orderBy: { createdAt: 'asc' } });
  // A platform whose token endpoint and roster are real (the local LTI test platform): syncLtiMembers works for the admin.
  const rosterPlatformId = await lms.registerWith(t.admin, t.app.url, `gen-roster-${randomUUID()}`);
  const learnerRole = ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'];
  // One member to apply, one to skip (so SkippedLtiMember has a value to reach).
  lms.setRoster('access-course', [{ user_id: `roster-${randomUUID()}`, roles: learnerRole, name: 'Roster Learner' }, { user_id: 'r'.repeat(201), roles: learnerRole }], { title: 'Access Course' });
  const seed: Seed = {
    learnerId,
    externalId,
    utteranceId: utterance.id,
    jobId: job.id,
    modelAssessmentId: done.assessment.id,
    organizationId: org.id,
    adminKeyId: adminKey.id,
    referenceWords: ref,
    webhookEndpointId,
    webhookDeliveryId: toGlobalId('WebhookDelivery', delivered),
    bulkOperationId: toGlobalId('BulkOperation', bulk.id),
    ltiLineItemId: lineItem.data.createLtiLineItem.id,
    ltiScoreId: score.id,
    gradeDeliveryId: toGlobalId('GradeDelivery', gradeDelivery.id),
    xapiEventId: xapiDelivery.eventId,
    xapiDeliveryId: toGlobalId('XapiDelivery', xapiDelivery.id),
    ltiPlatformId: platform.data.registerLtiPlatform.id,
    auditEventId: toGlobalId('AuditEvent', auditEvent.id),
    rosterPlatformId,
    rosterUrl: lms.membershipsUrl('access-course'),
  };
  return seed;
}

async function waitForDelivered(t: TestApp, organizationId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const d = await t.app.services.prisma.delivery.findFirst({ where: { organizationId, status: 'DELIVERED' }, orderBy: { createdAt: 'asc' } });
    if (d) return d.id;
    if (Date.now() > deadline) throw new Error('no webhook delivery was delivered to the access seed receiver');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `tasks` with a few requests in flight (the server batches; PGlite serialises anyway). */
async function pool<T>(items: T[], width: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

/**
 * Every Subscription root field (WebSocket, not walked here: tests/api/subscriptions.test.ts runs
 * them with keys of each kind and another organisation), by what its events carry. The scope is
 * checked when the subscription starts, and each event is re-read with the key's loaders, so the
 * types it reaches keep their classification above.
 */
const SUBSCRIPTIONS: Record<string, Need> = {
  jobStatusChanged: 'LEARNER',
  assessmentCreated: 'SCORES',
};

test('every Subscription root field is classified', () => {
  const fields = Object.keys(schema.getSubscriptionType()?.getFields() ?? {});
  expect(fields.filter((f) => !SUBSCRIPTIONS[f])).toEqual([]);
  expect(Object.keys(SUBSCRIPTIONS).filter((f) => !fields.includes(f))).toEqual([]);
});

test('every object type and Mutation of the schema is classified', () => {
  const unclassified = Object.values(schema.getTypeMap())
    .filter((t) => isObjectType(t) && !t.name.startsWith('__') && !TYPE_NEEDS[t.name])
    .map((t) => t.name);
  expect(unclassified).toEqual([]);
  const stale = Object.keys(TYPE_NEEDS).filter((name) => !schema.getType(name));
  expect(stale).toEqual([]);
  expect(Object.keys(schema.getMutationType()!.getFields()).filter((m) => !MUTATIONS[m])).toEqual([]);
});

describe.each(DATABASES)('access generated from the schema on %s', (kind) => {
  let t: TestApp;
  let seed: Seed;
  let principals: Principal[];
  let sensitive: Sensitive;
  const adminReached = new Map<string, boolean[]>();
  const seenByAdmin = new Set<string>();
  const onPaths = new Set<string>();

  const receiver = new Receiver();
  let lms: LtiTestPlatform;
  beforeAll(async () => {
    await receiver.start();
    lms = await LtiTestPlatform.start();
    // Every run of an endpoint mutation gets a fresh endpoint: far more than the default 20.
    // The server's own LRS (the receiver): the seeded assessment's statement is an XAPI delivery.
    const xapi = { ...loadConfig({}).xapi, lrs: { endpoint: `${receiver.url}/xapi/`, username: 'access', password: 'access secret' } };
    t = await startTestApp(kind, { webhookAllowedPrivateNetworks: ['127.0.0.1'], webhookAllowHttp: true, webhookMaxEndpoints: 100_000, xapi });
    receivers.set(t, receiver);
    seed = await seedOrganisationA(t, lms);
    const prisma = t.app.services.prisma;
    principals = [];
    for (const scopes of SCOPE_SETS) {
      const { key, apiKey } = await createApiKey(prisma, seed.organizationId, `access-${scopes.join('-')}-${randomUUID()}`, scopes);
      principals.push({ label: `A[${scopes.join('+')}]`, client: new GqlClient(t.app.url, key), apiKeyId: apiKey.id, scopes, other: false });
    }
    const orgB = await prisma.organization.create({ data: { name: `access other ${randomUUID()}` } });
    const { key, apiKey } = await createApiKey(prisma, orgB.id, `access-other-${randomUUID()}`, ['ADMIN']);
    principals.push({ label: 'B[ADMIN]', client: new GqlClient(t.app.url, key), apiKeyId: apiKey.id, scopes: ['ADMIN'], other: true });
    sensitive = await organisationRows(t, seed.organizationId);
  }, 180_000);
  afterAll(async () => {
    await t?.dispose();
    await receiver.stop();
    await lms?.close();
  });

  /**
   * Level by level (shorter paths first), the full admin key before the others on each level. A
   * key does not send a path whose parent path brought it no object at its last step (refused, not
   * found, null or empty): the parent's field resolves the same whatever is selected below it, so
   * the longer path cannot bring it more. Those runs count as `pruned`.
   */
  async function runAll(paths: PathSpec[], runOne: (p: PathSpec, who: Principal) => Promise<{ res: GqlResponse; sent: string }>) {
    const full = principals.find((p) => !p.other && p.scopes.length === 3)!;
    const others = principals.filter((w) => w !== full);
    const leaks: string[] = [];
    let sent = 0;
    let pruned = 0;
    const reachedEnd = new Map<Principal, Set<string>>(principals.map((w) => [w, new Set()]));
    const parentReached = (p: PathSpec, who: Principal) =>
      p.steps.length === 1 || reachedEnd.get(who)!.has(`${p.root}:${pathName(p.steps.slice(0, -1))}`);
    const run = async (p: PathSpec, who: Principal) => {
      if (!parentReached(p, who)) {
        pruned++;
        return;
      }
      const { res, sent: text } = await runOne(p, who);
      sent++;
      const key = `${p.root}:${p.name}`;
      const o = judge(p, who, res, sensitive, who === full ? undefined : adminReached.get(key), text);
      leaks.push(...o.leaks);
      if (o.reached.at(-1)) reachedEnd.get(who)!.add(key);
      if (who === full) {
        adminReached.set(key, o.reached);
        o.typesSeen.forEach((x) => seenByAdmin.add(x));
      }
    };
    const depth = Math.max(...paths.map((p) => p.steps.length));
    for (let level = 1; level <= depth; level++) {
      const onLevel = paths.filter((p) => p.steps.length === level);
      onLevel.forEach((p) => p.steps.forEach((s) => onPaths.add(s.type.name)));
      await pool(onLevel, 4, (p) => run(p, full));
      await pool(others.flatMap((who) => onLevel.map((p) => ({ p, who }))), 4, ({ p, who }) => run(p, who));
    }
    return { tried: sent + pruned, sent, pruned, leaks };
  }

  test('every Query path, with every combination of scopes and another organisation', async () => {
    const paths = queryPaths(seed);
    const started = Date.now();
    const { tried, sent: requests, pruned, leaks } = await runAll(paths, async (p, who) => {
      const sent = operation(p);
      return { res: await who.client.request(sent), sent };
    });
    const reached = [...adminReached.entries()].filter(([k, r]) => k.startsWith('query:') && r.every(Boolean)).length;
    console.log(`[access ${kind}] queries: ${paths.length} paths x ${principals.length} keys = ${tried} runs, ${requests} sent ` +
      `(${pruned} pruned under a refused or empty parent) in ${Date.now() - started} ms; ` +
      `the full admin reached the end of ${reached}; leaks: ${leaks.length}`);
    expect(leaks.slice(0, 50)).toEqual([]);
    expect(tried).toBe(paths.length * principals.length);
  }, 600_000);

  test('every Mutation payload path, with every combination of scopes and another organisation', async () => {
    const paths = mutationPaths();
    const started = Date.now();
    const ctxA: RunContext = { t, seed, organizationId: seed.organizationId };
    let variant = 0;
    const { tried, sent: requests, pruned, leaks } = await runAll(paths, async (p, who) => {
      const field = p.steps[0]!.field.name;
      const spec = MUTATIONS[field]!;
      const variables = await spec.variables(ctxA);
      const sent = operation(p);
      if (spec.upload) {
        // A different recording each time: no run repeats the seeded audio (or another run's).
        const bytes = speechLikeWav(0.8, 100 + (variant++ % 200) / 4);
        return { res: await who.client.upload(sent, variables, spec.upload, { bytes, name: 'speech.wav' }), sent: sent + JSON.stringify(variables) };
      }
      return { res: await who.client.request(sent, variables), sent: sent + JSON.stringify(variables) };
    });
    const reached = [...adminReached.entries()].filter(([k, r]) => k.startsWith('mutation:') && r.every(Boolean)).length;
    console.log(`[access ${kind}] mutations: ${paths.length} paths x ${principals.length} keys = ${tried} runs, ${requests} sent ` +
      `(${pruned} pruned under a refused or empty parent) in ${Date.now() - started} ms; ` +
      `the full admin reached the end of ${reached}; leaks: ${leaks.length}`);
    expect(leaks.slice(0, 50)).toEqual([]);
    expect(tried).toBe(paths.length * principals.length);
  }, 600_000);

  test('the full admin key saw a non-null object of every type on the paths (the checks are not vacuous)', () => {
    expect([...onPaths].filter((x) => !seenByAdmin.has(x)).sort()).toEqual([]);
  });
});
