package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// RunRateLimits is the conformance suite of storage.RateLimits, for every backend of shared
// short-lived state (RunShortLived runs it). advance moves the backend's clock forward.
//
// Like RunShortLived, it keeps the clock at least a minute away from every boundary it
// checks, so a backend on the real clock (plus what advance added) passes however long the
// test itself takes; so retryAfter is checked to within rateSlack.
func RunRateLimits(t *testing.T, newRates func(t *testing.T) (storage.RateLimits, func(time.Duration))) {
	for _, rt := range []struct {
		name string
		run  func(t *testing.T, e *rates)
	}{
		{"BurstThenRefused", testRateBurst},
		{"Refill", testRateRefill},
		{"PeekNeverConsumes", testRatePeek},
		{"KeysIndependent", testRateKeys},
		{"ConcurrentTakesExact", testRateConcurrent},
		{"InvalidLimit", testRateInvalid},
		{"State", testRateState},
	} {
		t.Run(rt.name, func(t *testing.T) {
			r, advance := newRates(t)
			rt.run(t, &rates{r: r, advance: advance})
		})
	}
}

// rateSlack is how far below the exact wait a backend on the real clock may answer.
const rateSlack = time.Minute

// rates is a backend under test, with its clock.
type rates struct {
	r       storage.RateLimits
	advance func(time.Duration)
}

// take calls TakeRate and checks that it answered want, with a retryAfter of 0 when
// allowed and within (wait-rateSlack, wait] when refused.
func (e *rates) take(t *testing.T, what, key string, l storage.Limit, want bool, wait time.Duration) {
	t.Helper()
	ok, retry, err := e.r.TakeRate(t.Context(), key, l)
	must(t, "TakeRate "+what, err)
	checkRate(t, "TakeRate "+what, ok, retry, want, wait)
}

// peek is take for PeekRate.
func (e *rates) peek(t *testing.T, what, key string, l storage.Limit, want bool, wait time.Duration) time.Duration {
	t.Helper()
	ok, retry, err := e.r.PeekRate(t.Context(), key, l)
	must(t, "PeekRate "+what, err)
	checkRate(t, "PeekRate "+what, ok, retry, want, wait)
	return retry
}

func checkRate(t *testing.T, op string, ok bool, retry time.Duration, want bool, wait time.Duration) {
	t.Helper()
	switch {
	case ok != want:
		t.Fatalf("%s: allowed = %v, want %v (retryAfter %v)", op, ok, want, retry)
	case ok && retry != 0:
		t.Fatalf("%s: allowed with retryAfter %v, want 0", op, retry)
	case !ok && (retry > wait || retry <= wait-rateSlack || retry <= 0):
		t.Fatalf("%s: retryAfter = %v, want %v (less up to %v for the time the test takes)", op, retry, wait, rateSlack)
	}
}

// Burst events pass at once; the next waits one Interval.
func testRateBurst(t *testing.T, e *rates) {
	l := storage.Limit{Burst: 3, Interval: 10 * time.Minute}
	for i := range l.Burst {
		e.take(t, fmt.Sprintf("#%d within the burst", i+1), "k", l, true, 0)
	}
	e.take(t, "past the burst", "k", l, false, l.Interval)
	e.take(t, "past the burst again", "k", l, false, l.Interval)

	one := storage.Limit{Burst: 1, Interval: time.Hour}
	e.take(t, "burst of one", "single", one, true, 0)
	e.take(t, "burst of one, again", "single", one, false, time.Hour)
}

// One event comes back every Interval, refused events are not counted, and a quiet key
// refills to Burst and no further.
func testRateRefill(t *testing.T, e *rates) {
	l := storage.Limit{Burst: 2, Interval: 10 * time.Minute}
	e.take(t, "#1", "k", l, true, 0)
	e.take(t, "#2", "k", l, true, 0)
	e.take(t, "past the burst", "k", l, false, 10*time.Minute)

	e.advance(8 * time.Minute)
	e.take(t, "before an interval passed", "k", l, false, 2*time.Minute)
	e.take(t, "refused again (refusals are not counted)", "k", l, false, 2*time.Minute)
	e.advance(2 * time.Minute)
	e.take(t, "after one interval", "k", l, true, 0)
	e.take(t, "a second one after one interval", "k", l, false, l.Interval)

	for range 5 {
		e.take(t, "a refusal", "k", l, false, l.Interval)
	}
	e.advance(l.Interval)
	e.take(t, "after refusals and one more interval", "k", l, true, 0)

	// Quiet for far longer than Burst intervals: a full burst, not more.
	e.advance(50 * l.Interval)
	e.take(t, "#1 after a long quiet", "k", l, true, 0)
	e.take(t, "#2 after a long quiet", "k", l, true, 0)
	e.take(t, "#3 after a long quiet", "k", l, false, l.Interval)
}

