/**
 * A real graphql-ws client (the `graphql-transport-ws` protocol over the `ws` WebSocket) for tests:
 * one connection per subscription, its events queued for `next()`, its close code kept.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Subscription {
  client: Client;
  /** The next event (data and errors as sent), or rejects with why the subscription ended. */
  next(): Promise<{ data?: any; errors?: any[] }>;
  /** Every event received so far, with the time (Date.now()) it arrived. */
  received: { at: number; result: { data?: any; errors?: any[] } }[];
  /** The first error the subscription ended with: a GraphQL error list, or the socket's CloseEvent. */
  ended: Promise<{ errors?: any[]; closeCode?: number; closeReason?: string; completed?: boolean }>;
  /** Resolves once the server acknowledged the connection (connection_ack). */
  connected: Promise<void>;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export function subscribe(
  httpUrl: string,
  key: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  options: { headerKey?: string } = {},
): Subscription {
  const received: Subscription['received'] = [];
  const waiters: { resolve: (r: any) => void; reject: (e: unknown) => void }[] = [];
  let endedWith: any = null;
  let resolveEnded!: (v: any) => void;
  const ended = new Promise<any>((r) => (resolveEnded = r));
  let resolveConnected!: () => void;
  const connected = new Promise<void>((r) => (resolveConnected = r));
  const finish = (why: any) => {
    if (endedWith) return;
    endedWith = why;
    resolveEnded(why);
    for (const w of waiters.splice(0)) w.reject(Object.assign(new Error(`subscription ended: ${JSON.stringify(why)}`), { why }));
  };
  const headerKey = options.headerKey;
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: headerKey
      ? class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers: { authorization: `Bearer ${headerKey}` } });
          }
        }
      : WebSocket,
    connectionParams: key === undefined ? undefined : { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: false,
    on: {
      connected: () => resolveConnected(),
      closed: (e) => {
        const ev = e as { code?: number; reason?: string };
        finish({ closeCode: ev.code, closeReason: ev.reason });
      },
    },
    onNonLazyError: () => undefined,
  });
  client.subscribe(
    { query, variables },
    {
      next: (result) => {
        const item = { at: Date.now(), result: result as any };
        received.push(item);
        const w = waiters.shift();
        if (w) w.resolve(item.result);
        else queue.push(item.result);
      },
      error: (err) => {
        if (Array.isArray(err)) finish({ errors: err });
        else {
          const ev = err as { code?: number; reason?: string };
          finish({ closeCode: ev.code, closeReason: ev.reason });
        }
      },
      complete: () => finish({ completed: true }),
    },
  );
  const queue: any[] = [];
  return {
    client,
    received,
    ended,
    connected,
    next() {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (endedWith) return Promise.reject(Object.assign(new Error(`subscription ended: ${JSON.stringify(endedWith)}`), { why: endedWith }));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async dispose() {
      await client.dispose();
    },
  };
}
