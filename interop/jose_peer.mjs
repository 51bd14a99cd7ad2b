// The panva jose side of the round trips (interop/run). Reads one JSON array of requests on
// standard input and prints one JSON array of results, in order, on standard output. Each
// request is handled the way a jose user would write it; nothing here knows tokenring.
//
//   {"op":"verify", "token", "jwk":{...}, "options":{...}}  jwtVerify, the key from importJWK
//   {"op":"verify", "token", "keyset":TEXT, "options"}      jwtVerify, the key chosen from the
//                                                           set by the header's kid (keyFromSet),
//                                                           or with "select":"first" the first
//   {"op":"sign", "header", "payload", "jwk"}               SignJWT
//   {"op":"import", "keyset":TEXT}                          importJWK on every member of keys
//   {"op":"localset", "keyset":TEXT, "token"}               jwtVerify with createLocalJWKSet
//
// A key set arrives as the key file's text and is parsed here, by JSON.parse, as a jose user's
// program would read it (a repeated member keeps its last value).
//
// A result is {"ok":true, ...} or {"ok":false, "error": code}, where code is the error's jose
// code (ERR_...) or, for an error without one, its class name.

import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';

function failure(error) {
  return { ok: false, error: error?.code ?? error?.name ?? String(error) };
}

// jose's createLocalJWKSet refuses symmetric algorithms, so a jose user holding a set of oct
// keys picks one the way createLocalJWKSet does for public keys: the member whose kid is the
// header's, or the only member when the header names none.
function keyFromSet(jwks, select) {
  if (select === 'first') return importJWK(jwks.keys[0], 'HS256');
  return async (header) => {
    const candidates = jwks.keys.filter((jwk) => header.kid === undefined || jwk.kid === header.kid);
    if (candidates.length !== 1) {
      throw Object.assign(new Error('no single matching key'), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
    return importJWK(candidates[0], header.alg);
  };
}

async function handle(request) {
  switch (request.op) {
    case 'verify': {
      const key = request.keyset
        ? await keyFromSet(JSON.parse(request.keyset), request.select)
        : await importJWK(request.jwk, 'HS256');
      const { payload, protectedHeader } = await jwtVerify(request.token, key, request.options ?? {});
      return { ok: true, payload, header: protectedHeader };
    }
    case 'sign': {
      const key = await importJWK(request.jwk, 'HS256');
      const token = await new SignJWT(request.payload).setProtectedHeader(request.header).sign(key);
      return { ok: true, token };
    }
    case 'import': {
      const loaded = [];
      const refused = [];
      for (const jwk of JSON.parse(request.keyset).keys) {
        try {
          await importJWK(jwk, jwk.alg ?? 'HS256');
          loaded.push(jwk.kid ?? null);
        } catch (error) {
          refused.push({ kid: jwk.kid ?? null, error: failure(error).error });
        }
      }
      return { ok: true, loaded, refused };
    }
    case 'localset': {
      const { payload } = await jwtVerify(request.token, createLocalJWKSet(JSON.parse(request.keyset)));
      return { ok: true, payload };
    }
    default:
      throw new TypeError(`unknown op ${request.op}`);
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = [];
for (const request of requests) {
  try {
    results.push(await handle(request));
  } catch (error) {
    results.push(failure(error));
  }
}
process.stdout.write(JSON.stringify(results));
