/**
 * The built-in answerer: offline, no model. It quotes the sentences of the retrieved passages
 * that best match the question (meaningful words in common) and cites their documents. When no
 * passage is relevant enough it says so plainly: it never writes a sentence of its own about the
 * subject, so it cannot invent. Deterministic; well under a millisecond for a handful of passages.
 */
import { termsOf } from './terms.ts';
import type { AnswerEvent, AnswerInput, AnswerProvider, Passage } from './types.ts';

export const noAnswer = "I could not find an answer to that in this project's knowledge base.";

const maxPassages = 5;
const maxSentences = 3;
const maxSentenceChars = 400;

interface Candidate {
  text: string;
  score: number;
  passage: Passage;
  rank: number;
  position: number;
}

function sentencesOf(text: string): string[] {
  return text
    .split(/\n+|(?<=[.!?])\s+(?=["'(\[]?[\p{Lu}\p{N}])/u)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

function overlap(question: ReadonlySet<string>, terms: ReadonlySet<string>): number {
  let hits = 0;
  for (const term of terms) if (question.has(term)) hits += 1;
  return hits;
}

/** The quotable sentences, best first; empty when the passages do not answer the question. */
export function selectSentences(question: string, passages: readonly Passage[]): Candidate[] {
  const q = termsOf(question);
  if (q.size === 0) return [];
  const need = Math.max(1, Math.ceil(q.size / 2));
  const candidates: Candidate[] = [];
  passages.slice(0, maxPassages).forEach((passage, rank) => {
    const titleTerms = termsOf(`${passage.title} ${passage.heading ?? ''}`);
    const titleHits = overlap(q, titleTerms);
    // Each sentence's words are found once; the passage's are their union with the title's.
    const sentences = sentencesOf(passage.text).map((text) => ({ text, terms: termsOf(text) }));
    const passageTerms = new Set(titleTerms);
    for (const s of sentences) for (const term of s.terms) passageTerms.add(term);
    if (overlap(q, passageTerms) < need) return;
    sentences.forEach(({ text, terms }, position) => {
      const hits = overlap(q, terms);
      if (hits === 0 && titleHits < need) return;
      const score = (hits + 0.5 * titleHits) / q.size - 0.05 * rank - 0.01 * position;
      candidates.push({ text, score, passage, rank, position });
    });
  });
  candidates.sort((a, b) => b.score - a.score || a.rank - b.rank || a.position - b.position);
  const chosen: Candidate[] = [];
  for (const c of candidates) {
    if (chosen.length === maxSentences) break;
    if (chosen.some((x) => x.text === c.text)) continue;
    chosen.push(c.text.length > maxSentenceChars ? { ...c, text: `${c.text.slice(0, maxSentenceChars).replace(/\s+\S*$/, '')} …` } : c);
  }
  return chosen;
}

export function createExtractiveProvider(): AnswerProvider {
  return {
    local: true,
    async *answer(input: AnswerInput): AsyncGenerator<AnswerEvent> {
      const chosen = selectSentences(input.question, input.passages);
      if (chosen.length === 0) {
        yield { type: 'delta', text: noAnswer };
        return;
      }
      const documents: Passage[] = [];
      const numberOf = (p: Passage): number => {
        const at = documents.findIndex((d) => d.documentId === p.documentId);
        if (at >= 0) return at + 1;
        documents.push(p);
        return documents.length;
      };
      yield { type: 'delta', text: 'Here is what the knowledge base says:\n' };
      for (const c of chosen) {
        if (input.signal?.aborted) return;
        yield { type: 'delta', text: `\n- ${c.text} [${numberOf(c.passage)}]` };
      }
      yield { type: 'citations', citations: documents.map((d) => ({ title: d.title, url: d.url })) };
    },
  };
}
