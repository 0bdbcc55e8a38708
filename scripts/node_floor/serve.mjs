// The floor's `serve` side written as a Node.js server would be by hand: the `ws` library, every
// connection sent the same bytes once a tick, all of them in one burst from one timer (a
// `for` over the clients, the usual Node broadcast), whatever arrives read and dropped. No game,
// no MessagePack: what it costs per connection-second is the least a hand-written Node `ws`
// server pays for the traffic of a Skirmish room, to set beside the `skirmish` server's CPU per
// player-second. `scripts/loopback_floor.sh N --node` runs it against `loopback_floor play
// --websocket`.
//
// Usage: node serve.mjs [--down BYTES] [--rate HZ]; prints `127.0.0.1:PORT` on its first line.
import { WebSocketServer } from 'ws';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
// Bytes on the wire per connection per tick, frame header included, as `loopback_floor serve
// --down` (136: a snapshot with the radar once a second averaged in).
const down = arg('--down', 136);
const rate = arg('--rate', 30);
// A server's frame header is 2 bytes under 126 bytes of payload, 4 up to 64 KiB.
const message = Buffer.alloc(Math.max(0, down - (down < 128 ? 2 : 4)), 0x5a);
const periodMs = 1000 / rate;

// `ws` sets TCP_NODELAY on every socket and, as a server, offers no compression by default:
// the same as the Rust sides.
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, clientTracking: true });
wss.on('listening', () => console.log(`127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws) => {
  ws.on('message', () => {});
  ws.on('error', () => {});
});

// One timer for the room, rescheduled against the start so that the ticks do not drift.
const start = performance.now();
let tick = 0;
const broadcast = () => {
  for (const ws of wss.clients) {
    if (ws.readyState === ws.OPEN) ws.send(message, { binary: true });
  }
  tick += 1;
  setTimeout(broadcast, Math.max(0, start + tick * periodMs - performance.now()));
};
setTimeout(broadcast, periodMs);
