/**
 * Calling an outside listener (an event hook such as `onPiiDetected`): nothing it does — throwing,
 * or returning a promise that rejects — reaches the caller. A hook never fails the request that
 * fired it, and an async one that rejects never becomes an unhandled rejection (which ends the
 * process under Node's default).
 */
export type Listener<E> = (event: E) => unknown;

export function notifyListener<E>(listener: Listener<E> | undefined, event: E, onError: (error: unknown) => void = () => undefined): void {
  if (!listener) return;
  try {
    const result = listener(event);
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}
