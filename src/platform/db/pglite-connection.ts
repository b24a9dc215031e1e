/**
 * node-postgres's connection to an in-process PGlite, in place of PGlite's own adapter
 * (`@electric-sql/pglite/node-postgres`), with one difference: the messages of an extended-protocol
 * query (parse, bind, describe, execute) are held until its sync or flush and handed to the engine
 * together. PGlite's adapter entered the WASM engine once per message — five times for every
 * query — which cost about as much again as running a small query (0.16 ms vs 0.07 ms each).
 * Messages reach the engine in the order pg wrote them, and the replies come back in that order,
 * so pg sees exactly the conversation it would over a socket.
 */
import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';

type Message = { name: string };

export class BatchingPgliteConnection extends EventEmitter {
  // Read and written by pg's Client and Query.
  _connecting = false;
  parsedStatements: Record<string, string> = {};
  submittedNamedStatements: Record<string, string> = {};
  readonly stream = { destroy: (): void => this.end() };
  /** Messages waiting for the sync or flush that ends their query. */
  private pending: Uint8Array[] = [];
  /** Engine calls, one after another, in the order pg asked for them. */
  private queue: Promise<unknown>;
  private forwardAll = false;

  constructor(private readonly pglite: PGlite) {
    super();
    this.queue = pglite.waitReady;
    this.on('newListener', (event) => {
      if (event === 'message') this.forwardAll = true;
    });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.pglite.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  // Authentication and TLS do not apply in-process.
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    this.send(serialize.query(text));
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.hold(serialize.parse(query));
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.hold(serialize.bind(config));
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.hold(serialize.describe(msg));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.hold(serialize.execute(config));
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.hold(serialize.close(msg));
  }
  flush(): void {
    this.send(serialize.flush());
  }
  sync(): void {
    this.send(serialize.sync());
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.send(serialize.copyData(chunk));
  }
  endCopyFrom(): void {
    this.send(serialize.copyDone());
  }
  sendCopyFail(message: string): void {
    this.send(serialize.copyFail(message));
  }

  end(): void {
    this.pending = [];
    this.queue = this.queue.then(() => this.emit('end'));
    for (const event of this.eventNames()) if (event !== 'newListener') this.removeAllListeners(event);
    this.forwardAll = false;
  }

  private hold(message: Uint8Array): void {
    this.pending.push(message);
  }

  /** Sends what is held and this message in one call to the engine. */
  private send(message: Uint8Array): void {
    const batch = this.pending.length === 0 ? message : Buffer.concat([...this.pending, message]);
    this.pending = [];
    this.queue = this.queue
      .then(() => this.pglite.execProtocolStream(batch, { throwOnError: false }))
      .then((replies: Message[]) => {
        for (const reply of replies) {
          if (this.forwardAll) this.emit('message', reply);
          this.emit(reply.name === 'error' ? 'errorMessage' : reply.name, reply);
        }
      })
      .catch((error: unknown) => {
        this.emit('error', error);
      });
  }
}

/** A node-postgres Pool/Client config that talks to `pglite` through BatchingPgliteConnection. */
export function pgliteClientConfig(pglite: PGlite) {
  return {
    user: 'postgres',
    password: 'unused',
    database: 'postgres',
    host: 'localhost',
    port: 5432,
    connection: new BatchingPgliteConnection(pglite),
  };
}