// PeekRate answers as TakeRate would and never counts.
func testRatePeek(t *testing.T, e *rates) {
	l := storage.Limit{Burst: 2, Interval: 10 * time.Minute}
	for range 10 {
		e.peek(t, "a fresh key", "k", l, true, 0)
	}
	e.take(t, "#1 after peeks", "k", l, true, 0)
	e.peek(t, "with one left", "k", l, true, 0)
	e.peek(t, "with one left, again", "k", l, true, 0)
	e.take(t, "#2 after peeks", "k", l, true, 0)
	first := e.peek(t, "an exhausted key", "k", l, false, l.Interval)
	again := e.peek(t, "an exhausted key, again", "k", l, false, l.Interval)
	if again > first {
		t.Fatalf("PeekRate's retryAfter grew from %v to %v: a peek counted", first, again)
	}
	e.take(t, "past the burst", "k", l, false, l.Interval)

	e.advance(l.Interval)
	e.peek(t, "after an interval", "k", l, true, 0)
	e.peek(t, "after an interval, again", "k", l, true, 0)
	e.take(t, "after an interval", "k", l, true, 0)
	e.take(t, "a second one after an interval", "k", l, false, l.Interval)
}

// Keys do not share state, however alike.
func testRateKeys(t *testing.T, e *rates) {
	l := storage.Limit{Burst: 2, Interval: time.Hour}
	for _, key := range []string{"login:10.0.0.1", "signup:10.0.0.1", "login:10.0.0.10", "login:10.0.0.2", "", "LOGIN:10.0.0.1"} {
		e.take(t, fmt.Sprintf("#1 of %q", key), key, l, true, 0)
		e.take(t, fmt.Sprintf("#2 of %q", key), key, l, true, 0)
		e.take(t, fmt.Sprintf("past the burst of %q", key), key, l, false, time.Hour)
	}
	e.peek(t, "an untouched key", "login:10.0.0.3", l, true, 0)
}

// Concurrent takes never pass more than the burst, nor fewer.
func testRateConcurrent(t *testing.T, e *rates) {
	const callers = 100
	l := storage.Limit{Burst: 10, Interval: time.Hour}
	allowed := make([]bool, callers)
	errs := parallelN(callers, func(i int) (err error) {
		allowed[i], _, err = e.r.TakeRate(t.Context(), "contended", l)
		return err
	})
	n := 0
	for i, err := range errs {
		must(t, fmt.Sprintf("TakeRate #%d", i), err)
		if allowed[i] {
			n++
		}
	}
	if n != l.Burst {
		t.Fatalf("%d concurrent TakeRate with Burst %d: %d allowed, want %d", callers, l.Burst, n, l.Burst)
	}
	e.peek(t, "after the contended burst", "contended", l, false, l.Interval)
}

func testRateInvalid(t *testing.T, e *rates) {
	for _, l := range []storage.Limit{{Burst: 0, Interval: time.Second}, {Burst: -1, Interval: time.Second}, {Burst: 1}, {Burst: 1, Interval: -time.Second}} {
		if _, _, err := e.r.TakeRate(t.Context(), "k", l); err == nil {
			t.Errorf("TakeRate with %+v: no error", l)
		}
		if _, _, err := e.r.PeekRate(t.Context(), "k", l); err == nil {
			t.Errorf("PeekRate with %+v: no error", l)
		}
	}
}

// TakeRateState reports what remains of the burst and when it is full again.
func testRateState(t *testing.T, e *rates) {
	l := storage.Limit{Burst: 3, Interval: time.Hour}
	within := func(what string, got, want time.Duration) {
		t.Helper()
		if got > want || got <= want-rateSlack {
			t.Errorf("%s = %v, want %v (to within %v)", what, got, want, rateSlack)
		}
	}
	for i, remaining := range []int{2, 1, 0} {
		st, err := e.r.TakeRateState(t.Context(), "state", l)
		must(t, "TakeRateState", err)
		if !st.Allowed || st.Remaining != remaining || st.RetryAfter != 0 {
			t.Fatalf("event %d: %+v, want allowed with %d remaining", i+1, st, remaining)
		}
		within(fmt.Sprintf("event %d: Reset", i+1), st.Reset, time.Duration(i+1)*time.Hour)
	}
	st, err := e.r.TakeRateState(t.Context(), "state", l)
	must(t, "TakeRateState", err)
	if st.Allowed || st.Remaining != 0 {
		t.Fatalf("event past the burst: %+v, want refused with 0 remaining", st)
	}
	within("refused: RetryAfter", st.RetryAfter, time.Hour)
	within("refused: Reset", st.Reset, 3*time.Hour)
	// The refused event counted nothing: the key is as it was.
	if ok, _, err := e.r.PeekRate(t.Context(), "state", l); err != nil || ok {
		t.Errorf("PeekRate after a refused event: %v, %v; want refused", ok, err)
	}
	e.advance(time.Hour + rateSlack)
	st, err = e.r.TakeRateState(t.Context(), "state", l)
	must(t, "TakeRateState after an interval", err)
	if !st.Allowed || st.Remaining != 0 {
		t.Errorf("after an interval: %+v, want allowed with 0 remaining", st)
	}
}
