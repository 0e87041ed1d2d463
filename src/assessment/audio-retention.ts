/**
 * Audio retention (data minimisation: GDPR art. 5(1)(e), COPPA's "no longer than reasonably
 * necessary"): an organisation keeps a recording's audio for `audioRetentionDays` (its own, else
 * the server's SPEECHMARK_AUDIO_RETENTION_DAYS; 0 keeps it for ever). After that a sweep stamps the
 * utterance `audioRemovedAt` and removes the file unless another utterance (of any organisation)
 * still keeps the same bytes. The scores, the words and phonemes, the rationale, the audio's digest
 * and measurements stay: progress and exports are unchanged; only playback and re-assessment go.
 *
 * The stamp and the file removal are two steps, like erasure's: the rows first (in batches, each a
 * transaction that skips rows another transaction holds), then each file under its digest's lock
 * (removeAudioIfUnreferenced). A crash between the two leaves a file no kept utterance references,
 * which sweepUnreferencedAudio removes at the next start. A recording with a job queued or running
 * waits for the next sweep, so a re-assessment asked for just before the deadline still runs.
 */
import type { Organization, PrismaClient } from '../generated/prisma/client.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import type { AudioStore } from '../audio/store.js';
import { AppError, badInput } from '../errors.js';
import { log } from '../ops/log.js';
import { removeAudioIfUnreferenced, sweepUnreferencedAudio } from './audio-files.js';
import { MAX_AUDIO_RETENTION_DAYS } from '../config.js';
import { FORMAT_EXTENSION } from '../audio/sniff.js';

const BATCH = 500;
/** Formats of a stored recording; seeded history (`npm run seed`) has scores but none, so nothing to remove. */
const RECORDING_FORMATS = Object.keys(FORMAT_EXTENSION);

/** `days` for setAudioRetention: null (the server's), or a whole number from 0 to MAX_AUDIO_RETENTION_DAYS. */
export function checkRetentionDays(days: number | null): number | null {
  if (days === null) return null;
  if (!Number.isInteger(days) || days < 0 || days > MAX_AUDIO_RETENTION_DAYS) {
    throw badInput(`days must be a whole number from 0 (keep for ever) to ${MAX_AUDIO_RETENTION_DAYS}, or null for the server's default; got ${days}.`, 'days');
  }
  return days;
}

/** The refusal of anything that needs a recording retention removed (playback, re-assessment, a job). */
export function audioRemoved(at: Date): AppError {
  return new AppError('AUDIO_REMOVED', `The recording was removed on ${at.toISOString()} by the organisation's audio retention; its scores stay, but it can be neither played nor assessed again.`, {
    audioRemovedAt: at.toISOString(),
  });
}

/** setAudioRetention: the organisation's own retention (null: the server's), audited with what it was. */
export async function setAudioRetention(prisma: PrismaClient, organizationId: string, days: number | null, actor: Actor): Promise<Organization> {
  const checked = checkRetentionDays(days);
  return prisma.$transaction(async (tx) => {
    const before = await tx.organization.findUniqueOrThrow({ where: { id: organizationId }, select: { audioRetentionDays: true } });
    const row = await tx.organization.update({ where: { id: organizationId }, data: { audioRetentionDays: checked } });
    await recordAudit(tx, {
      organizationId, actor, action: 'organization.audioRetentionSet', targetType: 'Organization', targetId: organizationId,
      details: { from: before.audioRetentionDays, to: checked },
    });
    return row;
  });
}

/** What an organisation's setting comes to: its own, else the server's. 0: kept for ever. */
export function effectiveRetentionDays(own: number | null, serverDays: number): number {
  return own ?? serverDays;
}

export interface RetentionSweep {
  /** Utterances whose audio was stamped removed. */
  utterances: number;
  /** Files removed from the store (identical bytes share a file; one still kept elsewhere stays). */
  files: number;
}

/**
 * One batch: stamps up to BATCH recordings past their organisation's retention (oldest first) and
 * returns their digests. Rows another transaction holds (an erasure, a delete) are skipped.
 */
async function stampBatch(prisma: PrismaClient, serverDays: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ sha: string }[]>`
    WITH due AS (
      SELECT u."id" FROM "Utterance" u JOIN "Organization" o ON o."id" = u."organizationId"
       WHERE u."audioRemovedAt" IS NULL
         AND u."audioFormat" = ANY(${RECORDING_FORMATS}::text[])
         AND coalesce(o."audioRetentionDays", ${serverDays}::int) > 0
         AND u."createdAt" < now() - make_interval(days => coalesce(o."audioRetentionDays", ${serverDays}::int))
         AND NOT EXISTS (SELECT 1 FROM "Job" j WHERE j."utteranceId" = u."id" AND j."status" IN ('QUEUED', 'RUNNING'))
       ORDER BY u."createdAt"
       LIMIT ${BATCH}
       FOR UPDATE OF u SKIP LOCKED)
    UPDATE "Utterance" u SET "audioRemovedAt" = now() FROM due WHERE u."id" = due."id"
    RETURNING u."audioSha256" AS sha`;
  return rows.map((r) => r.sha);
}

/** Removes every recording past its retention, batch by batch, until none is due (or `signal` aborts). */
export async function removeExpiredAudio(prisma: PrismaClient, store: AudioStore, serverDays: number, signal?: AbortSignal): Promise<RetentionSweep> {
  const sweep: RetentionSweep = { utterances: 0, files: 0 };
  for (;;) {
    if (signal?.aborted) break;
    const digests = await stampBatch(prisma, serverDays);
    sweep.utterances += digests.length;
    for (const sha256 of new Set(digests)) {
      if (await removeAudioIfUnreferenced(prisma, store, sha256)) sweep.files++;
    }
    if (digests.length < BATCH) break;
  }
  return sweep;
}

/**
 * The sweep every `everyMs` (and once at start), one run at a time; stop() waits for the one in
 * progress. Each run after the first also removes audio files no utterance references
 * (sweepUnreferencedAudio): left by an erasure or a retention removal whose file removal failed
 * after its commit, they are learners' voices nothing points to, and waiting for the next restart
 * could mean months. (The server sweeps those once as it starts, before this begins.)
 */
export class AudioRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: AudioStore,
    private readonly serverDays: number,
    private readonly everyMs: number,
  ) {}

  start(): void {
    if (this.timer || this.everyMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
    void this.tick({ unreferenced: false });
  }

  tick(options: { unreferenced: boolean } = { unreferenced: true }): Promise<void> {
    this.running ??= this.sweep(options.unreferenced).finally(() => { this.running = null; });
    return this.running;
  }

  private async sweep(unreferenced: boolean): Promise<void> {
    const signal = this.stopping.signal;
    await removeExpiredAudio(this.prisma, this.store, this.serverDays, signal)
      .then((sweep) => { if (sweep.utterances > 0) log.info('audio retention removed recordings', { ...sweep }); })
      .catch((err: unknown) => log.warn('audio retention sweep failed; the next run retries', { err }));
    if (!unreferenced) return;
    await sweepUnreferencedAudio(this.prisma, this.store, { signal })
      .then((removed) => { if (removed > 0) log.info('removed audio files no utterance references', { removed }); })
      .catch((err: unknown) => log.warn('unreferenced audio sweep failed; the next run retries', { err }));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
