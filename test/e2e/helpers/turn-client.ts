/**
 * A minimal TURN client over UDP (RFC 5389 STUN framing, RFC 5766 TURN,
 * long-term credentials), enough to prove that credentials MeetTime hands
 * out open a real relay: Allocate (challenged with 401, then answered with
 * USERNAME/REALM/NONCE/MESSAGE-INTEGRITY), CreatePermission, and data both
 * ways through Send and Data indications. IPv4 only; tests only.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;

export const METHOD = { BINDING: 0x001, ALLOCATE: 0x003, CREATE_PERMISSION: 0x008, SEND: 0x006, DATA: 0x007 } as const;
const CLASS = { REQUEST: 0x000, INDICATION: 0x010, SUCCESS: 0x100, ERROR: 0x110 } as const;
const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
} as const;

export interface Address {
  host: string;
  port: number;
}

interface StunMessage {
  method: number;
  cls: number;
  transactionId: Buffer;
  attributes: Map<number, Buffer>;
}

interface Credentials {
  username: string;
  realm: string;
  nonce: Buffer;
  key: Buffer;
}

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([header, value, padding]);
}

function xorAddress({ host, port }: Address): Buffer {
  const value = Buffer.alloc(8);
  value.writeUInt8(0x01, 1); // IPv4
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  const ip = host.split(".").reduce((acc, octet) => (acc << 8) | Number(octet), 0) >>> 0;
  value.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 4);
  return value;
}

function readXorAddress(value: Buffer): Address {
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
  return { host: [24, 16, 8, 0].map((shift) => (ip >>> shift) & 0xff).join("."), port };
}

function encode(method: number, cls: number, attributes: Buffer[], transactionId: Buffer, integrityKey?: Buffer) {
  const type = (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | cls;
  let body = Buffer.concat(attributes);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  if (integrityKey) {
    // The HMAC covers the message with its length already counting the MESSAGE-INTEGRITY attribute.
    header.writeUInt16BE(body.length + 24, 2);
    const mac = createHmac("sha1", integrityKey)
      .update(Buffer.concat([header, body]))
      .digest();
    body = Buffer.concat([body, attribute(ATTR.MESSAGE_INTEGRITY, mac)]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function decode(packet: Buffer): StunMessage | null {
  if (packet.length < HEADER_BYTES || packet.readUInt32BE(4) !== MAGIC_COOKIE) return null;
  const type = packet.readUInt16BE(0);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = type & 0x0110;
  const attributes = new Map<number, Buffer>();
  let offset = HEADER_BYTES;
  const end = HEADER_BYTES + packet.readUInt16BE(2);
  while (offset + 4 <= end) {
    const attrType = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (!attributes.has(attrType)) attributes.set(attrType, packet.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { method, cls, transactionId: packet.subarray(8, 20), attributes };
}

/** The error code of an error response (`401`, `438`…), or undefined. */
function errorCode(message: StunMessage): number | undefined {
  const value = message.attributes.get(ATTR.ERROR_CODE);
  return value ? (value.readUInt8(2) & 0x7) * 100 + value.readUInt8(3) : undefined;
}

export class TurnError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One client socket talking to one TURN server.
 * @example const client = await TurnClient.open(server); const relay = await client.allocate(username, password);
 */
export class TurnClient {
  private credentials: Credentials | undefined;
  private readonly inbox: StunMessage[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: Socket,
    private readonly server: Address,
  ) {
    socket.on("message", (packet) => {
      const message = decode(packet);
      if (!message) return;
      this.inbox.push(message);
      for (const wake of this.waiters) wake();
    });
  }

