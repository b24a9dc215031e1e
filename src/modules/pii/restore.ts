/**
 * restore(): puts the visitor's own values back into an answer. Only tokens the lookup knows
 * (the conversation's vault) are replaced; hash placeholders and unknown tokens stay as they are.
 */
const TOKEN_RE = /<[A-Z][A-Z_]{1,24}_\d{1,6}>/g;

export function restore(text: string, lookup: (token: string) => string | undefined): string {
  if (!text.includes('<')) return text;
  return text.replace(TOKEN_RE, (token) => lookup(token) ?? token);
}
