/**
 * onnxruntime session creation with execution-provider fallback.
 *
 * onnxruntime-node does not fall back by itself: asking for CUDA where its libraries are missing
 * throws "Failed to load shared library" at create, and an unknown provider name is silently
 * dropped. So providers are tried one at a time, in order; the first that creates a session is
 * the one recorded (every assessment stores it), and each one skipped is logged in one line.
 */
import * as ort from 'onnxruntime-node';
import { log as logger } from '../ops/log.js';

/** Provider names onnxruntime-node understands (platform permitting). */
export const KNOWN_PROVIDERS = ['cuda', 'tensorrt', 'cpu', 'webgpu', 'dml', 'coreml', 'qnn', 'xnnpack'] as const;
export type ExecutionProvider = (typeof KNOWN_PROVIDERS)[number];

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The provider the session was actually created with. */
  provider: ExecutionProvider;
  /** Providers tried before it, with the reason each was skipped. */
  skipped: { provider: string; reason: string }[];
}

export interface CreateSessionOptions {
  /** Where the one-line fallback messages go (default console.warn). */
  log?: (line: string) => void;
  /** Intra-op threads for the CPU provider (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /**
   * Outputs to leave on the device for the provider the session is created with (e.g. a decoder's
   * KV cache on CUDA, fed back as inputs through onnxruntime's IO binding); undefined: all on the CPU.
   */
  deviceOutputs?: (provider: ExecutionProvider) => readonly string[] | undefined;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}

/**
 * Create a session for `modelPath`, trying `providers` in order (e.g. ['cuda', 'cpu']).
 * Throws when none works, with every provider's reason.
 */
export async function createSession(
  modelPath: string,
  providers: readonly string[],
  options: CreateSessionOptions = {},
): Promise<CreatedSession> {
  const log = options.log ?? ((line: string) => logger.warn(line));
  const list = providers.map((p) => p.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0) throw new Error('createSession: no execution providers given');
  const skipped: { provider: string; reason: string }[] = [];
  for (const [i, name] of list.entries()) {
    const next = list[i + 1];
    if (!(KNOWN_PROVIDERS as readonly string[]).includes(name)) {
      const reason = `unknown execution provider (known: ${KNOWN_PROVIDERS.join(', ')})`;
      skipped.push({ provider: name, reason });
      log(`onnxruntime: skipping execution provider "${name}": ${reason}${next ? `; trying "${next}"` : ''}`);
      continue;
    }
    try {
      const onDevice = options.deviceOutputs?.(name as ExecutionProvider);
      const session = await ort.InferenceSession.create(modelPath, {
        ...(onDevice?.length ? { preferredOutputLocation: Object.fromEntries(onDevice.map((o) => [o, 'gpu-buffer' as const])) } : {}),
        executionProviders: [name],
        graphOptimizationLevel: 'all',
        // failed provider loads are reported by our own log line, not onnxruntime's native stderr
        logSeverityLevel: name === 'cpu' ? 3 : 4,
        ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      });
      if (skipped.length) log(`onnxruntime: using execution provider "${name}"`);
      return { session, provider: name as ExecutionProvider, skipped };
    } catch (e) {
      const reason = firstLine(e);
      skipped.push({ provider: name, reason });
      log(`onnxruntime: execution provider "${name}" unavailable (${reason})${next ? `; falling back to "${next}"` : ''}`);
    }
  }
  throw new Error(
    `Could not create an onnxruntime session for ${modelPath} with any of [${list.join(', ')}]: ` +
      skipped.map((s) => `${s.provider}: ${s.reason}`).join('; '),
  );
}
