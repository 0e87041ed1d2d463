/**
 * Milliseconds one piece of work (a submit, an assessment job) spent per named stage, filled in
 * by the code that does the work and read by whoever reports it (src/ops/metrics.ts histograms,
 * `npm run bench`'s per-stage table). A stage that runs twice adds up.
 */
export type StageTimes = Record<string, number>;

export function addStage(times: StageTimes | undefined, stage: string, ms: number): void {
  if (times) times[stage] = (times[stage] ?? 0) + ms;
}

/** Runs `work`, adding its duration to `stage` (also when it throws). */
export async function timeStage<T>(times: StageTimes | undefined, stage: string, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    addStage(times, stage, performance.now() - started);
  }
}
