package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts, each on one key (KEYS[1]). "now" is always the caller's clock, passed in
// ARGV, in the unit of the record's times. Numbers handed back to Redis go through
// string.format('%.0f'): Redis would print a Lua number with 14 digits and lose precision.

// createScript stores a record (a hash) unless a live one holds the key.
// ARGV: now (ms), ttl (ms), then field, value pairs, "end" among them.
// Returns 1 when stored, 0 when the key is taken.
var createScript = goredis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'end')
if e and tonumber(ARGV[1]) <= tonumber(e) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// deleteScript deletes a record. ARGV: now (ms).
// Returns 1 when it was live, 0 when it was unknown or already gone.
var deleteScript = goredis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'end')
if not e then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) > tonumber(e) then return 0 end
return 1
`)

// updateSessionScript writes a session if its version is still the one read.
// ARGV: now (ms), ttl (ms), version read, then field, value pairs (a new "ver" among them).
// Returns 1 when written, 0 when another write came first, -1 when the session is gone.
var updateSessionScript = goredis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'ver', 'end')
if not r[1] or tonumber(ARGV[1]) > tonumber(r[2]) then return -1 end
if r[1] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// deleteUserSessionScript deletes a session if it belongs to the user.
// ARGV: now (ms), user id.
// Returns 1 when a live session was deleted, 0 when a gone one was, -1 when there is none,
// -2 when it belongs to another user (and is left).
var deleteUserSessionScript = goredis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'user', 'end')
if not r[1] then return -1 end
if r[1] ~= ARGV[2] then return -2 end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[1]) > tonumber(r[2]) then return 0 end
return 1
`)

// indexSessionScript adds a session to its user's index (a sorted set), with a score of at
// least end, drops the entries whose score is past by more than the slack, and keeps the
// index until its latest score plus the slack.
// ARGV: now (ms), slack (ms), end (ms), session id.
var indexSessionScript = goredis.NewScript(`
local now, slack, e = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local old = redis.call('ZSCORE', KEYS[1], ARGV[4])
if not old or tonumber(old) < e then redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now - slack))
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(tonumber(top[2]) - now, 0) + slack))
end
return 1
`)

// consumeCodeScript marks a code used and returns it, or says it was used before. "used"
// holds the token of the call that used it, so that go-redis retrying that call (after a
// lost reply) is told it used it, not that it was reused.
// ARGV: now (ms), how long a used code is remembered after its expiry (ms), slack (ms), the
// call's token.
// Returns {1, record} when this call used it, {2, record} when it was used before, {0} when
// it is unknown or gone.
var consumeCodeScript = goredis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'v', 'end', 'used')
if not r[1] then return {0} end
local now = tonumber(ARGV[1])
if now > tonumber(r[2]) then return {0} end
if r[3] == ARGV[4] then return {1, r[1]} end
if r[3] then return {2, r[1]} end
local e = tonumber(r[2]) + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'used', ARGV[4], 'end', string.format('%.0f', e))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', e - now + tonumber(ARGV[3])))
return {1, r[1]}
`)

// recordFailureScript counts one failure of an identifier from an IP: field "i:"+ip holds
// "count:lapse" (lapse in ms), and a count whose lapse is not after now starts again. Once
// the hash holds as many fields as its "sweep" field says (64 at first), lapsed fields are
// dropped and the threshold becomes twice what is left (at least 64), so sweeps cost O(1)
// per failure over time.
// ARGV: field, now (ms), ttl (ms), slack (ms). Returns the new count.
var recordFailureScript = goredis.NewScript(`
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local n = 0
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local c, l = string.match(cur, '^(%d+):(%-?%d+)$')
  if c and now < tonumber(l) then n = tonumber(c) end
end
n = n + 1
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f:%.0f', n, now + ttl))
local sweep = tonumber(redis.call('HGET', KEYS[1], 'sweep') or '64')
if redis.call('HLEN', KEYS[1]) > sweep then
  local all = redis.call('HGETALL', KEYS[1])
  local left = 0
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'i:' then
      local _, l = string.match(all[i + 1], '^(%d+):(%-?%d+)$')
      if not l or now >= tonumber(l) then
        redis.call('HDEL', KEYS[1], all[i])
      else
        left = left + 1
      end
    end
  end
  redis.call('HSET', KEYS[1], 'sweep', string.format('%.0f', math.max(64, 2 * left)))
end
local keep = math.max(ttl, 0) + tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], string.format('%.0f', keep)) end
return n
`)

// gcraScript is the generic cell rate algorithm on a key holding its theoretical arrival
// time (TAT, µs; absent or past: now). One more event is allowed while the TAT is at most
// burst-1 intervals ahead of now; when take is "1", an allowed event moves the TAT one
// interval on.
// ARGV: now (µs), burst, interval (µs), take ("1" or "0"), slack (ms).
// Returns {1, µs the TAT is then ahead of now} when allowed, {0, µs until it would be, µs
// the TAT is ahead} when not.
var gcraScript = goredis.NewScript(`
local now, burst, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait > 0 then return {0, string.format('%.0f', wait), string.format('%.0f', tat - now)} end
if ARGV[4] == '1' then
  local nxt = tat + interval
  local px = math.ceil((nxt - now) / 1000) + tonumber(ARGV[5])
  redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', string.format('%.0f', px))
  return {1, string.format('%.0f', nxt - now)}
end
return {1, string.format('%.0f', tat - now)}
`)
