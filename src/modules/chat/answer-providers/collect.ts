/**
 * A whole answer gathered from a provider's stream, for the providers that answer in process
 * (see AnswerProvider.local): the message path then stores question and answer in one
 * transaction and replays the deltas afterwards. A failure is returned, not thrown, so the
 * question is still stored.
 */
import { AppError } from '../../../platform/http/errors.ts';
import type { AnswerInput, AnswerProvider, Citation } from './types.ts';

export type CollectedAnswer = { ok: true; deltas: string[]; text: string; citations: Citation[] } | { ok: false; error: AppError };

export async function collectAnswer(provider: AnswerProvider, input: AnswerInput): Promise<CollectedAnswer> {
  const deltas: string[] = [];
  let citations: Citation[] = [];
  try {
    for await (const event of provider.answer(input)) {
      if (event.type === 'delta') deltas.push(event.text);
      else citations = event.citations;
    }
  } catch (error) {
    return { ok: false, error: error instanceof AppError ? error : new AppError('provider_error', 'The answer provider failed.') };
  }
  return { ok: true, deltas, text: deltas.join(''), citations };
}
