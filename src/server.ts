import http from 'node:http';
import { readFileSync } from 'node:fs';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { GraphQLError } from 'graphql';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import processRequest from 'graphql-upload/processRequest.mjs';
import { resolvers } from './resolvers/index.js';
import { authenticate } from './graphql/auth.js';
import { createLoaders } from './graphql/loaders.js';
import type { RequestContext, Services } from './graphql/context.js';
import { AppError } from './errors.js';
import { createFormatError, DATABASE_UNAVAILABLE, maskedErrorsCarryRequestId } from './graphql/format-error.js';
import { isDatabaseUnavailable } from './db/errors.js';
import { queryLimitsPlugin } from './graphql/limits.js';
import { authenticateUploads, cors, querySourceLimits, RateLimiter, requestId } from './http/guards.js';
import { exportResults } from './http/export.js';
import { exportStatements } from './xapi/export.js';
import { AUDIO_ROUTE } from './http/audio-url.js';
import { serveAudio } from './http/audio.js';
import { JWKS_ROUTE, serveJwks } from './lti/jwks-route.js';
import { makeExecutableSchema } from '@graphql-tools/schema';
import proxyaddr from 'proxy-addr';
import { refuseSubscriptionsOverHttp, startSubscriptionServer } from './graphql/subscriptions.js';
import { mountOpsRoutes, observeRequests, type Readiness } from './ops/http.js';
import { graphqlMetricsPlugin } from './ops/graphql-metrics.js';
import { log } from './ops/log.js';

const typeDefs = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');


/** The largest JSON request body (the query and its variables); uploads are multipart and bounded on their own. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** Errors raised before GraphQL runs (JSON and multipart parsing, upload limits) in GraphQL's response shape. */
const multipartErrors: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err);
  const multipart = typeof req.is('multipart/form-data') === 'string';
  // graphql-upload sends the answer only once the request has ended: read what is left (the parser
  // may have refused it before reading any of it), up to the upload limit, then cut the connection.
  if (multipart && !req.readableEnded) drain(req, MAX_DRAIN_BYTES);
  const requestId = res.locals.requestId as string | undefined;
  if ((err as { type?: string }).type === 'entity.too.large') {
    // body-parser's: a JSON body over the limit is an operation too large, like a query over its size.
    const message = `The request body exceeds ${MAX_JSON_BODY_BYTES} bytes; send audio as a multipart upload.`;
    res.status(413).json({ errors: [{ message, extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'bodyBytes', max: MAX_JSON_BODY_BYTES } }] });
    return;
  }
  if (multipart && isParserRefusal(err)) {
    res.setHeader('Connection', 'close');
    const message = `Malformed multipart request (${(err as Error).message}); send the GraphQL multipart request format: operations, map, then the files.`;
    res.status(400).json({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] });
    return;
  }
  const status = (err as { status?: number }).status ?? 500;
  if (status === 413 && /multipart field value exceeds/.test((err as Error).message)) {
    // A form field over graphql-upload's 1 MB (the operations): the query is too large, as in JSON.
    res.status(413).json({ errors: [{ message: (err as Error).message, extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'bodyBytes', max: MULTIPART_FIELD_BYTES } }] });
    return;
  }
  const code = status === 413 ? 'FILE_TOO_LARGE' : status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR';
  if (status >= 500) log.error('request error', { requestId, err });
  const message = status >= 500 ? 'Internal server error.' : (err as Error).message;
  res.status(status).json({ errors: [{ message, extensions: status >= 500 && requestId ? { code, requestId } : { code } }] });
};

/** graphql-upload's bound on a form field (the operations, the map): its default, 1 MB. */
const MULTIPART_FIELD_BYTES = 1_000_000;
/** What a multipart upload carries besides its file: the operations (at most 1 MB), the map, the framing. */
const MULTIPART_OVERHEAD_BYTES = 2 * 1024 * 1024;

