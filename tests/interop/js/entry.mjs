// coopledger entries, written from protocol/SPEC.md §1-3 alone: a strict canonical
// msgpack decoder, the envelope and body rules, and Ed25519 verification with
// libsodium's rules. Nothing here is derived from the Python code.
//
// openEntry(bytes) -> { id, author, seq, prev, ts, kind, refs, body, envelope }
// or throws EntryError whose .cls is the SPEC's error class name (§7).

import { createHash } from 'node:crypto'
import * as ed from '@noble/ed25519'

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest())

export const MAX_ENTRY_SIZE = 65536
export const MAX_SAFE = 2 ** 53 - 1
const MAX_DEPTH = 16
export const SIGNATURE_CONTEXT = new TextEncoder().encode('coopledger/entry/v1\0')

export class EntryError extends Error {
  constructor (cls, message) {
    super(`${cls}: ${message}`)
    this.cls = cls
  }
}

export const sha256 = (b) => new Uint8Array(createHash('sha256').update(b).digest())
export const hex = (b) => Buffer.from(b).toString('hex')
export const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'))

export function bytesEqual (a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function bytesCompare (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

// ---- canonical msgpack decoding (SPEC §1) --------------------------------------------
//
// Like the reference, a structural error (truncation, c1, float, ext, bad UTF-8, depth,
// trailing bytes) wins over non-canonical form: form defects are noted while decoding and
// reported only once the whole value decoded.

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function decodeCanonical (buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  let pos = 0
  let nonCanonical = null
  const noteForm = (what) => { if (nonCanonical === null) nonCanonical = what }

  const need = (n) => {
    if (pos + n > buf.length) throw new EntryError('BadEncoding', 'truncated input')
  }
  const u8 = () => { need(1); return buf[pos++] }
  const u16 = () => { need(2); const v = view.getUint16(pos); pos += 2; return v }
  const u32 = () => { need(4); const v = view.getUint32(pos); pos += 4; return v }
  const u64 = () => { need(8); const v = view.getBigUint64(pos); pos += 8; return v }
  const i64 = () => { need(8); const v = view.getBigInt64(pos); pos += 8; return v }
  const num = (big) => (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(MAX_SAFE))
    ? Number(big) : big

  const take = (n) => { need(n); const out = buf.subarray(pos, pos + n); pos += n; return out }
  const str = (n) => {
    try {
      return utf8.decode(take(n))
    } catch (e) {
      if (e instanceof EntryError) throw e
      throw new EntryError('BadEncoding', 'invalid UTF-8')
    }
  }
  function value (depth) {
    if (depth > MAX_DEPTH) throw new EntryError('WrongType', `nested deeper than ${MAX_DEPTH}`)
    const b = u8()
    if (b <= 0x7f) return b
    if (b >= 0xe0) return b - 256
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f, depth)
    if (b >= 0x90 && b <= 0x9f) return array(b & 0x0f, depth)
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f)
    switch (b) {
      case 0xc0: return null
      case 0xc2: return false
      case 0xc3: return true
      case 0xc4: { const n = u8(); return take(n).slice() }
      case 0xc5: { const n = u16(); if (n < 256) noteForm('bin16 for a short bin'); return take(n).slice() }
      case 0xc6: { const n = u32(); if (n < 65536) noteForm('bin32 for a short bin'); return take(n).slice() }
      case 0xca: case 0xcb: throw new EntryError('FloatNotAllowed', 'a float')
      case 0xc7: case 0xc8: case 0xc9:
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        throw new EntryError('WrongType', 'an ext type')
      case 0xc1: throw new EntryError('BadEncoding', 'the reserved byte c1')
      case 0xcc: { const v = u8(); if (v < 128) noteForm('uint8 for a fixint'); return v }
      case 0xcd: { const v = u16(); if (v < 256) noteForm('uint16 for a small int'); return v }
      case 0xce: { const v = u32(); if (v < 65536) noteForm('uint32 for a small int'); return v }
      case 0xcf: { const v = u64(); if (v < 2n ** 32n) noteForm('uint64 for a small int'); return num(v) }
      case 0xd0: { const v = view.getInt8((need(1), pos++)); if (v >= -32) noteForm('int8 for a small int'); return v }
      case 0xd1: { need(2); const v = view.getInt16(pos); pos += 2; if (v >= -128) noteForm('int16 for a small int'); return v }
      case 0xd2: { need(4); const v = view.getInt32(pos); pos += 4; if (v >= -32768) noteForm('int32 for a small int'); return v }
      case 0xd3: { const v = i64(); if (v >= -(2n ** 31n)) noteForm('int64 for a small int'); return num(v) }
      case 0xd9: { const n = u8(); if (n < 32) noteForm('str8 for a fixstr'); return str(n) }
      case 0xda: { const n = u16(); if (n < 256) noteForm('str16 for a short str'); return str(n) }
      case 0xdb: { const n = u32(); if (n < 65536) noteForm('str32 for a short str'); return str(n) }
      case 0xdc: { const n = u16(); if (n < 16) noteForm('array16 for a short array'); return array(n, depth) }
      case 0xdd: { const n = u32(); if (n < 65536) noteForm('array32 for a short array'); return array(n, depth) }
      case 0xde: { const n = u16(); if (n < 16) noteForm('map16 for a small map'); return map(n, depth) }
      case 0xdf: { const n = u32(); if (n < 65536) noteForm('map32 for a small map'); return map(n, depth) }
    }
    throw new EntryError('BadEncoding', `unknown byte ${b.toString(16)}`)
  }

  function array (n, depth) {
    const out = []
    for (let i = 0; i < n; i++) out.push(value(depth + 1))
    return out
  }

  function map (n, depth) {
    const out = new Map()
    let prevKey = null
    for (let i = 0; i < n; i++) {
      const k = value(depth + 1)
      if (typeof k !== 'string') throw new EntryError('WrongType', 'a map key that is not text')
      const keyBytes = new TextEncoder().encode(k)
      if (prevKey !== null && bytesCompare(prevKey, keyBytes) >= 0) noteForm('map keys unsorted or repeated')
      prevKey = keyBytes
      out.set(k, value(depth + 1))
    }
    return out
  }

  const v = value(0)
  if (pos !== buf.length) throw new EntryError('TrailingBytes', `${buf.length - pos} bytes after the value`)
  if (nonCanonical !== null) throw new EntryError('NonCanonicalEncoding', nonCanonical)
  return v
}

