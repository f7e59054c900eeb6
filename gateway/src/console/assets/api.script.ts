/** app/api.js: the token (sessionStorage), GraphQL over HTTP with it, graphql-ws with it, and small DOM helpers that only ever set text. */
export const API_JS = String.raw`const TOKEN_KEY = 'modeltrail.token';

/** The token given once in the URL fragment (#token=...) is kept in sessionStorage and removed from the address bar. */
export function adoptFragmentToken() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = fragment.get('token');
  if (token) {
    setToken(token);
    fragment.delete('token');
    const rest = fragment.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
  closeSocket();
}

/** A GraphQL error as the API sent it: its message and extensions.code. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || 'ERROR';
  }
}

/** The data of a GraphQL request to the gateway; an ApiError with the API's own message otherwise. */
export async function gql(query, variables) {
  const token = getToken();
  if (!token) throw new ApiError('no API token: paste one above', 'UNAUTHENTICATED');
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify({ query, variables: variables || {} }),
    });
  } catch (error) {
    throw new ApiError('the gateway cannot be reached: ' + error.message, 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError('the gateway answered ' + response.status + ' without JSON', 'HTTP_' + response.status);
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

let socket = null;

/** The graphql-ws client, authenticated with the token in connectionParams (made on first use). */
export function wsClient() {
  if (!socket) {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
    socket = window.graphqlWs.createClient({ url, lazy: true, retryAttempts: 3, connectionParams: () => ({ authorization: 'Bearer ' + getToken() }) });
  }
  return socket;
}

function closeSocket() {
  if (socket) {
    socket.dispose();
    socket = null;
  }
}

/** Subscribes over graphql-ws; returns the function that ends the subscription. */
export function subscribe(query, variables, handlers) {
  return wsClient().subscribe({ query, variables }, handlers);
}

/** A GraphQL error (or close event) from a subscription, in words. */
export function errorText(error) {
  if (!error) return 'unknown error';
  if (Array.isArray(error)) return error.map((e) => (e.extensions && e.extensions.code ? e.extensions.code + ': ' : '') + e.message).join('; ');
  if (error instanceof ApiError) return error.code + ': ' + error.message;
  if (typeof error.code === 'number') return 'connection closed (' + error.code + (error.reason ? ': ' + error.reason : '') + ')';
  return error.message || String(error);
}

/** An element with text content (never parsed as HTML). */
export function el(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  if (className) element.className = className;
  return element;
}

export function clear(element) {
  element.replaceChildren();
}

/** A table row of text cells (strings) or elements. */
export function row(cells, header) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement(header ? 'th' : 'td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell === undefined || cell === null ? '' : String(cell);
    tr.append(td);
  }
  return tr;
}

export function option(value, label) {
  const element = document.createElement('option');
  element.value = value;
  element.textContent = label;
  return element;
}

/** Shows a status line: text, marked as an error or not. */
export function status(element, text, isError) {
  element.textContent = text || '';
  element.classList.toggle('error', Boolean(isError));
  element.classList.toggle('muted', !isError);
}

export function shortId(id) {
  return id && id.length > 8 ? id.slice(0, 8) : id;
}

export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function formatValue(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
`;
