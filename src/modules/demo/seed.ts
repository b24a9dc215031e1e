/**
 * The demo data `npm start` creates once: an organisation, its owner (a random password,
 * printed once and never stored in clear) and a demo project.
 */
import { randomBytes } from 'node:crypto';
import type { Services } from '../../app.ts';

export const DEMO_EMAIL = 'owner@demo.palisade.local';

export interface DemoResult {
  created: boolean;
  email: string;
  password?: string;
  orgId?: string;
  projectId?: string;
}

export async function seedDemo(services: Services, options: { allowedDomains: string[] }): Promise<DemoResult> {
  const password = randomBytes(18).toString('base64url');
  try {
    const { user, org } = await services.accounts.signup(
      { email: DEMO_EMAIL, password, orgName: 'Demo Organisation', name: 'Demo Owner' },
      { ip: '127.0.0.1', userAgent: 'palisade-seed' },
    );
    const actor = { principal: { kind: 'user' as const, userId: user.id, sessionId: '', email: user.email }, ip: null };
    const project = await services.projects.create(org.id, { name: 'Demo chatbot', settings: { allowedDomains: options.allowedDomains } }, actor);
    return { created: true, email: DEMO_EMAIL, password, orgId: org.id, projectId: project.id };
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'conflict') return { created: false, email: DEMO_EMAIL };
    throw error;
  }
}
