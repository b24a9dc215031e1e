/**
 * Chooses a project's answer provider from its settings. The endpoint's API key never comes
 * from project settings: the caller passes it, or how to read it (modules/answer-keys).
 */
import type { ProjectSettings } from '../../projects/settings.ts';
import { createExtractiveProvider } from './extractive.ts';
import { createOpenAiCompatibleProvider, type OpenAiCompatibleOptions } from './openai-compatible.ts';
import type { AnswerProvider } from './types.ts';

export type { AnswerEvent, AnswerInput, AnswerProvider, Citation, HistoryTurn, Passage } from './types.ts';
export { noAnswer } from './extractive.ts';

export function createAnswerProvider(
  settings: ProjectSettings['answer'],
  config: { apiKey?: OpenAiCompatibleOptions['apiKey']; fetch?: typeof fetch } = {},
): AnswerProvider {
  if (settings.provider === 'extractive') return createExtractiveProvider();
  return createOpenAiCompatibleProvider({
    baseUrl: settings.baseUrl,
    model: settings.model,
    apiKey: config.apiKey,
    timeoutMs: settings.timeoutMs,
    ...(config.fetch ? { fetch: config.fetch } : {}),
  });
}
