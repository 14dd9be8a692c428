package mail

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Defaults of QueueOptions. With them a message gets 5 attempts over about 11 minutes
// (waits of about 45s, 1.5m, 3m and 6m between them).
const (
	DefaultQueueSize      = 1000
	DefaultWorkers        = 2
	DefaultAttempts       = 5
	DefaultBackoff        = time.Minute
	DefaultMaxBackoff     = 10 * time.Minute
	DefaultAttemptTimeout = 2 * time.Minute
)

// The outcomes a Queue counts (Recorder.Mail).
const (
	OutcomeSent    = "sent"    // delivered
	OutcomeFailed  = "failed"  // given up: a permanent error, or the last attempt failed
	OutcomeRetried = "retried" // an attempt failed and another one is scheduled
	OutcomeDropped = "dropped" // never sent: the queue was full, or closed before its turn
)

// Recorder counts what a Queue does with messages. latch's metrics implement it; kind is
// one of Kinds() or "other", outcome one of the Outcome constants, so the label sets stay small.
type Recorder interface {
	Mail(kind, outcome string)
}

// QueueOptions configures NewQueue. Zero values mean the defaults.
type QueueOptions struct {
	// Size bounds the messages the queue holds at once: waiting, being sent or waiting for a
	// retry. A message sent to a full queue is dropped (ErrQueueFull).
	Size int
	// Workers is how many messages are sent at once.
	Workers int
	// Attempts is how many times a message is tried before it fails, the first included.
	Attempts int
	// Backoff is the wait before the first retry; each next wait doubles, up to MaxBackoff.
	// Each wait is drawn between half and all of its value (jitter), so that messages that
	// failed together are not retried together.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt (the context given to the Sender).
	AttemptTimeout time.Duration
	// OnResult, when set, is called once for every message Send accepted, with nil when it was
	// delivered and the last error when it was not (ErrClosed when Close gave up on it). It runs
	// on a worker goroutine, possibly on several at once, and should be quick: the integrator
	// writes an event-log entry there.
	OnResult func(Message, error)
	// Recorder counts outcomes (nil: none).
	Recorder Recorder
	// Log receives a warning per failed attempt (nil: slog.Default()).
	Log *slog.Logger
}

// Queue sends messages in the background through a Sender, retrying what fails for a while.
// Send never blocks: a message goes into a bounded queue, or is dropped when the queue is
// full. Permanent failures (see Permanent) are not retried. Queue is a Sender itself.
type Queue struct {
	sender Sender
	o      QueueOptions

	mu       sync.Mutex
	cond     *sync.Cond
	ready    []*job               // waiting for a worker, oldest first
	waiting  map[*job]*time.Timer // waiting for a retry
	inflight int
	closing  bool

	ctx    context.Context // the parent of every attempt; cancelled when Close gives up
	cancel context.CancelFunc
	done   chan struct{} // closed when every worker has returned
}

type job struct {
	msg      Message
	attempts int
}

// NewQueue starts the workers; Close stops them.
func NewQueue(s Sender, o QueueOptions) *Queue {
	if o.Size <= 0 {
		o.Size = DefaultQueueSize
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{sender: s, o: o, waiting: map[*job]*time.Timer{}, done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(q.work)
	}
	go func() { wg.Wait(); close(q.done) }()
	return q
}

// Send validates m and queues it, without waiting. It returns ErrInvalidMessage (wrapped)
// for a message no sender would send, ErrQueueFull when the queue is full and ErrClosed after
// Close; in those cases OnResult is not called. ctx is not used: the message outlives the
// request that sends it.
func (q *Queue) Send(_ context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return ErrClosed
	}
	if len(q.ready)+len(q.waiting)+q.inflight >= q.o.Size {
		q.mu.Unlock()
		q.record(m, OutcomeDropped)
		q.o.Log.Warn("mail queue full: message dropped", slog.String("kind", m.Kind), slog.Int("size", q.o.Size))
		return ErrQueueFull
	}
	q.ready = append(q.ready, &job{msg: m})
	q.cond.Signal()
	q.mu.Unlock()
	return nil
}

