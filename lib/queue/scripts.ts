import { COUNTERS, DEAD_STREAM, GROUP, JOB_PREFIX, RECENT, STREAM } from './names.js';

/**
 * Every state change of a job is one Lua script, so it is atomic and a late or repeated
 * call (a worker that lost its lease, a second completion) cannot double-count.
 *
 * The stream is never XDEL'd: deleting entries leaves tombstones that make Redis report
 * the group's lag as null, and KEDA's lag trigger then sees nothing to scale for.
 * Acknowledged entries are dropped from the front with XTRIM MINID instead, once more than
 * TRIM_SLACK of them have gathered, which spares most acknowledgements the extra reads.
 */
export const TRIM_SLACK = 100;
const prelude = `
local STREAM, GROUP, DEAD, RECENT, COUNTERS, JOB = '${STREAM}', '${GROUP}', '${DEAD_STREAM}', '${RECENT}', '${COUNTERS}', '${JOB_PREFIX}'

local function ack(entry)
  redis.call('XACK', STREAM, GROUP, entry)
  if redis.call('XLEN', STREAM) <= ${TRIM_SLACK} then return end
  local pending = redis.call('XPENDING', STREAM, GROUP)
  local minid
  if tonumber(pending[1]) > 0 then
    minid = pending[2]
  else
    for _, group in ipairs(redis.call('XINFO', 'GROUPS', STREAM)) do
      local info = {}
      for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
      if info['name'] == GROUP then
        local ms, seq = string.match(info['last-delivered-id'], '^(%d+)-(%d+)$')
        if ms then minid = ms .. '-' .. string.format('%d', tonumber(seq) + 1) end
      end
    end
  end
  if minid then redis.call('XTRIM', STREAM, 'MINID', minid) end
end

local function finish(key, id, state, now, retention)
  redis.call('HSET', key, 'state', state, 'finishedAt', now)
  redis.call('HDEL', key, 'lease', 'cancelRequested', 'notBefore')
  local dedupe = redis.call('HGET', key, 'dedupe')
  if dedupe and redis.call('GET', dedupe) == id then redis.call('DEL', dedupe) end
  redis.call('EXPIRE', key, retention)
  redis.call('EXPIRE', key .. ':log', retention)
  redis.call('HINCRBY', COUNTERS, state, 1)
end

local function bury(key, id, now, reason, retention)
  redis.call('HSET', key, 'error', reason)
  redis.call('XADD', DEAD, 'MAXLEN', '~', 1000, '*', 'job', id, 'reason', reason,
    'attempt', redis.call('HGET', key, 'attempt'), 'at', now)
  finish(key, id, 'dead', now, retention)
end
`;

/** KEYS: dedupe. ARGV: id, now, repo, ref, sha, maxAttempts, retainJobs, then meta name/value pairs. */
export const enqueueScript = `${prelude}
local existing = redis.call('GET', KEYS[1])
if existing then
  local state = redis.call('HGET', JOB .. existing, 'state')
  if state == 'queued' or state == 'running' then return {existing, 0} end
end
local id = ARGV[1]
local key = JOB .. id
local entry = redis.call('XADD', STREAM, '*', 'job', id)
redis.call('HSET', key, 'id', id, 'repo', ARGV[3], 'ref', ARGV[4], 'sha', ARGV[5], 'state', 'queued',
  'attempt', 0, 'maxAttempts', ARGV[6], 'createdAt', ARGV[2], 'entry', entry, 'dedupe', KEYS[1])
for i = 8, #ARGV, 2 do redis.call('HSET', key, 'meta.' .. ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[1], id)
redis.call('ZADD', RECENT, ARGV[2], id)
local over = redis.call('ZCARD', RECENT) - tonumber(ARGV[7])
if over > 0 then
  for _, old in ipairs(redis.call('ZRANGE', RECENT, 0, over - 1)) do
    local state = redis.call('HGET', JOB .. old, 'state')
    if state ~= 'queued' and state ~= 'running' then redis.call('DEL', JOB .. old, JOB .. old .. ':log') end
    redis.call('ZREM', RECENT, old)
  end
end
return {id, 1}
`;

