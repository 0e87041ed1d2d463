/**
 * The outbound HTTP the LTI client uses: one POST, a timeout, no redirects followed (a redirect
 * could carry the token or the score elsewhere), the answer's body capped.
 */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export type HttpPost = (url: string, init: { headers: Record<string, string>; body: string }) => Promise<HttpAnswer>;

export const LTI_HTTP_TIMEOUT_MS = 10_000;
const MAX_ANSWER_CHARS = 64 * 1024;

export const fetchPost: HttpPost = async (url, init) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: init.headers,
    body: init.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(LTI_HTTP_TIMEOUT_MS),
  });
  const text = (await res.text()).slice(0, MAX_ANSWER_CHARS);
  return { status: res.status, headers: res.headers, text };
};
