/**
 * A typed tour of the API through the generated client: list PEPs, read one, sign up, sign in, write a
 * note, refresh the tokens and sign out.
 *
 *     scripts/generate-client
 *     cd clients && API_BASE_URL=http://127.0.0.1:8000 npm run --silent example
 *
 * Calls pass `throwOnError: true`, so their `data` is typed as the success body and any error answer
 * throws: the script then exits non-zero (CI runs it against a live app). The last call shows the other
 * style, where the error comes back typed beside the response.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import {
  authLogout,
  authRefresh,
  authRegister,
  authToken,
  notesCreate,
  notesGet,
  notesList,
  notesUpdate,
  pepsGet,
  pepsList,
  type TokenPair,
} from './src/client';
import { client } from './src/client/client.gen';

const baseUrl = process.env.API_BASE_URL ?? 'http://127.0.0.1:8000';
let tokens: TokenPair | undefined;
// The schema's `servers` entry is relative, so outside a browser the client needs the API's address.
// `auth` is asked for a token by every operation that declares bearer security.
client.setConfig({ baseUrl, auth: () => tokens?.access_token });

const { data: page } = await pepsList({ query: { status: ['Final'], sort: '-created', limit: 3 }, throwOnError: true });
console.log(`${page.total} final PEPs; the newest:`);
for (const pep of page.items) {
  console.log(`  PEP ${pep.number}: ${pep.title} (${pep.authors.join(', ')})`);
}
assert.equal(page.items.length, 3);
assert.ok(page.items.every((pep) => pep.status === 'Final'));

const { data: pep } = await pepsGet({ path: { number: 8 }, throwOnError: true });
console.log(`PEP ${pep.number} is "${pep.title}", ${pep.type}, created ${pep.created}`);
assert.equal(pep.number, 8);

const email = `example-${randomUUID()}@example.com`;
const password = randomUUID();
const { data: user } = await authRegister({ body: { email, password }, throwOnError: true });
// 201 with the account; with REQUIRE_VERIFIED_EMAIL=true, 202 and a link to verify the address by email.
assert.ok('email' in user, 'this server signs up without verification first');
console.log(`signed up as ${user.email} (user ${user.id})`);

// The token endpoint takes a form (OAuth2's password flow): the generated function encodes it.
({ data: tokens } = await authToken({ body: { username: email, password }, throwOnError: true }));
console.log(`signed in: the access token lasts ${tokens.expires_in} s`);

const { data: note } = await notesCreate({
  body: { pep_number: pep.number, body: 'Read again before the next style review.' },
  throwOnError: true,
});
const { data: fetched, response: read } = await notesGet({ path: { note_id: note.id }, throwOnError: true });
assert.deepEqual(fetched, note);

// Edit only the version you read: If-Match with its ETag. A stale one answers 412 (someone changed it since).
const etag = read.headers.get('etag') ?? '';
const { data: edited } = await notesUpdate({
  path: { note_id: note.id },
  body: { body: 'Read again before the next style review, slowly.' },
  headers: { 'if-match': etag },
  throwOnError: true,
});
const { response: stale } = await notesUpdate({
  path: { note_id: note.id },
  body: { body: 'An edit of an old version.' },
  headers: { 'if-match': etag },
});
assert.equal(stale.status, 412);
console.log(`edited note ${edited.id} with If-Match; a second edit naming the old version got ${stale.status}`);
const { data: notes } = await notesList({ query: { pep_number: pep.number }, throwOnError: true });
assert.deepEqual(
  notes.items.map((item) => item.id),
  [note.id],
);
console.log(`wrote note ${note.id} on PEP ${note.pep_number}; it is my only note there`);

// Each refresh token works once (sending one again ends the session): keep the new pair.
const usedRefreshToken = tokens.refresh_token;
({ data: tokens } = await authRefresh({ body: { refresh_token: usedRefreshToken }, throwOnError: true }));
assert.notEqual(tokens.refresh_token, usedRefreshToken);
console.log('refreshed the tokens');

await authLogout({ throwOnError: true });
const { error, response } = await notesList();
assert.equal(response.status, 401);
console.log(`signed out; the old access token is refused: ${response.status} ${error?.detail}`);
