// The daemon's protocol over its Unix socket, without VS Code: the extension
// uses it, and so can any Node script (node client.js en ru "Some text").
'use strict';
const net = require('net');
const os = require('os');

function socketPath(configured) {
  if (configured) return configured;
  if (process.env.HYDRA_SOCKET) return process.env.HYDRA_SOCKET;
  if (process.env.XDG_RUNTIME_DIR) return `${process.env.XDG_RUNTIME_DIR}/hydra/hydra.sock`;
  return `/tmp/hydra-${os.userInfo().uid}/hydra.sock`;
}

// Resolves with the translation; onPiece(piece) sees it stream in.
function translate({ text, from, to, model, socket }, onPiece) {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socketPath(socket));
    let pending = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => {
      const params = { text, from, to };
      if (model) params.model = model;
      conn.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'translate', params }) + '\n');
    });
    conn.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const msg = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (msg.method === 'translate.partial' && onPiece) onPiece(msg.params.text);
        else if (msg.id === 1) {
          conn.end();
          if (msg.error) reject(new Error(msg.error.message));
          else resolve(msg.result.text);
        }
      }
    });
    conn.on('error', (e) => reject(new Error(
      e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no hydra daemon is running (hydra daemon start)' : e.message)));
  });
}

module.exports = { translate, socketPath };

if (require.main === module) {
  const [from, to, ...words] = process.argv.slice(2);
  translate({ text: words.join(' '), from, to }, (p) => process.stdout.write(p))
    .then(() => process.stdout.write('\n'))
    .catch((e) => { console.error(`hydra: ${e.message}`); process.exit(1); });
}
