#!/usr/bin/env node
// An independent coopledger peer on js-libp2p, written from protocol/SPEC.md.
//
//   node peer.mjs --addr /ip4/127.0.0.1/tcp/PORT/p2p/PEER --network default \
//                 --gossip N --vectors ../../vectors/entries.json [--timeout 45]
//
// 1. checks its own entry code (entry.mjs) against every test vector: each valid vector
//    opens with the expected id, each invalid one fails with the expected error class;
// 2. dials the daemon over TCP + Noise + Yamux;
// 3. subscribes to the gossip topic (the network name), prints {"event":"subscribed"}
//    once the daemon is in its mesh, and waits for N entries published there, each
//    opened (shape + Ed25519 signature) on receipt;
// 4. opens /coopledger/sync/1 and pulls the daemon's whole log (SPEC §10: full hello,
//    empty heads, ack every batch, end), checking every entry and the chain.
// With --mode bad-hello it only sends a non-canonical hello and reports how the daemon
// ended the stream and the connection.
// It also serves a sync session the daemon opens towards it (the daemon syncs on
// connect), as an empty peer, and reports what that session brought.
//
// stdout: one JSON object per line: {"event":"subscribed",…}, then {"event":"summary",…}
// (exit 0) or {"event":"error","reason":…} (exit 1). Diagnostics go to stderr.

import { readFileSync } from 'node:fs'

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { encode as msgpackEncode } from '@msgpack/msgpack'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

import {
  EntryError, bytesCompare, bytesEqual, decodeCanonical, fromHex, hex, openEntry, sha256
} from './entry.mjs'

// js-libp2p 3.x uses Promise.withResolvers (node >= 22); node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const SYNC_PROTOCOL = '/coopledger/sync/1'
const MAX_MESSAGE_SIZE = 270336
const WINDOW = 4
const t0 = performance.now()
const elapsed = () => Math.round(performance.now() - t0)

class Failure extends Error {}
const fail = (reason) => { throw new Failure(reason) }
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const note = (...a) => process.stderr.write(`[js ${elapsed()} ms] ${a.join(' ')}\n`)

function parseArgs (argv) {
  const out = { network: 'default', gossip: 0, timeout: 45, vectors: null, addr: null, mode: 'normal' }
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '')
    if (!(k in out)) fail(`unknown option ${argv[i]}`)
    out[k] = argv[i + 1]
  }
  if (!out.addr) fail('--addr is required')
  if (!out.vectors && out.mode === 'normal') fail('--vectors is required')
  if (!['normal', 'bad-hello'].includes(out.mode)) fail(`unknown --mode ${out.mode}`)
  out.gossip = Number(out.gossip)
  out.timeout = Number(out.timeout)
  return out
}

// ---- 1. the test vectors ------------------------------------------------------------

function checkVectors (path) {
  const doc = JSON.parse(readFileSync(path, 'utf8'))
  const res = { total: 0, valid_ok: 0, invalid_rejected: 0, mismatches: [] }
  for (const v of doc.entries) {
    res.total++
    let got
    try {
      const e = openEntry(fromHex(v.hex))
      got = { valid: true, id: hex(e.id) }
    } catch (err) {
      if (!(err instanceof EntryError)) throw err
      got = { valid: false, error: err.cls }
    }
    if (v.valid && got.valid && got.id === v.id) res.valid_ok++
    else if (!v.valid && !got.valid && got.error === v.error) res.invalid_rejected++
    else res.mismatches.push({ name: v.name, expected: v.valid ? `valid ${v.id}` : v.error, got })
  }
  if (res.mismatches.length) fail(`test vectors disagree: ${JSON.stringify(res.mismatches)}`)
  return res
}

// ---- sync frames and messages (SPEC §10) --------------------------------------------

// Canonical msgpack for our own messages: the library writes shortest forms, bins for
// Uint8Array; sortKeys orders by UTF-16 code units, which equals UTF-8 byte order for
// the ASCII keys used here. Every message is re-read with the strict decoder as a check.
function encodeMessage (obj) {
  const bytes = msgpackEncode(obj, { sortKeys: true, ignoreUndefined: false })
  decodeCanonical(bytes) // throws if the library's output were not canonical
  return bytes
}

function frame (payload) {
  const out = new Uint8Array(4 + payload.length)
  new DataView(out.buffer).setUint32(0, payload.length)
  out.set(payload, 4)
  return out
}

class FrameReader {
  constructor (stream) {
    this.it = stream[Symbol.asyncIterator]()
    this.buf = new Uint8Array(0)
  }

  async fill (n) {
    while (this.buf.length < n) {
      const { value, done } = await this.it.next()
      if (done) return false
      const chunk = value instanceof Uint8Array ? value : value.subarray()
      const merged = new Uint8Array(this.buf.length + chunk.length)
      merged.set(this.buf)
      merged.set(chunk, this.buf.length)
      this.buf = merged
    }
    return true
  }

