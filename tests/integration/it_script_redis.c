/* Integration test: scripts against Mayfly and against Debian's redis-server side by side.
 *
 * Every case is sent to both servers, in RESP2 and again in RESP3 (HELLO 3), and the raw
 * reply bytes must be identical: conversions of each reply type in both directions,
 * error texts (with the script's sha and line), the sandbox (read-only tables, missing
 * globals, binary chunks), the libraries (cjson, struct, cmsgpack, bit), math.random's
 * sequence, the script cache, shebang flags and FUNCTION. Debian ships Redis 7.0; the
 * cases are those whose answer did not change in Redis 8 (the rest are in it_script.c,
 * with Redis 8's answers). */
#include "integration/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 8

typedef struct script_case {
    const char *argv[MAX_ARGS]; /* NULL-terminated */
    int only_proto;             /* 0: both protocols; 2: RESP2 only */
} script_case;

/* Cases run in order on fresh servers (the state they build up is the same on both). */
static const script_case cases[] = {
    /* Lua -> reply */
    {{"eval", "return 1", "0"}},
    {{"eval", "return {1,2,3,'ciao',{1,2}}", "0"}},
    {{"eval", "return {1,2,3,nil,4}", "0"}},
    {{"eval", "return 3.99", "0"}},
    {{"eval", "return -3.99", "0"}},
    {{"eval", "return 1e30", "0"}},
    {{"eval", "return 0/0", "0"}},
    {{"eval", "return true", "0"}},
    {{"eval", "return false", "0"}},
    {{"eval", "return nil", "0"}},
    {{"eval", "return {ok='fine'}", "0"}},
    {{"eval", "return {ok='fi\r\nne'}", "0"}},
    {{"eval", "return {err='bad\nthing'}", "0"}},
    {{"eval", "return {err=''}", "0"}},
    {{"eval", "return {double=3.5}", "0"}},
    {{"eval", "return {double=1/0}", "0"}},
    {{"eval", "return {double=-1/0}", "0"}},
    {{"eval", "return {big_number='123456'}", "0"}},
    {{"eval", "return {big_number='12\r\n3'}", "0"}},
    {{"eval", "return {verbatim_string={format='txt', string='hello'}}", "0"}},
    {{"eval", "return {verbatim_string={format='markdown', string='x'}}", "0"}},
    {{"eval", "return {verbatim_string={string='x'}}", "0"}},
    {{"eval", "return {map={a=1}}", "0"}},
    {{"eval", "return {map={a={1,2}}}", "0"}},
    {{"eval", "return {set={a=true}}", "0"}},
    {{"eval", "return {{map={x=1}}, {set={y=true}}, {double=2}}", "0"}},
    {{"eval", "return redis.error_reply('My Error')", "0"}},
    {{"eval", "return redis.error_reply('')", "0"}},
    {{"eval", "return redis.error_reply('-')", "0"}},
    {{"eval", "return redis.error_reply('-X')", "0"}},
    {{"eval", "return redis.error_reply('-NOPE bad')", "0"}},
    {{"eval", "return redis.error_reply()", "0"}},
    {{"eval", "return redis.status_reply('ok')", "0"}},
    {{"eval", "return redis.status_reply(1)", "0"}},
    /* reply -> Lua, in RESP2 and RESP3 */
    {{"eval", "return redis.call('set',KEYS[1],ARGV[1])", "1", "k", "v"}},
    {{"eval", "return redis.call('get',KEYS[1])", "1", "k"}},
    {{"eval", "return redis.call('get','nosuch')", "0"}},
    {{"eval", "return redis.call('incr', 'n')", "0"}},
    {{"eval", "return redis.call('incrbyfloat', 'f', '1.5')", "0"}},
    {{"eval", "return redis.call('hset', 'h', 'a', 1, 'b', 2)", "0"}},
    {{"eval", "return redis.call('hgetall', 'h')", "0"}},
    {{"eval", "return redis.call('hmget', 'h', 'a', 'zz', 'b')", "0"}},
    {{"eval", "redis.setresp(3); return redis.call('hgetall', 'h')", "0"}},
    {{"eval", "redis.setresp(3); return redis.call('hmget', 'h', 'a', 'zz', 'b')", "0"}},
    {{"eval", "redis.setresp(3); return redis.call('get', 'nosuch')", "0"}},
    {{"eval", "redis.setresp(3); return {redis.call('get', 'nosuch')}", "0"}},
    {{"eval", "redis.setresp(3); return redis.call('ping')", "0"}},
    {{"eval", "redis.setresp(3); return true", "0"}},
    {{"eval", "redis.setresp(3); return false", "0"}},
    {{"eval", "redis.setresp(2); return redis.call('get', 'nosuch')", "0"}},
    {{"eval", "return type(redis.call('get', 'nosuch'))", "0"}},
    {{"eval", "redis.setresp(3); return type(redis.call('get', 'nosuch'))", "0"}},
    {{"eval", "return redis.call('ping')", "0"}},
    {{"eval", "return redis.call('ping')['ok']", "0"}},
    {{"eval", "redis.setresp(4)", "0"}},
    {{"eval", "redis.setresp()", "0"}},
    /* arguments */
    {{"eval", "return redis.call('set', 'x', 3.5)", "0"}},
    {{"eval", "redis.call('set', 'x', 100) return redis.call('get', 'x')", "0"}},
    {{"eval", "redis.call('set', 'x', -7) return redis.call('get', 'x')", "0"}},
    {{"eval", "return redis.call('set', 'x', {})", "0"}},
    {{"eval", "return redis.call('set', 'x', nil)", "0"}},
    {{"eval", "return redis.call()", "0"}},
    {{"eval", "return redis.pcall()", "0"}},
    /* command errors */
    {{"eval", "return redis.call('nosuch')", "0"}},
    {{"eval", "return redis.call('get')", "0"}},
    {{"eval", "return redis.call('subscribe', 'x')", "0"}},
    {{"eval", "return redis.call('config')", "0"}},
    {{"eval", "return redis.call('config', 'nosuch')", "0"}},
    {{"eval", "return redis.call('multi')", "0"}},
    {{"eval", "return redis.call('eval', 'return 1', 0)", "0"}},
    {{"eval", "return redis.call('script', 'load', 'return 1')", "0"}},
    {{"eval", "return redis.call('shutdown')", "0"}},
    {{"eval", "return redis.pcall('incr', 'h')", "0"}},
    {{"eval", "return redis.call('incr', 'h')", "0"}},
    {{"eval", "return pcall(function() redis.call('incr', 'h') end)", "0"}},
    {{"eval", "local ok, e = pcall(function() redis.call('incr', 'h') end); return e", "0"}},
    {{"eval", "local ok, e = pcall(function() error('x') end); return e", "0"}},
    {{"eval", "return redis.pcall('hget', 'k', 'x')", "0"}},
    {{"eval", "return redis.call('hget', 'k', 'x')", "0"}},
    /* Lua errors */
    {{"eval", "error('boom')", "0"}},
    {{"eval", "error({err='ERR mine'})", "0"}},
    {{"eval", "error({err='mine'})", "0"}},
    {{"eval", "error(12)", "0"}},
    {{"eval", "error()", "0"}},
    {{"eval", "return 1 +", "0"}},
    {{"eval", "local x = nil; return x.y", "0"}},
    {{"eval", "return nosuch()", "0"}},
    {{"eval", "\x1bLuaQ", "0"}},
    {{"eval", "return loadstring(string.dump(function() return 1 end))()", "0"}},
    {{"eval", "return loadstring('return 7')()", "0"}},
    {{"eval", "return {loadstring('x(')}", "0"}},
    {{"eval", "return {loadstring('\\27Lua')}", "0"}},
    /* numkeys and the cache */
    {{"eval", "return KEYS[1]..ARGV[1]", "1", "a", "b"}},
    {{"eval", "return #KEYS", "2", "a"}},
    {{"eval", "return 1", "-1"}},
    {{"eval", "return 1", "x"}},
    {{"evalsha", "abc", "0"}},
    {{"evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"}},
    {{"evalsha", "ffffffffffffffffffffffffffffffffffffffff", "5"}},
    {{"script", "load", "return 'loaded'"}},
    {{"evalsha", "0ddba80e54a07a1a3d62fd07d1af0f2a66cd5e9f", "0"}},
    {{"evalsha", "0DDBA80E54A07A1A3D62FD07D1AF0F2A66CD5E9F", "0"}},
    {{"script", "exists", "0ddba80e54a07a1a3d62fd07d1af0f2a66cd5e9f", "nope"}},
    {{"script", "flush"}},
    {{"script", "exists", "0ddba80e54a07a1a3d62fd07d1af0f2a66cd5e9f"}},
    {{"evalsha", "0ddba80e54a07a1a3d62fd07d1af0f2a66cd5e9f", "0"}},
    {{"script", "flush", "bad"}},
    {{"script", "flush", "sync", "x"}},
    {{"script", "flush", "async"}},
    {{"script", "kill"}},
    {{"script", "nosuch"}},
    {{"script"}},
    {{"script", "load"}},
    {{"script", "load", "return"}},
    {{"eval_ro", "return redis.call('get','a')", "0"}},
    {{"eval_ro", "return redis.call('set','a','b')", "0"}},
    {{"eval_ro", "return redis.call('publish','ch','m')", "0"}},
    {{"eval", "return redis.call('publish','ch','m')", "0"}},
    /* shebang */
    {{"eval", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"}},
    {{"eval", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"}},
    {{"eval", "#!lua flags=bad\nreturn 1", "0"}},
    {{"eval", "#!lua flags=no-writes,,allow-oom\nreturn 1", "0"}},
    {{"eval", "#!lua name=x\nreturn 1", "0"}},
    {{"eval", "#!luax\nreturn 1", "0"}},
    {{"eval", "#!lua", "0"}},
    {{"eval", "#!lua\nreturn redis.call('set','a','b')", "0"}},
    {{"eval", "#!lua \"x\nreturn 1", "0"}},
    {{"eval", "#!lua flags=\nreturn 2", "0"}},
    {{"eval", "#!lua\n\nerror('line three')", "0"}},
    {{"eval_ro", "#!lua\nreturn redis.call('set','a','b')", "0"}},
    {{"eval_ro", "#!lua flags=no-writes\nreturn redis.call('get','a')", "0"}},
    /* the redis table */
    {{"eval", "return redis.sha1hex('')", "0"}},
    {{"eval", "return redis.sha1hex('Pizza & Mandolino')", "0"}},
    {{"eval", "return redis.sha1hex()", "0"}},
    {{"eval", "return redis.sha1hex({})", "0"}},
    {{"eval", "return redis.sha1hex(12)", "0"}},
    {{"eval", "redis.log(redis.LOG_WARNING, 'from a script')", "0"}},
    {{"eval", "redis.log()", "0"}},
    {{"eval", "redis.log('x', 'y')", "0"}},
    {{"eval", "redis.set_repl(8)", "0"}},
    {{"eval", "redis.set_repl(redis.REPL_ALL); return 1", "0"}},
    {{"eval", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_ALL}", "0"}},
    {{"eval", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
      "0"}},
    {{"eval", "return redis.acl_check_cmd('set','xx',1)", "0"}},
    {{"eval", "return redis.acl_check_cmd('nosuch')", "0"}},
    {{"eval", "return redis.acl_check_cmd()", "0"}},
    {{"eval", "return redis.replicate_commands()", "0"}},
    {{"eval", "return redis.breakpoint()", "0"}},
    /* the sandbox */
    {{"eval", "a=10", "0"}},
    {{"eval", "return a", "0"}},
    {{"eval", "return print", "0"}},
    {{"eval", "return loadfile", "0"}},
    {{"eval", "return dofile", "0"}},
    {{"eval", "return type(debug)", "0"}},
    {{"eval", "return type(_G)", "0"}},
    {{"eval", "rawset(_G, 'x', 1)", "0"}},
    {{"eval", "return rawget(_G, 'redis') ~= nil", "0"}},
    {{"eval", "return rawget(_G, 'nope')", "0"}},
    {{"eval", "string.x = 1", "0"}},
    {{"eval", "redis.call = 1", "0"}},
    {{"eval", "_G = {}", "0"}},
    {{"eval", "setmetatable(_G, {})", "0"}},
    {{"eval", "local g = getmetatable(_G); g.__index = {}", "0"}},
    {{"eval", "cjson.encode = 1", "0"}},
    {{"eval", "cmsgpack.pack = 1", "0"}},
    {{"eval", "bit.lshift = 1", "0"}},
    {{"eval", "struct.pack = 1", "0"}},
    {{"eval", "math.floor = 1", "0"}},
    {{"eval", "table.insert(string, 1)", "0"}},
    {{"eval", "setmetatable(string, {})", "0"}},
    {{"eval", "return getmetatable(string)", "0"}},
    {{"eval", "return ('abc'):upper()", "0"}},
    {{"eval", "local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(string) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(math) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(table) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(cjson) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(bit) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in pairs(struct) do t[#t+1]=k end table.sort(t) return t", "0"}},
    {{"eval", "local t={} for k,v in ipairs({7,8,9}) do t[#t+1]=v end return t", "0"}},
    {{"eval", "return {unpack({1,2,3})}", "0"}},
    /* math.random: the same generator and sequence */
    {{"eval", "return tostring(math.random())", "0"}},
    {{"eval", "return {math.random(10), math.random(5, 100)}", "0"}},
    {{"eval", "math.randomseed(42); return {tostring(math.random()), math.random(1000)}", "0"}},
    {{"eval", "return math.random(0)", "0"}},
    {{"eval", "return math.random(1, 2, 3)", "0"}},
    /* libraries */
    {{"eval", "return bit.tohex(65535, -2147483648)", "0"}},
    {{"eval", "return {bit.band(12, 10), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0)}", "0"}},
    {{"eval", "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4)}", "0"}},
    {{"eval", "return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}",
      "0"}},
    {{"eval", "return {bit.tobit(2^32 + 5), bit.tohex(255), bit.tohex(255, -4), bit.tohex(-1, 3)}",
      "0"}},
    {{"eval", "return bit.band('x')", "0"}},
    {{"eval", "return cjson.decode('[1,2,{\"a\":3}]')[3].a", "0"}},
    {{"eval", "return cjson.encode({a=1.5})", "0"}},
    {{"eval", "return cjson.encode({1,2,{3}})", "0"}},
    {{"eval", "return cjson.decode('{')", "0"}},
    {{"eval", "return cjson.encode(function() end)", "0"}},
    {{"eval", "return struct.pack('>I2', 258)", "0"}},
    {{"eval", "return {struct.unpack('>I2', 'ab')}", "0"}},
    {{"eval", "return struct.size('>iI2bd')", "0"}},
    {{"eval", "return struct.pack('!4 b i', 1, 2)", "0"}},
    {{"eval", "return {struct.unpack('b c0', '\\3hello')}", "0"}},
    {{"eval", "return struct.pack('q', 1)", "0"}},
    {{"eval", "return struct.pack('i33', 1)", "0"}},
    {{"eval", "return struct.pack('!3', 1)", "0"}},
    {{"eval", "return struct.size('s')", "0"}},
    {{"eval", "return struct.size('c0')", "0"}},
    {{"eval", "return {struct.unpack('s', 'abc')}", "0"}},
    {{"eval", "return {struct.unpack('s', 'ab\\0c')}", "0"}},
    {{"eval", "return {struct.unpack('>h', '\\255\\254')}", "0"}},
    {{"eval", "return {struct.unpack('c0', 'x')}", "0"}},
    {{"eval", "return {struct.unpack('>I4', 'ab')}", "0"}},
    {{"eval", "return {struct.unpack('>d', struct.pack('>d', 1.25))}", "0"}},
    {{"eval", "return {struct.unpack('<f', struct.pack('<f', 1.25))}", "0"}},
    {{"eval", "return struct.pack('>i16', -2)", "0"}},
    {{"eval", "return {struct.unpack('>i16', struct.pack('>i16', -2))}", "0"}},
    {{"eval", "return {struct.unpack('>l', struct.pack('>l', -3)), struct.pack('s', 'ab')}", "0"}},
    {{"eval", "return {struct.unpack('i', 'abcd', 0)}", "0"}},
    {{"eval", "return cmsgpack.pack({1,2,3,'abc', 1.5, {a=1}})", "0"}},
    {{"eval",
      "return cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -5000000000, 0.1, "
      "true, false, nil)",
      "0"}},
    {{"eval", "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))", "0"}},
    {{"eval", "local t = {} for i=1,20 do t[i]=i end return cmsgpack.pack(t)", "0"}},
    {{"eval", "local t = {} for i=1,20 do t['k'..i]=i end return #cmsgpack.pack(t)", "0"}},
    {{"eval", "local t = {} t[1]=t return cmsgpack.pack(t)", "0"}},
    {{"eval", "return {cmsgpack.unpack(cmsgpack.pack(1,'a',{1,2},-5, 2.5))}", "0"}},
    {{"eval", "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))", "0"}},
    {{"eval", "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}", "0"}},
    {{"eval", "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)}", "0"}},
    {{"eval", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", "0"}},
    {{"eval", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)}", "0"}},
    {{"eval", "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), -1)}", "0"}},
    {{"eval", "return {cmsgpack.unpack_one('\\205')}", "0"}},
    {{"eval", "return {cmsgpack.unpack_one('\\193')}", "0"}},
    {{"eval", "return {cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')}", "0"}},
    {{"eval", "return {cmsgpack.unpack('\\211\\255\\255\\255\\255\\255\\255\\255\\254')}", "0"}},
    {{"eval", "return {cmsgpack.unpack('\\209\\255\\128\\210\\255\\255\\255\\128')}", "0"}},
    {{"eval", "return cmsgpack.pack()", "0"}},
    {{"eval", "return {cmsgpack.unpack_one('abc', 10)}", "0"}},
    {{"eval", "local t = {} for i=1,20 do t[i]=i end return #cmsgpack.pack(t, t, t)", "0"}},
    /* Lua itself */
    {{"eval",
      "local co = coroutine.create(function() coroutine.yield(5) end) local a,b = "
      "coroutine.resume(co) return b",
      "0"}},
    {{"eval", "return select('#', 1, 2, 3)", "0"}},
    {{"eval", "return tonumber('0x10')", "0"}},
    {{"eval", "return string.format('%5.2f', 3.14159)", "0"}},
    {{"eval", "return _VERSION", "0"}},
    /* the command table (RESP2: Redis 7.0 shows key specs as a RESP3 set, Redis 8 and
     * Mayfly as an array) */
    {{"command", "info", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"}, 2},
    {{"command", "getkeys", "eval", "return 1", "2", "a", "b", "c"}},
    {{"command", "getkeys", "fcall_ro", "f", "1", "a"}},
    {{"command", "getkeys", "eval", "return 1", "0"}},
    {{"command", "getkeysandflags", "evalsha", "x", "1", "a"}},
    /* databases */
    {{"eval", "redis.call('select', 1) redis.call('set', 'indb1', 'x') return redis.call('dbsize')",
      "0"}},
    {{"dbsize"}},
    {{"eval", "return redis.call('type', 'h')", "0"}},
    /* functions */
    {{"function", "load",
      "#!lua name=lib1\nredis.register_function('f1', function(k, a) return {k[1], a[1]} end)"}},
    {{"fcall", "f1", "1", "key", "arg"}},
    {{"fcall", "F1", "0"}},
    {{"fcall_ro", "f1", "0"}},
    {{"fcall", "nosuch", "0"}},
    {{"fcall", "f1", "x"}},
    {{"fcall", "f1", "5"}},
    {{"fcall", "f1", "-1"}},
    {{"function", "load",
      "#!lua name=lib1\nredis.register_function('f2', function() return 2 end)"}},
    {{"function", "load", "replace",
      "#!lua name=lib1\nredis.register_function('f2', function() return 2 end)"}},
    {{"fcall", "f1", "0"}},
    {{"fcall", "f2", "0"}},
    {{"function", "load",
      "#!lua name=lib2\nredis.register_function('f2', function() return 2 end)"}},
    {{"function", "load",
      "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function() return "
      "redis.call('set', 'w', 1) end, description='desc', flags={'no-writes'}}"}},
    {{"fcall", "f3", "0"}},
    {{"fcall_ro", "f3", "0"}},
    {{"fcall_ro", "f2", "0"}},
    {{"function", "load",
      "#!lua name=lib4\nredis.register_function{function_name='f4', callback=function() return 4 "
      "end, flags={'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}"}},
    /* FUNCTION LIST's order is Redis's hash order: one library at a time. */
    {{"function", "list", "libraryname", "lib1"}},
    {{"function", "list", "withcode", "libraryname", "lib4"}},
    {{"function", "list", "libraryname", "*3", "withcode"}},
    {{"function", "list", "libraryname", "LIB3"}},
    {{"function", "list", "libraryname", "nothing*"}},
    {{"function", "list", "libraryname"}},
    {{"function", "list", "bad"}},
    {{"function", "list", "withcode", "withcode"}},
    {{"function", "stats"}},
    {{"function", "load", "#!lua name=e1\nredis.register_function('x', 1)"}},
    {{"function", "load", "#!lua name=e2\nredis.register_function()"}},
    {{"function", "load", "#!lua name=e3\nredis.register_function('x')"}},
    {{"function", "load", "#!lua name=e4\nredis.register_function(nil, function() end)"}},
    {{"function", "load", "#!lua name=e5\nredis.register_function('a b', function() end)"}},
    {{"function", "load", "#!lua name=e6\nredis.register_function('', function() end)"}},
    {{"function", "load", "#!lua name=e7\nredis.register_function{function_name='x'}"}},
    {{"function", "load", "#!lua name=e8\nredis.register_function{callback=function() end}"}},
    {{"function", "load",
      "#!lua name=e9\nredis.register_function{function_name='x', callback=function() end, "
      "flags={'bad'}}"}},
    {{"function", "load",
      "#!lua name=e10\nredis.register_function{function_name='x', callback=function() end, "
      "foo=1}"}},
    {{"function", "load",
      "#!lua name=e11\nredis.register_function{function_name='x', callback=1}"}},
    {{"function", "load",
      "#!lua name=e12\nredis.register_function('x', function() end) redis.register_function('x', "
      "function() end)"}},
    {{"function", "load", "#!lua name=e13\nreturn 1"}},
    {{"function", "load", "#!lua name=e14\nreturn math.random()"}},
    {{"function", "load", "#!lua name=e15\nreturn redis.call('ping')"}},
    {{"function", "load", "#!lua name=e16\nreturn redis.setresp(3)"}},
    {{"function", "load", "#!lua name=e17\nlocal a = +"}},
    {{"function", "load", "#!lua name=e18\nerror('at load')"}},
    {{"function", "load", "#!lua name=e 19\nreturn 1"}},
    {{"function", "load", "#!lua\nreturn 1"}},
    {{"function", "load", "#!lua name=a name=b\nreturn 1"}},
    {{"function", "load", "#!lua foo=bar\nreturn 1"}},
    {{"function", "load", "#!foo name=x\nreturn 1"}},
    {{"function", "load", "no shebang"}},
    {{"function", "load", "#!lua name=x"}},
    {{"function", "load", "bad", "#!lua name=x\nreturn 1"}},
    {{"function", "load"}},
    {{"function", "delete", "nosuch"}},
    {{"function", "delete", "lib4"}},
    {{"function", "flush", "bad"}},
    {{"function", "flush", "sync", "x"}},
    {{"function", "kill"}},
    {{"function", "load",
      "#!lua name=lib5\nlocal lib = redis\nlib.register_function('f5', function() "
      "lib.register_function('f6', function() return 1 end) end)"}},
    {{"fcall", "f5", "0"}},
    {{"function", "load",
      "#!lua name=lib6\nredis.register_function('f6', function() return redis.register_function "
      "end)"}},
    {{"fcall", "f6", "0"}},
    {{"function", "load",
      "#!lua name=lib7\nredis.register_function('f7', function() return KEYS end)"}},
    {{"fcall", "f7", "0"}},
    {{"function", "flush"}},
    {{"function", "list"}},
    {{"fcall", "f1", "0"}},
    {{"function", "stats"}},
    /* min-replicas-to-write not met (no replica): a script that may write is refused before
     * it runs, an EVAL without flags at its first write (NOREPLICAS), reads go through. */
    {{"config", "set", "min-replicas-to-write", "1"}},
    {{"eval", "redis.call('set','foo','bar')", "0"}},
    {{"eval", "return redis.pcall('set','foo','bar')", "0"}},
    {{"eval", "return redis.call('get','foo')", "0"}},
    {{"eval", "#!lua\nreturn 1", "0"}},
    {{"eval", "#!lua flags=no-writes\nreturn 2", "0"}},
    {{"function", "load",
      "#!lua name=nr\nredis.register_function('nrw', function() return 1 end)\n"
      "redis.register_function{function_name='nrr', callback=function() return 2 end, "
      "flags={'no-writes'}}"}},
    {{"fcall", "nrw", "0"}},
    {{"fcall", "nrr", "0"}},
    {{"function", "delete", "nr"}},
    {{"config", "set", "min-replicas-to-write", "0"}},
};

/* ---- raw RESP ---- */

static void send_cmd(int fd, const char *const *argv) {
    int argc = 0;
    while (argc < MAX_ARGS && argv[argc])
        argc++;
    char head[32];
    int n = snprintf(head, sizeof(head), "*%d\r\n", argc);
    it_raw_send(fd, head, (size_t)n);
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        n = snprintf(head, sizeof(head), "$%zu\r\n", len);
        it_raw_send(fd, head, (size_t)n);
        it_raw_send(fd, argv[i], len);
        it_raw_send(fd, "\r\n", 2);
    }
}

/* Reads one whole reply into out (cap bytes); returns its length (0 on timeout). */
static size_t read_reply(int fd, char *out, size_t cap) {
    return it_raw_read_reply(fd, out, cap, 10000);
}

static void print_bytes(const char *label, const char *p, size_t n) {
    fprintf(stderr, "  %s: ", label);
    for (size_t i = 0; i < n && i < 600; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r')
            fputs("\\r", stderr);
        else if (ch == '\n')
            fputs("\\n", stderr);
        else if (ch < 32 || ch > 126)
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
    fputc('\n', stderr);
}

static it_server redis_srv;

/* Starts Debian's redis-server through the harness (it takes the same options). */
static void start_redis(void) {
    const char *saved = getenv("MAYFLY_SERVER");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("MAYFLY_SERVER", "/usr/bin/redis-server", 1);
    it_start_server(&redis_srv, NULL);
    if (keep) {
        setenv("MAYFLY_SERVER", keep, 1);
        free(keep);
    }
}

static int run_cases(int proto) {
    int fds[2] = {it_raw_connect(), it_raw_connect_to(&redis_srv)};
    static char a[1 << 16], b[1 << 16];
    for (int s = 0; s < 2; s++) {
        static const char *const flush[] = {"flushall", NULL};
        send_cmd(fds[s], flush);
        read_reply(fds[s], a, sizeof(a));
        static const char *const fflush[] = {"function", "flush", NULL};
        send_cmd(fds[s], fflush);
        read_reply(fds[s], a, sizeof(a));
        if (proto == 3) {
            static const char *const hello[] = {"hello", "3", NULL};
            send_cmd(fds[s], hello);
            read_reply(fds[s], a, sizeof(a));
        }
    }
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].only_proto && cases[i].only_proto != proto) continue;
        send_cmd(fds[0], cases[i].argv);
        send_cmd(fds[1], cases[i].argv);
        size_t na = read_reply(fds[0], a, sizeof(a));
        size_t nb = read_reply(fds[1], b, sizeof(b));
        if (na == 0 || na != nb || memcmp(a, b, na) != 0) {
            fprintf(stderr, "RESP%d case %zu differs:", proto, i);
            for (int j = 0; j < MAX_ARGS && cases[i].argv[j]; j++)
                fprintf(stderr, " '%s'", cases[i].argv[j]);
            fputc('\n', stderr);
            print_bytes("mayfly", a, na);
            print_bytes("redis ", b, nb);
            bad++;
        }
    }
    close(fds[0]);
    close(fds[1]);
    return bad;
}

TEST(same_replies_resp2) {
    ASSERT_EQ(0, run_cases(2));
}

TEST(same_replies_resp3) {
    ASSERT_EQ(0, run_cases(3));
}

int main(void) {
    it_start(NULL);
    start_redis();
    RUN(same_replies_resp2);
    RUN(same_replies_resp3);
    it_stop_server(&redis_srv);
    it_stop();
    return test_report();
}
