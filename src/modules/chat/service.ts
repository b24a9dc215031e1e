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
import { AppError } from '../../platform/http/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { PublicProject } from '../projects/directory.ts';
import type { AnswerProvider, Passage } from './answer-providers/types.ts';
import type { ChatStore, ConversationRow } from './store.ts';
import type { ContentCipher } from './content-cipher.ts';
import type { PiiService } from '../pii/service.ts';
import { countTypes, type PiiDetectedEvent } from '../pii/events.ts';
import type { Caller, ChatEvent, Citation, ConversationRef } from './types.ts';

const HISTORY_MESSAGES = 10;
const PASSAGES = 5;

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
  clock: Clock;
  /** The `pii.detected` hook: counts per entity type after the message is stored, never values. */
  onPiiDetected?: ((event: PiiDetectedEvent) => void) | undefined;
}) {
  const { db, store, cipher } = deps;

  const subjectOf = (c: { id: string; visitorId: string | null }): string => c.visitorId ?? c.id;

  function newConversation(project: PublicProject, caller: Caller): ConversationRef & { row: ConversationRow } {
    const id = newId('conv');
    const visitorId = caller.kind === 'visitor' ? caller.visitorId : null;
    return {
      id,
      orgId: project.orgId,
      projectId: project.id,
      visitorId,
      row: {
        id,
        org_id: project.orgId,
        project_id: project.id,
        visitor_id: visitorId,
        api_key_id: caller.kind === 'api' && caller.principal.kind === 'api_key' ? caller.principal.keyId : null,
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
    const mine = found && found.projectId === project.id && (caller.kind === 'api' || found.visitorId === caller.visitorId);
    if (!found || !mine) throw new AppError('not_found', 'This conversation does not exist.');
    return found;
  }

  async function history(conversation: ConversationRef, limit = 100) {
    const rows = await withTenant(db, conversation.orgId, (tx) => store.recentMessages(tx, conversation.id, limit));
    const messages = await Promise.all(
      rows.reverse().map(async (m) => ({
        id: m.id,
        role: m.role,
        content: await cipher.decrypt(m.content, { orgId: conversation.orgId, table: 'messages', column: 'content', rowId: m.id }),
        citations: m.citations,
        createdAt: new Date(m.created_at).toISOString(),
      })),
    );
    return messages;
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
    // A new conversation is written in the same transaction as its first message.
    const fresh = input.conversationId ? undefined : newConversation(project, caller);
    const conversation = fresh ?? (await conversationFor(project, caller, input.conversationId ?? ''));
    const subject = subjectOf(conversation);
    const aad = (rowId: string) => ({ orgId, table: 'messages', column: 'content', rowId });

    const past = input.conversationId ? await history(conversation, HISTORY_MESSAGES) : [];
    const shielded = await deps.pii.protect({
      orgId,
      conversationId: conversation.id,
      subjectId: subject,
      text: input.content,
      policy: project.settings.pii,
      newConversation: Boolean(fresh),
    });

    const userMessageId = newId('msg');
    const userCiphertext = await cipher.encrypt(shielded.text, aad(userMessageId), { orgId, subjectId: subject });
    const userMessage = { id: userMessageId, org_id: orgId, conversation_id: conversation.id, role: 'user' as const, content: userCiphertext, citations: [] };
    // One transaction stores the visitor's (tokenised) message and retrieves the passages.
    const passages = await withTenant(db, orgId, async (tx) => {
      if (fresh) await store.openConversation(tx, fresh.row, userMessage);
      else {
        await store.insertMessage(tx, userMessage);
        await store.touchConversation(tx, conversation.id, deps.clock.now());
      }
      await shielded.persist(tx);
      return deps.retriever.searchWithin(tx, project.id, shielded.text, PASSAGES);
    });
    if (shielded.findings.length && deps.onPiiDetected) {
      const event = { orgId, projectId: project.id, conversationId: conversation.id, types: countTypes(shielded.findings) };
      try {
        deps.onPiiDetected(event);
      } catch {
        // A listener's failure must not fail the visitor's message.
      }
    }

    const answerId = newId('msg');
    yield { type: 'meta', conversationId: conversation.id, messageId: answerId };

    const provider = deps.providerFor(project);
    const restorer = shielded.restorer();
    let answer = '';
    let citations: Citation[] = [];
    try {
      for await (const event of provider.answer({
        question: shielded.text,
        history: past.map((m) => ({ role: m.role, content: m.content })),
        passages,
        systemPrompt: project.settings.answer.systemPrompt,
        ...(input.signal ? { signal: input.signal } : {}),
      })) {
        if (event.type === 'delta') {
          answer += event.text;
          const visible = restorer.push(event.text);
          if (visible) yield { type: 'delta', text: visible };
        } else {
          citations = event.citations;
        }
      }
    } catch (error) {
      const e = error instanceof AppError ? error : new AppError('provider_error', 'The answer provider failed.');
      yield { type: 'error', code: e.code, message: e.message };
      return;
    }
    const tail = restorer.flush();
    if (tail) yield { type: 'delta', text: tail };

    const answerCiphertext = await cipher.encrypt(answer, aad(answerId), { orgId, subjectId: subject });
    await withTenant(db, orgId, (tx) =>
      store.insertMessage(tx, { id: answerId, org_id: orgId, conversation_id: conversation.id, role: 'assistant', content: answerCiphertext, citations }),
    );
    if (citations.length) yield { type: 'citations', citations };
    yield { type: 'done', messageId: answerId };
  }

  return { startConversation, conversationFor, sendMessage, history, findConversation: (id: string) => store.findConversation(db, id) };
}

export type ChatService = ReturnType<typeof createChatService>;
