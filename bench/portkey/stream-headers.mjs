// Loaded with `node --import` before Portkey's gateway: gives streamed upstream responses
// headers the gateway may change. Its Node server (@hono/node-server) reuses a fetch
// response's headers, which fetch makes immutable, and the gateway then adds its
// x-portkey-* headers to them: every stream fails with "TypeError: immutable"
// (Portkey-AI/gateway issues 1389 and 1550). This copies the headers of event streams
// only, as the fix proposed there does; other responses are left as they are.
const fetch = globalThis.fetch;
const Response = globalThis.Response; // undici's, before the server replaces it

globalThis.fetch = async (...args) => {
  const r = await fetch(...args);
  if (!r.headers.get("content-type")?.startsWith("text/event-stream")) return r;
  return new Response(r.body, { status: r.status, statusText: r.statusText, headers: r.headers });
};
