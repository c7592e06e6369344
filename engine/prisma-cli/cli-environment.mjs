// Loaded by prisma.config.ts, so it runs inside every Prisma CLI process
// (ours, and `prisma ...` typed in the activated environment) before the CLI
// looks for engines.
import path from 'node:path';
import { engineDir, queryEngineBridge } from '../lib/project.mjs';
import '../lib/wasm-timers.mjs';

// The CLI checks at start-up that native engines exist and downloads them if
// not; no machine here reaches Prisma's binary host. With engine 'js' the
// schema engine is WebAssembly, and the query engine is our bridge, so point the
// native-engine variables at a file that exists and is never executed.
const neverExecuted = path.join(engineDir, 'prisma-cli', 'native-engine-placeholder');
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= neverExecuted;
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= neverExecuted;
process.env.PRISMA_QUERY_ENGINE_BINARY ??= queryEngineBridge;
// The update check waits about a minute for a host it cannot reach.
process.env.CHECKPOINT_DISABLE ??= '1';
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';

// Prisma's messages that are wrong for this project, written by the 6.19 CLI
// with literal writes to stdout and stderr:
// - the datasource `url` "will NOT be used" warning: schema.prisma keeps the
//   url because Prisma 6.19 and Prisma Client Python require it, and the
//   adapter connects to that same database (engine/prisma-cli/prisma-commands.mjs);
// - "N migrations found in prisma/migrations": the folder is hard-coded, not
//   the configured migrations.path;
// - "skipping environment variable loading": the project's settings load .env;
// - "To apply migrations in development run prisma migrate dev": here that
//   creates a migration and needs --name; pending ones are applied by deploy.
const ANSI = '(?:\\x1b\\[[0-9;]*m)*';
/** @type {[RegExp, string][]} */
const MISLEADING = [
  [/\n?WARNING: Your schema specifies the following datasource properties[^]*?only using driver adapters\.\n/, ''],
  [/Prisma config detected, skipping environment variable loading\.\n\n?/, ''],
  [/ found in prisma\/migrations\n/, ' found in prisma_migrations\n'],
  [new RegExp(`(To apply migrations in development run )${ANSI}prisma migrate dev${ANSI}\\.`), '$1prisma migrate deploy (make deploy).'],
];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write;
  // @ts-ignore - same signature as the original
  stream.write = function writeWithoutMisleadingMessages(chunk, ...rest) {
    if (typeof chunk === 'string') {
      for (const [message, replacement] of MISLEADING) chunk = chunk.replace(message, replacement);
      if (!chunk) {
        rest.find((argument) => typeof argument === 'function')?.();
        return true;
      }
    }
    return write.call(this, chunk, ...rest);
  };
}
