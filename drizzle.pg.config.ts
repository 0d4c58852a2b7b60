import { defineConfig } from 'drizzle-kit';

// The PostgreSQL dialect (issue 15): `npx drizzle-kit generate --config drizzle.pg.config.ts` writes a new
// migration into src/store/migrations-pg after a change of src/store/pg/schema.ts (never edit one by hand).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/pg/schema.ts',
  out: './src/store/migrations-pg',
});
