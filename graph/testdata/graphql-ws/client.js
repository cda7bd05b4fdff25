// Subscribes to the hub with the graphql-ws client (protocol graphql-transport-ws) and prints one
// JSON line per thing that happens; ../../subscription_npm_test.go drives it through stdin:
//   disconnect  closes the socket (the client's subscriptions end with it)
//   resume      connects again, each subscription resuming after the last cursor it received
//   exit        closes the socket and ends
// Environment: HUB_WS_URL, HUB_API_KEY, HUB_SUBSCRIPTIONS (JSON [{name, query, after}]).
'use strict';

const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const readline = require('readline');

const url = process.env.HUB_WS_URL;
const apiKey = process.env.HUB_API_KEY;
const subscriptions = JSON.parse(process.env.HUB_SUBSCRIPTIONS);

const last = {}; // subscription name -> cursor of the last event received
let phase = 0;
let client = null;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function connect() {
  phase++;
  const p = phase;
  client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { apiKey },
    lazy: false,
    retryAttempts: 0,
    keepAlive: 300, // the client pings too; the server must answer pong
    on: {
      connected: () => out({ phase: p, connected: true }),
      pong: (received) => { if (received) out({ phase: p, pong: true }); },
      closed: (e) => out({ phase: p, closed: e && e.code }),
      error: (e) => out({ phase: p, socketError: String((e && e.message) || e) }),
    },
  });
  for (const s of subscriptions) {
    const after = last[s.name] !== undefined ? last[s.name] : s.after;
    client.subscribe({ query: s.query, variables: { after } }, {
      next: (result) => {
        if (result.errors) {
          out({ phase: p, sub: s.name, errors: result.errors });
          return;
        }
        const event = Object.values(result.data)[0];
        last[s.name] = event.cursor;
        out({ phase: p, sub: s.name, event });
      },
      error: (e) => out({ phase: p, sub: s.name, error: Array.isArray(e) ? e : String((e && e.message) || e) }),
      complete: () => out({ phase: p, sub: s.name, complete: true }),
    });
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  switch (line.trim()) {
    case 'disconnect':
      await client.dispose();
      out({ phase, disconnected: true, last });
      break;
    case 'resume':
      connect();
      break;
    case 'exit':
      await client.dispose();
      out({ phase, done: true, last });
      process.exit(0);
  }
});
rl.on('close', () => process.exit(1));

connect();
