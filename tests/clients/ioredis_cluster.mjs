// ioredis_cluster: ioredis's Cluster client on a Mayfly cluster, driven by
// tests/integration/cluster_reshard.py (not a test of its own).
//
// CLUSTER_PORTS names the nodes, HASHES how many hashes to write (h:{i}... routed by ioredis
// from its slot map). It loads, then obeys one command a line on stdin, answering each on
// stdout:
//   (start) every hash gets fields a = i, b = "x", n = 0; field a a deadline of fbase + i
//           (absolute, HPEXPIREAT) and every tenth key a key deadline of kbase + i
//           (PEXPIREAT), far enough ahead that nothing expires during the test;
//           prints "loaded <N> <ms>"
//   work    WORKERS (4) workers HINCRBY the n field of random hashes of their own and read it
//           back (expecting exactly their count), following MOVED and ASK as the cluster is
//           resharded underneath; any error is a failure. Prints "working".
//   work-through-failover
//           the same, but a command that fails is retried later instead of failing the test
//           (a primary was killed: its slots answer errors until its replica takes over);
//           the count moves only on success, so a write that failed but was applied anyway
//           (or one acknowledged and then lost) shows as a mismatch. Prints "working".
//   pause   stops the workers; prints "paused <ops> <errors>" (totals so far)
//   count   prints "count <ops> <errors>" while they work
//   verify  (workers paused) every hash read back: its fields, n equal to the increments
//           made, field a's deadline exactly fbase + i, field b none, and the key deadline
//           (kbase + i, or none); a key deadline travels in MIGRATE as a relative TTL, so the
//           target's may be later by the time the move took (at most 5 s is accepted), never
//           earlier by more than a millisecond of rounding. Prints the first mismatches as
//           "not ok - ..." lines, then "verified <N> <ms> <mismatches>".
//   quit    exits: status 0 when no check ever failed.
import Redis from 'ioredis';
import readline from 'node:readline';

const ports = (process.env.CLUSTER_PORTS || '').split(',').filter(Boolean).map(Number);
const N = Number(process.env.HASHES || 100000);
const BATCH = 500;
const WORKERS = Number(process.env.WORKERS || 4);
const fbase = Date.now() + 2 * 3600 * 1000;
const kbase = Date.now() + 3 * 3600 * 1000;
const counts = new Uint32Array(N);
let failures = [];
let failed = 0;

function fail(msg) {
  failed++;
  if (failures.length < 20) failures.push(msg);
}

// Loading runs on a stable cluster, auto-pipelined; the workers, while slots move, and the
// verification send plain commands: ioredis refuses to re-route an auto-pipelined batch
// whose keys a MOVED splits between nodes.
const options = (pipelined) => ({
  enableAutoPipelining: pipelined,
  maxRedirections: 64,
  retryDelayOnTryAgain: 20,
  retryDelayOnClusterDown: 100,
  retryDelayOnFailover: 100,
  redisOptions: { maxRetriesPerRequest: 20, connectTimeout: 2000 },
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
let tolerant = false;
let ops = 0;
let errors = 0;
let running = [];

// Worker w owns the hashes i = w (mod WORKERS): one request at a time per hash, so each
// reply is known exactly.
async function worker(w) {
  let x = w * 7919 + 1 + ops;
  const mine = Math.floor((N - 1 - w) / WORKERS) + 1;
  while (!stopping) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const i = w + WORKERS * (x % mine);
    let step = 'HINCRBY';
    try {
      const v = await plain.hincrby(key(i), 'n', 1);
      counts[i]++;
      if (Number(v) !== counts[i]) fail(`HINCRBY ${key(i)} n gave ${v}, expected ${counts[i]}`);
      step = 'HGET';
      const r = await plain.hget(key(i), 'n');
      if (Number(r) !== counts[i]) fail(`HGET ${key(i)} n gave ${r}, expected ${counts[i]}`);
      ops += 2;
    } catch (e) {
      errors++;
      if (!tolerant) fail(`${step} ${key(i)}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function startWorkers(throughFailover) {
  stopping = false;
  tolerant = throughFailover;
  running = [];
  for (let w = 0; w < WORKERS; w++) running.push(worker(w));
}

async function verify() {
  const t0 = Date.now();
  const before = failed;
  failures = [];
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
        ]).then(
          ([vals, fdl, kdl]) => {
            checked++;
            if (vals[0] !== String(i) || vals[1] !== 'x' || Number(vals[2]) !== counts[i])
              fail(`${k}: fields ${JSON.stringify(vals)}, expected [${i},x,${counts[i]}]`);
            if (Number(fdl[0]) !== fbase + i || Number(fdl[1]) !== -1)
              fail(`${k}: field deadlines ${JSON.stringify(fdl)}, expected [${fbase + i},-1]`);
            const want = i % 10 === 0 ? kbase + i : -1;
            const ok = want === -1 ? kdl === -1 : kdl >= want - 1 && kdl <= want + 5000;
            if (!ok) fail(`${k}: key deadline ${kdl}, expected ${want}`);
          },
          (e) => fail(`${k}: ${e.message}`),
        ),
      );
    }
    await Promise.all(jobs);
  }
  for (const f of failures) console.log(`not ok - ${f}`);
  console.log(`verified ${checked} ${Date.now() - t0} ${failed - before}`);
}

async function main() {
  await load();
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const c = line.trim();
    if (c === 'work' || c === 'work-through-failover') {
      startWorkers(c !== 'work');
      console.log('working');
    } else if (c === 'pause') {
      stopping = true;
      await Promise.all(running);
      console.log(`paused ${ops} ${errors}`);
    } else if (c === 'count') {
      console.log(`count ${ops} ${errors}`);
    } else if (c === 'verify') {
      await verify();
    } else if (c === 'quit') {
      break;
    }
  }
  stopping = true;
  await Promise.all(running);
  cluster.disconnect();
  plain.disconnect();
  process.exit(failed ? 1 : 0);
}

// A bound on the whole run, below ctest's (DEADLINE_S: twice as long under the sanitizers).
const deadline = Number(process.env.DEADLINE_S || 280);
setTimeout(() => {
  console.log(`not ok - still running after ${deadline} s`);
  process.exit(1);
}, deadline * 1000).unref();

main().catch((e) => {
  console.log(`not ok - ${e.stack}`);
  process.exit(1);
});
