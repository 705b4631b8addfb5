// Drives the real engine.io-client (v6, Engine.IO protocol 4) against the
// Go server for the integration tests. Usage:
//   node eio_client.js URL TRANSPORTS(comma list) PINGS
// It prints one JSON line per event. On open it sends a text and a binary
// message; after PINGS pings and both echoes it closes.
const { Socket } = require("engine.io-client");

const [url, transports, pingsArg] = process.argv.slice(2);
const wantPings = Number(pingsArg);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const socket = new Socket(url, {
  path: "/engine.io/",
  transports: transports.split(","),
  upgrade: true,
});
let pings = 0;
let echoes = 0;
let done = false;
const maybeFinish = () => {
  if (!done && pings >= wantPings && echoes >= 2) {
    done = true;
    out({ event: "finish", transport: socket.transport.name });
    socket.close();
  }
};
socket.on("open", () => {
  out({ event: "open", transport: socket.transport.name, id: socket.id });
  socket.send("hello from node");
  socket.send(Buffer.from([1, 2, 3, 250]));
});
socket.on("upgrade", (t) => out({ event: "upgrade", transport: t.name }));
socket.on("message", (data) => {
  const binary = typeof data !== "string";
  const text = binary ? Buffer.from(data).toString("hex") : data;
  out({ event: "message", binary, data: text });
  if (text === "hello from node" || text === "010203fa") echoes++;
  maybeFinish();
});
socket.on("ping", () => {
  pings++;
  out({ event: "ping", n: pings });
  maybeFinish();
});
socket.on("close", (reason) => {
  out({ event: "close", reason });
  // Let the close packet's POST reach the server before exiting.
  setTimeout(() => process.exit(0), 300);
});
socket.on("error", (err) => out({ event: "error", message: String(err) }));
setTimeout(() => {
  out({ event: "timeout" });
  process.exit(2);
}, 15000);
