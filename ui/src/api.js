// The native /api/v1 API, with the key kept in localStorage.
const KEY = 'minibitly.apiKey';

export const getKey = () => localStorage.getItem(KEY) || '';
export const setKey = (k) => localStorage.setItem(KEY, k);
export const clearKey = () => localStorage.removeItem(KEY);

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// words turns any failure into a sentence for a person.
export function words(err) {
  if (err instanceof APIError) {
    return `${err.message || 'The request failed.'} (HTTP ${err.status}${err.code ? ', ' + err.code : ''})`;
  }
  return 'The server could not be reached: ' + (err && err.message ? err.message : String(err));
}

export async function api(method, path, body, key = getKey()) {
  const headers = { Authorization: 'Bearer ' + key };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch('/api/v1' + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401 && key && key === getKey()) {
    // The stored key stopped working (revoked): back to the login form.
    clearKey();
    dispatchEvent(new Event('minibitly:unauthorized'));
  }
  if (r.status === 204) return null;
  let j = null;
  try {
    j = await r.json();
  } catch {
    throw new APIError(r.status, '', `The server answered ${r.status} ${r.statusText} without a JSON body.`);
  }
  if (!r.ok) {
    const e = (j && j.error) || {};
    throw new APIError(r.status, e.code || '', e.message || r.statusText);
  }
  return j;
}
