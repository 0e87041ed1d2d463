import { AppError } from '../errors.js';

/**
 * The LMS refused, failed, or answered something unusable to a request made for the caller (a
 * roster read, a line item created): LTI_PLATFORM_ERROR with the platform's HTTP status (or null)
 * and the reason, prefixed by which of its services it was.
 */
export function platformError(service: string, reason: string, status: number | null = null): AppError {
  return new AppError('LTI_PLATFORM_ERROR', `The LTI platform's ${service}: ${reason}`, { status, reason });
}