// ---- Ed25519 with libsodium's rules (SPEC §2) ----------------------------------------

const L = 2n ** 252n + 27742317777372353535851937790883648493n

function leToBig (b) {
  let v = 0n
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
  return v
}

// Cofactorless RFC 8032 §5.1.7, rejecting S >= L, non-canonical A or R, small-order A or R.
export function verifyStrict (signature, message, publicKey) {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  const rBytes = signature.subarray(0, 32)
  const s = leToBig(signature.subarray(32))
  if (s >= L) return false
  let A, R
  try {
    A = ed.Point.fromBytes(publicKey, false) // strict: y < p, no "negative zero" x
    R = ed.Point.fromBytes(rBytes, false)
  } catch {
    return false
  }
  if (A.isSmallOrder() || R.isSmallOrder()) return false
  const k = leToBig(ed.hashes.sha512(concat(rBytes, publicKey, message))) % L
  const lhs = s === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(s) // multiply() refuses 0
  const rhs = R.add(k === 0n ? ed.Point.ZERO : A.multiply(k))
  return bytesEqual(lhs.toBytes(), rhs.toBytes())
}

export function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

// ---- entries (SPEC §2, §3) ------------------------------------------------------------

const ENVELOPE_FIELDS = ['author', 'body', 'kind', 'prev', 'refs', 'seq', 'ts', 'v']
const KIND_RE = /^[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){0,3}$/
const isInt = (x) => typeof x === 'number' && Number.isInteger(x)
const isBin = (x, n) => x instanceof Uint8Array && (n === undefined || x.length === n)

