import * as ort from 'onnxruntime-node';

/**
 * How many onnxruntime sessions this thread creates while `work` runs (sessions created in worker
 * threads are not counted: each thread has its own onnxruntime module).
 */
export async function sessionsCreatedHere<T>(work: () => Promise<T>): Promise<{ created: number; result: T }> {
  const create = ort.InferenceSession.create;
  let created = 0;
  ort.InferenceSession.create = ((...args: Parameters<typeof create>) => {
    created++;
    return create(...args);
  }) as typeof create;
  try {
    const result = await work();
    return { created, result };
  } finally {
    ort.InferenceSession.create = create;
  }
}
