// Reads PromptPay payloads, one per line on stdin, and prints what the npm package
// `promptparse` (maythiwat/promptparse, MIT; not written by khongdee) reads from each: one JSON
// object per line, in the same order. tests/promptpay_decoder.rs compares it field by field.
//
// Setup: npm ci --prefix tests/decoders   (pinned in package-lock.json)
// Run:   printf '%s\n' PAYLOAD | node tests/decoders/promptparse_decode.mjs
//
// Nothing here interprets the fields: every value comes from promptparse's own functions.
import { createInterface } from 'node:readline'
import { parse } from 'promptparse'
import { anyId } from 'promptparse/validate'

const pairs = (tags) => (tags ? tags.map((t) => [t.id, t.value]) : null)

function decode(payload) {
  // strict = true: promptparse checks the CRC first and returns null on a mismatch.
  const strict = parse(payload, true)
  const loose = parse(payload, false)
  const qr = strict ?? loose
  return {
    payload,
    crc_ok: strict !== null,
    // promptparse re-encodes the tags it read and recomputes the CRC: true only when the
    // lengths it read account for every character.
    reencodes: loose !== null && loose.validate('63'),
    tags: qr ? pairs(qr.getTags()) : null,
    merchant: qr ? pairs(qr.getTag('29')?.subTags) : null,
    additional: qr ? pairs(qr.getTag('62')?.subTags) : null,
    any_id: anyId(payload),
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  const payload = line.trim()
  if (payload === '') continue
  let out
  try {
    out = decode(payload)
  } catch (error) {
    out = { payload, error: String(error) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
