package redis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A failure counter is the field "i:"+ip of the identifier's hash, "count:lapse" with lapse
// in Unix milliseconds (scripts.go, recordFailureScript). The count lapses at lapse.

const ipField = "i:"

// parseFailure reads a counter's field; ok is false when it is malformed.
func parseFailure(text string) (count int, lapse int64, ok bool) {
	c, l, found := strings.Cut(text, ":")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(c)
	at, err2 := strconv.ParseInt(l, 10, 64)
	return n, at, err1 == nil && err2 == nil
}

// nowMS is the State's clock in Unix milliseconds, as counters lapse by it.
func (s *State) nowMS() int64 { return s.now().UnixMilli() }

// FailureCount implements storage.LoginFailures.
func (s *State) FailureCount(ctx context.Context, identifier, ip string) (int, error) {
	text, err := s.rdb.HGet(ctx, s.key("fail", identifier), ipField+ip).Result()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail(ctx, "failure count", err)
	}
	n, lapse, ok := parseFailure(text)
	if !ok || s.nowMS() >= lapse {
		return 0, nil
	}
	return n, nil
}

// RecordFailure implements storage.LoginFailures.
func (s *State) RecordFailure(ctx context.Context, identifier, ip string, ttl time.Duration) (int, error) {
	ttlMS := (ttl + time.Millisecond - 1).Milliseconds() // a part of a millisecond counts whole
	n, err := recordFailureScript.Run(ctx, s.rdb, []string{s.key("fail", identifier)},
		ipField+ip, s.nowMS(), ttlMS, ttlSlack.Milliseconds()).Int()
	if err != nil {
		return 0, s.fail(ctx, "record failure", err)
	}
	return n, nil
}

// ClearFailures implements storage.LoginFailures.
func (s *State) ClearFailures(ctx context.Context, identifier, ip string) error {
	key := s.key("fail", identifier)
	var err error
	if ip == "" {
		err = s.rdb.Del(ctx, key).Err()
	} else {
		err = s.rdb.HDel(ctx, key, ipField+ip).Err()
	}
	if err != nil {
		return s.fail(ctx, "clear failures", err)
	}
	return nil
}

// BlockedIPs implements storage.LoginFailures.
func (s *State) BlockedIPs(ctx context.Context, identifier string, threshold int) ([]string, error) {
	all, err := s.rdb.HGetAll(ctx, s.key("fail", identifier)).Result()
	if err != nil {
		return nil, s.fail(ctx, "blocked IPs", err)
	}
	now := s.nowMS()
	var out []string
	for field, text := range all {
		ip, isIP := strings.CutPrefix(field, ipField)
		n, lapse, ok := parseFailure(text)
		if isIP && ok && now < lapse && n >= threshold {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out, nil
}
