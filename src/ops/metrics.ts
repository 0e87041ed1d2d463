/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written here because no
 * metrics package is among the dependencies: counters, gauges (set, or read at scrape time) and
 * histograms with fixed buckets, each with labels. One registry per process (`metrics`); the HTTP
 * side serves `render()` at /metrics (see ./http.ts for who may read it).
 */

type Labels = Record<string, string>;

/** A label set as a map key and as exposition text: sorted by name, values escaped. */
function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${escape(labels[k]!)}"`).join(',')}}`;
}

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric {
  readonly name: string;
  render(): Promise<string[]> | string[];
}

/**
 * A count or an observation made in a worker thread, sent to the thread that owns the registry
 * /metrics renders (a thread's own registry is never scraped): see `Registry.forwardTo`/`apply`.
 */
export type MetricUpdate = { name: string; labels: Labels; inc: number } | { name: string; labels: Labels; observe: number };
type Forward = (update: MetricUpdate) => void;

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`];
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  /** Set in a worker thread: counts go to the parent's registry instead. */
  forward: Forward | null = null;
  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    if (this.forward) return this.forward({ name: this.name, labels, inc: by });
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }

  render(): string[] {
    return [...header(this.name, this.help, 'counter'), ...[...this.values].map(([k, v]) => `${this.name}${k} ${number(v)}`)];
  }
}

/** A gauge set by the code, or read when scraped (`collect`, e.g. the queue's depth from the database). */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly collect?: () => Promise<{ labels: Labels; value: number }[]>,
  ) {}

  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), value);
  }

  async render(): Promise<string[]> {
    const lines = header(this.name, this.help, 'gauge');
    if (this.collect) {
      for (const { labels, value } of await this.collect()) lines.push(`${this.name}${labelText(labels)} ${number(value)}`);
    } else {
      for (const [k, v] of this.values) lines.push(`${this.name}${k} ${number(v)}`);
    }
    return lines;
  }
}

interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  private readonly series = new Map<string, HistogramSeries>();
  /** Set in a worker thread: observations go to the parent's registry instead. */
  forward: Forward | null = null;
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    if (this.forward) return this.forward({ name: this.name, labels, observe: value });
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  /** Observations so far of one label set (tests, the bench). */
  count(labels: Labels = {}): number {
    return this.series.get(labelText(labels))?.count ?? 0;
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram');
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: number(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${number(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** Seconds, from a millisecond to a minute: request, stage and inference durations. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private forward: Forward | null = null;

  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M; // one registration per name, whoever asks first
    if (this.forward && (m instanceof Counter || m instanceof Histogram)) m.forward = this.forward;
    this.metrics.set(m.name, m);
    return m;
  }

  /**
   * In a worker thread: every count and observation, of metrics registered so far and later, is
   * sent through `send` to the parent thread, which `apply`s it to the registry it serves.
   */
  forwardTo(send: Forward): void {
    this.forward = send;
    for (const m of this.metrics.values()) if (m instanceof Counter || m instanceof Histogram) m.forward = send;
  }

  /** A worker thread's update (see `forwardTo`); a name this registry does not know is dropped. */
  apply(update: MetricUpdate): void {
    const m = this.metrics.get(update.name);
    if ('inc' in update && m instanceof Counter) m.inc(update.labels, update.inc);
    else if ('observe' in update && m instanceof Histogram) m.observe(update.labels, update.observe);
  }

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string, collect?: () => Promise<{ labels: Labels; value: number }[]>): Gauge {
    return this.add(new Gauge(name, help, collect));
  }
  histogram(name: string, help: string, buckets: readonly number[] = DURATION_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** Replaces a scrape-time gauge (a process that opens a second database in tests re-registers). */
  replace(m: Metric): void {
    this.metrics.set(m.name, m);
  }

  /** The exposition text; a collector that fails is left out of this scrape (with a comment), never fatal. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      try {
        out.push(...(await m.render()));
      } catch (e) {
        out.push(`# ${m.name} not collected: ${(e as Error)?.message?.split('\n')[0] ?? e}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

/** This process's registry and the metrics every part shares. */
export const metrics = new Registry();

export const httpDuration = metrics.histogram(
  'speechmark_http_request_duration_seconds',
  'HTTP requests by method, route and status class, from the first byte read to the last written.',
);
export const graphqlDuration = metrics.histogram(
  'speechmark_graphql_operation_duration_seconds',
  'GraphQL operations by operation type and name (anonymous when unnamed), parse to response.',
);
export const graphqlErrors = metrics.counter(
  'speechmark_graphql_errors_total',
  'Errors in GraphQL responses by operation type, name and extensions.code.',
);
export const jobStageDuration = metrics.histogram(
  'speechmark_job_stage_duration_seconds',
  'Time an assessment job spent in each stage: queued (submit to claim), claim (the claim statement), load (its rows), decode (stored audio), inference (the model, of which acoustic, features, heads), rationale, write (completing transaction), total (claim to settled).',
);
export const submitStageDuration = metrics.histogram(
  'speechmark_submit_stage_duration_seconds',
  'Time a submit spent in each stage before its job is queued: decode, vad (voice activity), store (audio file), enqueue (the transaction writing utterance, job and event).',
);
export const inferenceDuration = metrics.histogram(
  'speechmark_inference_duration_seconds',
  'Model inference time per job by execution provider and model version.',
);
export const acousticBatches = metrics.counter(
  'speechmark_acoustic_batches_total',
  'Acoustic graph runs under dynamic batching (SPEECHMARK_BATCH_SIZE above 1), by rows in the run (rows="1": a request that ran alone).',
);
export const deliveriesSettled = metrics.counter(
  'speechmark_deliveries_settled_total',
  'Delivery attempts this process recorded, by channel (webhook, lti_score, xapi) and outcome (delivered, retry, failed, released, lost).',
);
export const jobsSettled = metrics.counter(
  'speechmark_jobs_settled_total',
  'Job attempts this process ended, by outcome (succeeded, retry, failed, lost, released, abandoned).',
);
