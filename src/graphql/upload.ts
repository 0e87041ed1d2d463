import type { Readable } from 'node:stream';
import { AppError, badInput } from '../errors.js';

/** The value graphql-upload resolves an `Upload` to. */
export interface FileUpload {
  filename: string;
  mimetype: string;
  encoding: string;
  createReadStream(): Readable;
}

/** graphql-upload's temp file (fs-capacitor, in os.tmpdir()); not in its public type. */
interface Capacitor {
  release(): void;
}

/**
 * Read an upload fully into memory, at most `maxBytes` (inclusive: a file of exactly the limit is
 * accepted). graphql-upload is configured with `maxBytes + 1` because busboy's limit is exclusive;
 * it then fails the stream with a 413 the moment one byte more arrives, and so does our own count:
 * nothing past the limit is kept (the rest of the body is read and dropped before graphql-upload
 * answers; a declared length too large for any upload is refused before that, in src/server.ts).
 * Either way the client sees FILE_TOO_LARGE.
 *
 * The temp file behind the upload is released here on every path, success or not, rather than
 * only when the HTTP response closes: a refused upload frees its disk at once.
 */
export async function readUpload(upload: Promise<FileUpload>, maxBytes: number): Promise<Uint8Array> {
  let file: FileUpload;
  try {
    file = await upload;
  } catch (e) {
    throw uploadError(e, maxBytes);
  }
  let stream: Readable | undefined;
  try {
    stream = file.createReadStream(); // throws when the upload already failed (e.g. 413)
    return await readAtMost(stream, maxBytes);
  } catch (e) {
    throw uploadError(e, maxBytes);
  } finally {
    stream?.destroy();
    (file as FileUpload & { capacitor?: Capacitor }).capacitor?.release();
  }
}

async function readAtMost(stream: Readable, maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}

/**
 * Our own errors pass through; graphql-upload's 413 is FILE_TOO_LARGE; a system error (the temp
 * file's disk full or unwritable: it has a `syscall`) is the server's fault, left to be masked and
 * logged; anything else (a malformed or cut-off multipart body, a client gone) is bad input.
 */
function uploadError(e: unknown, maxBytes: number): Error {
  if (e instanceof AppError) return e;
  if ((e as { status?: number }).status === 413) return tooLarge(maxBytes);
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string') return e;
  return badInput(`Could not read the uploaded file: ${(e as Error).message}`, 'input.audio');
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('FILE_TOO_LARGE', `The audio file exceeds the ${maxBytes} byte limit.`, { maxBytes });
}
