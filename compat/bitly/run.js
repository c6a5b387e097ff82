// Drives the real `bitly` npm client (pinned in package-lock.json) against
// a Mini Bitly node serving TLS on MB_HOST:443, and prints what the client
// returned as one JSON object on stdout for cmd/minibitly/compat_bitly_test.go
// to check. Env: MB_HOST (the node's host, e.g. 127.0.0.1), MB_KEY (an API
// key), MB_LONG_URL, MB_VISITS (redirects to make before reading clicks);
// NODE_EXTRA_CA_CERTS must name the node's certificate.
'use strict';
const https = require('https');
const { BitlyClient } = require('bitly');

const host = process.env.MB_HOST;
const key = process.env.MB_KEY;
const longUrl = process.env.MB_LONG_URL;
const visits = Number(process.env.MB_VISITS || '3');

// A client error is what the bitly client throws: the response body.
async function caught(p) {
  try {
    return { ok: await p };
  } catch (e) {
    return { err: e && e.message !== undefined && e.resource !== undefined ? e : String(e) };
  }
}

function get(url) {
  return new Promise((resolve, reject) => {
    https.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location }));
    }).on('error', reject);
  });
}

async function main() {
  // apiUrl is a bare host name: the client always speaks https on 443.
  const bitly = new BitlyClient(key, { apiUrl: host, domain: host });
  const out = {};
  out.shorten = await bitly.shorten(longUrl);
  out.expand = await bitly.expand(out.shorten.link);
  out.info = await bitly.info(out.shorten.id);
  out.redirects = [];
  for (let i = 0; i < visits; i++) {
    out.redirects.push(await get(out.shorten.link));
  }
  // Visits reach the store within a flush interval: poll clicks.
  const deadline = Date.now() + 30000;
  for (;;) {
    out.clicks = await bitly.clicks(out.shorten.id, 'day', -1, 50);
    const sum = out.clicks.link_clicks.reduce((n, c) => n + c.clicks, 0);
    if (sum >= visits || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  out.clicksByMinute = await bitly.clicksByMinute(out.shorten.id);
  out.referrers = await bitly.referrers(out.shorten.id);
  out.countries = await bitly.countries(out.shorten.id);
  out.summary = await bitly.bitlyRequest(`bitlinks/${out.shorten.id}/clicks/summary`, { unit: 'day', units: -1 }, 'GET');
  out.unknown = await caught(bitly.info(`${host}/NoSuchCode1`));
  out.badURL = await caught(bitly.shorten('not a url'));
  out.badToken = await caught(new BitlyClient('wrong-token', { apiUrl: host }).info(out.shorten.id));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  const detail = e && e.message !== undefined && e.resource !== undefined ? JSON.stringify(e) : (e && e.stack) || String(e);
  process.stderr.write('compat/bitly: ' + detail + '\n');
  process.exit(1);
});
