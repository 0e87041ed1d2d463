import type { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';
import type { Principal } from './auth.js';
import type { Loaders } from './loaders.js';
import type { ModelInfoModel } from './models.js';
import type { Intake } from '../intake.js';
import type { AddressPolicy } from '../outbox/address-policy.js';

/** Long-lived parts shared by every request (created once at start). */
export interface Services {
  prisma: PrismaClient;
  config: Config;
  intake: Intake;
  model: () => ModelInfoModel;
  /** Nudge the in-process worker after a job is queued (no-op when workers run elsewhere). */
  wakeWorker: () => void;
  /** Nudge the in-process delivery worker after outbox events or re-sends are committed. */
  wakeDelivery: () => void;
  /** Which webhook addresses may be registered (SSRF protection; checked again on every connection). */
  webhookPolicy: AddressPolicy;
}

/** Built fresh for every request: the caller and loaders bound to the caller's organisation. */
export interface RequestContext {
  principal: Principal;
  loaders: Loaders;
  services: Services;
}
