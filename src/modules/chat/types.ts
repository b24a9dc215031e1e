import type { Principal } from '../../platform/http/principal.ts';

export interface Citation {
  title: string;
  url: string | null;
}

/** What a message exchange streams back: the same events over SSE and, gathered, as JSON. */
export type ChatEvent =
  | { type: 'meta'; conversationId: string; messageId: string }
  | { type: 'delta'; text: string }
  | { type: 'citations'; citations: Citation[] }
  | { type: 'done'; messageId: string }
  | { type: 'error'; code: string; message: string };

/** Who is talking: a widget visitor (origin-checked) or a server-side API caller. */
export type Caller =
  | { kind: 'visitor'; visitorId: string; sessionId: string; origin: string }
  | { kind: 'api'; principal: Principal; ip: string | null };

export interface ConversationRef {
  id: string;
  orgId: string;
  projectId: string;
  visitorId: string | null;
  /** The API key that started it, if one did. */
  apiKeyId: string | null;
}
