/** A fresh account and organisation on a running server, signed in: its cookie and CSRF token. */
export interface SignedUp {
  cookie: string;
  csrfToken: string;
  orgId: string;
}

export async function signup(url: string): Promise<SignedUp> {
  const r = await fetch(`${url}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`, password: 'violet-harbour-quantum-47', orgName: 'Bench' }),
  });
  if (r.status !== 201) throw new Error(`signup failed: ${r.status}`);
  const { org, csrfToken } = (await r.json()) as { org: { id: string }; csrfToken: string };
  return { cookie: (r.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '', csrfToken, orgId: org.id };
}