const startEntry = `
local function startEntry(entry, id, consumer, lease, now, retention)
  local key = JOB .. id
  local job = redis.call('HMGET', key, 'state', 'entry', 'cancelRequested', 'attempt', 'maxAttempts')
  local state = job[1]
  if not state or job[2] ~= entry then
    ack(entry)
    return {'skip', 'superseded', id}
  end
  if state ~= 'queued' and state ~= 'running' then
    ack(entry)
    return {'skip', state, id}
  end
  if job[3] == '1' then
    finish(key, id, 'cancelled', now, retention)
    ack(entry)
    return {'skip', 'cancelled', id}
  end
  local attempt = tonumber(job[4]) + 1
  if attempt > tonumber(job[5]) then
    bury(key, id, now, 'its agent was lost on each of ' .. (attempt - 1) .. ' attempts', retention)
    ack(entry)
    return {'dead', '', id}
  end
  redis.call('HSET', key, 'state', 'running', 'attempt', attempt, 'startedAt', now, 'agent', consumer,
    'lease', lease, 'heartbeatAt', now)
  return {'run', entry, id, redis.call('HGETALL', key)}
end
`;

/** ARGV: entry, id, consumer, lease, now, retention. Returns {verdict, detail, id, job hash}. */
export const startScript = `${prelude}${startEntry}
return startEntry(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
`;

/** ARGV: consumer, lease, now, retention. Reads one new entry without blocking and starts it. */
export const claimScript = `${prelude}${startEntry}
local reply = redis.call('XREADGROUP', 'GROUP', GROUP, ARGV[1], 'COUNT', 1, 'STREAMS', STREAM, '>')
if not reply then return false end
local entry = reply[1][2][1]
return startEntry(entry[1], entry[2][2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
`;

/** ARGV: id, entry, consumer, lease, now. Keeps the entry's idle time low while the job runs. */
export const heartbeatScript = `${prelude}
local key = JOB .. ARGV[1]
if redis.call('HGET', key, 'lease') ~= ARGV[4] then return 'lost' end
redis.call('XCLAIM', STREAM, GROUP, ARGV[3], 0, ARGV[2], 'JUSTID')
redis.call('HSET', key, 'heartbeatAt', ARGV[5])
if redis.call('HGET', key, 'cancelRequested') == '1' then return 'cancel' end
return 'ok'
`;

/**
 * ARGV: id, lease, now, state, exitCode, error, failedStep, result, retry, backoffMs, retention,
 * summary (the log's closing line), logLines, and optionally consumer and lease to claim the
 * next waiting entry with, saving the worker a round trip per job.
 * Returns {state} or {state, start reply}.
 */
export const completeScript = `${prelude}${startEntry}
local id, now, retention = ARGV[1], ARGV[3], ARGV[11]
local key = JOB .. id

local function record()
  local job = redis.call('HMGET', key, 'lease', 'state', 'entry', 'attempt', 'maxAttempts')
  if job[1] ~= ARGV[2] or job[2] ~= 'running' then
    return 'ignored'
  end
  if ARGV[12] ~= '' then
    redis.call('XADD', key .. ':log', 'MAXLEN', '~', ARGV[13], '*', 'step', 'queue', 's', 'raibid', 'line', ARGV[12], 'ts', now)
  end
  local entry = job[3]
  redis.call('HSET', key, 'exitCode', ARGV[5], 'error', ARGV[6], 'failedStep', ARGV[7], 'result', ARGV[8])
  if ARGV[9] == '1' then
    local attempt = tonumber(job[4])
    if attempt < tonumber(job[5]) then
      local nextEntry = redis.call('XADD', STREAM, '*', 'job', id)
      redis.call('HSET', key, 'state', 'queued', 'entry', nextEntry,
        'notBefore', string.format('%d', tonumber(now) + tonumber(ARGV[10])))
      redis.call('HDEL', key, 'lease', 'agent')
      redis.call('HINCRBY', COUNTERS, 'retried', 1)
      ack(entry)
      return 'retrying'
    end
    bury(key, id, now, 'gave up after ' .. attempt .. ' attempts: ' .. ARGV[6], retention)
    ack(entry)
    return 'dead'
  end
  finish(key, id, ARGV[4], now, retention)
  ack(entry)
  return ARGV[4]
end

local state = record()
if not ARGV[14] then return {state} end
local reply = redis.call('XREADGROUP', 'GROUP', GROUP, ARGV[14], 'COUNT', 1, 'STREAMS', STREAM, '>')
if not reply then return {state} end
local nextEntry = reply[1][2][1]
return {state, startEntry(nextEntry[1], nextEntry[2][2], ARGV[14], ARGV[15], now, retention)}
`;

