// ioredis (npm `ioredis`, pinned in package-lock.json) against a running mayfly-server.
//
// Run by tests/clients/run_client.c, which starts the server and sets MAYFLY_PORT. Every
// client uses DEFAULT options (RESP3: lower-case `hello 3`, select, client SETINFO, and the
// `info` ready check). Each scenario prints "ok - name"; the first failure prints
// "not ok - name: why" and exits 1. The whole run is bounded by a 30 s timer.
import assert from 'node:assert/strict';
import Redis from 'ioredis';

const port = Number(process.env.MAYFLY_PORT);
if (!port) {
    console.error('MAYFLY_PORT is not set');
    process.exit(2);
}
setTimeout(() => {
    console.error('not ok - ioredis run timed out after 30 s');
    process.exit(1);
}, 30000).unref();

const DB = 5;
const open = [];

// A connected client; a failing handshake rejects instead of retrying forever.
async function connect(extra = {}) {
    const c = new Redis({
        host: '127.0.0.1',
        port,
        db: DB,
        lazyConnect: true,
        retryStrategy: () => null,
        ...extra,
    });
    c.on('error', (e) => console.error('client error event:', e.message));
    open.push(c);
    await c.connect();
    assert.equal(c.status, 'ready');
    return c;
}

// Resolves with the first value passed to done by arm(done), or rejects after ms.
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
scenario('connect with defaults (hello 3, info ready check) and PING', async () => {
    c = await connect();
    assert.equal(await c.ping(), 'PONG');
    await c.flushdb(); // the script may be rerun against one server
    const hello = await c.call('hello');
    // ioredis hands RESP3 maps over as flat [k, v, ...] arrays.
    const h = Array.isArray(hello) ? Object.fromEntries(pairs(hello)) : hello;
    assert.equal(h.proto, 3, `connection is not RESP3: ${JSON.stringify(hello)}`);
});

function pairs(flat) {
    const out = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
    return out;
}

scenario('SET/GET', async () => {
    assert.equal(await c.set('io:s', 'v1'), 'OK');
    assert.equal(await c.get('io:s'), 'v1');
    assert.equal(await c.get('io:missing'), null);
    assert.equal(await c.set('io:s', 'v2', 'NX'), null);
});

scenario(`db option selects db ${DB}`, async () => {
    const info = await c.client('INFO');
    assert.match(String(info), new RegExp(` db=${DB} `));
    const other = await connect({ db: 0 });
    assert.equal(await other.get('io:s'), null, 'db 0 sees a key written to db 5');
});

scenario('HSET/HGETALL (RESP3 map -> object)', async () => {
    assert.equal(await c.hset('io:h', { a: '1', b: '2', c: '3' }), 3);
    assert.deepEqual({ ...(await c.hgetall('io:h')) }, { a: '1', b: '2', c: '3' });
    assert.deepEqual({ ...(await c.hgetall('io:nothing')) }, {});
});

scenario('HSETEX/HGETEX/HTTL/HPEXPIRE/HPERSIST via call', async () => {
    assert.equal(await c.call('hsetex', 'io:t', 'EX', 100, 'FIELDS', 2, 'f', 'v', 'g', 'w'), 1);
    const ttl = await c.call('httl', 'io:t', 'FIELDS', 3, 'f', 'g', 'none');
    assert.equal(ttl.length, 3);
    assert.ok(ttl[0] > 90 && ttl[0] <= 100, `HTTL f = ${ttl[0]}`);
    assert.equal(ttl[2], -2);
    assert.deepEqual(await c.call('hgetex', 'io:t', 'PERSIST', 'FIELDS', 1, 'f'), ['v']);
    assert.deepEqual(await c.call('httl', 'io:t', 'FIELDS', 1, 'f'), [-1]);
    assert.deepEqual(await c.call('hpexpire', 'io:t', 500000, 'FIELDS', 2, 'f', 'x'), [1, -2]);
    const pttl = await c.call('hpttl', 'io:t', 'FIELDS', 1, 'f');
    assert.ok(pttl[0] > 400000, `HPTTL f = ${pttl[0]}`);
    assert.deepEqual(await c.call('hpersist', 'io:t', 'FIELDS', 2, 'f', 'g'), [1, 1]);
    assert.deepEqual(await c.call('httl', 'io:t', 'FIELDS', 2, 'f', 'g'), [-1, -1]);
    assert.deepEqual(await c.call('hgetdel', 'io:t', 'FIELDS', 1, 'g'), ['w']);
    // ioredis's own method for the same family.
    assert.deepEqual(await c.hpexpire('io:t', 10000, 'FIELDS', 1, 'f'), [1]);
});

