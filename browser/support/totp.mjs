// RFC 6238 one-time codes, computed the way an authenticator app does: HMAC-SHA1 over the
// 30-second time step, dynamically truncated to 6 digits. Written out here (not taken from the
// server) so the test checks the server against the standard, not against itself.

import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const STEP_S = 30;

/** Decodes RFC 4648 base32 (upper case, padding and spaces ignored). */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code for time step `step` of a raw key, with `digits` digits. */
export function hotp(key, step, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The 6-digit code of a base32 secret for time step `step`. */
export function totp(secretBase32, step) {
  return hotp(base32Decode(secretBase32), step);
}

export function currentStep(nowMs = Date.now()) {
  return Math.floor(nowMs / 1000 / STEP_S);
}

/**
 * An authenticator app holding one secret. The server accepts a code one step either side of
 * now, but each step only once; so every code handed out is for a step after the last one used,
 * waiting for the clock when that step is still more than one step ahead.
 */
export class Authenticator {
  constructor(secretBase32) {
    this.secret = secretBase32;
    this.lastStep = 0;
  }

  async nextCode() {
    for (;;) {
      const now = currentStep();
      const step = Math.max(this.lastStep + 1, now);
      if (step <= now + 1) {
        this.lastStep = step;
        return totp(this.secret, step);
      }
      // Half a second into the next step, so our clock and the server's agree on it.
      await sleep((now + 1) * STEP_S * 1000 - Date.now() + 500);
    }
  }
}
