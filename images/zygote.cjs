'use strict';
/*
 * The agent's zygote (issue 21). Starting node takes a TCG guest 0.7 s of a
 * vCPU, and ~3 s when three restored guests start it at once on two host
 * cores: most of a restored lab's wait for its agents. A snapshot's template
 * (images/init.sh) starts this process before it is saved, so every node
 * restored from it wakes with a node runtime already up, listening on the
 * guest's loopback. The harness reaches it through its SSH connection (a
 * direct-tcpip channel), presents the token init got with the node's identity
 * (root's file, never on the command line), and sends the agent's code and
 * arguments; this process then becomes that agent, with the connection as its
 * first link. One use: after it, or with a bad token, it stops listening, and
 * later links start the agent the usual way (node over an SSH exec channel).
 *
 * The agent draws no randomness, so the node runtime's own generator state,
 * the template's, is never used (the kernel's pool is the node's own).
 */
const fs = require('node:fs');
const net = require('node:net');

// harness/agent-client.ts's ZYGOTE_PORT
const PORT = 7391;
const TOKEN_FILE = '/run/m3lab/zygote.token';
const AGENT_FILE = '/tmp/m3lab/agent.cjs';
const MAX_HEADER = 4096;
const MAX_CODE = 16 << 20;
// Unused this long after the node's token came: the harness took the usual way.
const IDLE_AFTER_TOKEN_MS = 120_000;

const server = net.createServer((s) => {
  let buf = Buffer.alloc(0);
  let head;
  const refuse = () => {
    s.destroy();
    server.close();
  };
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    if (!head) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > MAX_HEADER) refuse();
        return;
      }
      let token;
      try {
        head = JSON.parse(buf.subarray(0, nl).toString('utf8'));
        token = fs.readFileSync(TOKEN_FILE, 'utf8').trim();
      } catch {
        refuse();
        return;
      }
      if (!token || head.token !== token || !Number.isInteger(head.bytes) || head.bytes <= 0 || head.bytes > MAX_CODE || !Array.isArray(head.argv)) {
        refuse();
        return;
      }
      buf = buf.subarray(nl + 1);
    }
    if (buf.length < head.bytes) return;
    s.pause();
    s.removeListener('data', onData);
    server.close();
    clearInterval(idle);
    const rest = buf.subarray(head.bytes);
    fs.mkdirSync('/tmp/m3lab', { recursive: true });
    fs.writeFileSync(AGENT_FILE, buf.subarray(0, head.bytes));
    if (rest.length) s.unshift(rest);
    process.argv = [process.argv[0], AGENT_FILE, ...head.argv.map(String)];
    globalThis.m3labLink = { input: s, write: (line) => s.write(line), end: () => s.end() };
    require(AGENT_FILE);
  };
  s.on('data', onData);
  s.on('error', () => {});
});

const idle = setInterval(() => {
  try {
    if (Date.now() - fs.statSync(TOKEN_FILE).mtimeMs > IDLE_AFTER_TOKEN_MS) process.exit(0);
  } catch {
    // no token yet: still the template, or not restored
  }
}, 10_000);

// init waits for this file before the template is saved, so no restored node starts node again.
server.listen(PORT, '127.0.0.1', () => fs.writeFileSync('/run/m3lab/zygote.ready', `${process.pid}\n`));
