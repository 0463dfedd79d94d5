// Types of @socketcore/client: the socket.io-client 4.8 API it implements.

export type Listener = (...args: any[]) => void;

export declare class Emitter {
  on(event: string, fn: Listener): this;
  once(event: string, fn: Listener): this;
  off(event?: string, fn?: Listener): this;
  removeListener(event?: string, fn?: Listener): this;
  removeAllListeners(event?: string): this;
  listeners(event: string): Listener[];
  hasListeners(event: string): boolean;
}

export interface ManagerOptions {
  /** Engine.IO path, default "/socket.io". */
  path?: string;
  /** Extra query parameters of every request. */
  query?: string | Record<string, string> | URLSearchParams;
  /** Transports in order, default ["polling", "websocket"]. */
  transports?: ("polling" | "websocket")[];
  upgrade?: boolean;
  rememberUpgrade?: boolean;
  tryAllTransports?: boolean;
  timestampRequests?: boolean;
  /** Headers of every HTTP request and (outside browsers) of the WebSocket handshake. */
  extraHeaders?: Record<string, string>;
  withCredentials?: boolean;
  reconnection?: boolean;
  reconnectionAttempts?: number;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  randomizationFactor?: number;
  /** Handshake timeout in ms (false: none), default 20000. */
  timeout?: number | false;
  autoConnect?: boolean;
  /** Unref the SDK's timer in Node. */
  autoUnref?: boolean;
  /** core.wasm: a URL, a compiled module (workerd: the imported .wasm module), a Response or bytes; default ./core.wasm next to the SDK. */
  wasm?: string | URL | WebAssembly.Module | Response | BufferSource;
  /** A WebSocket constructor (default globalThis.WebSocket). */
  WebSocket?: any;
}

export interface SocketOptions {
  /** The CONNECT payload, or a function called before every connection: auth(cb). */
  auth?: Record<string, any> | ((cb: (data: Record<string, any>) => void) => void);
  /** Emits become at-least-once: each waits for its acknowledgement, retried up to this many times. */
  retries?: number;
  /** Default acknowledgement timeout in ms. */
  ackTimeout?: number;
}

export declare class Manager extends Emitter {
  constructor(uri?: string | URL, opts?: Partial<ManagerOptions>);
  /**
   * The Engine.IO connection. close() drops it as a lost connection would:
   * sockets disconnect with "forced close" and the manager reconnects
   * (disconnect() closes for good).
   */
  readonly engine: Emitter & { id?: string; transport?: { name: string }; upgrading: boolean; close(): void };
  readonly nsps: Record<string, Socket>;
  socket(nsp: string, opts?: Partial<SocketOptions>): Socket;
  open(fn?: (err?: Error) => void): this;
  connect(fn?: (err?: Error) => void): this;
  disconnect(): void;
  close(): void;
  reconnection(): boolean;
  reconnectionAttempts(): number;
  reconnectionDelay(): number;
  reconnectionDelayMax(): number;
  timeout(): number | false;
}

export type DisconnectReason =
  | "io server disconnect"
  | "io client disconnect"
  | "ping timeout"
  | "transport close"
  | "transport error"
  | "parse error"
  | "forced close";

export declare class Socket extends Emitter {
  readonly io: Manager;
  readonly nsp: string;
  id: string | undefined;
  connected: boolean;
  recovered: boolean;
  readonly disconnected: boolean;
  readonly active: boolean;
  auth: SocketOptions["auth"];
  connect(): this;
  open(): this;
  disconnect(): this;
  close(): this;
  /**
   * Sends an event; a function as last argument receives the acknowledgement.
   * ArrayBuffer, typed arrays and Blob travel as binary at any depth (a Blob
   * is read first; the events after it keep their order). Binary arrives as
   * ArrayBuffer (Buffer in Node).
   */
  emit(event: string, ...args: any[]): this;
  emitWithAck(event: string, ...args: any[]): Promise<any>;
  send(...args: any[]): this;
  timeout(ms: number): this;
  readonly volatile: this;
  compress(compress: boolean): this;
  onAny(fn: (event: string, ...args: any[]) => void): this;
  prependAny(fn: (event: string, ...args: any[]) => void): this;
  offAny(fn?: (event: string, ...args: any[]) => void): this;
  listenersAny(): ((event: string, ...args: any[]) => void)[];
  onAnyOutgoing(fn: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(fn: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(fn?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): ((event: string, ...args: any[]) => void)[];
  on(event: "connect", fn: () => void): this;
  on(event: "connect_error", fn: (err: Error & { data?: any }) => void): this;
  on(event: "disconnect", fn: (reason: DisconnectReason, description?: string) => void): this;
  on(event: string, fn: Listener): this;
}

/** The socket of url's namespace, on a Manager shared by url's server unless forceNew or multiplex: false. */
export declare function io(uri?: string | URL, opts?: Partial<ManagerOptions & SocketOptions & { forceNew?: boolean; multiplex?: boolean }>): Socket;
export declare function io(opts: Partial<ManagerOptions & SocketOptions & { forceNew?: boolean; multiplex?: boolean }>): Socket;
export { io as connect };
export default io;
export declare const protocol: 5;
/** Compiles (and caches) core.wasm ahead of the first connection. */
export declare function loadCore(src?: string | URL | WebAssembly.Module | Response | BufferSource): Promise<WebAssembly.Module>;
