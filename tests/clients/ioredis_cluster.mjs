// ioredis_cluster: ioredis's Cluster client on a Mayfly cluster, driven by
// tests/integration/cluster_reshard.py (not a test of its own).
//
// CLUSTER_PORTS names the nodes, HASHES how many hashes to write (h:{i}... routed by ioredis
// from its slot map). Phases, each announced on stdout:
//   load    every hash gets fields a = i, b = "x", n = 0; field a a deadline of fbase + i
//           (absolute, HPEXPIREAT) and every tenth key a key deadline of kbase + i
//           (PEXPIREAT), far enough ahead that nothing expires during the test;
//           prints "loaded <N> <ms>"
//   work    until a line "stop" arrives on stdin, WORKERS (4) workers HINCRBY the n field of random
//           hashes of their own and read it back (expecting exactly their count), following MOVED
//           and ASK as the cluster is resharded underneath; prints "worked <ops> <ms>"
//   verify  every hash read back: its fields, n equal to the increments made, field a's
//           deadline exactly fbase + i, field b none, and the key deadline (kbase + i, or
//           none); a key deadline travels in MIGRATE as a relative TTL, so the target's
//           may be later by the time the move took (at most 5 s is accepted), never earlier
//           by more than a millisecond of rounding
// Exit status 0 when every check held; the first mismatches are printed.
import Redis from 'ioredis';
import readline from 'node:readline';

const ports = (process.env.CLUSTER_PORTS || '').split(',').filter(Boolean).map(Number);
const N = Number(process.env.HASHES || 100000);
const BATCH = 500;
const WORKERS = Number(process.env.WORKERS || 4);
const fbase = Date.now() + 2 * 3600 * 1000;
const kbase = Date.now() + 3 * 3600 * 1000;
const counts = new Uint32Array(N);
const failures = [];

function fail(msg) {
  if (failures.length < 20) failures.push(msg);
}

// Loading runs on a stable cluster, auto-pipelined; the workers, while slots move, and the
// verification afterwards (with the slot map of before the moves) send plain commands:
// ioredis refuses to re-route an auto-pipelined batch whose keys a MOVED splits between
// nodes.
const options = (pipelined) => ({
  enableAutoPipelining: pipelined,
  maxRedirections: 64,
  retryDelayOnTryAgain: 20,
  retryDelayOnClusterDown: 100,
  redisOptions: { maxRetriesPerRequest: 20 },
});
const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
const cluster = new Redis.Cluster(nodes, options(true));
const plain = new Redis.Cluster(nodes, options(false));

const key = (i) => `h:{${i}}`;

async function load() {
  const t0 = Date.now();
  for (let start = 0; start < N; start += BATCH) {
    const ops = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const k = key(i);
      ops.push(cluster.hset(k, 'a', String(i), 'b', 'x', 'n', '0'));
      ops.push(cluster.hpexpireat(k, fbase + i, 'FIELDS', 1, 'a'));
      if (i % 10 === 0) ops.push(cluster.pexpireat(k, kbase + i));
    }
    await Promise.all(ops);
  }
  console.log(`loaded ${N} ${Date.now() - t0}`);
}

let stopping = false;
let ops = 0;
let errors = 0;

// Worker w owns the hashes i = w (mod WORKERS): one request at a time per hash, so each
// reply is known exactly.
async function worker(w) {
  let x = w * 7919 + 1;
  const mine = Math.floor((N - 1 - w) / WORKERS) + 1;
  while (!stopping) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const i = w + WORKERS * (x % mine);
    try {
      const v = await plain.hincrby(key(i), 'n', 1);
      counts[i]++;
      if (Number(v) !== counts[i]) fail(`HINCRBY ${key(i)} n gave ${v}, expected ${counts[i]}`);
      const r = await plain.hget(key(i), 'n');
      if (Number(r) !== counts[i]) fail(`HGET ${key(i)} n gave ${r}, expected ${counts[i]}`);
      ops += 2;
    } catch (e) {
      errors++;
      fail(`work on ${key(i)}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function verify() {
  const t0 = Date.now();
  let checked = 0;
  for (let start = 0; start < N; start += BATCH) {
    const jobs = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const k = key(i);
      jobs.push(
        Promise.all([
          plain.hmget(k, 'a', 'b', 'n'),
          plain.hpexpiretime(k, 'FIELDS', 2, 'a', 'b'),
          plain.pexpiretime(k),
        ]).then(([vals, fdl, kdl]) => {
          checked++;
          if (vals[0] !== String(i) || vals[1] !== 'x' || Number(vals[2]) !== counts[i])
            fail(`${k}: fields ${JSON.stringify(vals)}, expected [${i},x,${counts[i]}]`);
          if (Number(fdl[0]) !== fbase + i || Number(fdl[1]) !== -1)
            fail(`${k}: field deadlines ${JSON.stringify(fdl)}, expected [${fbase + i},-1]`);
          const want = i % 10 === 0 ? kbase + i : -1;
          const ok = want === -1 ? kdl === -1 : kdl >= want - 1 && kdl <= want + 5000;
          if (!ok) fail(`${k}: key deadline ${kdl}, expected ${want}`);
        }),
      );
    }
    await Promise.all(jobs);
  }
  console.log(`verified ${checked} ${Date.now() - t0}`);
}

async function main() {
  await load();
  const stop = new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (l) => {
      if (l.trim() === 'stop') resolve();
    });
    rl.on('close', resolve);
  });
  const t0 = Date.now();
  const ws = [];
  for (let w = 0; w < WORKERS; w++) ws.push(worker(w));
  await stop;
  stopping = true;
  await Promise.all(ws);
  console.log(`worked ${ops} ${Date.now() - t0} errors ${errors}`);
  await verify();
  cluster.disconnect();
  plain.disconnect();
  for (const f of failures) console.log(`not ok - ${f}`);
  if (failures.length) process.exit(1);
  console.log('ok - every hash, field deadline and key deadline intact');
  process.exit(0);
}

setTimeout(() => {
  console.log('not ok - still running after 240 s');
  process.exit(1);
}, 240000).unref();

main().catch((e) => {
  console.log(`not ok - ${e.stack}`);
  process.exit(1);
});
