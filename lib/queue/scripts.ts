import { ACKS, COUNTERS, DEAD_STREAM, GITHUB_TARGET, GROUP, JOB_PREFIX, RECENT, STATUS_STREAM, STATUS_TARGET, STREAM } from './names.js';

/**
 * Every state change of a job is one Lua script, so it is atomic and a late or repeated
 * call (a worker that lost its lease, a second completion) cannot double-count.
 *
 * The stream is never XDEL'd: deleting entries leaves tombstones that make Redis report
 * the group's lag as null, and KEDA's lag trigger then sees nothing to scale for.
 * Acknowledged entries are dropped from the front with XTRIM MINID instead, once every
 * TRIM_SLACK acknowledgements (a counter), which spares the others the extra reads.
 */
export const TRIM_SLACK = 100;
/** Jobs with a commit-status target write their state changes here, for `serve` to report. */
const STATUS_EVENTS_KEPT = 10_000;
const prelude = `
local STREAM, GROUP, DEAD, RECENT, COUNTERS, JOB = '${STREAM}', '${GROUP}', '${DEAD_STREAM}', '${RECENT}', '${COUNTERS}', '${JOB_PREFIX}'
local ACKS, STATUSES = '${ACKS}', '${STATUS_STREAM}'

local function fields(key, ...)
  local names = {...}
  local values = redis.call('HMGET', key, unpack(names))
  local job = {}
  for i, name in ipairs(names) do job[name] = values[i] end
  return job
end

local function trim()
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

local function ack(entry)
  redis.call('XACK', STREAM, GROUP, entry)
  if redis.call('INCR', ACKS) % ${TRIM_SLACK} == 0 then trim() end
end

local function notify(job, id, state, attempt)
  if job.notify == '1' then
    redis.call('XADD', STATUSES, 'MAXLEN', '~', ${STATUS_EVENTS_KEPT}, '*', 'job', id, 'state', state, 'attempt', attempt)
  end
end

-- job: the hash's dedupe, notify and attempt fields, as fields() reads them
local function finish(key, id, job, state, now, retention, ...)
  redis.call('HSET', key, 'state', state, 'finishedAt', now, ...)
  redis.call('HDEL', key, 'lease', 'cancelRequested', 'notBefore')
  if job.dedupe then
    local current = redis.call('GETDEL', job.dedupe)
    if current and current ~= id then redis.call('SET', job.dedupe, current) end
  end
  redis.call('EXPIRE', key, retention)
  redis.call('EXPIRE', key .. ':log', retention)
  redis.call('HINCRBY', COUNTERS, state, 1)
  notify(job, id, state, job.attempt)
end

-- outcome: fields of the last attempt to record beside the reason
local function bury(key, id, job, now, reason, retention, outcome)
  redis.call('XADD', DEAD, 'MAXLEN', '~', 1000, '*', 'job', id, 'reason', reason, 'attempt', job.attempt, 'at', now)
  local recorded = {unpack(outcome or {})}
  recorded[#recorded + 1] = 'error'
  recorded[#recorded + 1] = reason
  finish(key, id, job, 'dead', now, retention, unpack(recorded))
end
`;

/**
 * KEYS: dedupe. ARGV: id, now, repo, ref, sha, maxAttempts, retainJobs, then meta name/value
 * pairs. A job for a commit with a `gitea.repo` or `github.repo` meta reports its state changes
 * (notify), from `queued` on.
 */
