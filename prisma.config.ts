// Prisma CLI configuration. Here the CLI only runs `prisma generate`; migrations are applied by
// prisma/migrate.ts because the native schema engine cannot be fetched on our machines. The
// datasource lets `prisma migrate deploy` work on a machine that has the engine.
import { defineConfig } from 'prisma/config';
import { loadConfig } from './lib/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: loadConfig().databaseUrl },
});