// text rules (§3): non-empty, NFC, no leading/trailing Zs or bidi WS/B/S, no Cc
// (long text allows U+000A inside). Bidi classes WS, B, S listed from UnicodeData.
const EDGE_SPACE = /^[\p{Zs}\u0009-\u000d\u001c-\u001f\u0085\u1680\u2000-\u200a\u2028\u2029\u205f\u3000]|[\p{Zs}\u0009-\u000d\u001c-\u001f\u0085\u1680\u2000-\u200a\u2028\u2029\u205f\u3000]$/u
function checkText (v, max, long, field) {
  if (typeof v !== 'string' || v.length === 0) throw new EntryError('BadBody', `${field}: not text`)
  if ([...v].length > max) throw new EntryError('BadBody', `${field}: longer than ${max}`)
  if (v.normalize('NFC') !== v) throw new EntryError('BadBody', `${field}: not NFC`)
  if (EDGE_SPACE.test(v)) throw new EntryError('BadBody', `${field}: leading or trailing space`)
  const cc = long ? /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/ : /[\u0000-\u001f\u007f-\u009f]/
  if (cc.test(v)) throw new EntryError('BadBody', `${field}: control character`)
}
const DECIMAL_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/
function checkDecimal (v, field, { positive = false, max = null } = {}) {
  if (typeof v !== 'string' || !DECIMAL_RE.test(v) || v === '-0') {
    throw new EntryError('BadBody', `${field}: not a canonical decimal`)
  }
  const [ip, fp = ''] = v.replace('-', '').split('.')
  if (ip.replace(/^0$/, '').length + fp.length > 30 || fp.length > 9) {
    throw new EntryError('BadBody', `${field}: too many digits`)
  }
  const scaled = (s) => { const [a, b = ''] = s.replace('-', '').split('.'); return BigInt(a + b.padEnd(9, '0')) * (s.startsWith('-') ? -1n : 1n) }
  if (positive && scaled(v) <= 0n) throw new EntryError('BadBody', `${field}: not > 0`)
  if (max !== null && scaled(v) > scaled(max)) throw new EntryError('BadBody', `${field}: over ${max}`)
}
function checkDate (v, field) {
  const m = typeof v === 'string' && /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(v)
  if (!m) throw new EntryError('BadBody', `${field}: not a date`)
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1]) throw new EntryError('BadBody', `${field}: not a real date`)
}
const enumOf = (...vals) => (v, f) => { if (typeof v !== 'string' || !vals.includes(v)) throw new EntryError('BadBody', `${f}: not one of ${vals}`) }
const text = (max) => (v, f) => checkText(v, max, false, f)
const longText = (v, f) => checkText(v, 2000, true, f)
const decimal = (opts) => (v, f) => checkDecimal(v, f, opts)
const date = checkDate
const bool = (v, f) => { if (typeof v !== 'boolean') throw new EntryError('BadBody', `${f}: not a bool`) }

// kind -> field -> [required, check]
const SCHEMAS = {
  genesis: { name: [true, text(100)], note: [false, longText] },
  labor: {
    member: [true, text(100)], hours: [true, decimal({ positive: true, max: '24' })],
    task: [true, text(200)],
    category: [true, enumOf('production', 'care', 'facilitation', 'maintenance', 'learning', 'other')],
    date: [true, date], paid: [false, bool], note: [false, longText]
  },
  material: {
    item: [true, text(200)], quantity: [true, decimal({ positive: true })], unit: [true, text(32)],
    direction: [true, enumOf('in', 'out', 'used')], date: [false, date], note: [false, longText]
  },
  energy: {
    kwh: [true, decimal({ positive: true })], flow: [true, enumOf('consumed', 'generated')],
    source: [true, enumOf('local', 'grid')], date: [false, date], note: [false, longText]
  },
  goods: {
    item: [true, text(200)], quantity: [true, decimal({ positive: true })], unit: [true, text(32)],
    flow: [true, enumOf('produced', 'distributed')], to: [false, text(200)],
    date: [false, date], note: [false, longText]
  }
}

