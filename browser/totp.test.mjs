// The test's own authenticator, checked against RFC 6238's published vectors, so a failing
// log-in in the stories cannot be a bug in the test's arithmetic.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { base32Decode, hotp } from './support/totp.mjs';

test('the test authenticator matches RFC 6238 (SHA-1 vectors, 8 digits)', () => {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const vectors = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [time, code] of vectors) assert.equal(hotp(key, Math.floor(time / 30), 8), code, `T=${time}`);
  assert.equal(hotp(key, 1), '287082', 'six digits are the last six');
});

test('base32 secrets decode as RFC 4648 says', () => {
  assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString('ascii'), '12345678901234567890');
  assert.equal(base32Decode('mzxw 6ytb oi==').toString('ascii'), 'foobar');
});
