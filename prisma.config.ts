import { defineConfig } from 'prisma/config';

// Prisma 7 keeps the connection out of schema.prisma. The CLI is only used for `prisma generate`
// here: migrations are applied by src/db/migrate.ts at start (see ../shared/STACK.md for why).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
