/**
 * The visitor's session token and conversation id, kept in localStorage per project so they
 * survive page loads. Everything is dropped when the identity changes, so one visitor never
 * continues another's conversation. Chat text is never stored here: the host page can read it.
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

  function read(who: string): Saved {
    let saved = memory;
    try {
      const raw = storage?.getItem(key);
      if (raw) saved = JSON.parse(raw) as Saved;
    } catch {
      // Storage can be blocked (sandboxed frames, privacy modes) or hold junk: fall back to memory.
    }
    return saved !== null && typeof saved === 'object' && saved.who === who ? saved : { who };
  }

  function write(saved: Saved): void {
    memory = saved;
    try {
      storage?.setItem(key, JSON.stringify(saved));
    } catch {
      // As above: the in-memory copy still serves this page.
    }
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
