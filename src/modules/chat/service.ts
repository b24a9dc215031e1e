/**
 * Conversations and the path of one message: conversation → (PII tokenisation) → the visitor's
 * message stored encrypted → retrieval → the answer provider, streamed → the answer stored
 * encrypted. Never stores or logs plaintext content, and never hands the provider anything but
 * the (tokenised) text of this conversation and the project's own passages.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import type { Clock } from '../../platform/clock.ts';
import { unlessErased, type ErasureCheck } from '../../platform/crypto/erasure.ts';
import { AppError } from '../../platform/http/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { PublicProject } from '../projects/directory.ts';
import { collectAnswer } from './answer-providers/collect.ts';
import { citationsOf, type AnswerInput, type AnswerProvider, type HistoryTurn, type Passage } from './answer-providers/types.ts';
import type { ChatStore, ConversationRow, MessageRow, MessageTarget } from './store.ts';
import type { ContentCipher } from './content-cipher.ts';
import type { PiiService } from '../pii/service.ts';
import { countTypes, type PiiDetectedEvent } from '../pii/events.ts';
import { notifyListener, type Listener } from '../../platform/listeners.ts';
import type { AuditService } from '../audit/service.ts';
import { actorOf, type Outbox, type OutboxEvent } from '../../platform/outbox.ts';
import type { Caller, ChatEvent, Citation, ConversationRef } from './types.ts';

const HISTORY_MESSAGES = 10;
const PASSAGES = 5;
/**
 * The most of an answer that is shown and stored: far more than any helpful chat answer, and a
 * bound on what each later message and history page decrypts (a project's provider is whatever
 * endpoint its owner names, and could stream a megabyte per answer).
 */
export const MAX_ANSWER_CHARS = 32_000;

export interface Retriever {
  /** Inside the message's own tenant transaction: one transaction writes and retrieves. */
  searchWithin(tx: Tx, projectId: string, query: string, limit: number): Promise<Passage[]>;
}

