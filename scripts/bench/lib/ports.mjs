/** Free TCP ports on 127.0.0.1 within a range (other helpers share the machine, so start at a random offset). */
import { createServer } from "node:net";

function canListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port in [from, to] that nobody listens on right now; `avoid` lists ports already handed out. */
export async function freePort(from, to, avoid = []) {
  const span = to - from + 1;
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = from + ((offset + i) % span);
    if (!avoid.includes(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
