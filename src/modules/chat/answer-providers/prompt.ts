/**
 * The Chat Completions messages for one question: a system message (the project's prompt, the
 * rule to answer only from the passages and cite them, the numbered passages), the recent
 * conversation, then the question. Bounded: it never sends more than a fixed amount of text.
 */
import type { AnswerInput } from './types.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const maxHistoryTurns = 10;
const maxTurnChars = 4000;
const maxContextChars = 12_000;
const defaultPrompt = "You are a helpful assistant that answers questions about this project's documentation.";

function context(input: AnswerInput): string {
  if (input.passages.length === 0) {
    return 'No passages were found for this question. Say that you could not find an answer in the knowledge base.';
  }
  const parts: string[] = [];
  let used = 0;
  input.passages.forEach((p, i) => {
    const head = `[${i + 1}] ${p.title}${p.heading && p.heading !== p.title ? ` — ${p.heading}` : ''}`;
    const text = p.text.slice(0, Math.max(0, maxContextChars - used));
    if (!text) return;
    used += text.length;
    parts.push(`${head}\n${text}`);
  });
  return `Passages:\n\n${parts.join('\n\n')}`;
}

export function buildMessages(input: AnswerInput): ChatMessage[] {
  const system = [
    input.systemPrompt.trim() || defaultPrompt,
    'Answer using only the numbered passages below. Cite the passages you use as [1], [2] and so on. ' +
      'If they do not contain the answer, say plainly that you could not find it in the knowledge base; never guess.',
    context(input),
  ].join('\n\n');
  return [
    { role: 'system', content: system },
    ...input.history.slice(-maxHistoryTurns).map((t) => ({ role: t.role, content: t.content.slice(0, maxTurnChars) })),
    { role: 'user', content: input.question.slice(0, maxTurnChars) },
  ];
}
