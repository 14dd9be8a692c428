package redis

import (
	"context"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// What the record kinds share: a hash with the record as JSON in "v" and its end in "end".

// create stores a record under key unless a live one holds it; end is when the record is
// gone. fields are more field, value pairs to store beside "v" and "end".
func (s *State) create(ctx context.Context, key string, now, end time.Time, v []byte, fields ...any) (bool, error) {
	args := append([]any{ms(now), ttl(now, end), "end", ms(end), "v", v}, fields...)
	n, err := createScript.Run(ctx, s.rdb, []string{key}, args...).Int()
	return n == 1, err
}

// read returns the record under key and the other fields asked for, or ok false when there
// is none or it is gone.
func (s *State) read(ctx context.Context, key string, now time.Time, fields ...string) (v []byte, more []string, ok bool, err error) {
	vals, err := s.rdb.HMGet(ctx, key, append([]string{"v", "end"}, fields...)...).Result()
	if err != nil {
		return nil, nil, false, err
	}
	data, _ := vals[0].(string)
	endText, _ := vals[1].(string)
	end, perr := strconv.ParseInt(endText, 10, 64)
	if data == "" || perr != nil || ms(now) > end {
		return nil, nil, false, nil
	}
	for _, f := range vals[2:] {
		text, _ := f.(string)
		more = append(more, text)
	}
	return []byte(data), more, true, nil
}

// remove deletes the record under key and says whether it was there and live.
func (s *State) remove(ctx context.Context, key string, now time.Time) (bool, error) {
	n, err := deleteScript.Run(ctx, s.rdb, []string{key}, ms(now)).Int()
	return n == 1, err
}

// scriptReply splits a script's {status, value} reply.
func scriptReply(reply any) (status int64, value string, err error) {
	parts, ok := reply.([]any)
	if !ok || len(parts) == 0 {
		return 0, "", errBadReply
	}
	status, ok = parts[0].(int64)
	if !ok {
		return 0, "", errBadReply
	}
	if len(parts) > 1 {
		value, _ = parts[1].(string)
	}
	return status, value, nil
}

// isNil says whether err is Redis's "no such key" reply.
func isNil(err error) bool { return errors.Is(err, goredis.Nil) }
