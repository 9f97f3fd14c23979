-- The circuit breaker's one script (lib/circuit-breaker.ts): every read and change of a provider's
-- breaker is this script on its one hash, so two worker processes can never both take the probe
-- or both open the breaker.
--
-- ARGV: operation, now, windowMs, minimumRequests, failureRatio, openMs, probeLeaseMs,
-- halfOpenRetryMs, ttlMs, probe (1 or 0), buckets, and for 'report' the ordinary calls that
-- answered and that failed since the caller's last report.
-- Returns: from, to, allowed, probe, retryInMs, calls, failures, openedAt (-1: none), opens, closes.
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local minimumRequests = tonumber(ARGV[4])
local failureRatio = tonumber(ARGV[5])
local openMs = tonumber(ARGV[6])
local probeLeaseMs = tonumber(ARGV[7])
local halfOpenRetryMs = tonumber(ARGV[8])
local ttlMs = tonumber(ARGV[9])
local probe = ARGV[10] == '1'
local buckets = tonumber(ARGV[11])
local reportedSuccesses = tonumber(ARGV[12] or '0')
local reportedFailures = tonumber(ARGV[13] or '0')

local currentBucket = math.floor(now / (windowMs / buckets))
local oldestBucket = currentBucket - buckets + 1

local fields = {}
local calls, failures = 0, 0
local bucketFields, staleFields = {}, {}
local raw = redis.call('HGETALL', key)
for i = 1, #raw, 2 do
  local name, value = raw[i], raw[i + 1]
  local kind, bucket = string.match(name, '^(%a+):(%-?%d+)$')
  if kind then
    table.insert(bucketFields, name)
    -- Buckets ahead of now (a caller whose clock runs fast) still count.
    if tonumber(bucket) < oldestBucket then
      table.insert(staleFields, name)
    elseif kind == 'calls' then
      calls = calls + tonumber(value)
    else
      failures = failures + tonumber(value)
    end
  else
    fields[name] = value
  end
end

local state = fields.state or 'closed'
local from = state
local openedAt = tonumber(fields.openedAt)
local probeUntil = tonumber(fields.probeUntil)
local opens = tonumber(fields.opens) or 0
local closes = tonumber(fields.closes) or 0
local allowed, granted, retryInMs = 0, 0, 0
local written = false

local function clearWindow()
  if #bucketFields > 0 then redis.call('HDEL', key, unpack(bucketFields)) end
  bucketFields, staleFields = {}, {}
  calls, failures = 0, 0
end

local function open()
  state, openedAt, opens = 'open', now, opens + 1
  redis.call('HSET', key, 'state', state, 'openedAt', now)
  redis.call('HINCRBY', key, 'opens', 1)
  redis.call('HDEL', key, 'probeUntil')
  clearWindow()
  written = true
end

local function close()
  state, openedAt, closes = 'closed', nil, closes + 1
  redis.call('HSET', key, 'state', state)
  redis.call('HINCRBY', key, 'closes', 1)
  redis.call('HDEL', key, 'openedAt', 'probeUntil')
  clearWindow()
  written = true
end

local function count(called, failed)
  if #staleFields > 0 then redis.call('HDEL', key, unpack(staleFields)) end
  staleFields = {}
  local bucket = string.format('%d', currentBucket)
  redis.call('HINCRBY', key, 'calls:' .. bucket, called)
  calls = calls + called
  if failed > 0 then
    redis.call('HINCRBY', key, 'failures:' .. bucket, failed)
    failures = failures + failed
  end
  written = true
end

local function openIfFailing()
  if calls >= minimumRequests and failures / calls >= failureRatio then open() end
end

if op == 'snapshot' then
  if state == 'open' and now >= openedAt + openMs then state = 'half-open' end
  from = state
elseif op == 'acquire' then
  if state == 'open' and now >= openedAt + openMs then
    state = 'half-open'
    redis.call('HSET', key, 'state', state)
    redis.call('HDEL', key, 'probeUntil')
    probeUntil = nil
    written = true
  end
  if state == 'closed' then
    allowed = 1
  elseif state == 'open' then
    retryInMs = openedAt + openMs - now
  elseif probeUntil and now < probeUntil then
    retryInMs = math.min(halfOpenRetryMs, probeUntil - now)
  else
    allowed, granted = 1, 1
    redis.call('HSET', key, 'probeUntil', now + probeLeaseMs)
    written = true
  end
-- A probe's result decides only while half-open: if its slot expired and another probe already
-- closed or reopened the breaker, it is an ordinary late result. Ordinary results count only while
-- closed: those of calls that started before the breaker opened say nothing about now.
elseif op == 'success' then
  if probe and state == 'half-open' then
    close()
  elseif state == 'closed' then
    count(1, 0)
  end
elseif op == 'failure' then
  if probe and state == 'half-open' then
    open()
  elseif state == 'closed' then
    count(1, 1)
    openIfFailing()
  end
-- Many ordinary results at once, from a process that gathers them between reports.
elseif op == 'report' then
  if state == 'closed' and reportedSuccesses + reportedFailures > 0 then
    count(reportedSuccesses + reportedFailures, reportedFailures)
    openIfFailing()
  end
end

if written then redis.call('PEXPIRE', key, ttlMs) end
return { from, state, allowed, granted, retryInMs, calls, failures, openedAt or -1, opens, closes }
