/**
 * The visitor's session token and conversation id, kept in localStorage per project so they
 * survive page loads. Nothing stored for one visitor is used for another, so one visitor never
 * continues another's conversation. A verified visitor's token is kept in this page's memory
 * only: a sign-out that reloads the page never reaches reset(), and a token left in the
 * browser's storage would serve the next person at it (their page signs them in again on each
 * load, which opens a new session for the same visitor and conversation). Chat text is never
 * stored here: the host page can read it.
 */
export interface StoredSession {
  readonly token: string;
  readonly expiresAt: number;
}

export interface SessionStore {
  session(who: string, now: number): StoredSession | null;
  saveSession(who: string, session: StoredSession): void;
  clearSession(who: string): void;
  conversationId(who: string): string | null;
  saveConversationId(who: string, id: string | null): void;
  /** Drops everything stored for this project (the host page's user signed out). */
  forget(): void;
}

interface Saved {
  who: string;
  token?: string;
  expiresAt?: number;
  conversationId?: string;
}

/** The `who` of a visitor the host page did not sign in (api.ts fingerprint). */
const ANONYMOUS = 'anonymous';

function withoutToken(saved: Saved): Saved {
  const { token: _token, expiresAt: _expiresAt, ...rest } = saved;
  return rest;
}

/** A token this close to its expiry is replaced rather than risk it expiring mid-request. */
const renewBeforeMs = 60_000;

/** `apiOrigin` is part of the key: a session is only ever sent back to the server that issued it. */
export function createSessionStore(apiOrigin: string, projectId: string, storage: Storage | null): SessionStore {
  const key = `palisade:${apiOrigin}:${projectId}`;
  try {
    // Earlier versions kept the session under the project alone: nothing of it may linger.
    storage?.removeItem(`palisade:${projectId}`);
  } catch {
    // Blocked storage: nothing was kept there either.
  }
  let memory: Saved | null = null;

  function stored(): Saved | null {
    try {
      const raw = storage?.getItem(key);
      return raw ? (JSON.parse(raw) as Saved) : null;
    } catch {
      return null; // Storage can be blocked (sandboxed frames, privacy modes) or hold junk.
    }
  }

  function persist(saved: Saved): void {
    try {
      storage?.setItem(key, JSON.stringify(saved.who === ANONYMOUS ? saved : withoutToken(saved)));
    } catch {
      // As above: the in-memory copy still serves this page.
    }
  }

  // A verified visitor's token an earlier version left in storage goes now.
  const earlier = stored();
  if (earlier !== null && typeof earlier === 'object' && earlier.who !== ANONYMOUS && 'token' in earlier) persist(earlier);

  function read(who: string): Saved {
    const saved = stored() ?? memory;
    const found = saved !== null && typeof saved === 'object' && saved.who === who ? saved : { who };
    // This page's own token for a verified visitor (never in storage).
    if (who !== ANONYMOUS && memory?.who === who && memory.token !== undefined && memory.expiresAt !== undefined) return { ...found, token: memory.token, expiresAt: memory.expiresAt };
    return found;
  }

  function write(saved: Saved): void {
    memory = saved;
    persist(saved);
  }

  return {
    session(who, now) {
      const saved = read(who);
      if (typeof saved.token !== 'string' || typeof saved.expiresAt !== 'number') return null;
      return saved.expiresAt - renewBeforeMs > now ? { token: saved.token, expiresAt: saved.expiresAt } : null;
    },
    saveSession(who, session) {
      write({ ...read(who), token: session.token, expiresAt: session.expiresAt });
    },
    clearSession(who) {
      const { token: _token, expiresAt: _expiresAt, ...rest } = read(who);
      write(rest);
    },
    conversationId(who) {
      const id = read(who).conversationId;
      return typeof id === 'string' ? id : null;
    },
    saveConversationId(who, id) {
      const { conversationId: _old, ...rest } = read(who);
      write(id === null ? rest : { ...rest, conversationId: id });
    },
    forget() {
      memory = null;
      try {
        storage?.removeItem(key);
      } catch {
        // Storage can be blocked; the in-memory copy is gone either way.
      }
    },
  };
}
