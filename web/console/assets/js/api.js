// api.js: the Management API, same origin, with the admin's bearer token. The token travels
// in a header, never a cookie, so a cross-site page cannot make the browser call the API as
// the admin (no CSRF by construction).

import { accessToken, expireSession } from './auth.js';

/** ApiError is a non-2xx answer: {statusCode, error, message, errorCode} of the API. */
export class ApiError extends Error {
  constructor(status, body) {
    const msg = (body && body.message) || (body && body.error) || `HTTP ${status}`;
    super(msg);
    this.name = 'ApiError';
    this.status = status;
    this.error = body && body.error;
    this.errorCode = body && body.errorCode;
    this.body = body;
  }
}

const BASE = '/api/v2';

/**
 * apiWithHeaders calls the API and returns {body, headers}; body is the parsed JSON (null for
 * an empty answer). A non-2xx answer throws ApiError; a 401 (or a token that has run out)
 * starts a sign-in, which leaves the page.
 */
export async function apiWithHeaders(method, path, body) {
  const token = accessToken();
  if (!token) {
    expireSession();
    throw new ApiError(401, { message: 'Your session has expired: signing in again.' });
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(BASE + path, init);
  } catch (e) {
    throw new ApiError(0, { message: `The server did not answer (${e.message}).`, error: 'network' });
  }
  const text = await resp.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
  }
  if (resp.status === 401) {
    expireSession();
    throw new ApiError(401, parsed || { message: 'Your session has expired: signing in again.' });
  }
  if (!resp.ok) throw new ApiError(resp.status, parsed);
  return { body: resp.status === 204 ? null : parsed, headers: resp.headers };
}

/** api calls the API and returns the parsed body (null for 204). See apiWithHeaders. */
export async function api(method, path, body) {
  return (await apiWithHeaders(method, path, body)).body;
}