  // The next message as a Map, or null at a clean end of stream.
  async next () {
    if (!(await this.fill(4))) {
      if (this.buf.length) fail('stream ended inside a frame header')
      return null
    }
    const size = new DataView(this.buf.buffer, this.buf.byteOffset).getUint32(0)
    if (size === 0 || size > MAX_MESSAGE_SIZE) fail(`frame length ${size} out of range`)
    if (!(await this.fill(4 + size))) fail('stream ended inside a frame')
    const payload = this.buf.slice(4, 4 + size)
    this.buf = this.buf.slice(4 + size)
    let msg
    try {
      msg = decodeCanonical(payload)
    } catch (err) {
      fail(`peer sent a message that is not canonical msgpack: ${err.message}`)
    }
    if (!(msg instanceof Map) || typeof msg.get('t') !== 'string') fail('peer sent a message without t')
    return msg
  }
}

const FIELDS = {
  hello: ['full', 'memory', 'network', 't', 'v'],
  heads: ['heads', 'last', 't'],
  entries: ['entries', 'n', 't'],
  ack: ['n', 't'],
  end: ['t']
}

function checkFields (msg) {
  const t = msg.get('t')
  const want = FIELDS[t]
  if (!want) fail(`peer sent unknown message type ${t}`)
  const got = [...msg.keys()].sort()
  if (got.join() !== want.join()) fail(`peer's ${t} has fields ${got}, SPEC says ${want}`)
  return t
}

async function send (stream, obj, stats) {
  const data = frame(encodeMessage(obj))
  stats.frames_sent++
  stats.bytes_sent += data.length
  if (!stream.send(data)) await stream.onDrain()
}

// One whole session as a peer that holds nothing: full hello, empty heads, ack each
// batch after checking it, end once the peer's heads are in. Returns what arrived.
async function pullSession (stream, network, deadlineMs) {
  const stats = { frames_sent: 0, bytes_sent: 0, frames_received: 0, batches: 0 }
  const reader = new FrameReader(stream)
  const timer = setTimeout(() => stream.abort(new Error('sync session timed out')), deadlineMs)
  try {
    await send(stream, { t: 'hello', v: 1, network, full: true, memory: new Uint8Array(32) }, stats)
    await send(stream, { t: 'heads', heads: [], last: true }, stats)
    const theirHeads = new Map()
    const entries = []
    let state = 'hello'
    let endSent = false
    let endReceived = false
    while (!(endSent && endReceived)) {
      const msg = await reader.next()
      if (msg === null) fail(`the peer closed the sync stream in state ${state}`)
      stats.frames_received++
      const t = checkFields(msg)
      if (state === 'hello') {
        if (t !== 'hello') fail(`expected hello, got ${t}`)
        if (msg.get('v') !== 1) fail(`peer speaks sync version ${msg.get('v')}`)
        if (msg.get('network') !== network) fail(`peer is on network ${msg.get('network')}`)
        if (typeof msg.get('full') !== 'boolean') fail('hello.full is not a bool')
        const mem = msg.get('memory')
        if (!(mem instanceof Uint8Array) || mem.length !== 32) fail('hello.memory is not bin32')
        state = 'heads'
      } else if (state === 'heads') {
        if (t !== 'heads') fail(`expected heads, got ${t}`)
        let prev = null
        for (const h of msg.get('heads')) {
          if (!Array.isArray(h) || h.length !== 4) fail('a head is not [author, seq, head, held]')
          const [author, seq, head, held] = h
          if (!(author instanceof Uint8Array) || author.length !== 32) fail('head author is not bin32')
          if (prev && bytesCompare(prev, author) >= 0) fail('heads not strictly increasing by author')
          prev = author
          if (theirHeads.has(hex(author))) fail('an author repeats across heads messages')
          theirHeads.set(hex(author), { seq, head: hex(head), held })
        }
        if (msg.get('last') === true) {
          state = 'streaming'
          // We hold nothing, so we have nothing to send: end at once (SPEC: a side sends
          // end when it has nothing left to send and every batch it sent is acked).
          await send(stream, { t: 'end' }, stats)
          endSent = true
        }
      } else {
        if (t === 'entries') {
          if (endReceived) fail('a batch after the peer\'s end')
          const n = msg.get('n')
          if (n !== stats.batches + 1) fail(`batch ${n} out of order (expected ${stats.batches + 1})`)
          const batch = msg.get('entries')
          if (!Array.isArray(batch) || batch.length < 1 || batch.length > 256) fail('batch size out of range')
          for (const b of batch) {
            try {
              entries.push(openEntry(b))
            } catch (err) {
              if (err instanceof EntryError) fail(`sync entry refused: ${err.message}`)
              throw err
            }
          }
          stats.batches = n
          await send(stream, { t: 'ack', n }, stats)
        } else if (t === 'ack') {
          fail('peer acked a batch we never sent')
        } else if (t === 'end') {
          if (endReceived) fail('end repeated')
          endReceived = true
        } else {
          fail(`unexpected ${t} while streaming`)
        }
      }
    }
    await stream.close()
    return { entries, theirHeads, stats }
  } finally {
    clearTimeout(timer)
  }
}

