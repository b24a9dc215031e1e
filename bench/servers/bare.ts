/** The baseline: a bare Fastify server answering the same JSON, with no auth, no database. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const me = {
  user: { id: 'usr_0000000000000000000000', email: 'owner@example.test', name: null, totpEnabled: false },
  orgs: [{ id: 'org_0000000000000000000000', name: 'Bench', slug: 'bench', role: 'owner' }],
  csrfToken: 'x'.repeat(43),
};
app.get('/v1/me', async () => me);
app.post('/echo', async (request) => request.body);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
// A clean exit on SIGTERM, so `--cpu-prof` can write its profile.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
