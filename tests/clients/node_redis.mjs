// node-redis (npm `redis`, pinned in package-lock.json) against a running mayfly-server.
//
// Run by tests/clients/run_client.c, which starts the server and sets MAYFLY_PORT. Every
// client uses DEFAULT options (RESP3: HELLO 3, then SELECT, CLIENT SETINFO and
// CLIENT MAINT_NOTIFICATIONS, whose error node-redis ignores). Each scenario prints
// "ok - name"; the first failure prints "not ok - name: why" and exits 1. The whole run is
// bounded by a 30 s timer.
import assert from 'node:assert/strict';
import { createClient, defineScript, WatchError } from 'redis';

const port = Number(process.env.MAYFLY_PORT);
if (!port) {
    console.error('MAYFLY_PORT is not set');
    process.exit(2);
}
setTimeout(() => {
    console.error('not ok - node-redis run timed out after 30 s');
    process.exit(1);
}, 30000).unref();

const DB = 7;
const opts = { socket: { host: '127.0.0.1', port, reconnectStrategy: false }, database: DB };
const open = [];

async function connect(extra = {}) {
    const c = createClient({ ...opts, ...extra });
    c.on('error', (e) => console.error('client error event:', e.message));
    await c.connect();
    open.push(c);
    return c;
}

// Resolves with the first value pushed by `arm(resolve)`, or rejects after ms.
function waitFor(what, ms, arm) {
    return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
        arm((v) => {
            clearTimeout(t);
            resolve(v);
        });
    });
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push([name, fn]);

let c;
scenario('connect with defaults (HELLO 3) and PING', async () => {
    c = await connect();
    assert.equal(await c.ping(), 'PONG');
    await c.flushDb(); // the script may be rerun against one server
    const hello = await c.sendCommand(['HELLO']);
    assert.equal(hello.proto, 3, 'connection is not RESP3');
});

scenario('SET/GET', async () => {
    assert.equal(await c.set('nr:s', 'v1'), 'OK');
    assert.equal(await c.get('nr:s'), 'v1');
    assert.equal(await c.get('nr:missing'), null);
    assert.equal(await c.set('nr:s', 'v2', { NX: true }), null);
});

scenario(`database option selects db ${DB}`, async () => {
    const info = await c.sendCommand(['CLIENT', 'INFO']);
    assert.match(String(info), new RegExp(` db=${DB} `));
    const other = await connect({ database: 0 });
    assert.equal(await other.get('nr:s'), null, 'db 0 sees a key written to db 7');
});

scenario('HSET/HGETALL (RESP3 map -> object)', async () => {
    assert.equal(await c.hSet('nr:h', { a: '1', b: '2', c: '3' }), 3);
    assert.deepEqual({ ...(await c.hGetAll('nr:h')) }, { a: '1', b: '2', c: '3' });
    assert.deepEqual({ ...(await c.hGetAll('nr:nothing')) }, {});
});

scenario('HSETEX/HGETEX/HTTL/HPEXPIRE/HPERSIST via sendCommand', async () => {
    assert.equal(await c.sendCommand(['HSETEX', 'nr:t', 'EX', '100', 'FIELDS', '2', 'f', 'v', 'g', 'w']), 1);
    const ttl = await c.sendCommand(['HTTL', 'nr:t', 'FIELDS', '3', 'f', 'g', 'none']);
    assert.equal(ttl.length, 3);
    assert.ok(ttl[0] > 90 && ttl[0] <= 100, `HTTL f = ${ttl[0]}`);
    assert.equal(ttl[2], -2);
    assert.deepEqual(await c.sendCommand(['HGETEX', 'nr:t', 'PERSIST', 'FIELDS', '1', 'f']), ['v']);
    assert.deepEqual(await c.sendCommand(['HTTL', 'nr:t', 'FIELDS', '1', 'f']), [-1]);
    assert.deepEqual(await c.sendCommand(['HPEXPIRE', 'nr:t', '500000', 'FIELDS', '2', 'f', 'x']), [1, -2]);
    const pttl = await c.sendCommand(['HPTTL', 'nr:t', 'FIELDS', '1', 'f']);
    assert.ok(pttl[0] > 400000, `HPTTL f = ${pttl[0]}`);
    assert.deepEqual(await c.sendCommand(['HPERSIST', 'nr:t', 'FIELDS', '2', 'f', 'g']), [1, 1]);
    assert.deepEqual(await c.sendCommand(['HTTL', 'nr:t', 'FIELDS', '2', 'f', 'g']), [-1, -1]);
    assert.deepEqual(await c.sendCommand(['HGETDEL', 'nr:t', 'FIELDS', '1', 'g']), ['w']);
    // The typed helpers of node-redis for the same family.
    assert.deepEqual(await c.hpExpire('nr:t', 'f', 10000), [1]);
    const helperTtl = await c.hTTL('nr:t', 'f');
    assert.ok(helperTtl[0] > 0 && helperTtl[0] <= 10, `hTTL = ${helperTtl}`);
    assert.deepEqual(await c.hPersist('nr:t', 'f'), [1]);
});