scenario('MULTI/EXEC with multi()', async () => {
    const r = await c.multi().set('io:m', '1').incr('io:m').get('io:m').hset('io:mh', 'f', 'v').exec();
    assert.deepEqual(r, [[null, 'OK'], [null, 2], [null, '2'], [null, 1]]);
    // A queue-time error aborts the whole transaction (EXECABORT).
    await assert.rejects(c.multi().set('io:m', '5').call('nosuchcommand').exec(), /EXECABORT/);
    assert.equal(await c.get('io:m'), '2');
});

scenario('WATCH conflict makes exec() return null', async () => {
    const other = await connect();
    await c.set('io:w', '0');
    assert.equal(await c.watch('io:w'), 'OK');
    await other.set('io:w', 'changed');
    assert.equal(await c.multi().set('io:w', 'mine').exec(), null);
    assert.equal(await c.get('io:w'), 'changed');
    await c.watch('io:w');
    assert.deepEqual(await c.multi().set('io:w', 'mine').exec(), [[null, 'OK']]);
});

scenario('pub/sub: subscribe, psubscribe, unsubscribe (RESP3 pushes)', async () => {
    const sub = await connect();
    const msg = waitFor('message', 3000, (done) => sub.on('message', (ch, m) => done([ch, m])));
    const pmsg = waitFor('pmessage', 3000, (done) =>
        sub.on('pmessage', (p, ch, m) => done([p, ch, m])));
    assert.equal(await sub.subscribe('io:ch'), 1);
    assert.equal(await sub.psubscribe('io:p*'), 2);
    assert.equal(await c.publish('io:ch', 'hello'), 1);
    assert.deepEqual(await msg, ['io:ch', 'hello']);
    assert.equal(await c.publish('io:pat', 'world'), 1);
    assert.deepEqual(await pmsg, ['io:p*', 'io:pat', 'world']);
    await sub.unsubscribe('io:ch');
    await sub.punsubscribe('io:p*');
    assert.equal(await c.publish('io:ch', 'nobody'), 0);
    assert.equal(await c.publish('io:pat', 'nobody'), 0);
    assert.equal(await sub.get('io:s'), 'v1');
});

scenario('keyspace notification for a hash field expiry (hexpired)', async () => {
    assert.equal(await c.config('SET', 'notify-keyspace-events', 'Kh'), 'OK');
    const sub = await connect();
    const events = [];
    const got = waitFor('hexpired event', 5000, (done) =>
        sub.on('message', (ch, m) => {
            events.push(m);
            if (m === 'hexpired') done(events);
        }));
    await sub.subscribe(`__keyspace@${DB}__:io:exp`);
    await c.hset('io:exp', 'f', 'v', 'keep', 'k');
    assert.deepEqual(await c.call('hpexpire', 'io:exp', 50, 'FIELDS', 1, 'f'), [1]);
    assert.deepEqual(await got, ['hset', 'hexpire', 'hexpired']);
    assert.deepEqual({ ...(await c.hgetall('io:exp')) }, { keep: 'k' });
    await c.config('SET', 'notify-keyspace-events', '');
});

scenario('defineCommand (EVALSHA, EVAL after NOSCRIPT, pipelines)', async () => {
    const x = await connect();
    x.defineCommand('echoKeys', {
        numberOfKeys: 2,
        lua: 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}',
    });
    x.defineCommand('touchField', {
        numberOfKeys: 1,
        lua:
            "redis.call('HSETEX', KEYS[1], 'PX', ARGV[1], 'FIELDS', 1, 'f', 'v') " +
            "return redis.call('HPTTL', KEYS[1], 'FIELDS', 1, 'f')[1] > 0",
    });
    assert.deepEqual(await x.echoKeys('io:k1', 'io:k2', 'a1', 'a2'), ['io:k1', 'io:k2', 'a1', 'a2']);
    await x.script('FLUSH');
    assert.deepEqual(await x.echoKeys('io:k1', 'io:k2', 'b1', 'b2'), ['io:k1', 'io:k2', 'b1', 'b2']);
    assert.equal(await x.touchField('io:script', 60000), 1);
    const res = await x.pipeline().echoKeys('a', 'b', 'c', 'd').touchField('io:script', 1000).exec();
    assert.deepEqual(res, [[null, ['a', 'b', 'c', 'd']], [null, 1]]);
    await assert.rejects(x.eval("return redis.call('nosuch')", 0), /Unknown Redis command called from script/);
    // RESP3 inside the script: the map reaches ioredis as its flat array
    const m = await x.eval("redis.setresp(3) return redis.call('HGETALL', KEYS[1])", 1, 'io:script');
    assert.deepEqual(m, ['f', 'v']);
});

scenario('quit() answers OK and closes', async () => {
    const q = await connect();
    const ended = waitFor('end event', 3000, (done) => q.once('end', () => done(true)));
    assert.equal(await q.quit(), 'OK');
    assert.equal(await ended, true);
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
for (const x of open) x.disconnect();
console.log(failed ? 'ioredis: FAILED' : `ioredis: all ${scenarios.length} scenarios passed`);
process.exit(failed ? 1 : 0);
