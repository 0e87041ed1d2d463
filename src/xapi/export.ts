/**
 * `GET /export/xapi?learner=<externalId or global id>` or `?group=<group id>`
 *
 * A learner's xAPI statements (every MODEL assessment, oldest first), or those of a group's learners
 * (learner by learner, in externalId order), as one JSON array, the body an
 * LRS takes at `POST {endpoint}/statements`. Same rules as /export/results (src/http/export.ts):
 * `Authorization: Bearer <key>` with SCORES_READ, only the key's organisation, the API's rate
 * limits, read in keyset pages and written as they arrive, and a failure after the first byte cuts
 * the connection so a partial array is never taken for a whole one.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import type { Learner } from '../generated/prisma/client.js';
import { exportTarget, isIdText, safeFilePart, write, type ExportTarget, type ExportWanted } from '../http/export.js';
import { sendError, type RateLimiter } from '../http/guards.js';
import { learnerStatementSources } from './load.js';
import { buildStatement } from './statement.js';
import { log } from '../ops/log.js';
import { authoriseRead, failBeforeBody } from '../http/route-auth.js';

/** Whose statements: one learner (externalId or global id) or a group's learners; null once a 400 has been sent. */
function wantedParam(req: Request, res: Response): ExportWanted | null {
  const unknown = Object.keys(req.query).filter((k) => k !== 'learner' && k !== 'group');
  // `parameter` names the query parameter at fault, as on /export (src/http/export.ts).
  if (unknown.length > 0) {
    sendError(res, 400, `Unknown parameter "${unknown[0]}"; give "learner" or "group".`, { code: 'BAD_USER_INPUT', parameter: unknown[0] });
    return null;
  }
  const { learner, group } = req.query;
  if ((learner === undefined) === (group === undefined)) {
    sendError(res, 400, 'Give exactly one of "learner" (externalId or global id) and "group".', { code: 'BAD_USER_INPUT', parameter: 'learner', parameters: ['learner', 'group'] });
    return null;
  }
  const [name, value] = learner !== undefined ? (['learner', learner] as const) : (['group', group] as const);
  if (typeof value !== 'string' || !isIdText(value)) {
    sendError(res, 400, `Give "${name}" once: 1-256 characters, none of them NUL.`, { code: 'BAD_USER_INPUT', parameter: name });
    return null;
  }
  return name === 'learner' ? { learner: value } : { group: value };
}

/** One JSON array of the statements of every learner given, in order, each learner's oldest first. */
async function streamStatements(services: Services, res: Response, organizationId: string, learners: AsyncIterable<Learner>): Promise<void> {
  const { xapi } = services.config;
  if (!(await write(res, '['))) return;
  let first = true;
  for await (const learner of learners) {
    for await (const page of learnerStatementSources(services.prisma, organizationId, learner.id)) {
      const chunk = page.map((s) => (first ? ((first = false), '\n') : ',\n') + JSON.stringify(buildStatement(xapi, s))).join('');
      if (!(await write(res, chunk))) return; // the client went away
    }
  }
  res.end(first ? ']' : '\n]\n');
}

export function exportStatements(services: Services, limiter: RateLimiter): RequestHandler {
  return async (req, res) => {
    if (req.path !== '/') return sendError(res, 404, 'Not found.', { code: 'NOT_FOUND' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(res, 405, 'Use GET.', { code: 'BAD_REQUEST' });
    }
    const principal = await authoriseRead(services, limiter, req, res);
    if (!principal) return;
    const wanted = wantedParam(req, res);
    if (wanted === null) return;
    let target: ExportTarget;
    try {
      const found = await exportTarget(services, principal, wanted);
      if ('missing' in found) return sendError(res, 404, found.missing, { code: 'NOT_FOUND' });
      target = found;
    } catch (e) {
      return failBeforeBody(res, e);
    }
    const { learners, name } = target;
    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('X-Experience-API-Version', '1.0.3');
    res.setHeader('Content-Disposition', `attachment; filename="statements-${safeFilePart(name)}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method === 'HEAD') return void res.end();
    try {
      await streamStatements(services, res, principal.organizationId, learners);
    } catch (e) {
      log.error('xAPI export failed after the first byte', { requestId: res.locals.requestId as string | undefined, organizationId: principal.organizationId, err: e });
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
}