// The chain checks of SPEC §2 tier 3 over one author's whole log, and the announced
// head (seq, smallest id at seq, held) against what arrived.
function checkLog (entries, theirHeads) {
  const byAuthor = new Map()
  const ids = new Set()
  for (const e of entries) {
    const id = hex(e.id)
    if (ids.has(id)) fail(`entry ${id.slice(0, 8)} arrived twice`)
    ids.add(id)
    const a = hex(e.author)
    if (!byAuthor.has(a)) byAuthor.set(a, [])
    byAuthor.get(a).push(e)
  }
  const authors = {}
  for (const [a, log] of byAuthor) {
    log.sort((x, y) => x.seq - y.seq)
    log.forEach((e, i) => {
      if (e.seq !== i + 1) fail(`author ${a.slice(0, 8)}: seq ${e.seq} at position ${i + 1} (gap or fork)`)
      if (i === 0) {
        if (e.prev !== null || e.kind !== 'genesis') fail(`author ${a.slice(0, 8)}: seq 1 is not a genesis`)
      } else {
        const p = log[i - 1]
        if (!bytesEqual(e.prev, p.id)) fail(`author ${a.slice(0, 8)}: prev of seq ${e.seq} is not the id of seq ${p.seq}`)
        if (e.ts < p.ts) fail(`author ${a.slice(0, 8)}: ts goes back at seq ${e.seq}`)
      }
    })
    const h = theirHeads.get(a)
    const last = log[log.length - 1]
    if (!h || h.seq !== log.length || h.held !== log.length || h.head !== hex(last.id)) {
      fail(`author ${a.slice(0, 8)}: announced head ${JSON.stringify(h)} but ${log.length} entries arrived, last ${hex(last.id).slice(0, 8)}`)
    }
    authors[a] = { length: log.length, head: hex(last.id), kinds: log.map((e) => e.kind) }
  }
  for (const a of theirHeads.keys()) if (!byAuthor.has(a)) fail(`author ${a.slice(0, 8)} announced but nothing arrived`)
  return { entries: entries.length, ids, authors }
}