/**
 * A multipart request whose declared length cannot hold an upload within the limit is refused at
 * once, before any of it is read: graphql-upload answers only once the whole body has arrived (and
 * discarded), which for a body of gigabytes was minutes of a connection and a parser held.
 */
function uploadLengthBound(maxUploadBytes: number): RequestHandler {
  const max = maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
  return (req, res, next) => {
    if (typeof req.is('multipart/form-data') !== 'string') return next();
    const declared = Number(req.headers['content-length']);
    if (!Number.isFinite(declared) || declared <= max) return next();
    // Read (bounded) what the client is still sending, so that it can read the answer rather than
    // meet a reset; past MAX_DRAIN_BYTES the connection is cut. It closes with the answer.
    drain(req, MAX_DRAIN_BYTES);
    res.setHeader('Connection', 'close');
    const message = `The request is ${declared} bytes; an audio file is at most ${maxUploadBytes} bytes (with at most ${MULTIPART_OVERHEAD_BYTES} bytes of form fields).`;
    res.status(413).json({ errors: [{ message, extensions: { code: 'FILE_TOO_LARGE', maxBytes: maxUploadBytes } }] });
  };
}

/** How much of a refused multipart body is read (so that the answer can go) before the connection is cut instead. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

function drain(req: Request, maxBytes: number): void {
  let read = 0;
  req.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > maxBytes) req.destroy();
  });
  req.resume();
}

/** Set on what graphql-upload's request processing refused without an HTTP status of its own. */
const PARSER_REFUSAL = Symbol('multipart parser refusal');

/**
 * graphql-upload's processRequest, marking busboy's own refusals (no boundary, a malformed part
 * header, the form cut short): they carry no HTTP status, yet are the client's malformed body. Only
 * these are answered 400 by multipartErrors; any other error without a status stays internal.
 */
const markingParserRefusals: typeof processRequest = (req, res, options) =>
  processRequest(req, res, options).catch((err: unknown) => {
    if (err instanceof Error && (err as { status?: number }).status === undefined && (err as { syscall?: string }).syscall === undefined) {
      Object.assign(err, { [PARSER_REFUSAL]: true });
    }
    throw err;
  });

function isParserRefusal(err: unknown): boolean {
  return err instanceof Error && (err as { [PARSER_REFUSAL]?: boolean })[PARSER_REFUSAL] === true;
}

