/**
 * `GET /export/xapi?learner=<externalId or global id>`
 *
 * A learner's xAPI statements (every MODEL assessment, oldest first) as one JSON array, the body an
 * LRS takes at `POST {endpoint}/statements`. Same rules as /export/results (src/http/export.ts):
 * `Authorization: Bearer <key>` with SCORES_READ, only the key's organisation, the API's rate
 * limits, read in keyset pages and written as they arrive, and a failure after the first byte cuts
 * the connection so a partial array is never taken for a whole one.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Services } from '../graphql/context.js';
import { findLearner, isIdText, safeFilePart, write } from '../http/export.js';
import { sendError, type RateLimiter } from '../http/guards.js';
import { learnerStatementSources } from './load.js';
import { buildStatement } from './statement.js';
import { log } from '../ops/log.js';
import { authoriseRead, failBeforeBody } from '../http/route-auth.js';

/** The learner parameter, or null once a 400 has been sent. */
function learnerParam(req: Request, res: Response): string | null {
  const unknown = Object.keys(req.query).filter((k) => k !== 'learner');
  const learner = req.query.learner;
  // `parameter` names the query parameter at fault, as on /export (src/http/export.ts).
  if (unknown.length > 0) sendError(res, 400, `Unknown parameter "${unknown[0]}"; give only "learner".`, { code: 'BAD_USER_INPUT', parameter: unknown[0] });
  else if (typeof learner !== 'string' || !isIdText(learner)) {
    sendError(res, 400, 'Give "learner" once: the externalId or global id, 1-256 characters, none of them NUL.', { code: 'BAD_USER_INPUT', parameter: 'learner' });
  } else return learner;
  return null;
}

async function streamStatements(services: Services, res: Response, organizationId: string, learnerId: string): Promise<void> {
  const { xapi } = services.config;
  if (!(await write(res, '['))) return;
  let first = true;
  for await (const page of learnerStatementSources(services.prisma, organizationId, learnerId)) {
    const chunk = page.map((s) => (first ? ((first = false), '\n') : ',\n') + JSON.stringify(buildStatement(xapi, s))).join('');
    if (!(await write(res, chunk))) return; // the client went away
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
    const wanted = learnerParam(req, res);
    if (wanted === null) return;
    let learner: Awaited<ReturnType<typeof findLearner>>;
    try {
      learner = await findLearner(services, principal, wanted);
    } catch (e) {
      return failBeforeBody(res, e);
    }
    if (!learner) return sendError(res, 404, `No learner "${wanted}".`, { code: 'NOT_FOUND' });
    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('X-Experience-API-Version', '1.0.3');
    res.setHeader('Content-Disposition', `attachment; filename="statements-learner-${safeFilePart(learner.externalId)}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method === 'HEAD') return void res.end();
    try {
      await streamStatements(services, res, principal.organizationId, learner.id);
    } catch (e) {
      log.error('xAPI export failed after the first byte', { requestId: res.locals.requestId as string | undefined, organizationId: principal.organizationId, err: e });
      res.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };
}