// work is one worker: it sends ready messages until the queue is closed and empty.
func (q *Queue) work() {
	for {
		q.mu.Lock()
		for len(q.ready) == 0 && !q.closing {
			q.cond.Wait()
		}
		if len(q.ready) == 0 { // closing, and nothing left: waiting retries were made ready by Close
			q.mu.Unlock()
			return
		}
		j := q.ready[0]
		q.ready[0] = nil
		q.ready = q.ready[1:]
		q.inflight++
		q.mu.Unlock()

		q.attempt(j)
	}
}

// attempt sends j once and decides what follows: done, failed, or a retry later.
func (q *Queue) attempt(j *job) {
	ctx, cancel := context.WithTimeout(q.ctx, q.o.AttemptTimeout)
	err := q.sender.Send(ctx, j.msg)
	cancel()
	// j is this worker's until it is scheduled again; after that only j.msg, which never
	// changes, is read here.
	j.attempts++
	n, m := j.attempts, j.msg

	q.mu.Lock()
	q.inflight--
	retry := err != nil && !Permanent(err) && n < q.o.Attempts && !q.closing
	if retry {
		// Counted before the retry can run, so that counts never lag behind deliveries.
		q.record(m, OutcomeRetried)
		wait := backoff(q.o.Backoff, q.o.MaxBackoff, n)
		q.waiting[j] = time.AfterFunc(wait, func() { q.wake(j) })
	}
	q.mu.Unlock()

	switch {
	case err == nil:
		q.record(m, OutcomeSent)
	case retry:
		q.o.Log.Warn("mail not sent, will retry", slog.String("kind", m.Kind),
			slog.Int("attempt", n), slog.Int("attempts", q.o.Attempts), slog.Any("error", err))
		return
	default:
		q.record(m, OutcomeFailed)
		q.o.Log.Error("mail not sent, giving up", slog.String("kind", m.Kind),
			slog.Int("attempt", n), slog.Bool("permanent", Permanent(err)), slog.Any("error", err))
	}
	if q.o.OnResult != nil {
		q.o.OnResult(m, err)
	}
}

// wake moves j from waiting to ready when its retry is due. Close may have moved it first.
func (q *Queue) wake(j *job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.waiting[j]; !ok {
		return
	}
	delete(q.waiting, j)
	q.ready = append(q.ready, j)
	q.cond.Signal()
}

// Close stops accepting messages (Send returns ErrClosed) and sends what the queue holds:
// messages waiting for a retry get one last attempt at once, and no attempt that fails from
// now on is retried. It returns when the queue is empty, or when ctx ends: then the attempts
// under way are cancelled, the messages not yet tried are given up (OnResult with ErrClosed,
// counted as dropped), and Close returns ctx's error once the workers have stopped. Calling
// Close again waits in the same way.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closing {
		q.closing = true
		for j, t := range q.waiting {
			t.Stop()
			q.ready = append(q.ready, j)
		}
		clear(q.waiting)
		q.cond.Broadcast()
	}
	q.mu.Unlock()

	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		select {
		case <-q.done: // both were ready: the queue did empty in time
			return nil
		default:
		}
	}

	q.mu.Lock()
	abandoned := slices.Clone(q.ready)
	q.ready = nil
	q.mu.Unlock()
	q.cancel()
	for _, j := range abandoned {
		q.record(j.msg, OutcomeDropped)
		if q.o.OnResult != nil {
			q.o.OnResult(j.msg, fmt.Errorf("%w before the message could be sent: %w", ErrClosed, ctx.Err()))
		}
	}
	if len(abandoned) > 0 {
		q.o.Log.Error("mail queue closed with messages unsent", slog.Int("dropped", len(abandoned)))
	}
	<-q.done
	return ctx.Err()
}

func (q *Queue) record(m Message, outcome string) {
	if q.o.Recorder != nil {
		q.o.Recorder.Mail(kindLabel(m.Kind), outcome)
	}
}

// kindLabel keeps the metric's label set small: the known kinds, else "other".
func kindLabel(kind string) string {
	if slices.Contains(kinds[:], kind) {
		return kind
	}
	return "other"
}

// backoff is the wait after the n-th failed attempt (n ≥ 1): base·2^(n-1), at most max,
// drawn between half and all of that.
func backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(d-half+1)
}
