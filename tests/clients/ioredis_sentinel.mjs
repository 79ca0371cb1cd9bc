// ioredis's Sentinel mode (`sentinels:` + `name`) finding a Mayfly primary and replica.
//
// Run by tests/integration/sentinel_failover.py after the failover:
//
//     node ioredis_sentinel.mjs SENTINEL_PORT,... PRIMARY_PORT
//
// PRIMARY_PORT is the port of the primary the sentinels promoted. The script asks the
// sentinels for "mymaster" (role master), checks that it reached that server and that it
// writes, then asks for a replica (role slave) and checks it reads the write. Prints
// "ok - ..." per step, "not ok - ..." and exit 1 on the first failure; bounded by 20 s.
import assert from 'node:assert/strict';
import Redis from 'ioredis';

const sentinels = (process.argv[2] || '').split(',').filter(Boolean).map((p) => ({
    host: '127.0.0.1',
    port: Number(p),
}));
const primaryPort = Number(process.argv[3]);
if (!sentinels.length || !primaryPort) {
    console.error('usage: ioredis_sentinel.mjs SENTINEL_PORT,... PRIMARY_PORT');
    process.exit(2);
}
setTimeout(() => {
    console.error('not ok - ioredis Sentinel run timed out after 20 s');
    process.exit(1);
}, 20000).unref();

const open = [];
async function viaSentinel(role) {
    const c = new Redis({
        sentinels,
        name: 'mymaster',
        role,
        lazyConnect: true,
        sentinelRetryStrategy: () => null,
        retryStrategy: () => null,
        maxRetriesPerRequest: 1,
    });
    c.on('error', (e) => console.error('client error event:', e.message));
    open.push(c);
    await c.connect();
    return c;
}

function field(info, name) {
    const m = String(info).match(new RegExp(`^${name}:(.*)$`, 'm'));
    return m ? m[1].trim() : null;
}

try {
    const m = await viaSentinel('master');
    assert.equal(Number(field(await m.info('server'), 'tcp_port')), primaryPort);
    assert.equal((await m.call('ROLE'))[0], 'master');
    assert.equal(await m.set('ioredis-sentinel', 'written'), 'OK');
    assert.equal(await m.call('WAIT', '1', '5000'), 1);
    console.log(`ok - ioredis sentinels: found the promoted primary (port ${primaryPort}) and wrote`);

    const r = await viaSentinel('slave');
    assert.equal((await r.call('ROLE'))[0], 'slave');
    assert.equal(await r.get('ioredis-sentinel'), 'written');
    console.log('ok - ioredis sentinels: role slave reaches a replica that has the write');
    for (const c of open) c.disconnect();
    process.exit(0);
} catch (e) {
    console.log(`not ok - ioredis Sentinel client: ${e.message}`);
    process.exit(1);
}