scenario('MULTI/EXEC with multi()', async () => {
    const r = await c.multi().set('nr:m', '1').incr('nr:m').get('nr:m').hSet('nr:mh', 'f', 'v').exec();
    assert.deepEqual(r, ['OK', 2, '2', 1]);
});

scenario('WATCH conflict raises WatchError', async () => {
    const other = await connect();
    await c.set('nr:w', '0');
    await c.watch('nr:w');
    await other.set('nr:w', 'changed');
    await assert.rejects(c.multi().set('nr:w', 'mine').exec(), WatchError);
    assert.equal(await c.get('nr:w'), 'changed');
    // Without a conflict the same sequence commits.
    await c.watch('nr:w');
    assert.deepEqual(await c.multi().set('nr:w', 'mine').exec(), ['OK']);
});

scenario('pub/sub: subscribe, psubscribe, unsubscribe (RESP3 pushes)', async () => {
    const sub = await connect();
    const msg = waitFor('message', 3000, (done) => sub.subscribe('nr:ch', (m, ch) => done([ch, m])));
    await new Promise((r) => setTimeout(r, 0));
    // In RESP3 the subscribed connection still answers ordinary commands.
    const pmsg = waitFor('pmessage', 3000, (done) =>
        sub.pSubscribe('nr:p*', (m, ch) => done([ch, m])));
    await sub.pSubscribe('nr:zzz*', () => {});
    assert.equal(await sub.ping(), 'PONG');
    assert.equal(await c.publish('nr:ch', 'hello'), 1);
    assert.deepEqual(await msg, ['nr:ch', 'hello']);
    assert.equal(await c.publish('nr:pat', 'world'), 1);
    assert.deepEqual(await pmsg, ['nr:pat', 'world']);
    await sub.unsubscribe('nr:ch');
    await sub.pUnsubscribe('nr:p*');
    assert.equal(await c.publish('nr:ch', 'nobody'), 0);
    assert.equal(await c.publish('nr:pat', 'nobody'), 0);
    assert.equal(await sub.get('nr:s'), 'v1');
});

scenario('keyspace notification for a hash field expiry (hexpired)', async () => {
    assert.equal(await c.configSet('notify-keyspace-events', 'Kh'), 'OK');
    const sub = await connect();
    const events = [];
    const got = waitFor('hexpired event', 5000, (done) =>
        sub.subscribe(`__keyspace@${DB}__:nr:exp`, (m) => {
            events.push(m);
            if (m === 'hexpired') done(events);
        }));
    await new Promise((r) => setTimeout(r, 0));
    await sub.ping(); // the SUBSCRIBE has been answered once PING is
    await c.hSet('nr:exp', { f: 'v', keep: 'k' });
    assert.deepEqual(await c.sendCommand(['HPEXPIRE', 'nr:exp', '50', 'FIELDS', '1', 'f']), [1]);
    const seen = await got;
    assert.deepEqual(seen, ['hset', 'hexpire', 'hexpired']);
    assert.deepEqual({ ...(await c.hGetAll('nr:exp')) }, { keep: 'k' });
    await c.configSet('notify-keyspace-events', '');
});

