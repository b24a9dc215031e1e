/**
 * Roles → permissions, in code. Routes ask for a permission string, never for a role, and API
 * keys carry scopes that map onto the same strings.
 */
export const roles = ['owner', 'admin', 'editor', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const permissions = [
  'org:read',
  'org:update',
  'org:lockdown',
  'members:read',
  'members:manage',
  'projects:read',
  'projects:write',
  'projects:delete',
  'knowledge:write',
  'chat:read',
  'chat:write',
  'keys:manage',
  'audit:read',
  'webhooks:manage',
  'pii:reveal',
  'privacy:erase',
  // Owners only: whoever names the identity provider decides who is signed in (modules/sso).
  'sso:manage',
  // Owners only, and as an API key scope for the identity provider: it makes and ends the
  // accounts the organisation federates (modules/scim).
  'scim:provision',
] as const;
export type Permission = (typeof permissions)[number];

const viewer: Permission[] = ['org:read', 'members:read', 'projects:read', 'chat:read'];
const editor: Permission[] = [...viewer, 'projects:write', 'knowledge:write', 'chat:write'];
const admin: Permission[] = [
  ...editor,
  'org:update',
  'org:lockdown',
  'members:manage',
  'projects:delete',
  'keys:manage',
  'audit:read',
  'webhooks:manage',
  'pii:reveal',
  'privacy:erase',
];

export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set<Permission>([...admin, 'sso:manage', 'scim:provision']),
  admin: new Set(admin),
  editor: new Set(editor),
  viewer: new Set(viewer),
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return rolePermissions[role].has(permission);
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** Only an owner may make or unmake an owner; admins manage everyone else. */
export function canAssignRole(actor: Role, target: Role): boolean {
  return actor === 'owner' || target !== 'owner';
}
