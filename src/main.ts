/**
 * The `palisade` command line: serve | migrate | admin create-user | keys … | backup ….
 */
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { buildApp, type Services } from './app.ts';
import { migrate } from './platform/db/migrate.ts';
import { closeOnSignals, openStorage, startServer } from './server.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_EMAIL, allowDemoOrigin, demoWanted, ensureDemo } from './modules/demo/seed.ts';
import { startDemoSite } from './modules/demo/demo-site.ts';
import { addPath } from './modules/knowledge/ingest-files.ts';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');
import { registerBackupCommands } from './modules/backups/cli.ts';
import { registerKeyCommands } from './modules/keys/cli.ts';

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}

/** Runs one command against a migrated database with the full set of services, then closes everything. */
async function withServices(fn: (services: Services) => Promise<void>): Promise<void> {
  const cfg = config();
  const { database, redis } = await openStorage(cfg);
  try {
    await migrate(database.db);
    // A command is no server: the retention sweep is the servers' job.
    const { services, app } = await buildApp({ config: { ...cfg, logLevel: 'warn', retentionSweepMinutes: 0 }, database, redis });
    try {
      await fn(services);
    } finally {
      await app.close();
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await redis?.quit();
    await database.close();
  }
}

const program = new Command().name('palisade').description('Self-hostable, security-first chatbot platform');

program
  .command('serve', { isDefault: true })
  .description('migrate the database and serve the API (with the demo data and site when serving on a loopback address without TLS, or with --demo)')
  .option('--demo', 'create the demo organisation, project and site wherever this serves')
  .option('--no-demo', 'do not create the demo organisation, project and site')
  .action(async (options: { demo?: boolean }) => {
    const cfg = config();
    const running = await startServer(cfg);
    let stopDemo = async (): Promise<void> => undefined;
    const withDemo = demoWanted(options.demo, cfg);
    if (!withDemo && options.demo === undefined) console.log('  No demo data: this serves beyond loopback, over TLS, behind a proxy or at a public PUBLIC_URL (use --demo to have it anyway).');
    if (withDemo) {
      const demo = await ensureDemo(running.services, running.database.db, { rootDir });
      // Printed first: were the demo site's port taken, the password would otherwise be lost for good.
      if (demo.password) {
        console.log(`\n  Demo owner created — shown once, store it now:\n    e-mail:   ${DEMO_EMAIL}\n    password: ${demo.password}`);
      }
      const site = await startDemoSite({ host: cfg.host, port: cfg.port === 0 ? 0 : cfg.port + 1, apiUrl: running.url, projectId: demo.projectId });
      await allowDemoOrigin(running.services, demo, site.url);
      stopDemo = site.close;
      console.log(`\n  Demo project ${demo.projectId}: open the demo site at ${site.url}/`);
    }
    closeOnSignals({ close: async () => (await stopDemo(), await running.close()) }, (msg) => running.app.log.info(msg));
    console.log(`  Palisade is listening on ${running.url}  (API docs: ${running.url}/docs)\n`);
  });

program
  .command('kb')
  .description('knowledge base')
  .command('add <projectId> <path>')
  .description('add a file, or every .md/.txt/.html file of a folder, to a project\'s knowledge base')
  .action((projectId: string, path: string) =>
    withServices(async (services) => {
      const result = await addPath({ knowledge: services.knowledge }, projectId, path);
      console.log(`Added ${result.added} document(s).${result.skipped.length ? ` Skipped: ${result.skipped.join(', ')}` : ''}`);
    }),
  );

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const { database, redis } = await openStorage(config());
    const applied = await migrate(database.db);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
    await redis?.quit();
    await database.close();
  });

const admin = program.command('admin').description('administration');
admin
  .command('create-user')
  .description('create a user with a new organisation they own')
  .requiredOption('--email <email>', 'e-mail address')
  .requiredOption('--org <name>', 'name of the organisation to create')
  .option('--name <name>', 'display name')
  .action((options: { email: string; org: string; name?: string }) =>
    withServices(async (services) => {
      const password = randomBytes(18).toString('base64url');
      const { user, org } = await services.accounts.signup(
        { email: options.email, password, orgName: options.org, name: options.name },
        { ip: '127.0.0.1', userAgent: 'palisade-cli' },
        { operator: true },
      );
      console.log(`Created ${user.email} (${user.id}), owner of ${org.name} (${org.id}).`);
      console.log(`Password (shown once, store it now): ${password}`);
    }),
  );

admin
  .command('reset-password')
  .description("give a user who lost the password a new one (shown once) and end all the user's sessions; two-factor sign-in stays on")
  .requiredOption('--email <email>', 'e-mail address of the account')
  .action((options: { email: string }) =>
    withServices(async (services) => {
      const password = randomBytes(18).toString('base64url');
      const user = await services.accounts.resetPassword(options.email, password);
      console.log(`New password for ${user.email} (${user.id}), shown once: ${password}`);
      console.log('Every session of the account has ended. Ask the user to change this password after signing in (POST /v1/auth/password).');
    }),
  );

registerKeyCommands(program, { config, openStorage });
registerBackupCommands(program, { config, openStorage });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
