package password

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrBusy: every hashing slot stayed taken for the whole wait.
var ErrBusy = errors.New("password: too many password checks at once")

// Gate bounds the bcrypt computations running at once. Each costs tens of milliseconds of
// a CPU, so a flood of logins would otherwise take every core and every goroutine's memory;
// with the gate, callers queue for a slot up to a bound and are then refused, and the rest of
// the server (token verification, /userinfo, the Management API) keeps its share.
//
// Waiting and InUse tell how full the gate is, for metrics: a queue that stays long says
// that logins wait on the CPU, before any of them is refused with ErrBusy.
type Gate struct {
	slots   chan struct{}
	maxWait time.Duration
	waiting atomic.Int64 // callers inside Enter that found every slot taken
}

// NewGate lets n computations run at once; a caller waits at most maxWait for a slot.
func NewGate(n int, maxWait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(n, 1)), maxWait: maxWait}
}

// Enter waits for a slot. On success the caller must call leave when its computation is
// done. It fails with ErrBusy after maxWait, or with ctx's error.
func (g *Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.maxWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *Gate) leave() { <-g.slots }

// Waiting is how many callers wait for a slot now. A nil Gate has none.
func (g *Gate) Waiting() int {
	if g == nil {
		return 0
	}
	return int(g.waiting.Load())
}

// InUse is how many slots are taken now (computations running, or about to). A nil Gate
// has none.
func (g *Gate) InUse() int {
	if g == nil {
		return 0
	}
	return len(g.slots)
}
