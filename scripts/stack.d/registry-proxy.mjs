// Serves Apicurio Registry's Confluent-compatible API at the root of a base URL, the way Confluent Schema Registry
// and Redpanda's built-in registry do (GET /subjects, /schemas/ids/{id}, PUT /config ...). Apicurio only serves it
// under /apis/ccompat/v7, and clients such as @kafkajs/confluent-schema-registry and Kafka's own serializers
// take a base URL, so without this the local URL would differ from production's.
// Paths already under /apis/ (Apicurio's native API, or the explicit ccompat prefix) pass through unchanged.
// Usage: node registry-proxy.mjs <listen-port> <apicurio-port>   (both on 127.0.0.1). No dependencies.
import http from 'node:http';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort)) {
  console.error('usage: node registry-proxy.mjs <listen-port> <apicurio-port>');
  process.exit(2);
}
const CCOMPAT = '/apis/ccompat/v7';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const log = (level, msg, fields = {}) =>
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level, component: 'registry-proxy', msg, ...fields }) + '\n');

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const path = url.startsWith('/apis/') || url === '/apis' ? url : CCOMPAT + (url === '/' ? '' : url);
  const upstream = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` }, agent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    log('warn', 'upstream request failed', { method: req.method, path, error: err.message });
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: 50201, message: `schema registry backend (Apicurio on :${upstreamPort}) unavailable: ${err.message}` }));
  });
  req.pipe(upstream);
});

server.on('error', (err) => {
  log('error', 'cannot listen', { port: listenPort, error: err.message });
  process.exit(1);
});
server.listen(listenPort, '127.0.0.1', () => log('info', 'listening', { port: listenPort, upstream: `127.0.0.1:${upstreamPort}${CCOMPAT}` }));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections?.());
