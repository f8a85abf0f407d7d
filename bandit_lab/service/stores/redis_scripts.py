"""The Lua scripts of :class:`~.redis.RedisStore`: every change of a bandit's numbers runs
in one of them, atomically, after checking that the state exists."""

__all__ = ["LUA", "DECISION_FIELDS", "client_options"]

# KEYS: meta, prior, state. ARGV: config, created, n_arms, then (field, prior value)*.
# Returns the stored config, false when created, or -1 when the state exists without its
# spec (the meta key deleted by hand): never overwritten with a fresh prior.
_LUA_CREATE = """
local existing = redis.call('HGET', KEYS[1], 'config')
if existing then return existing end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'config', ARGV[1], 'status', 'active', 'created', ARGV[2])
for i = 4, #ARGV, 2 do
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
for k = 0, tonumber(ARGV[3]) - 1 do
    redis.call('HSET', KEYS[3], 'n' .. k, 0, 'r' .. k, 0, 's' .. k, 0)
end
redis.call('HSET', KEYS[3], 'gen', 0, 'k', ARGV[3])
return false
"""

# KEYS: meta, prior, state. ARGV: old config, new config, new n_arms, (field, prior value)*.
_LUA_ADD_ARM = """
if redis.call('HGET', KEYS[1], 'config') ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[3], 'k') == 0 then return -1 end
redis.call('HSET', KEYS[1], 'config', ARGV[2])
for i = 4, #ARGV, 2 do
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
local k = tonumber(ARGV[3]) - 1
redis.call('HSET', KEYS[3], 'n' .. k, 0, 'r' .. k, 0, 's' .. k, 0, 'k', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'gen', 1)
return 1
"""

# KEYS: meta, state.
_LUA_RETIRE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'retired')
if redis.call('HEXISTS', KEYS[2], 'k') == 1 then redis.call('HINCRBY', KEYS[2], 'gen', 1) end
return 1
"""

# KEYS: state, decision, log, buckets, bucket. ARGV: arm, ctx, (unused), ttl, keep_ms,
# bucket, propensity, eligible, id, bucket_keep_ms.
# The decision's time is the server's clock, read inside the script and made strictly
# larger than the bandit's previous one (field lt): the log's order is the order in which
# decisions were stored, so a reader paging up to "now" never misses one stored later.
_LUA_DECIDE = """
if redis.call('HEXISTS', KEYS[1], 'k') == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local last = tonumber(redis.call('HGET', KEYS[1], 'lt') or '0')
if now <= last then now = last + 0.000001 end
local created = string.format('%.6f', now)
redis.call('HSET', KEYS[1], 'lt', created)
redis.call('HSET', KEYS[2], 'arm', ARGV[1], 'ctx', ARGV[2], 'created', created,
           'exp', string.format('%.6f', now + tonumber(ARGV[4])), 'p', ARGV[7], 'el', ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('HINCRBY', KEYS[1], 'n' .. ARGV[1], 1)
redis.call('ZADD', KEYS[3], created, ARGV[9])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[6])
redis.call('HINCRBY', KEYS[5], ARGV[1] .. ':n', 1)
redis.call('PEXPIRE', KEYS[5], ARGV[10])
return 1
"""

# KEYS: decision, state, buckets, bucket. ARGV: reward, arm, now, bucket, bucket_keep_ms,
# then (index, increment)*.
_LUA_REWARD = """
local d = redis.call('HMGET', KEYS[1], 'arm', 'reward', 'exp')
if not d[1] then return {0} end
if tonumber(d[3]) <= tonumber(ARGV[3]) then return {0} end
if d[2] then return {2, d[2]} end
if d[1] ~= ARGV[2] then return {3, d[1]} end
if redis.call('HEXISTS', KEYS[2], 'k') == 0 then return {4} end
local arm = d[1]
redis.call('HSET', KEYS[1], 'reward', ARGV[1], 'rtime', ARGV[3])
for i = 6, #ARGV, 2 do
    redis.call('HINCRBYFLOAT', KEYS[2], 'v' .. arm .. '.' .. ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[2], 'r' .. arm, 1)
redis.call('HINCRBYFLOAT', KEYS[2], 's' .. arm, ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[2], 't' .. arm) or '0')
if tonumber(ARGV[3]) > last then redis.call('HSET', KEYS[2], 't' .. arm, ARGV[3]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[4])
redis.call('HINCRBY', KEYS[4], arm .. ':r', 1)
redis.call('HINCRBYFLOAT', KEYS[4], arm .. ':s', ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return {1}
"""

LUA = {"create": _LUA_CREATE, "add_arm": _LUA_ADD_ARM, "retire": _LUA_RETIRE,
        "decide": _LUA_DECIDE, "reward": _LUA_REWARD}
DECISION_FIELDS = ["arm", "ctx", "created", "exp", "p", "el", "reward", "rtime"]


def client_options():
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # An outage must answer quickly (the service then says 503), not after retries with
    # growing back-off; one immediate retry covers a connection the server closed.
    return dict(decode_responses=True, socket_timeout=5.0, socket_connect_timeout=2.0,
                retry=Retry(NoBackoff(), 1))


