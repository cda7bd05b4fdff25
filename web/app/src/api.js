// The GraphQL client for queries and mutations: POST to the hub's /graphql with the session's
// key. Errors come out as ApiError (GraphQL errors and userErrors alike, each with a code); a
// RATE_LIMITED answer is waited out and tried once more; UNAUTHENTICATED signs the user out.
import { session, signOut } from './session.js';

export const GRAPHQL_URL = new URL('graphql', document.baseURI).href;

export class ApiError extends Error {
  // errors: [{ code, message, field? }]; network: the hub did not answer at all.
  constructor(errors, { network = false, userErrors = false } = {}) {
    super(errors.map((e) => (e.code ? `${e.code}: ${e.message}` : e.message)).join('\n'));
    this.name = 'ApiError';
    this.errors = errors;
    this.network = network;
    this.userErrors = userErrors;
  }
  get code() {
    return this.errors[0]?.code || '';
  }
  has(code) {
    return this.errors.some((e) => e.code === code);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function graphQLErrors(list) {
  return list.map((e) => ({ code: e?.extensions?.code || '', message: e?.message || String(e) }));
}

// gql runs one query or mutation. Options: key (sign-in's check, before there is a session),
// signOutOnRefusal (false for that check: the form reports it instead).
export async function gql(query, variables = {}, { key, signOutOnRefusal = true } = {}) {
  const apiKey = key ?? session.get()?.key;
  for (let attempt = 0; ; attempt++) {
    let res;
    let body;
    try {
      res = await fetch(GRAPHQL_URL, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/graphql-response+json, application/json',
          ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError([{ code: 'NETWORK_ERROR', message: `The hub did not answer (${err.message}).` }], { network: true });
    }
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    const errors = body && Array.isArray(body.errors) ? graphQLErrors(body.errors) : [];
    if (!body || (!body.data && errors.length === 0)) {
      throw new ApiError([{ code: `HTTP_${res.status}`, message: `The hub answered ${res.status} ${res.statusText} without a GraphQL result.` }], { network: res.status >= 500 });
    }
    const limited = res.status === 429 || errors.some((e) => e.code === 'RATE_LIMITED');
    if (limited && attempt === 0) {
      const seconds = Number(res.headers.get('Retry-After')) || 1;
      await sleep(Math.min(Math.max(seconds, 0.5), 10) * 1000);
      continue;
    }
    if (errors.some((e) => e.code === 'UNAUTHENTICATED')) {
      const err = new ApiError(errors);
      if (signOutOnRefusal && session.get()) {
        signOut(`The hub no longer accepts this API key (${errors[0].message}). Sign in again.`);
      }
      throw err;
    }
    if (errors.length) {
      const err = new ApiError(errors);
      err.data = body.data;
      throw err;
    }
    return body.data;
  }
}

// mutate runs a mutation whose single field answers a payload with userErrors, and returns that
// payload; userErrors become an ApiError (userErrors: true).
export async function mutate(query, input) {
  const data = await gql(query, { input });
  const payload = Object.values(data)[0];
  if (!payload) throw new ApiError([{ code: 'EMPTY', message: 'The hub answered no payload.' }]);
  if (payload.userErrors?.length) {
    throw new ApiError(
      payload.userErrors.map((u) => ({ code: u.code, message: u.message, field: u.field })),
      { userErrors: true },
    );
  }
  return payload;
}

// uuid is a random (version 4) UUID: crypto.randomUUID where the page is a secure context,
// else built from crypto.getRandomValues (a hub reached over plain http on another host).
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Idempotency keys of user actions. One action (scope: what it does and to what, e.g.
// "repost:<id>") gets a fresh key; if it failed without an answer (the network, or the hub still
// busy with it), the user's retry of the same action sends the same key, so the hub acts once.
const pendingKeys = new Map();

export async function withIdempotencyKey(scope, run) {
  const key = pendingKeys.get(scope) || uuid();
  pendingKeys.set(scope, key);
  try {
    const out = await run(key);
    pendingKeys.delete(scope);
    return out;
  } catch (err) {
    const retrySame = err instanceof ApiError && (err.network || err.has('IDEMPOTENCY_IN_PROGRESS'));
    if (!retrySame) pendingKeys.delete(scope);
    throw err;
  }
}

// fetchAllPages pages through a connection: pick(data) is the connection; returns every node.
export async function fetchAllPages(query, variables, pick, { pageSize = 200, maxPages = 100 } = {}) {
  const nodes = [];
  let after = null;
  for (let page = 0; page < maxPages; page++) {
    const conn = pick(await gql(query, { ...variables, first: pageSize, after }));
    nodes.push(...conn.nodes);
    if (!conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break;
    after = conn.pageInfo.endCursor;
  }
  return nodes;
}
