/**
 * GraphQL operation latency and errors for /metrics, by operation type and name. Names come from
 * clients, so they are bounded: a name must look like a GraphQL name (at most 64 characters), and
 * after MAX_NAMES distinct ones every new name counts as "other" (a client cannot grow the
 * process's series without bound).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { graphqlDuration, graphqlErrors } from './metrics.js';

const MAX_NAMES = 200;
const seen = new Set<string>();

function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'other';
  if (seen.has(name)) return name;
  if (seen.size >= MAX_NAMES) return 'other';
  seen.add(name);
  return name;
}

export function graphqlMetricsPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse(ctx) {
          const labels = { type: ctx.operation?.operation ?? 'unknown', operation: operationLabel(ctx.operationName ?? ctx.request.operationName) };
          graphqlDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
          const body = ctx.response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          for (const e of errors ?? []) {
            const code = typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN';
            graphqlErrors.inc({ ...labels, code });
          }
        },
      };
    },
  };
}
