/** How an e-mail address is compared everywhere: accounts are found by it in this form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
