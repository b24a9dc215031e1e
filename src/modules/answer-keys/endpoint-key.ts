/**
 * Which key an openai-compatible answer endpoint receives: the project's own key if it stored
 * one; otherwise the operator's key, but only when the project's base URL is exactly the
 * operator's endpoint — an editor who points a project at their own server gets no key.
 */
import type { AnswerKeyService } from './service.ts';

export interface OperatorEndpoint {
  baseUrl: string;
  apiKey: string;
}

const normalise = (url: string): string => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
};

export function createEndpointKeyResolver(deps: { keys: Pick<AnswerKeyService, 'keyFor'>; operator: OperatorEndpoint | undefined }) {
  const operatorBase = deps.operator ? normalise(deps.operator.baseUrl) : undefined;
  return function keyFor(project: { orgId: string; id: string }, baseUrl: string): () => Promise<string | undefined> {
    return async () => {
      const own = await deps.keys.keyFor(project.orgId, project.id);
      if (own !== undefined) return own;
      return deps.operator && normalise(baseUrl) === operatorBase ? deps.operator.apiKey : undefined;
    };
  };
}