/** ARGV: id, now, retention. */
export const cancelScript = `${prelude}
local key = JOB .. ARGV[1]
local state = redis.call('HGET', key, 'state')
if not state then return 'missing' end
if state == 'queued' then
  finish(key, ARGV[1], 'cancelled', ARGV[2], ARGV[3])
  return 'cancelled'
end
if state == 'running' then
  redis.call('HSET', key, 'cancelRequested', '1')
  return 'cancelling'
end
return state
`;

/** ARGV: id, now. A finished job goes back to the queue with a fresh attempt count. */
export const retryScript = `${prelude}
local id = ARGV[1]
local key = JOB .. id
local state = redis.call('HGET', key, 'state')
if not state then return 'missing' end
if state == 'queued' or state == 'running' then return state end
local entry = redis.call('XADD', STREAM, '*', 'job', id)
redis.call('HSET', key, 'state', 'queued', 'attempt', 0, 'entry', entry)
redis.call('HDEL', key, 'finishedAt', 'startedAt', 'exitCode', 'error', 'failedStep', 'result', 'notBefore',
  'agent', 'cancelRequested')
redis.call('PERSIST', key)
redis.call('PERSIST', key .. ':log')
local dedupe = redis.call('HGET', key, 'dedupe')
if dedupe then redis.call('SET', dedupe, id) end
redis.call('ZADD', RECENT, ARGV[2], id)
return 'queued'
`;

/**
 * ARGV: minIdleMs, count, now, logLines, retention. KEDA starts pods for lag only, so an entry
 * left pending by a dead pod would wait for a live agent to XAUTOCLAIM it; this puts each one
 * idle for minIdleMs back as a new entry, which lag counts. The job keeps its attempt count:
 * startEntry counts the lost attempt and buries the job after maxAttempts, as for a reclaim.
 * Returns the ids of the jobs requeued.
 */
export const requeueScript = `${prelude}
local now, requeued = ARGV[3], {}
for _, pending in ipairs(redis.call('XPENDING', STREAM, GROUP, 'IDLE', ARGV[1], '-', '+', ARGV[2])) do
  local entry, consumer = pending[1], pending[2]
  local found = redis.call('XRANGE', STREAM, entry, entry)[1]
  local id = found and found[2][2]
  local key = id and JOB .. id
  local job = key and redis.call('HMGET', key, 'state', 'entry', 'cancelRequested') or {}
  if job[2] == entry and (job[1] == 'queued' or job[1] == 'running') then
    if job[3] == '1' then
      finish(key, id, 'cancelled', now, ARGV[5])
    else
      local nextEntry = redis.call('XADD', STREAM, '*', 'job', id)
      redis.call('HSET', key, 'state', 'queued', 'entry', nextEntry)
      redis.call('HDEL', key, 'lease', 'agent')
      redis.call('XADD', key .. ':log', 'MAXLEN', '~', ARGV[4], '*', 'step', 'queue', 's', 'raibid',
        'line', 'requeued: its agent ' .. consumer .. ' stopped heart-beating', 'ts', now)
      redis.call('HINCRBY', COUNTERS, 'requeued', 1)
      requeued[#requeued + 1] = id
    end
  end
  ack(entry)
end
return requeued
`;
