/** A small GraphQL-over-HTTP client for tests: JSON requests and multipart uploads, real fetch. */
export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

export class GqlClient {
  constructor(
    readonly url: string,
    readonly apiKey?: string,
  ) {}

  withKey(apiKey: string | undefined): GqlClient {
    return new GqlClient(this.url, apiKey);
  }

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse<T>> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.headers() },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, ...((await res.json()) as object) };
  }

  /** GraphQL multipart request (one file), as browsers and LMS back-ends send it. */
  async upload<T = any>(
    query: string,
    variables: Record<string, unknown>,
    filePath: string,
    file: { bytes: Uint8Array; name: string; type?: string },
  ): Promise<GqlResponse<T>> {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query, variables }));
    form.append('map', JSON.stringify({ 0: [filePath] }));
    form.append("0", new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true', ...this.headers() },
      body: form,
    });
    const text = await res.text();
    try {
      return { status: res.status, ...(JSON.parse(text) as object) };
    } catch {
      return { status: res.status, errors: [{ message: text }] };
    }
  }
}

export function errorCode(res: GqlResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}
