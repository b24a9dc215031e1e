/**
 * The answer-provider interface: given a question, the conversation so far, retrieved passages
 * and the project's system prompt, stream an answer as events. Implementations: extractive
 * (built-in, offline) and openai-compatible. A failure throws AppError('provider_error') with a
 * message safe to show; it never carries the provider's key or raw reply.
 */
export interface Passage {
  documentId: string;
  title: string;
  url: string | null;
  heading: string | null;
  text: string;
  score: number;
}

export interface HistoryTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface AnswerInput {
  question: string;
  history: HistoryTurn[];
  passages: Passage[];
  systemPrompt: string;
  signal?: AbortSignal;
}

export interface Citation {
  title: string;
  url: string | null;
}

export type AnswerEvent = { type: 'delta'; text: string } | { type: 'citations'; citations: Citation[] };

export interface AnswerProvider {
  /**
   * True when the answer is CPU work in this process (no network, no waiting): the message path
   * then answers inside its transaction and writes question and answer together.
   */
  readonly local?: boolean;
  answer(input: AnswerInput): AsyncIterable<AnswerEvent>;
}

/** The documents behind some passages, each once, in the order first used. */
export function citationsOf(passages: readonly Pick<Passage, 'documentId' | 'title' | 'url'>[]): Citation[] {
  const seen = new Set<string>();
  const citations: Citation[] = [];
  for (const p of passages) {
    if (seen.has(p.documentId)) continue;
    seen.add(p.documentId);
    citations.push({ title: p.title, url: p.url });
  }
  return citations;
}
