/** Rows for the outbox suites: an organisation with a learner and webhook endpoints pointing at a test receiver. */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { AddressPolicy } from '../../src/outbox/address-policy.js';
import { createEndpoint } from '../../src/outbox/endpoints.js';
import { EVENT_TYPES } from '../../src/outbox/events.js';

/** Loopback allowed, http allowed: the receiver runs on 127.0.0.1. */
export const LOOPBACK = { policy: new AddressPolicy(['127.0.0.1']), allowHttp: true, maxEndpoints: 20 };
export const ACTOR = { apiKeyId: null, label: 'cli:test' };

export async function organisation(prisma: PrismaClient) {
  const org = await prisma.organization.create({ data: { name: `outbox ${randomUUID()}` } });
  const learner = await prisma.learner.create({ data: { organizationId: org.id, externalId: `lms-${randomUUID()}` } });
  return { org, learner };
}

export async function endpoint(prisma: PrismaClient, organizationId: string, url: string, eventTypes: string[] = [...EVENT_TYPES]) {
  return createEndpoint(prisma, LOOPBACK, { organizationId, url, eventTypes }, ACTOR);
}
