import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';

/** The value graphql-upload resolves an `Upload` to. */
export interface FileUpload {
  filename: string;
  mimetype: string;
  encoding: string;
  createReadStream(): Readable;
}

/**
 * Read an upload fully into memory. graphql-upload enforces maxFileSize by failing the stream
 * with a 413 error; that becomes FILE_TOO_LARGE so clients see a stable code.
 */
export async function readUpload(upload: Promise<FileUpload>, maxBytes: number): Promise<Uint8Array> {
  const file = await upload;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of file.createReadStream()) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    if ((e as { status?: number }).status === 413) throw tooLarge(maxBytes);
    throw new AppError('BAD_USER_INPUT', `Could not read the uploaded file: ${(e as Error).message}`);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('FILE_TOO_LARGE', `The audio file exceeds the ${maxBytes} byte limit.`, { maxBytes });
}
