package cluster

import (
	"context"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyRate is an access key's token bucket, shared by every node.
const keyRate = "rate:"

// tokenBucket takes one token from the bucket at KEYS[1] (fields t: tokens,
// ts: last refill in ms) holding at most ARGV[2] tokens refilled at ARGV[1]
// a second, on Redis's clock, and returns 1 when there was one. The key
// expires once a full bucket would have refilled.
var tokenBucket = redis.NewScript(`
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens, ts = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return ok
`)

// RateLimiter is the API's per-access-key token bucket held in Redis, so a
// client spreading its calls over the nodes gets the rate once, not once
// per node (api.Limiter). When Redis does not answer it falls back to
// local, the node's own bucket.
type RateLimiter struct {
	rdb    *redis.Client
	prefix string
	rate   float64
	burst  int
	local  interface{ Allow(string) bool }
	log    *slog.Logger
	warned atomic.Bool
}

// RateLimiter returns the cluster-wide limiter of rate requests a second
// per access key, up to burst (rate 0: no limit), with local as fallback.
func (c *Cluster) RateLimiter(rate float64, burst int, local interface{ Allow(string) bool }) *RateLimiter {
	return &RateLimiter{rdb: c.p.Redis, prefix: c.cfg.Prefix, rate: rate, burst: burst, local: local, log: c.p.Log}
}

// Allow takes a token of accessKeyID's shared bucket.
func (l *RateLimiter) Allow(accessKeyID string) bool {
	if l.rate <= 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	burst := max(l.burst, int(math.Ceil(l.rate)))
	ok, err := tokenBucket.Run(ctx, l.rdb, []string{l.prefix + keyRate + accessKeyID}, l.rate, burst).Int()
	if err != nil {
		if !l.warned.Swap(true) {
			l.log.Warn("cluster: shared rate limit unavailable; each node limits on its own", "err", err)
		}
		return l.local.Allow(accessKeyID)
	}
	l.warned.Store(false)
	return ok == 1
}
