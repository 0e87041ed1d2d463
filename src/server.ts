import http from 'node:http';
import { readFileSync } from 'node:fs';
import express, { type ErrorRequestHandler } from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type { GraphQLFormattedError } from 'graphql';
import graphqlUploadExpress from 'graphql-upload/graphqlUploadExpress.mjs';
import { resolvers } from './resolvers/index.js';
import { authenticate } from './graphql/auth.js';
import { createLoaders } from './graphql/loaders.js';
import type { RequestContext, Services } from './graphql/context.js';
import { AppError, ERROR_CODES } from './errors.js';

const typeDefs = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');

/** Codes that may reach clients as they are: ours, plus Apollo's request-shape errors. */
const PASS_THROUGH = new Set<string>([
  ...ERROR_CODES,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Unexpected errors are logged whole and shown to clients only as INTERNAL_SERVER_ERROR. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PASS_THROUGH.has(code) && code !== 'INTERNAL_SERVER_ERROR') return formatted;
  console.error('[speechmark] internal error:', (error as { originalError?: unknown })?.originalError ?? error);
  return { message: 'Internal server error.', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** Errors raised before GraphQL runs (multipart parsing, upload limits) in GraphQL's response shape. */
const multipartErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (res.headersSent) return next(err);
  const status = (err as { status?: number }).status ?? 500;
  const code = status === 413 ? 'FILE_TOO_LARGE' : status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR';
  if (status >= 500) console.error('[speechmark] request error:', err);
  const message = status >= 500 ? 'Internal server error.' : (err as Error).message;
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
};

async function buildContext(services: Services, authorization: string | undefined): Promise<RequestContext> {
  try {
    const principal = await authenticate(services.prisma, authorization);
    return { principal, loaders: createLoaders(services.prisma, principal), services };
  } catch (e) {
    if (e instanceof AppError) {
      throw new AppError(e.code, e.message, { http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 403 } });
    }
    throw e;
  }
}

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

export async function startHttpServer(services: Services, port: number, host = '0.0.0.0'): Promise<HttpServer> {
  const app = express();
  const httpServer = http.createServer(app);
  // Keep idle connections longer than clients and load balancers do (Node's 5 s default races
  // with clients reusing a socket just as the server closes it: ECONNRESET on their next request).
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const apollo = new ApolloServer<RequestContext>({
    typeDefs,
    resolvers: resolvers as never,
    formatError,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
    // CSRF prevention stays on: multipart clients send `Apollo-Require-Preflight: true`.
    csrfPrevention: true,
  });
  await apollo.start();
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, model: services.model() });
  });
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    graphqlUploadExpress({ maxFileSize: services.config.maxUploadBytes, maxFiles: 1 }),
    expressMiddleware(apollo, { context: async ({ req }) => buildContext(services, req.headers.authorization) }),
  );
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
