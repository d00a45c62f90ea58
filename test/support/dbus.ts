import { once } from 'node:events';
import net from 'node:net';

/**
 * A D-Bus connection, written from the specification for the tests' notification shade
 * (notification-shade.ts): SASL EXTERNAL, little-endian messages, the basic types, arrays,
 * structs and variants; no Unix file descriptors. Method calls to it are answered by one function.
 */

export type Value = string | number | boolean | bigint | Value[] | { sig: string; value: Value };

/** Each type's alignment, by its signature code. */
// prettier-ignore
const ALIGN: Record<string, number> = {
  y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, a: 4, '(': 8, '{': 8, v: 1,
};

/** The end of the one complete type that starts at sig[i]. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === undefined) throw new Error(`truncated signature ${sig}`);
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c !== '(' && c !== '{') return i + 1;
  let j = i + 1;
  while (sig[j] !== (c === '(' ? ')' : '}')) j = typeEnd(sig, j);
  return j + 1;
}

function types(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; i = typeEnd(sig, i)) out.push(sig.slice(i, typeEnd(sig, i)));
  return out;
}

class Writer {
  buf = Buffer.alloc(512);
  len = 0;

  private room(n: number): void {
    if (this.len + n > this.buf.length)
      this.buf = Buffer.concat([this.buf, Buffer.alloc(this.buf.length + n)]);
  }
  private align(n: number): void {
    this.room(n);
    while (this.len % n) this.buf[this.len++] = 0;
  }
  private u32(n: number): void {
    this.align(4);
    this.buf.writeUInt32LE(n, this.len);
    this.len += 4;
  }
  private bytes(b: Buffer): void {
    this.room(b.length + 1);
    b.copy(this.buf, this.len);
    this.len += b.length;
    this.buf[this.len++] = 0;
  }

  write(sig: string, v: Value): void {
    const c = sig[0]!;
    if (c === 'y') {
      this.room(1);
      this.buf[this.len++] = v as number;
    } else if (c === 'b' || c === 'u') this.u32(c === 'b' ? Number(v) : (v as number));
    else if (c === 's' || c === 'o') {
      const b = Buffer.from(v as string);
      this.u32(b.length);
      this.bytes(b);
    } else if (c === 'g') {
      this.write('y', (v as string).length);
      this.bytes(Buffer.from(v as string));
    } else if (c === 'v') {
      const { sig: inner, value } = v as { sig: string; value: Value };
      this.write('g', inner);
      this.write(inner, value);
    } else if (c === 'a') {
      this.u32(0);
      const at = this.len - 4;
      this.align(ALIGN[sig[1]!]!);
      const start = this.len;
      for (const item of v as Value[]) this.write(sig.slice(1), item);
      this.buf.writeUInt32LE(this.len - start, at);
    } else if (c === '(' || c === '{') {
      this.align(8);
      types(sig.slice(1, -1)).forEach((t, k) => this.write(t, (v as Value[])[k]!));
    } else throw new Error(`cannot write D-Bus type ${c}`);
  }
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
  ) {}

  read(sig: string): Value {
    const c = sig[0]!;
    const a = ALIGN[c];
    if (a === undefined) throw new Error(`cannot read D-Bus type ${c}`);
    this.pos = Math.ceil(this.pos / a) * a;
    const at = this.pos;
    this.pos += a; // the fixed-size types; the others set pos themselves
    switch (c) {
      case 'y':
        return this.buf[at]!;
      case 'b':
        return this.buf.readUInt32LE(at) !== 0;
      case 'n':
        return this.buf.readInt16LE(at);
      case 'q':
        return this.buf.readUInt16LE(at);
      case 'i':
        return this.buf.readInt32LE(at);
      case 'u':
      case 'h':
        return this.buf.readUInt32LE(at);
      case 'x':
        return this.buf.readBigInt64LE(at);
      case 't':
        return this.buf.readBigUInt64LE(at);
      case 'd':
        return this.buf.readDoubleLE(at);
      case 's':
      case 'o':
      case 'g': {
        const n = c === 'g' ? this.buf[at]! : this.buf.readUInt32LE(at);
        this.pos = at + (c === 'g' ? 1 : 4) + n + 1;
        return this.buf.toString('utf8', this.pos - n - 1, this.pos - 1);
      }
      case 'v': {
        this.pos = at;
        const inner = this.read('g') as string;
        return { sig: inner, value: this.read(inner) };
      }
      case 'a': {
        const n = this.buf.readUInt32LE(at);
        const a2 = ALIGN[sig[1]!]!;
        this.pos = Math.ceil(this.pos / a2) * a2;
        const end = this.pos + n;
        const items: Value[] = [];
        while (this.pos < end) items.push(this.read(sig.slice(1)));
        return items;
      }
      default:
        this.pos = at;
        return types(sig.slice(1, -1)).map((t) => this.read(t));
    }
  }
}

export interface Message {
  type: number; // 1 call, 2 return, 3 error, 4 signal
  flags: number;
  serial: number;
  path?: string;
  iface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  body: Value[];
}

const FIELDS = [
  ['path', 1, 'o'],
  ['iface', 2, 's'],
  ['member', 3, 's'],
  ['errorName', 4, 's'],
  ['replySerial', 5, 'u'],
  ['destination', 6, 's'],
  ['sender', 7, 's'],
  ['signature', 8, 'g'],
] as const;

function encode(m: Message): Buffer {
  const body = new Writer();
  types(m.signature).forEach((t, k) => body.write(t, m.body[k]!));
  const fields: Value[] = [];
  for (const [key, code, sig] of FIELDS) {
    const value = m[key];
    if (value !== undefined && value !== '') fields.push([code, { sig, value }]);
  }
  const head = new Writer();
  for (const byte of [0x6c, m.type, m.flags, 1]) head.write('y', byte);
  head.write('u', body.len);
  head.write('u', m.serial);
  head.write('a(yv)', fields);
  const padded = Math.ceil(head.len / 8) * 8;
  return Buffer.concat([
    head.buf.subarray(0, head.len),
    Buffer.alloc(padded - head.len),
    body.buf.subarray(0, body.len),
  ]);
}

/** The first message in `buf` and its size, once all of it is there. */
function decode(buf: Buffer): { message: Message; size: number } | undefined {
  if (buf.length < 16) return undefined;
  if (buf[0] !== 0x6c) throw new Error('a big-endian D-Bus message: not spoken here');
  const bodyStart = Math.ceil((16 + buf.readUInt32LE(12)) / 8) * 8;
  const size = bodyStart + buf.readUInt32LE(4);
  if (buf.length < size) return undefined;
  const reader = new Reader(buf.subarray(0, size), 12);
  const m: Message = { type: buf[1]!, flags: buf[2]!, serial: buf.readUInt32LE(8), signature: '', body: [] };
  for (const [code, variant] of reader.read('a(yv)') as [number, { value: Value }][]) {
    const field = FIELDS.find((f) => f[1] === code);
    if (field) Object.assign(m, { [field[0]]: variant.value });
  }
  reader.pos = bodyStart;
  m.body = types(m.signature).map((t) => reader.read(t));
  return { message: m, size };
}

