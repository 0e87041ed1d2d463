/**
 * The pure parts of the outbox: Standard Webhooks signatures (checked with the reference library,
 * `standardwebhooks`, an implementation independent of ours), the retry schedule, Retry-After,
 * the SSRF address policy and endpoint URL rules, and the payload size fallback.
 */
import { Webhook } from 'standardwebhooks';
import { eventIdOf, generateSecret, secretPrefix, signature, signedHeaders, webhookId } from '../../src/outbox/signing.js';
import { nominalRetryDelayMs, nominalSpanMs, parseRetryAfter, retryDelayMs } from '../../src/outbox/schedule.js';
import { AddressPolicy, isPublicAddress, validateEndpointUrl } from '../../src/outbox/address-policy.js';
import { eventBody, fitBody } from '../../src/outbox/events.js';

const EVENT = '3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

describe('Standard Webhooks signatures', () => {
  test('a secret is whsec_ + base64 of 32 bytes; the prefix shows 6 more characters', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(secretPrefix(s)).toBe(s.slice(0, 12));
    expect(generateSecret()).not.toBe(s);
  });

  test('webhook-id is msg_ + the event id in hex, and maps back', () => {
    expect(webhookId(EVENT)).toBe('msg_3f2c1d4e5a6b4c7d8e9f0a1b2c3d4e5f');
    expect(eventIdOf(webhookId(EVENT))).toBe(EVENT);
    expect(eventIdOf('msg_nothex')).toBeNull();
    expect(eventIdOf(EVENT)).toBeNull();
  });

  test('the reference library verifies our headers, and signs exactly what we sign', () => {
    const secret = generateSecret();
    const body = eventBody('assessment.completed', new Date(), { assessment: { id: 'x', text: 'naïve “quotes” 😀' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([secret], webhookId(EVENT), ts, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const wh = new Webhook(secret);
    expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
    expect(wh.sign(webhookId(EVENT), new Date(ts * 1000), body)).toBe(headers['webhook-signature']);
    // A changed byte, id or timestamp fails.
    expect(() => wh.verify(body.replace('naïve', 'naive'), headers)).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': webhookId(EVENT.replace('3f', '4f')) })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(ts + 1) })).toThrow();
  });

  test('during a rotation both secrets sign: a receiver with either one verifies', () => {
    const [oldSecret, newSecret, stranger] = [generateSecret(), generateSecret(), generateSecret()];
    const body = '{"type":"utterance.submitted"}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([newSecret, oldSecret], 'msg_1', ts, body);
    expect(headers['webhook-signature'].split(' ')).toEqual([signature(newSecret, 'msg_1', ts, body), signature(oldSecret, 'msg_1', ts, body)]);
    expect(() => new Webhook(oldSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow();
    expect(() => signedHeaders([], 'msg_1', ts, body)).toThrow();
  });
});

describe('retry schedule', () => {
  const schedule = { baseMs: 5_000, capMs: 7 * 3600_000, maxAttempts: 12 };

  test('exponential (x3) from 5 s, capped at 7 h; 12 attempts span about a day', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => nominalRetryDelayMs(n, schedule) / 1000)).toEqual([
      5, 15, 45, 135, 405, 1215, 3645, 10935, 25200, 25200, 25200,
    ]);
    const hours = nominalSpanMs(schedule) / 3600_000;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(30);
  });

  test('jitter keeps each delay within ±20 % and spreads it', () => {
    expect(retryDelayMs(3, schedule, () => 0)).toBe(36_000);
    expect(retryDelayMs(3, schedule, () => 1)).toBe(54_000);
    const delays = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, schedule)));
    expect(delays.size).toBeGreaterThan(40);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(36_000);
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe('SSRF: which addresses webhooks may reach', () => {
  test.each([
    '127.0.0.1', '127.9.9.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '192.0.2.10', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1',
    'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe', '2001:db8::1',
    // An IPv4 address however it is embedded: written out in full, IPv4-compatible (::/96),
    // IPv4-translated (::ffff:0:0/96), NAT64 with a short tail, and local-use NAT64 (64:ff9b:1::/48).
    '0:0:0:0:0:ffff:7f00:1', '0:0:0:0:0:FFFF:127.0.0.1', '::127.0.0.1', '::7f00:1', '::a9fe:a9fe', '::ffff:0:7f00:1',
    '::ffff:0:10.0.0.1', '64:ff9b::1', '64:ff9b::127.0.0.1', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:ffff::808:808',
  ])('%s is not public', (a) => {
    expect(isPublicAddress(a)).toBe(false);
    expect(new AddressPolicy().refusal(a)).toMatch(/not a public address/);
  });

  test.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '64:ff9b::8.8.8.8', '0:0:0:0:0:ffff:808:808'])(
    '%s is public',
    (a) => {
      expect(isPublicAddress(a)).toBe(true);
      expect(new AddressPolicy().refusal(a)).toBeNull();
    },
  );

  test('an operator allows listed networks, or all of them', () => {
    const policy = new AddressPolicy(['10.1.2.0/24', '127.0.0.1', 'fd00::/8']);
    expect(policy.refusal('10.1.2.77')).toBeNull();
    expect(policy.refusal('10.1.3.1')).not.toBeNull();
    expect(policy.refusal('127.0.0.1')).toBeNull();
    expect(policy.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(policy.refusal('127.0.0.2')).not.toBeNull();
    expect(policy.refusal('fd00::5')).toBeNull();
    expect(new AddressPolicy(true).refusal('169.254.169.254')).toBeNull();
    expect(() => new AddressPolicy(['not-an-ip'])).toThrow(/not an address or CIDR/);
  });

  test('endpoint URLs: https only unless allowed, no credentials, literal private hosts refused', () => {
    const strict = new AddressPolicy();
    expect(validateEndpointUrl(' https://lms.example.com/hooks#frag ', strict, false, 'input.url')).toBe('https://lms.example.com/hooks');
    const refused = (url: string, policy = strict, http = false) => {
      try {
        validateEndpointUrl(url, policy, http, 'input.url');
      } catch (e) {
        const { code, argument } = (e as { extensions: { code: string; argument: string } }).extensions;
        expect(argument).toBe('input.url');
        return code + ': ' + (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused('http://lms.example.com/hooks')).toMatch(/BAD_USER_INPUT: url must be https:\/\/.*SPEECHMARK_WEBHOOK_ALLOW_HTTP/);
    expect(refused('http://lms.example.com/hooks', strict, true)).toBe('accepted');
    expect(refused('ftp://lms.example.com/x', strict, true)).toMatch(/http:\/\/ or https:\/\//);
    expect(refused('https://user:pw@lms.example.com/')).toMatch(/credentials/);
    expect(refused('not a url')).toMatch(/not an absolute URL/);
    expect(refused('https://127.0.0.1/x')).toMatch(/not a public address/);
    expect(refused('https://[::1]:8443/x')).toMatch(/not a public address/);
    expect(refused('https://169.254.169.254/latest/meta-data')).toMatch(/not a public address/);
    expect(refused('https://localhost/x')).toMatch(/not a public address/);
    expect(refused('https://a.localhost/x')).toMatch(/not a public address/);
    expect(refused('https://localhost./x')).toMatch(/not a public address/);
    expect(refused('https://[::127.0.0.1]/x')).toMatch(/not a public address/);
    expect(refused('https://[::ffff:0:7f00:1]/x')).toMatch(/not a public address/);
    expect(refused('https://[64:ff9b:1::a9fe:a9fe]/x')).toMatch(/not a public address/);
    expect(refused(`https://lms.example.com/${'x'.repeat(2100)}`)).toMatch(/1 to 2048 characters/);
    expect(refused('https://127.0.0.1/x', new AddressPolicy(['127.0.0.0/8']))).toBe('accepted');
  });
});

describe('payload size', () => {
  const words = Array.from({ length: 40 }, (_, i) => ({ text: `WORD${i}`, accuracy: 9, stress: 10, total: 9, phonemes: [{ symbol: 'AH0', accuracy: 2 }] }));
  const body = eventBody('assessment.completed', new Date('2026-01-01T00:00:00Z'), { assessment: { id: 'a', words, sentence: { total: 8 } } });

  test('under the cap the stored body is sent as it is', () => {
    expect(fitBody(body, 64 * 1024)).toBe(body);
  });

  test('over it, an assessment goes without its words (wordsOmitted); smaller still, nothing', () => {
    const thin = fitBody(body, 400)!;
    expect(JSON.parse(thin).data.assessment).toEqual({ id: 'a', sentence: { total: 8 }, wordsOmitted: true });
    expect(fitBody(body, 50)).toBeNull();
    expect(fitBody(eventBody('utterance.submitted', new Date(), { utterance: { referenceText: 'x'.repeat(500) } }), 100)).toBeNull();
  });
});
