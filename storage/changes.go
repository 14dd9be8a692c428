package storage

import "context"

// Topics of change notices: what an instance caches and must forget when another instance
// writes it.
const (
	TopicRules    = "rules"    // rules, rules-configs and actions (the login pipeline)
	TopicClients  = "clients"  // clients and their allowed origins
	TopicKeys     = "keys"     // signing keys
	TopicSettings = "settings" // connections and attack-protection settings
)

// Changes carries "something you cache changed" notices between the instances that share a
// durable store. A notice says only which topic changed, never what: the receiver drops its
// cache of the topic and reloads from the store, so a lost or duplicated notice costs at most
// a reload, never a wrong answer for longer than the cache's own bound.
//
// A single instance needs none (its own writes invalidate its caches); with Redis, every
// instance publishes after each write and subscribes at start.
type Changes interface {
	// Publish tells every subscriber, this instance's included, that topic changed.
	Publish(ctx context.Context, topic string) error
	// Subscribe calls fn with the topic of every notice published from now on, from one
	// goroutine, until ctx ends. It returns once the subscription is active, so a notice
	// published after it returns is delivered. When the connection to the other instances
	// is lost and comes back, fn is called with every topic (notices may have been missed
	// in between).
	Subscribe(ctx context.Context, fn func(topic string)) error
}

// AllTopics lists every topic, for receivers that must assume everything changed.
var AllTopics = []string{TopicRules, TopicClients, TopicKeys, TopicSettings}
