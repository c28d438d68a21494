// The console pages' calls to the API: JSON in and out, signed with the page's identity when the
// route needs a signature (signing.js), and the API's refusal reason as one line of text.
import { signatureHeaders } from './signing.js';

export async function apiCall(identity, method, path, body, { sign = false } = {}) {
  const headers = {};
  let text;
  if (method !== 'GET') {
    text = JSON.stringify(body ?? {});
    headers['content-type'] = 'application/json';
  }
  if (sign) {
    if (!identity) throw new Error('import or generate a key in the console first');
    Object.assign(headers, await signatureHeaders(identity, method, path, text));
  }
  const res = await fetch(path, { method, headers, body: text });
  const raw = await res.text();
  let json;
  try {
    json = raw ? JSON.parse(raw) : null;
  } catch {
    json = raw;
  }
  return { ok: res.ok, status: res.status, statusText: res.statusText, json };
}

/** Error text from an API answer: the status and the API's reason (with details when there are any). */
export function reasonOf(res) {
  const body = res.json;
  let reason =
    body && typeof body === 'object' && 'error' in body
      ? String(body.error)
      : typeof body === 'string' && body
        ? body
        : res.statusText || 'request failed';
  if (body && typeof body === 'object' && body.details !== undefined && body.details !== null) {
    const d = body.details;
    reason +=
      ': ' +
      (Array.isArray(d)
        ? d.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('; ')
        : typeof d === 'string'
          ? d
          : JSON.stringify(d));
  }
  return `${res.status} — ${reason}`;
}