export function createChatService(deps: {
  db: Kysely<DB>;
  store: ChatStore;
  cipher: ContentCipher;
  retriever: Retriever;
  providerFor: (project: PublicProject) => AnswerProvider;
  pii: Pick<PiiService, 'protect'>;
  /** Whether content that failed to decrypt was erased (crypto-shredding) rather than lost. */
  erased: ErasureCheck;
  clock: Clock;
  /** Records, with the message, an organisation caller writing into a visitor's conversation. */
  audit: Pick<AuditService, 'record'>;
  /** The `pii.detected` hook: counts per entity type after the message is stored, never values. */
  onPiiDetected?: Listener<PiiDetectedEvent> | undefined;
  /** Where `pii.detected` goes for webhooks, in the message's own transaction (modules/webhooks). */
  outbox?: Outbox | undefined;
  /** Where a failing hook is reported (it never fails the message). */
  onHookError?: (error: unknown) => void;
}) {
  const { db, store, cipher, erased } = deps;

  const subjectOf = (c: { id: string; visitorId: string | null }): string => c.visitorId ?? c.id;
  const mayContinue = (project: PublicProject, caller: Caller, c: ConversationRef): boolean =>
    c.projectId === project.id && (caller.kind === 'api' || c.visitorId === caller.visitorId);

  function newConversation(project: PublicProject, caller: Caller): ConversationRef & { row: ConversationRow } {
    const id = newId('conv');
    const visitorId = caller.kind === 'visitor' ? caller.visitorId : null;
    const apiKeyId = caller.kind === 'api' && caller.principal.kind === 'api_key' ? caller.principal.keyId : null;
    return {
      id,
      orgId: project.orgId,
      projectId: project.id,
      visitorId,
      apiKeyId,
      row: {
        id,
        org_id: project.orgId,
        project_id: project.id,
        visitor_id: visitorId,
        api_key_id: apiKeyId,
        origin: caller.kind === 'visitor' ? caller.origin : null,
      },
    };
  }

  /** An empty conversation, for the API (a visitor's starts with their first message). */
  async function startConversation(project: PublicProject, caller: Extract<Caller, { kind: 'api' }>): Promise<ConversationRef> {
    const { row, ...conversation } = newConversation(project, caller);
    await withTenant(db, project.orgId, (tx) => store.insertConversation(tx, row));
    return conversation;
  }

  /** A conversation this caller may continue: same project, and for visitors the same visitor. */
  async function conversationFor(project: PublicProject, caller: Caller, conversationId: string): Promise<ConversationRef> {
    const found = await store.findConversation(db, conversationId);
    if (!found || !mayContinue(project, caller, found)) throw new AppError('not_found', 'This conversation does not exist.');
    return found;
  }

  type StoredMessage = Awaited<ReturnType<ChatStore['recentMessages']>>[number];

  /** Oldest first, decrypted; messages whose subject was erased (crypto-shredding) are left out. */
  async function readable(orgId: string, rows: StoredMessage[]) {
    const messages = await Promise.all(
      rows.reverse().map(async (m) => {
        const content = await unlessErased(erased, orgId, m.content, (c) => cipher.decrypt(c, { orgId, table: 'messages', column: 'content', rowId: m.id }));
        return content === undefined ? undefined : { id: m.id, role: m.role, content, citations: m.citations, createdAt: new Date(m.created_at).toISOString() };
      }),
    );
    return messages.filter((m) => m !== undefined);
  }

  /**
   * A page of the conversation, oldest first: the newest `limit` messages, or those before the
   * message `before`; `nextBefore` names the page before this one (null on the first message).
   */
  async function history(conversation: ConversationRef, page: { limit?: number | undefined; before?: string | undefined } = {}) {
    const limit = page.limit ?? 100;
    const rows = await withTenant(db, conversation.orgId, (tx) => store.recentMessages(tx, conversation.id, limit, page.before));
    const nextBefore = rows.length === limit ? (rows.at(-1)?.id ?? null) : null;
    return { messages: await readable(conversation.orgId, rows), nextBefore };
  }

  /**
   * A conversation this caller may continue, with its recent turns, in one tenant transaction.
   * Row-level security hides another organisation's conversation there, so it gets the same 404
   * as an id that never existed.
   */
  async function continuation(project: PublicProject, caller: Caller, conversationId: string): Promise<{ conversation: ConversationRef; past: HistoryTurn[] }> {
    const found = await withTenant(db, project.orgId, async (tx) => {
      const conversation = await store.findConversation(tx, conversationId);
      if (!conversation || !mayContinue(project, caller, conversation)) return undefined;
      return { conversation, rows: await store.recentMessages(tx, conversation.id, HISTORY_MESSAGES) };
    });
    if (!found) throw new AppError('not_found', 'This conversation does not exist.');
    const messages = await readable(project.orgId, found.rows);
    // Its person was erased: the conversation is gone for everyone (the widget starts a new one).
    if (messages.length < found.rows.length) throw new AppError('not_found', 'This conversation does not exist.');
    const past = messages.map((m) => ({ role: m.role, content: m.content }));
    return { conversation: found.conversation, past };
  }

  async function* sendMessage(input: {
    project: PublicProject;
    caller: Caller;
    conversationId?: string | undefined;
    content: string;
    signal?: AbortSignal;
  }): AsyncGenerator<ChatEvent> {
    const { project, caller } = input;
    const orgId = project.orgId;
    // A new conversation is written in the same statement as its first message.
    const fresh = input.conversationId ? undefined : newConversation(project, caller);
    const { conversation, past } = fresh ? { conversation: fresh, past: [] } : await continuation(project, caller, input.conversationId ?? '');
    const target: MessageTarget = fresh ? { open: fresh.row } : { touch: { conversationId: conversation.id, at: deps.clock.now() } };
    const subject = subjectOf(conversation);
    const aad = (rowId: string) => ({ orgId, table: 'messages', column: 'content', rowId });
    // The key is resolved here, outside any transaction: the answer is sealed inside one.
    const seal = await cipher.sealer({ orgId, subjectId: subject });
    const sealed = (rowId: string, text: string) => seal(text, aad(rowId));

    const callerIsSubject = caller.kind === 'visitor' && caller.visitorId === conversation.visitorId;
    const shielded = await deps.pii.protect({
      orgId,
      conversationId: conversation.id,
      subjectId: subject,
      text: input.content,
      policy: project.settings.pii,
      newConversation: Boolean(fresh),
      callerIsSubject,
      matchEarlierValues: callerIsSubject || conversation.visitorId === null,
    });
    const questionId = newId('msg');
    const question: MessageRow = { id: questionId, org_id: orgId, conversation_id: conversation.id, role: 'user', content: sealed(questionId, shielded.text), citations: [] };
    const answerId = newId('msg');
    const answerRow = (text: string, citations: Citation[]): MessageRow => ({
      id: answerId,
      org_id: orgId,
      conversation_id: conversation.id,
      role: 'assistant',
      content: sealed(answerId, text),
      citations,
    });
    const provider = deps.providerFor(project);
    const answerInput = (passages: Passage[]): AnswerInput => ({
      question: shielded.text,
      history: past,
      passages,
      systemPrompt: project.settings.answer.systemPrompt,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    // The organisation's own caller (an API key, a signed-in user) writing into a visitor's
    // conversation: the message is stored as the visitor's turn, so who wrote it is recorded with it.
    const recordIntervention = async (tx: Tx): Promise<void> => {
      if (caller.kind !== 'api' || conversation.visitorId === null) return;
      await deps.audit.record(tx, { orgId, actor: caller.principal, action: 'conversation.message_added', target: { type: 'conversation', id: conversation.id }, ip: caller.ip, metadata: { messageId: questionId } });
    };
    // pii.detected for webhooks: written with the message, so it is sent exactly when the message
    // was stored. Counts per type only, as the hook gets them.
    const queuePiiEvent = async (tx: Tx): Promise<void> => {
      if (!deps.outbox || !shielded.findings.length) return;
      const event: OutboxEvent = {
        id: newId('evt'),
        type: 'pii.detected',
        createdAt: deps.clock.now().toISOString(),
        orgId,
        // A visitor is not named (the conversation is); the organisation's own callers are, as in the audit log.
        actor: caller.kind === 'visitor' ? { type: 'visitor', id: null } : actorOf(caller.principal),
        target: { type: 'conversation', id: conversation.id },
        data: { projectId: project.id, messageId: questionId, types: countTypes(shielded.findings) },
      };
      await deps.outbox(tx, event);
    };
    const reportPii = (): void => {
      if (!shielded.findings.length) return;
      notifyListener(deps.onPiiDetected, { orgId, projectId: project.id, conversationId: conversation.id, types: countTypes(shielded.findings) }, deps.onHookError);
    };

    if (provider.local) {
      // An in-process answer is CPU work: one transaction retrieves, answers, and stores the
      // question with its answer (one statement), instead of a transaction on each side of it.
      const answer = await withTenant(db, orgId, async (tx) => {
        const passages = await deps.retriever.searchWithin(tx, project.id, shielded.text, PASSAGES);
        const collected = await collectAnswer(provider, answerInput(passages));
        // An answer cut short because the client went away is not stored as one (as below).
        const complete = collected.ok && !input.signal?.aborted;
        await store.recordMessages(tx, target, complete ? [question, answerRow(collected.text, collected.citations)] : [question]);
        await shielded.persist(tx);
        await recordIntervention(tx);
        await queuePiiEvent(tx);
        return collected;
      });
      reportPii();
      yield { type: 'meta', conversationId: conversation.id, messageId: answerId };
      if (!answer.ok) {
        yield { type: 'error', code: answer.error.code, message: answer.error.message };
        return;
      }
      const restorer = shielded.restorer();
      for (const text of answer.deltas) {
        const visible = restorer.push(text);
        if (visible) yield { type: 'delta', text: visible };
      }
      const tail = restorer.flush();
      if (tail) yield { type: 'delta', text: tail };
      if (answer.citations.length) yield { type: 'citations', citations: answer.citations };
      yield { type: 'done', messageId: answerId };
      return;
    }

    // A remote provider streams for seconds and may fail: the question is stored first, in the
    // transaction that retrieves its passages, and the answer once it is complete.
    const passages = await withTenant(db, orgId, async (tx) => {
      await store.recordMessages(tx, target, [question]);
      await shielded.persist(tx);
      await recordIntervention(tx);
      await queuePiiEvent(tx);
      return deps.retriever.searchWithin(tx, project.id, shielded.text, PASSAGES);
    });
    reportPii();
    yield { type: 'meta', conversationId: conversation.id, messageId: answerId };

    const restorer = shielded.restorer();
    let answer = '';
    let citations: Citation[] = [];
    try {
      for await (const event of provider.answer(answerInput(passages))) {
        if (event.type === 'delta') {
          const text = event.text.slice(0, MAX_ANSWER_CHARS - answer.length);
          answer += text;
          const visible = restorer.push(text);
          if (visible) yield { type: 'delta', text: visible };
          // Leaving the loop ends the provider's generator, which closes its request; its citations
          // would have come at the end: those of the passages it was given.
          if (answer.length >= MAX_ANSWER_CHARS) {
            if (citations.length === 0) citations = citationsOf(passages);
            break;
          }
        } else {
          citations = event.citations;
        }
      }
    } catch (error) {
      const e = error instanceof AppError ? error : new AppError('provider_error', 'The answer provider failed.');
      yield { type: 'error', code: e.code, message: e.message };
      return;
    }
    // The client went away mid-answer: what arrived is not an answer and, stored, would be
    // replayed to the provider as one. The question stays, unanswered, as after a provider failure.
    if (input.signal?.aborted) return;
    const tail = restorer.flush();
    if (tail) yield { type: 'delta', text: tail };

    const stored = answerRow(answer, citations);
    await withTenant(db, orgId, (tx) => store.recordMessages(tx, { touch: { conversationId: conversation.id, at: deps.clock.now() } }, [stored]));
    if (citations.length) yield { type: 'citations', citations };
    yield { type: 'done', messageId: answerId };
  }

  return { startConversation, conversationFor, sendMessage, history, findConversation: (id: string) => store.findConversation(db, id) };
}

export type ChatService = ReturnType<typeof createChatService>;
