package metrics

import "github.com/prometheus/client_golang/prometheus"

// HashSlots is what the password-hash gate (password.Gate) tells of its queue. metrics
// reads it through this interface, so that it does not depend on the password package.
type HashSlots interface {
	Waiting() int // callers waiting for a slot
	InUse() int   // slots taken
}

// hashSlotsRef holds the watched gate (an atomic.Pointer needs a concrete type).
type hashSlotsRef struct{ g HashSlots }

// WatchHashGate exports g's queue as latch_password_hash_waiting and
// latch_password_hash_in_use, read at each scrape. Before it is called both read 0; a later
// call replaces the gate watched. A nil *Metrics records nothing.
func (m *Metrics) WatchHashGate(g HashSlots) {
	if m != nil && g != nil {
		m.hashGate.Store(&hashSlotsRef{g})
	}
}

// hashGauges are the gauges of WatchHashGate.
func (m *Metrics) hashGauges() []prometheus.Collector {
	read := func(f func(HashSlots) int) func() float64 {
		return func() float64 {
			if r := m.hashGate.Load(); r != nil {
				return float64(f(r.g))
			}
			return 0
		}
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_password_hash_waiting", Help: "Password checks waiting for a hashing slot; a queue that stays long means logins wait on the CPU.",
		}, read(HashSlots.Waiting)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_password_hash_in_use", Help: "Hashing slots taken (bcrypt computations running).",
		}, read(HashSlots.InUse)),
	}
}
