import type { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import type { Principal } from './auth.js';
import type { Loaders } from './loaders.js';
import type { ModelInfoModel } from './models.js';
import type { Intake } from '../intake.js';
import type { EventHub } from '../events/hub.js';
import type { AddressPolicy } from '../outbox/address-policy.js';
import type { LtiTokenClient } from '../lti/token.js';
import type { AudioUrlSigner } from '../http/audio-url.js';

/** Long-lived parts shared by every request (created once at start). */
export interface Services {
  prisma: PrismaClient;
  config: Config;
  intake: Intake;
  /** The model's identity as this process knows it without a database round trip. */
  model: () => ModelInfoModel;
  /**
   * The model as `Query.model` reports it: with the provider of the worker that serves it (the
   * in-process worker's, or the freshest worker heartbeat's when this process runs no model).
   */
  modelInfo?: () => Promise<ModelInfoModel>;
  /** The model versions a job may ask for (src/assessment/model-version.ts has the rule). */
  modelVersions: () => Promise<string[]>;
  /** Nudge the in-process worker after a job is queued (no-op when workers run elsewhere). */
  wakeWorker: () => void;
  /** Change notifications for GraphQL subscriptions (src/events); absent where nothing listens. */
  events?: EventHub;
  /** Nudge the in-process delivery worker after outbox events or re-sends are committed. */
  wakeDelivery: () => void;
  /** Which webhook addresses may be registered (SSRF protection; checked again on every connection). */
  webhookPolicy: AddressPolicy;
  /**
   * LTI access tokens for what the API asks of a platform (roster syncs, line items), one cache for
   * the process: a second sync within the token's life reuses it instead of signing a new assertion.
   */
  ltiTokens: LtiTokenClient;
  /** Signs and checks audio playback URLs with the server's secret (src/http/audio-url.ts). */
  audioUrls: AudioUrlSigner;
}

/** Built fresh for every request: the caller and loaders bound to the caller's organisation. */
export interface RequestContext {
  principal: Principal;
  loaders: Loaders;
  services: Services;
  /** X-Request-Id of the HTTP request (log lines, masked errors); a fresh id per WebSocket operation. */
  requestId: string;
  /**
   * The client's address (Express `req.ip`: the forwarded one behind SPEECHMARK_TRUST_PROXY), for
   * the audit log; null for a subscription (it writes nothing).
   */
  clientIp: string | null;
  /**
   * Subscriptions only (src/graphql/subscriptions.ts): before each event, authenticate the key
   * again (a key revoked since is refused) and replace `principal` and `loaders` with fresh ones,
   * so every event is read anew, never from an earlier event's loader cache.
   */
  renew?: () => Promise<void>;
}
