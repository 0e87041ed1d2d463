/**
 * `GET /export/xapi?learner=<externalId or global id>|group=<group id>|all=true&since=&until=`
 *
 * A learner's xAPI statements (every MODEL assessment, oldest first), or those of a group's or the
 * organisation's learners (learner by learner, in externalId order), as one JSON array, the body an
 * LRS takes at `POST {endpoint}/statements`. `since` (inclusive) and `until` (exclusive) keep the
 * statements of assessments made in that window: a statement is one assessment, so consecutive
 * windows partition the statements (each is in exactly one), which is what a scheduled push to an
 * LRS needs. Same rules as /export/results (src/http/export.ts): `Authorization: Bearer <key>` with
 * SCORES_READ, only the key's organisation, the API's rate limits, read in keyset pages and written
 * as they arrive, and a failure after the first byte cuts the connection so a partial array is
 * never taken for a whole one.
 *
 * A statement whose delivery froze its identity (src/xapi/identity.ts: the account home page, the
 * IRI base, whether it carries the metadata extension) is built from that snapshot, as every
 * attempt and re-send of it is: the export holds the statement the LRS holds (same actor, activity
 * and extension IRIs), not one rebuilt from settings changed since. The others are built from the
 * current settings.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import type { Learner } from '../generated/prisma/client.js';
import { BadRequest, openExport, rejectUnknownParams, safeFilePart, wantedParam, windowParams, write, type ExportWanted, type Window } from '../http/export.js';
import type { RateLimiter } from '../http/guards.js';
import { learnerStatementSources, type StatementSelection } from './load.js';
import { buildStatement, type StatementSource } from './statement.js';
import { frozenIdentitiesOf, type XapiIdentity } from './identity.js';
import { log } from '../ops/log.js';

const PARAMETERS: ReadonlySet<string> = new Set(['learner', 'group', 'all', 'since', 'until', 'liveOnly']);

/** Whose statements, when assessed, and whether only live sending's; a BadRequest names the parameter at fault. */
function parseRequest(req: Request): { wanted: ExportWanted; window: Window; liveOnly: boolean } {
  rejectUnknownParams(req, PARAMETERS);
  const liveOnly = req.query.liveOnly;
  if (liveOnly !== undefined && liveOnly !== 'true' && liveOnly !== 'false') throw new BadRequest('"liveOnly" must be true or false, given once.', ['liveOnly']);
  return { wanted: wantedParam(req), window: windowParams(req), liveOnly: liveOnly === 'true' };
}

/** The statement as its delivery builds it: from its event's frozen identity where there is one. */
function statementOf(xapi: Services['config']['xapi'], source: StatementSource, identity: XapiIdentity | undefined) {
  return identity ? buildStatement(identity, { ...source, accountHomePage: identity.accountHomePage }) : buildStatement(xapi, source);
}

/** One JSON array of the statements of every learner given, in order, each learner's oldest first. */
async function streamStatements(services: Services, res: Response, organizationId: string, learners: AsyncIterable<Learner>, which: StatementSelection): Promise<void> {
  const { xapi } = services.config;
  if (!(await write(res, '['))) return;
  let first = true;
  for await (const learner of learners) {
    for await (const page of learnerStatementSources(services.prisma, organizationId, learner.id, which)) {
      const frozen = await frozenIdentitiesOf(services.prisma, organizationId, learner.id, page.map((s) => s.assessmentId), xapi);
      const chunk = page.map((s) => (first ? ((first = false), '\n') : ',\n') + JSON.stringify(statementOf(xapi, s, frozen.get(s.assessmentId)))).join('');
      if (!(await write(res, chunk))) return; // the client went away
    }
  }
  res.end(first ? ']' : '\n]\n');
}

export function exportStatements(services: Services, limiter: RateLimiter): RequestHandler {
  return async (req, res) => {
    const opened = await openExport(services, limiter, req, res, parseRequest);
    if (!opened) return;
    const { principal, request, target } = opened;
    const { learners, name } = target;
    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('X-Experience-API-Version', '1.0.3');
    res.setHeader('Content-Disposition', `attachment; filename="statements-${safeFilePart(name)}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method === 'HEAD') return void res.end();
    try {
      await streamStatements(services, res, principal.organizationId, learners, { ...request.window, liveOnly: request.liveOnly });
    } catch (e) {
      log.error('xAPI export failed after the first byte', { requestId: res.locals.requestId as string | undefined, organizationId: principal.organizationId, err: e });
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
}