scenario('scripts and functions (EVALSHA, EVAL after NOSCRIPT, FCALL)', async () => {
    const x = await connect({
        scripts: {
            addAndTtl: defineScript({
                SCRIPT:
                    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) " +
                    "redis.call('HSETEX', KEYS[2], 'EX', 100, 'FIELDS', 1, 'n', v) " +
                    "return {v, redis.call('HTTL', KEYS[2], 'FIELDS', 1, 'n')[1]}",
                NUMBER_OF_KEYS: 2,
                parseCommand(parser, counter, hash, by) {
                    parser.pushKey(counter);
                    parser.pushKey(hash);
                    parser.push(String(by));
                },
                transformReply: (reply) => reply,
            }),
        },
        functions: {
            nrlib: {
                nrget: {
                    NUMBER_OF_KEYS: 1,
                    IS_READ_ONLY: true,
                    parseCommand(parser, key) {
                        parser.pushKey(key);
                    },
                    transformReply: (reply) => reply,
                },
            },
        },
    });
    assert.deepEqual(await x.addAndTtl('nr:cnt', 'nr:h', 3), [3, 100]);
    await x.scriptFlush();
    assert.deepEqual(await x.addAndTtl('nr:cnt', 'nr:h', 4), [7, 100]);
    const lib =
        '#!lua name=nrlib\n' +
        "redis.register_function{function_name='nrget', flags={'no-writes'}, " +
        "callback=function(k) return redis.call('GET', k[1]) end}";
    assert.equal(await x.functionLoad(lib, { REPLACE: true }), 'nrlib');
    assert.equal(await x.nrlib.nrget('nr:cnt'), '7');
    const [a, b] = await x.multi().addAndTtl('nr:cnt', 'nr:h', 1).addAndTtl('nr:cnt', 'nr:h', 1).exec();
    assert.deepEqual([a, b], [[8, 100], [9, 100]]);
});

scenario('client-side cache: a hit, then the entry dropped after an HSET by another client', async () => {
    const cached = await connect({ RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
    const csc = cached.clientSideCache;
    assert.ok(csc, 'no clientSideCache on the client');
    const info = String(await cached.sendCommand(['CLIENT', 'INFO']));
    assert.match(info, / flags=t /, `tracking is not on: ${info}`);
    await c.hSet('nr:csc', { f: '1', g: '2' });
    assert.deepEqual({ ...(await cached.hGetAll('nr:csc')) }, { f: '1', g: '2' });
    assert.equal(csc.stats().missCount, 1);
    assert.equal(csc.size(), 1);
    // Served from the cache: no command reaches the server (its counter stays put).
    const calls = async () => {
        const stats = String(await c.sendCommand(['INFO', 'commandstats']));
        const m = stats.match(/cmdstat_hgetall:calls=(\d+)/);
        return m ? Number(m[1]) : 0;
    };
    const before = await calls();
    assert.deepEqual({ ...(await cached.hGetAll('nr:csc')) }, { f: '1', g: '2' });
    assert.equal(csc.stats().hitCount, 1);
    assert.equal(await calls(), before, 'the hit went to the server');
    // Another client changes the hash: the server's invalidate push drops the entry.
    const dropped = waitFor('invalidation', 3000, (done) =>
        csc.once('invalidate', (key) => done(key === null ? null : key.toString())));
    assert.equal(await c.hSet('nr:csc', 'f', 'changed'), 0);
    assert.equal(await dropped, 'nr:csc');
    assert.equal(csc.size(), 0);
    assert.deepEqual({ ...(await cached.hGetAll('nr:csc')) }, { f: 'changed', g: '2' });
    assert.equal(csc.stats().missCount, 2);
    assert.equal(await calls(), before + 1);
});

let failed = false;
for (const [name, fn] of scenarios) {
    try {
        await fn();
        console.log(`ok - ${name}`);
    } catch (e) {
        console.log(`not ok - ${name}: ${e?.stack ?? e}`);
        failed = true;
        break;
    }
}
for (const x of open) {
    try {
        x.destroy();
    } catch {
        /* already closed */
    }
}
console.log(failed ? 'node-redis: FAILED' : `node-redis: all ${scenarios.length} scenarios passed`);
process.exit(failed ? 1 : 0);
