/**
 * The constraint violations the API maps to codes, as each driver adapter really reports them:
 * through Prisma's own queries (P2002, P2003) and through raw statements (P2010, where only the
 * adapter's cause tells them apart). A raw write pointing at a deleted row reaches the client as
 * NOT_FOUND, like Prisma's own; a delete refused because rows still point to it is not "deleted".
 */
import { randomUUID } from 'node:crypto';
import { describeEachDatabase } from '../support/db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../src/db/errors.js';
import { createFormatError, DELETED_MEANWHILE } from '../../src/graphql/format-error.js';
import { GraphQLError } from 'graphql';

/** The error `write` rejects with (it must reject). */
async function rejection(write: () => Promise<unknown>): Promise<unknown> {
  try {
    await write();
  } catch (e) {
    return e;
  }
  throw new Error('the write was expected to fail');
}

/** What a client sees of `error` thrown by a resolver. */
function asClientSees(error: unknown) {
  const wrapped = new GraphQLError('x', { originalError: error as Error });
  return createFormatError(false)(wrapped.toJSON(), wrapped);
}

describeEachDatabase('constraint violations', (ctx) => {
  test('a raw insert pointing at a missing row is a foreign-key violation, answered NOT_FOUND without detail', async () => {
    const e = await rejection(() => ctx.prisma.$executeRawUnsafe(
      `INSERT INTO "Learner" ("id", "organizationId", "externalId", "createdAt") VALUES ($1::uuid, $2::uuid, 'x', now())`, randomUUID(), randomUUID()));
    expect((e as { code: string }).code).toBe('P2010');
    expect(isForeignKeyViolation(e)).toBe(true);
    expect(isUniqueViolation(e)).toBe(false);
    expect(asClientSees(e)).toEqual({ message: DELETED_MEANWHILE, extensions: { code: 'NOT_FOUND' } });
  });

  test("Prisma's own foreign-key violation (P2003) still is one", async () => {
    const e = await rejection(() => ctx.prisma.learner.create({ data: { organizationId: randomUUID(), externalId: 'y' } }));
    expect((e as { code: string }).code).toBe('P2003');
    expect(isForeignKeyViolation(e)).toBe(true);
  });

  test('a raw insert of a duplicate is a unique violation, not a foreign-key one', async () => {
    const org = await ctx.prisma.organization.create({ data: { name: `dup-${randomUUID()}` } });
    const insert = () => ctx.prisma.$executeRawUnsafe(
      `INSERT INTO "Learner" ("id", "organizationId", "externalId", "createdAt") VALUES (gen_random_uuid(), $1::uuid, 'same', now())`, org.id);
    await insert();
    const e = await rejection(insert);
    expect((e as { code: string }).code).toBe('P2010');
    expect(isUniqueViolation(e)).toBe(true);
    expect(isForeignKeyViolation(e)).toBe(false);
    expect(asClientSees(e).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  test('a delete refused because rows still point to it is not "deleted meanwhile": it stays a masked internal error', async () => {
    const t = `fk_probe_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    await ctx.prisma.$executeRawUnsafe(`CREATE TABLE "${t}_a" ("id" int PRIMARY KEY)`);
    await ctx.prisma.$executeRawUnsafe(`CREATE TABLE "${t}_b" ("a" int REFERENCES "${t}_a" ("id"))`);
    try {
      await ctx.prisma.$executeRawUnsafe(`INSERT INTO "${t}_a" VALUES (1)`);
      await ctx.prisma.$executeRawUnsafe(`INSERT INTO "${t}_b" VALUES (1)`);
      const e = await rejection(() => ctx.prisma.$executeRawUnsafe(`DELETE FROM "${t}_a" WHERE "id" = 1`));
      expect((e as { meta: { driverAdapterError: { cause: { originalCode: string } } } }).meta.driverAdapterError.cause.originalCode).toBe('23503');
      expect(isForeignKeyViolation(e)).toBe(false);
      expect(asClientSees(e)).toEqual({ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    } finally {
      await ctx.prisma.$executeRawUnsafe(`DROP TABLE "${t}_b", "${t}_a"`);
    }
  });
});