function checkBody (kind, body) {
  const schema = SCHEMAS[kind]
  if (!schema) return
  for (const k of body.keys()) if (!(k in schema)) throw new EntryError('BadBody', `unknown field ${k}`)
  for (const [f, [req, check]] of Object.entries(schema)) {
    if (!body.has(f)) {
      if (req || (kind === 'goods' && f === 'to' && body.get('flow') === 'distributed')) {
        throw new EntryError('BadBody', `missing ${f}`)
      }
      continue
    }
    check(body.get(f), f)
  }
}

// Tier 1 (shape) and tier 2 (signature): SPEC's open_entry.
export function openEntry (bytes) {
  if (bytes.length > MAX_ENTRY_SIZE) throw new EntryError('EntryTooLarge', `${bytes.length} bytes`)
  const outer = decodeCanonical(bytes)
  if (!Array.isArray(outer) || outer.length !== 2 || !isBin(outer[0]) || !isBin(outer[1])) {
    throw new EntryError('BadEnvelope', 'an entry is an array of two bins')
  }
  const [envBytes, sig] = outer
  if (sig.length !== 64) throw new EntryError('BadEnvelope', 'signature is not 64 bytes')
  const env = decodeCanonical(envBytes)
  if (!(env instanceof Map)) throw new EntryError('BadEnvelope', 'envelope is not a map')
  for (const f of ENVELOPE_FIELDS) if (!env.has(f)) throw new EntryError('BadEnvelope', `missing ${f}`)
  for (const k of env.keys()) if (!ENVELOPE_FIELDS.includes(k)) throw new EntryError('BadEnvelope', `unknown field ${k}`)
  const g = (k) => env.get(k)
  if (g('v') !== 1) throw new EntryError('BadEnvelope', 'v is not 1')
  if (!isBin(g('author'), 32)) throw new EntryError('BadEnvelope', 'author')
  const seq = g('seq')
  if (!isInt(seq) || seq < 1 || seq > MAX_SAFE) throw new EntryError('BadEnvelope', 'seq')
  const prev = g('prev')
  if (!(prev === null || isBin(prev, 32))) throw new EntryError('BadEnvelope', 'prev')
  const ts = g('ts')
  if (!isInt(ts) || ts < 0 || ts > MAX_SAFE) throw new EntryError('BadEnvelope', 'ts')
  const kind = g('kind')
  if (typeof kind !== 'string' || kind.length > 64 || !KIND_RE.test(kind)) throw new EntryError('BadEnvelope', 'kind')
  if ((prev === null) !== (seq === 1)) throw new EntryError('BadEnvelope', 'prev is nil exactly when seq is 1')
  if ((kind === 'genesis') !== (seq === 1)) throw new EntryError('BadEnvelope', 'genesis exactly when seq is 1')
  const refs = g('refs')
  if (!Array.isArray(refs) || refs.length > 64 || !refs.every((r) => isBin(r, 32))) throw new EntryError('BadEnvelope', 'refs')
  for (let i = 1; i < refs.length; i++) {
    if (bytesCompare(refs[i - 1], refs[i]) >= 0) throw new EntryError('BadEnvelope', 'refs not strictly ascending')
  }
  const body = g('body')
  if (!(body instanceof Map)) throw new EntryError('BadEnvelope', 'body is not a map')
  checkBody(kind, body)
  if (!verifyStrict(sig, concat(SIGNATURE_CONTEXT, envBytes), g('author'))) {
    throw new EntryError('BadSignature', 'the signature does not verify for the author')
  }
  return { id: sha256(bytes), author: g('author'), seq, prev, ts, kind, refs, body, bytes }
}