async function buildContext(services: Services, req: Request, res: Response, limiter: RateLimiter): Promise<RequestContext> {
  const authorization = req.headers.authorization;
  const requestId = String(res.locals.requestId);
  try {
    const principal = await authenticate(services.prisma, authorization);
    limiter.authSucceeded(authorization);
    res.locals.organizationId = principal.organizationId; // for the request's log line
    return { principal, loaders: createLoaders(services.prisma, principal), services, requestId, clientIp: req.ip ?? req.socket.remoteAddress ?? null };
  } catch (e) {
    if (e instanceof AppError) {
      if (e.code === 'UNAUTHENTICATED') limiter.authFailed(req, res);
      throw new AppError(e.code, e.message, { http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 403 } });
    }
    if (isDatabaseUnavailable(e)) throw new AppError('SERVICE_UNAVAILABLE', DATABASE_UNAVAILABLE, { requestId, http: { status: 503 } });
    // No context, so no plugin hook will see this one: log it here, and let the id reach the client.
    log.error('internal error', { requestId, err: e });
    throw new GraphQLError('Internal server error.', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId, http: { status: 500 } } });
  }
}

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(
  services: Services,
  port: number,
  host = '0.0.0.0',
  readiness: () => Promise<Readiness> = async () => ({ ready: true, reasons: [], checks: {} }),
): Promise<HttpServer> {
  const app = express();
  app.use(observeRequests);
  const { config } = services;
  app.set('trust proxy', config.trustProxy);
  const limiter = new RateLimiter(config);
  const httpServer = http.createServer(app);
  // Keep idle connections longer than clients and load balancers do (Node's 5 s default races
  // with clients reusing a socket just as the server closes it: ECONNRESET on their next request).
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  // One executable schema for HTTP (Apollo) and WebSocket subscriptions (graphql-ws).
  const schema = makeExecutableSchema({ typeDefs, resolvers: resolvers as never });
  const formatError = createFormatError(config.dev);
  const subscriptions = startSubscriptionServer(httpServer, schema, services, limiter, formatError, {
    clientIp: (request) => proxyaddr(request, app.get('trust proxy fn')),
  });
  const apollo = new ApolloServer<RequestContext>({
    schema,
    formatError,
    // The entry points own SIGTERM/SIGINT (src/lifecycle.ts: stop claiming, drain, hand jobs back).
    // Apollo's own handler (on unless NODE_ENV=test) stopped the server first and then re-raised the
    // signal, which the entry point took for a second one and exited 1 at once, skipping the grace.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      queryLimitsPlugin(config),
      maskedErrorsCarryRequestId(),
      refuseSubscriptionsOverHttp(),
      graphqlMetricsPlugin(),
      // Cache control is off: no field carries a cache hint (results are per key and organisation),
      // and its per-field hook only costs time on every read.
      ApolloServerPluginCacheControlDisabled(),
      // On stop: WebSocket clients are closed (1001, going away) while HTTP requests drain.
      { serverWillStart: async () => ({ drainServer: () => subscriptions.dispose() }) },
    ],
    // Stack traces (absolute server paths) only in development mode, whatever NODE_ENV says.
    includeStacktraceInErrorResponses: config.dev,
    // Introspection on by default (a self-hosted API with a published contract); when it is off,
    // "Did you mean ...?" suggestions are hidden too, as they reveal the schema the same way.
    introspection: config.introspection,
    hideSchemaDetailsFromClientErrors: !config.introspection,
    // One operation per HTTP request: a JSON array of operations would multiply every limit.
    allowBatchedHttpRequests: false,
    // CSRF prevention stays on: multipart clients send `Apollo-Require-Preflight: true`.
    csrfPrevention: true,
  });
  try {
    await apollo.start();
  } catch (e) {
    // Nothing will drain the server: release the subscription server's timer, key hook and sockets.
    await subscriptions.dispose();
    throw e;
  }
  mountOpsRoutes(app, readiness, config.metricsToken);
  app.use(
    '/graphql',
    requestId,
    cors(config.corsOrigins),
    limiter.middleware,
    uploadLengthBound(services.config.maxUploadBytes),
    express.json({ limit: MAX_JSON_BODY_BYTES }),
    authenticateUploads(services.prisma, limiter),
    // busboy's limit is exclusive; ours is not
    graphqlUploadExpress({ maxFileSize: services.config.maxUploadBytes + 1, maxFiles: 1, processRequest: markingParserRefusals }),
    querySourceLimits(config),
    expressMiddleware(apollo, { context: async ({ req, res }) => buildContext(services, req, res, limiter) }),
  );
  app.get(JWKS_ROUTE, requestId, serveJwks(services.prisma));
  app.use('/export/results', requestId, cors(config.corsOrigins), limiter.middleware, exportResults(services, limiter));
  app.use('/export/xapi', requestId, cors(config.corsOrigins), limiter.middleware, exportStatements(services, limiter));
  app.use(AUDIO_ROUTE, requestId, cors(config.corsOrigins), limiter.middleware, serveAudio(services, limiter));
  app.use(multipartErrors);
  await new Promise<void>((resolve, reject) => {
    // A port in use is an 'error' event, not a throw: without this the start neither fails nor finishes.
    httpServer.once('error', (e) => apollo.stop().finally(() => reject(e)));
    httpServer.listen(port, host, resolve);
  });
  const address = httpServer.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actualPort}/graphql`,
    close: () => apollo.stop(),
  };
}