export class Bus {
  private serial = 0;
  private input = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve(v: Value[]): void; reject(e: Error): void }>();

  private constructor(
    private readonly socket: net.Socket,
    private readonly answer: (call: Message) => [string, Value[]],
  ) {
    socket.on('data', (d: Buffer) => this.receive(d));
    socket.on('error', () => undefined);
  }

  /** Connects and authenticates as this user (SASL EXTERNAL). */
  static async connect(socketPath: string, answer: (call: Message) => [string, Value[]]): Promise<Bus> {
    const socket = net.connect(socketPath);
    await once(socket, 'connect');
    const uid = Buffer.from(String(process.getuid!())).toString('hex');
    socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    let reply = '';
    while (!reply.includes('\r\n')) reply += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1');
    if (!reply.startsWith('OK ')) throw new Error(`D-Bus refused us: ${reply.trim()}`);
    socket.write('BEGIN\r\n');
    return new Bus(socket, answer);
  }

  call(
    destination: string,
    path: string,
    iface: string,
    member: string,
    signature = '',
    body: Value[] = [],
  ): Promise<Value[]> {
    const serial = ++this.serial;
    const reply = new Promise<Value[]>((resolve, reject) => this.pending.set(serial, { resolve, reject }));
    this.socket.write(
      encode({ type: 1, flags: 0, serial, destination, path, iface, member, signature, body }),
    );
    return reply;
  }

  signal(path: string, iface: string, member: string, signature: string, body: Value[]): void {
    this.socket.write(
      encode({ type: 4, flags: 0, serial: ++this.serial, path, iface, member, signature, body }),
    );
  }

  end(): void {
    this.socket.end();
  }

  private receive(data: Buffer): void {
    this.input = Buffer.concat([this.input, data]);
    for (let next = decode(this.input); next; next = decode(this.input)) {
      this.input = this.input.subarray(next.size);
      const m = next.message;
      const waiting = m.replySerial === undefined ? undefined : this.pending.get(m.replySerial);
      if (m.type === 1) this.reply(m);
      else if (waiting && (m.type === 2 || m.type === 3)) {
        this.pending.delete(m.replySerial!);
        if (m.type === 2) waiting.resolve(m.body);
        else waiting.reject(new DBusError(m.errorName ?? 'error', String(m.body[0] ?? '')));
      }
    }
  }

  private reply(call: Message): void {
    let out: Omit<Message, 'serial' | 'flags'>;
    try {
      const [signature, body] = this.answer(call);
      out = { type: 2, signature, body };
    } catch (err) {
      const name = err instanceof DBusError ? err.errorName : 'org.freedesktop.DBus.Error.Failed';
      out = { type: 3, errorName: name, signature: 's', body: [String((err as Error).message)] };
    }
    // 1: no reply expected.
    if (call.flags & 1) return;
    this.socket.write(
      encode({ ...out, flags: 0, serial: ++this.serial, replySerial: call.serial, destination: call.sender }),
    );
  }
}

/** An error answer: its D-Bus error name and message. */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}
