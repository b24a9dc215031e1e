/** The closed list of API key scopes. Adding one is an API change: document it in API.md. */
import { z } from 'zod';

export const apiKeyScopes = [
  'chat:write',
  'chat:read',
  'projects:read',
  'projects:write',
  'knowledge:write',
  'audit:read',
  'keys:manage',
  'pii:reveal',
  'webhooks:manage',
  'privacy:erase',
  'scim:provision',
] as const;

export type ApiKeyScope = (typeof apiKeyScopes)[number];

// Typed as a full Record so a scope without a description (or the reverse) fails to compile.
export const apiKeyScopeDescriptions: Readonly<Record<ApiKeyScope, string>> = {
  'chat:write': 'Send messages to a project’s chatbot (continuing another key’s or a visitor’s conversation also needs chat:read).',
  'chat:read': 'Read conversations and messages (personal data as entity tokens; revealing needs pii:reveal).',
  'projects:read': 'Read projects and their settings.',
  'projects:write': 'Create, change and delete projects and their settings.',
  'knowledge:write': 'Add, replace and remove knowledge sources.',
  'audit:read': 'Read the organisation’s audit log.',
  'keys:manage': 'Create, rotate and revoke API keys.',
  'pii:reveal': 'See original personal data where the project’s PII policy allows it.',
  'webhooks:manage': 'Create, change and delete webhooks and rotate their secrets.',
  'privacy:erase': 'Erase a person’s data for good (erasure requests by visitor id or identifier).',
  'scim:provision': 'SCIM 2.0 provisioning by the organisation’s identity provider: make, deactivate and delete the accounts its SSO signs in (owners only).',
};

export const apiKeyScopeSchema = z.enum(apiKeyScopes);

/** A key's scope list: at least one, no duplicates. */
export const apiKeyScopeListSchema = z
  .array(apiKeyScopeSchema)
  .min(1)
  .max(apiKeyScopes.length)
  .refine((scopes) => new Set(scopes).size === scopes.length, { message: 'Scopes must not repeat.' });