export const enqueueScript = `${prelude}
local existing = redis.call('GET', KEYS[1])
if existing then
  local state = redis.call('HGET', JOB .. existing, 'state')
  if state == 'queued' or state == 'running' then return {existing, 0} end
end
local id = ARGV[1]
local key = JOB .. id
local entry = redis.call('XADD', STREAM, '*', 'job', id)
local reports = false
local job = {'id', id, 'repo', ARGV[3], 'ref', ARGV[4], 'sha', ARGV[5], 'state', 'queued',
  'attempt', 0, 'maxAttempts', ARGV[6], 'createdAt', ARGV[2], 'entry', entry, 'dedupe', KEYS[1]}
for i = 8, #ARGV, 2 do
  job[#job + 1] = 'meta.' .. ARGV[i]
  job[#job + 1] = ARGV[i + 1]
  if (ARGV[i] == '${STATUS_TARGET}' or ARGV[i] == '${GITHUB_TARGET}') and ARGV[5] ~= '' and not reports then
    reports = true
    job[#job + 1] = 'notify'
    job[#job + 1] = '1'
  end
end
redis.call('HSET', key, unpack(job))
if reports then notify({notify = '1'}, id, 'queued', 0) end
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

/** Reads the job once: the reply carries the hash as it is once started, so the worker reads nothing more. */
const startEntry = `
local function startEntry(entry, id, consumer, lease, now, retention)
  local key = JOB .. id
  local flat = redis.call('HGETALL', key)
  local job = {}
  for i = 1, #flat, 2 do job[flat[i]] = flat[i + 1] end
  local state = job.state
  if not state or job.entry ~= entry then
    ack(entry)
    return {'skip', 'superseded', id}
  end
  if state ~= 'queued' and state ~= 'running' then
    ack(entry)
    return {'skip', state, id}
  end
  if job.cancelRequested == '1' then
    finish(key, id, job, 'cancelled', now, retention)
    ack(entry)
    return {'skip', 'cancelled', id}
  end
  local attempt = tonumber(job.attempt) + 1
  if attempt > tonumber(job.maxAttempts) then
    bury(key, id, job, now, 'its agent was lost on each of ' .. (attempt - 1) .. ' attempts', retention)
    ack(entry)
    return {'dead', '', id}
  end
  local started = {state = 'running', attempt = tostring(attempt), startedAt = now, agent = consumer, lease = lease, heartbeatAt = now}
  local changes = {}
  for name, value in pairs(started) do
    job[name] = value
    changes[#changes + 1] = name
    changes[#changes + 1] = value
  end
  redis.call('HSET', key, unpack(changes))
  notify(job, id, 'running', started.attempt)
  local reply = {}
  for name, value in pairs(job) do
    reply[#reply + 1] = name
    reply[#reply + 1] = value
  end
  return {'run', entry, id, reply}
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
local job = fields(key, 'lease', 'cancelRequested')
if job.lease ~= ARGV[4] then return 'lost' end
redis.call('XCLAIM', STREAM, GROUP, ARGV[3], 0, ARGV[2], 'JUSTID')
redis.call('HSET', key, 'heartbeatAt', ARGV[5])
if job.cancelRequested == '1' then return 'cancel' end
return 'ok'
`;

/** How many ARGV a completion takes in completeScript. */
const COMPLETION_ARGS = 10;

/**
 * Records the outcomes of several jobs and starts as many waiting entries as leases are given,
 * in one round trip: an agent whose slots finish together pays one call, and one fsync, for all.
 * ARGV: now, retention, logLines, consumer, count, then per job: id, lease, state, exitCode,
 * error, failedStep, result, retry, backoffMs, summary (the log's closing line); then leases.
 * Returns {states, start replies}.
 */
export const completeScript = `${prelude}${startEntry}
local now, retention, logLines, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local count = tonumber(ARGV[5])

local function record(base)
  local id = ARGV[base + 1]
  local key = JOB .. id
  local job = fields(key, 'lease', 'state', 'entry', 'attempt', 'maxAttempts', 'dedupe', 'notify')
  if job.lease ~= ARGV[base + 2] or job.state ~= 'running' then
    return 'ignored'
  end
  local state, error, summary = ARGV[base + 3], ARGV[base + 5], ARGV[base + 10]
  if summary ~= '' then
    redis.call('XADD', key .. ':log', 'MAXLEN', '~', logLines, '*', 'step', 'queue', 's', 'raibid', 'line', summary, 'ts', now)
  end
  local outcome = {'exitCode', ARGV[base + 4], 'error', error, 'failedStep', ARGV[base + 6], 'result', ARGV[base + 7]}
  if ARGV[base + 8] == '1' then
    local attempt = tonumber(job.attempt)
    if attempt < tonumber(job.maxAttempts) then
      local nextEntry = redis.call('XADD', STREAM, '*', 'job', id)
      redis.call('HSET', key, 'state', 'queued', 'entry', nextEntry,
        'notBefore', string.format('%d', tonumber(now) + tonumber(ARGV[base + 9])), unpack(outcome))
      redis.call('HDEL', key, 'lease', 'agent')
      redis.call('HINCRBY', COUNTERS, 'retried', 1)
      notify(job, id, 'queued', job.attempt)
      ack(job.entry)
      return 'retrying'
    end
    bury(key, id, job, now, 'gave up after ' .. attempt .. ' attempts: ' .. error, retention, outcome)
    ack(job.entry)
    return 'dead'
  end
  finish(key, id, job, state, now, retention, unpack(outcome))
  ack(job.entry)
  return state
end

local states = {}
for i = 0, count - 1 do states[#states + 1] = record(5 + i * ${COMPLETION_ARGS}) end
local starts = {}
for i = 6 + count * ${COMPLETION_ARGS}, #ARGV do
  local reply = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', 1, 'STREAMS', STREAM, '>')
  if not reply then break end
  local entry = reply[1][2][1]
  starts[#starts + 1] = startEntry(entry[1], entry[2][2], consumer, ARGV[i], now, retention)
end
return {states, starts}
`;

/** ARGV: id, now, retention. */
export const cancelScript = `${prelude}
local key = JOB .. ARGV[1]
local job = fields(key, 'state', 'dedupe', 'notify', 'attempt')
if not job.state then return 'missing' end
if job.state == 'queued' then
  finish(key, ARGV[1], job, 'cancelled', ARGV[2], ARGV[3])
  return 'cancelled'
end
if job.state == 'running' then
  redis.call('HSET', key, 'cancelRequested', '1')
  return 'cancelling'
end
return job.state
`;

/** ARGV: id, now. A finished job goes back to the queue with a fresh attempt count. */
export const retryScript = `${prelude}
local id = ARGV[1]
local key = JOB .. id
local job = fields(key, 'state', 'dedupe')
if not job.state then return 'missing' end
if job.state == 'queued' or job.state == 'running' then return job.state end
local entry = redis.call('XADD', STREAM, '*', 'job', id)
redis.call('HSET', key, 'state', 'queued', 'attempt', 0, 'entry', entry)
redis.call('HDEL', key, 'finishedAt', 'startedAt', 'exitCode', 'error', 'failedStep', 'result', 'notBefore',
  'agent', 'cancelRequested')
redis.call('PERSIST', key)
redis.call('PERSIST', key .. ':log')
if job.dedupe then redis.call('SET', job.dedupe, id) end
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
  local job = key and fields(key, 'state', 'entry', 'cancelRequested', 'dedupe', 'notify', 'attempt') or {}
  if job.entry == entry and (job.state == 'queued' or job.state == 'running') then
    if job.cancelRequested == '1' then
      finish(key, id, job, 'cancelled', now, ARGV[5])
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
