// Prisma CLI configuration: the JavaScript (WebAssembly) schema engine over the
// project's pg driver adapter, so no native engine is ever needed.
import { defineConfig } from 'prisma/config';
import './engine/prisma-cli/cli-environment.mjs';
import { MIGRATIONS_FOLDER, SCHEMA_FILE } from './engine/lib/contract.mjs';
import { ProjectPgAdapterFactory } from './engine/lib/pg-adapter.mjs';
import { prepareTypedCommand } from './engine/prisma-cli/prisma-commands.mjs';
import { projectPython, resolveDatabaseUrls } from './engine/lib/project.mjs';
import { studioAdapterFactory } from './engine/prisma-cli/studio.mjs';

// `prisma migrate dev` and the like typed by hand run the acams-db operation
// (same guardrails as make); the others get the environment's database.
prepareTypedCommand();

export default defineConfig({
  // `studio` needs experimental.studio; `adapter` and engine 'js' the adapter flag.
  experimental: { adapter: true, studio: true },
  engine: 'js',
  schema: SCHEMA_FILE,
  migrations: {
    path: MIGRATIONS_FOLDER,
    // `prisma db seed` (`-- --file F` passes options on): the same seed as make seed.
    // Prisma splits this command on spaces (execa's command syntax), not by a shell.
    seed: `${projectPython.replaceAll(' ', '\\ ')} -m acams_db seed`,
  },
  async adapter() {
    const { url, shadowUrl } = resolveDatabaseUrls();
    return new ProjectPgAdapterFactory(url, { shadowDatabaseUrl: shadowUrl });
  },
  // Prisma Studio: loopback only, read-only outside development (engine/prisma-cli/studio.mjs).
  studio: { adapter: studioAdapterFactory },
});