  static async open(server: Address): Promise<TurnClient> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new TurnClient(socket, server);
  }

  close(): void {
    this.socket.close();
  }

  /** A STUN Binding request: whether the server answers at all (readiness). */
  async binding(timeoutMs = 1_000): Promise<Address> {
    const response = await this.request(METHOD.BINDING, [], undefined, timeoutMs);
    return readXorAddress(this.required(response, ATTR.XOR_MAPPED_ADDRESS));
  }

  /**
   * Allocates a UDP relay with long-term credentials: the first request is
   * challenged (401 with REALM and NONCE), the second carries the answer.
   * Throws a `TurnError` with the server's code when it refuses.
   */
  async allocate(username: string, password: string): Promise<{ relayed: Address; lifetime: number }> {
    const transport = attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const challenge = await this.request(METHOD.ALLOCATE, [transport]);
    if (challenge.cls !== CLASS.ERROR || errorCode(challenge) !== 401) {
      throw new TurnError(errorCode(challenge), "the server did not challenge an unauthenticated Allocate");
    }
    const realm = this.required(challenge, ATTR.REALM).toString("utf8");
    this.credentials = {
      username,
      realm,
      nonce: this.required(challenge, ATTR.NONCE),
      key: createHash("md5").update(`${username}:${realm}:${password}`).digest(),
    };
    const response = await this.authenticated(METHOD.ALLOCATE, [transport]);
    return {
      relayed: readXorAddress(this.required(response, ATTR.XOR_RELAYED_ADDRESS)),
      lifetime: this.required(response, ATTR.LIFETIME).readUInt32BE(0),
    };
  }

  /** Lets `peer` send to the relay (and the relay to it). */
  async createPermission(peer: Address): Promise<void> {
    await this.authenticated(METHOD.CREATE_PERMISSION, [attribute(ATTR.XOR_PEER_ADDRESS, xorAddress(peer))]);
  }

  /** Sends `data` to `peer` through the relay (a Send indication). */
  send(peer: Address, data: Buffer): void {
    const message = encode(
      METHOD.SEND,
      CLASS.INDICATION,
      [attribute(ATTR.XOR_PEER_ADDRESS, xorAddress(peer)), attribute(ATTR.DATA, data)],
      randomBytes(12),
    );
    this.socket.send(message, this.server.port, this.server.host);
  }

  /** The next data the relay forwarded from a peer (a Data indication). */
  async received(timeoutMs = 5_000): Promise<{ from: Address; data: Buffer }> {
    const message = await this.waitFor(
      (m) => m.method === METHOD.DATA && m.cls === CLASS.INDICATION,
      "a Data indication",
      timeoutMs,
    );
    return {
      from: readXorAddress(this.required(message, ATTR.XOR_PEER_ADDRESS)),
      data: Buffer.from(this.required(message, ATTR.DATA)),
    };
  }

  private async authenticated(method: number, attributes: Buffer[]): Promise<StunMessage> {
    const credentials = this.credentials;
    if (!credentials) throw new Error("allocate first");
    const signed = [
      ...attributes,
      attribute(ATTR.USERNAME, Buffer.from(credentials.username, "utf8")),
      attribute(ATTR.REALM, Buffer.from(credentials.realm, "utf8")),
      attribute(ATTR.NONCE, credentials.nonce),
    ];
    const response = await this.request(method, signed, credentials.key);
    if (response.cls !== CLASS.SUCCESS) {
      const code = errorCode(response);
      const reason = response.attributes.get(ATTR.ERROR_CODE)?.subarray(4).toString("utf8");
      throw new TurnError(code, `refused with ${code} ${reason ?? ""}`.trim());
    }
    return response;
  }

  private async request(method: number, attributes: Buffer[], key?: Buffer, timeoutMs = 5_000): Promise<StunMessage> {
    const transactionId = randomBytes(12);
    this.socket.send(encode(method, CLASS.REQUEST, attributes, transactionId, key), this.server.port, this.server.host);
    return this.waitFor((m) => m.transactionId.equals(transactionId), `an answer to method ${method}`, timeoutMs);
  }

  private required(message: StunMessage, type: number): Buffer {
    const value = message.attributes.get(type);
    if (!value) throw new TurnError(errorCode(message), `the answer lacks attribute 0x${type.toString(16)}`);
    return value;
  }

  private waitFor(match: (m: StunMessage) => boolean, what: string, timeoutMs: number): Promise<StunMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.inbox.findIndex(match);
        if (index === -1) return;
        const [message] = this.inbox.splice(index, 1);
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(message as StunMessage);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}
