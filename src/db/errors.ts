/** Prisma's unique-constraint violation (P2002), which both driver adapters report. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'P2002';
}
