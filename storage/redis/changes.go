package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/storage"
)

const (
	// healthInterval: a subscription quiet this long sends a PING, and one whose PING is not
	// answered within as long again is taken for lost.
	healthInterval = 5 * time.Second
	// confirmTimeout bounds the wait for Redis to confirm a subscription.
	confirmTimeout = 10 * time.Second
	// Resubscribing after a lost connection waits between attempts, from the first to the
	// last of these, doubling.
	minResubscribeWait = 50 * time.Millisecond
	maxResubscribeWait = 2 * time.Second
)

// Publish implements storage.Changes.
func (s *State) Publish(ctx context.Context, topic string) error {
	if err := s.rdb.Publish(ctx, s.channel, topic).Err(); err != nil {
		return s.fail(ctx, "publish", err)
	}
	return nil
}

// subscription is one running Subscribe loop.
type subscription struct {
	cancel context.CancelFunc
}

// Subscribe implements storage.Changes. fn runs on the subscription's own goroutine, which
// ends when ctx does or the State is closed.
func (s *State) Subscribe(ctx context.Context, fn func(topic string)) error {
	ps, err := s.subscribe(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{cancel: cancel}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		_ = ps.Close()
		return fmt.Errorf("redis: subscribe: %w", goredis.ErrClosed)
	}
	s.subs[sub] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
			cancel()
		}()
		s.listen(ctx, ps, fn)
	}()
	return nil
}

// subscribe opens a pub/sub connection on the channel and waits until Redis confirms the
// subscription, so that every notice published after it returns is delivered.
func (s *State) subscribe(ctx context.Context) (*goredis.PubSub, error) {
	ps := s.rdb.Subscribe(ctx) // no channel yet: Subscribe below reports errors
	if err := ps.Subscribe(ctx, s.channel); err != nil {
		_ = ps.Close()
		return nil, s.fail(ctx, "subscribe", err)
	}
	wait, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	for {
		msg, err := ps.Receive(wait)
		if err != nil {
			_ = ps.Close()
			return nil, s.fail(ctx, "subscribe", err)
		}
		if m, ok := msg.(*goredis.Subscription); ok && m.Kind == "subscribe" && m.Channel == s.channel {
			return ps, nil
		}
	}
}

// listen delivers the notices of ps to fn until ctx ends, subscribing again whenever the
// connection is lost, and then delivering every topic.
func (s *State) listen(ctx context.Context, ps *goredis.PubSub, fn func(string)) {
	for {
		// Ends a blocked Receive. It closes this round's ps, not the variable's value when it
		// runs: stop cannot stop it once started, and ps is replaced (by nil when ctx ended).
		cur := ps
		stop := context.AfterFunc(ctx, func() { _ = cur.Close() })
		s.receive(ctx, ps, fn)
		stop()
		_ = ps.Close()
		if ps = s.resubscribe(ctx); ps == nil {
			return
		}
		deliverAll(ctx, fn)
	}
}

// receive delivers the notices of ps to fn until ctx ends or the connection is lost.
func (s *State) receive(ctx context.Context, ps *goredis.PubSub, fn func(string)) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !pinged && isTimeout(err) {
				pinged = true
				if ps.Ping(ctx) == nil {
					continue
				}
			}
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Message:
			if m.Channel == s.channel {
				fn(m.Payload)
			}
		case *goredis.Subscription:
			// go-redis reconnected on its own (after a failed read or PING) and subscribed
			// again: notices may have been missed in between.
			if m.Kind == "subscribe" {
				deliverAll(ctx, fn)
			}
		}
	}
}

// resubscribe subscribes again, waiting between attempts while Redis is unreachable; nil
// once ctx has ended.
func (s *State) resubscribe(ctx context.Context) *goredis.PubSub {
	wait := minResubscribeWait
	for ctx.Err() == nil {
		ps, err := s.subscribe(ctx)
		if err == nil {
			return ps
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxResubscribeWait)
	}
	return nil
}

// deliverAll tells fn that every topic may have changed.
func deliverAll(ctx context.Context, fn func(string)) {
	for _, topic := range storage.AllTopics {
		if ctx.Err() != nil {
			return
		}
		fn(topic)
	}
}

func isTimeout(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) && nerr.Timeout()
}
