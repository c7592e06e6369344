// Prisma CLI configuration: the JavaScript (WebAssembly) schema engine over the
// project's pg driver adapter, so no native engine is ever needed.
import { defineConfig } from 'prisma/config';
import './engine/cli-environment.mjs';
import { ProjectPgAdapterFactory } from './engine/pg-adapter.mjs';
import { resolveDatabaseUrls } from './engine/project.mjs';
import { studioAdapterFactory } from './engine/studio.mjs';

export default defineConfig({
  // `studio` needs experimental.studio; `adapter` and engine 'js' the adapter flag.
  experimental: { adapter: true, studio: true },
  engine: 'js',
  schema: 'schema.prisma',
  migrations: { path: 'prisma_migrations' },
  async adapter() {
    const { url, shadowUrl } = resolveDatabaseUrls();
    return new ProjectPgAdapterFactory(url, { shadowDatabaseUrl: shadowUrl });
  },
  // Prisma Studio: loopback only, read-only outside development (engine/studio.mjs).
  studio: { adapter: studioAdapterFactory },
});
