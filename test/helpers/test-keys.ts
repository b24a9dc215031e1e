/**
 * Fixed master keys for tests (never for a deployment): every test app and spawned instance of
 * one run shares TEST_MASTER_KEY, so instances on one database read each other's keys.
 */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_MASTER_KEY_2 = Buffer.alloc(32, 9).toString('base64');