// --mode bad-hello: a hello whose `v` is written as uint8 (cc 01) instead of fixint 01.
// SPEC §1/§10: the daemon must refuse it (invalid:sync-encoding) and disconnect us.
async function badHello (node, target, targetPeer, left) {
  const stream = await node.dialProtocol(target, SYNC_PROTOCOL, { signal: AbortSignal.timeout(left()) })
  const good = encodeMessage({ t: 'hello', v: 1, network: 'default', full: true, memory: new Uint8Array(32) })
  if (good[good.length - 1] !== 0x01) fail('hello does not end with v = fixint 1')
  const bad = new Uint8Array([...good.subarray(0, good.length - 1), 0xcc, 0x01])
  try { decodeCanonical(bad); fail('the bad hello decodes as canonical') } catch (err) { if (err instanceof Failure) throw err }
  stream.send(frame(bad))
  const received = []
  const reader = new FrameReader(stream)
  let streamEnd = 'eof'
  try {
    for (;;) {
      const msg = await reader.next()
      if (msg === null) break
      received.push(msg.get('t'))
      if (msg.get('t') === 'entries') fail('the daemon sent entries after a non-canonical hello')
    }
  } catch (err) {
    if (err instanceof Failure) throw err
    streamEnd = `reset (${err.name})`
  }
  let connectionClosed = false
  const until = Date.now() + Math.min(5000, left())
  while (Date.now() < until) {
    if (node.getConnections(targetPeer).length === 0) { connectionClosed = true; break }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { event: 'summary', ok: true, mode: 'bad-hello', received, stream_end: streamEnd, connection_closed: connectionClosed }
}

// ---- main ------------------------------------------------------------------------------

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const deadline = Date.now() + args.timeout * 1000
  const left = () => Math.max(1, deadline - Date.now())
  const summary = { event: 'summary', ok: false, timings_ms: {} }

  if (args.mode === 'normal') {
    summary.vectors = checkVectors(args.vectors)
    summary.timings_ms.vectors = elapsed()
    note(`vectors: ${summary.vectors.valid_ok} valid and ${summary.vectors.invalid_rejected} invalid as expected`)
  }

  const target = multiaddr(args.addr)
  const targetPeer = target.getComponents().find((c) => c.name === 'p2p')?.value
  if (!targetPeer) fail('--addr must end in /p2p/<peer id>')

  const node = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        // The daemon's message id: base64(sha256(data)) as ASCII bytes (content
        // addressed; needed for IHAVE/IWANT to match).
        msgIdFn: (msg) => new TextEncoder().encode(Buffer.from(sha256(msg.data)).toString('base64')),
        heartbeatInterval: 1000
      })
    }
  })
  const pubsub = node.services.pubsub

  // The daemon opens a sync session towards us when we connect: serve it as an empty
  // peer and record what it sends (the symmetric half of §10).
  const inbound = { sessions: 0, entries: 0, error: null, authors: null, opened_at_ms: null }
  await node.handle(SYNC_PROTOCOL, async (stream) => {
    inbound.sessions++
    inbound.opened_at_ms ??= elapsed()
    note('the daemon opened a sync stream to us')
    try {
      const r = await pullSession(stream, args.network, left())
      const log = checkLog(r.entries, r.theirHeads)
      inbound.entries = log.entries
      inbound.authors = log.authors
    } catch (err) {
      inbound.error = err.message
      note(`inbound sync: ${err.message}`)
      try { stream.abort(err) } catch {}
    }
  })

  const gossip = []
  const gossipErrors = []
  let wanted = Promise.withResolvers()
  pubsub.addEventListener('message', (evt) => {
    const msg = evt.detail
    if (msg.topic !== args.network) return
    try {
      const e = openEntry(msg.data)
      gossip.push({ id: hex(e.id), seq: e.seq, kind: e.kind, author: hex(e.author), at_ms: elapsed() })
      note(`gossip: seq ${e.seq} ${e.kind} ${hex(e.id).slice(0, 8)}`)
      if (gossip.length >= args.gossip) wanted.resolve()
    } catch (err) {
      gossipErrors.push(err.message)
      note(`gossip entry refused: ${err.message}`)
    }
  })
  pubsub.subscribe(args.network)

  try {
    await node.start()
    const conn = await node.dial(target, { signal: AbortSignal.timeout(left()) })
    summary.connection = {
      remote_peer: conn.remotePeer.toString(),
      encryption: conn.encryption,
      multiplexer: conn.multiplexer,
      remote_addr: conn.remoteAddr.toString()
    }
    if (summary.connection.remote_peer !== targetPeer) fail('connected to another peer id')
    summary.timings_ms.connected = elapsed()
    note(`connected: ${JSON.stringify(summary.connection)}`)
    if (args.mode === 'bad-hello') {
      say({ ...(await badHello(node, target, targetPeer, left)), peer_id: node.peerId.toString(), connection: summary.connection })
      return
    }

    // Ready when the daemon is in our mesh for the topic (our GRAFT was accepted)
    // and it lists us as subscribed (it saw our subscription).
    while (!pubsub.getMeshPeers(args.network).includes(targetPeer)) {
      if (Date.now() > deadline) fail('the daemon never joined our gossip mesh')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    summary.timings_ms.subscribed = elapsed()
    say({ event: 'subscribed', topic: args.network, peer_id: node.peerId.toString() })

    if (args.gossip > 0) {
      const timer = setTimeout(() => wanted.reject(new Failure(
        `only ${gossip.length} of ${args.gossip} gossip entries arrived`)), left())
      try { await wanted.promise } finally { clearTimeout(timer) }
    }
    if (gossipErrors.length) fail(`gossip entries refused: ${gossipErrors.join('; ')}`)
    summary.gossip = { received: gossip.length, verified: gossip.length, entries: gossip }
    summary.timings_ms.gossip = elapsed()

    const stream = await node.dialProtocol(target, SYNC_PROTOCOL, { signal: AbortSignal.timeout(left()) })
    const r = await pullSession(stream, args.network, left())
    const log = checkLog(r.entries, r.theirHeads)
    const missing = gossip.filter((g) => !log.ids.has(g.id))
    if (missing.length) fail(`gossip entries not in the synced log: ${missing.map((g) => g.id.slice(0, 8))}`)
    summary.sync = {
      entries: log.entries, verified: log.entries, authors: log.authors,
      batches: r.stats.batches, frames_sent: r.stats.frames_sent,
      frames_received: r.stats.frames_received, gossip_in_log: gossip.length
    }
    summary.timings_ms.sync = elapsed()
    summary.inbound_sync = inbound
    summary.ok = true
    say(summary)
  } finally {
    await node.stop().catch(() => {})
  }
}

main().then(() => process.exit(0), (err) => {
  const reason = err instanceof Failure ? err.message : (err?.stack ?? String(err))
  note(`FAILED: ${reason}`)
  say({ event: 'error', reason })
  process.exit(1)
})
