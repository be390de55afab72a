// bearer.mjs - preloaded into the conformance CLI (NODE_OPTIONS=--import) by
// tests/mcp/conformance.py: the CLI has no way to send an Authorization
// header, and Cairn's /mcp answers 401 without one.
//
// Installs a global undici dispatcher, the one both Node's fetch (the MCP
// SDK's transport) and the undici package's request() (dns-rebinding
// scenario) send through, which adds `Authorization: Bearer
// $CAIRN_MCP_TOKEN` to every request for $CAIRN_MCP_ORIGIN
// (http://127.0.0.1:PORT) that carries no Authorization header of its own.
// Nothing else in a request is touched. The dispatcher comes from the
// undici that the conformance package itself uses ($CAIRN_MCP_PACKAGE is
// the path of its package.json).
import { createRequire } from 'node:module';

const token = process.env.CAIRN_MCP_TOKEN;
const origin = process.env.CAIRN_MCP_ORIGIN;
if (!token || !origin || !process.env.CAIRN_MCP_PACKAGE) {
  throw new Error('bearer.mjs: CAIRN_MCP_TOKEN, CAIRN_MCP_ORIGIN and CAIRN_MCP_PACKAGE must be set');
}
const { Agent, setGlobalDispatcher } = createRequire(process.env.CAIRN_MCP_PACKAGE)('undici');

function withBearer(headers) {
  const value = 'Bearer ' + token;
  if (headers == null) return { authorization: value };
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) { // [[name, value], ...]
      if (headers.some((h) => String(h[0]).toLowerCase() === 'authorization')) return headers;
      return [...headers, ['authorization', value]];
    }
    for (let i = 0; i < headers.length; i += 2) { // [name, value, name, value, ...]
      if (String(headers[i]).toLowerCase() === 'authorization') return headers;
    }
    return [...headers, 'authorization', value];
  }
  if (typeof headers[Symbol.iterator] === 'function') return withBearer([...headers]);
  if (Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers;
  return { ...headers, authorization: value };
}

const agent = new Agent().compose((dispatch) => (opts, handler) => {
  const o = String(opts.origin ?? '').replace(/\/+$/, '');
  if (o === origin) opts = { ...opts, headers: withBearer(opts.headers) };
  return dispatch(opts, handler);
});
setGlobalDispatcher(agent);
