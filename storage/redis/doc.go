// Package redis keeps latch's shared, short-lived state in Redis, so that several instances
// of latch share it: logins in progress, SSO sessions, authorization codes, failed-login
// counters and rate limits (storage.ShortLived), and carries change notices between the
// instances (storage.Changes). One instance alone needs none of it (storage/inproc).
//
// # Atomicity
//
// Every method is one atomic step in Redis: a Lua script, or a single command, on a single
// key. No command or script touches two keys, so every key may live in its own hash slot
// and the layout suits Redis Cluster as it is, with no hash tags (see Redis Cluster). Where
// a method writes two keys (a session and its user's index), the writes are ordered so that
// the index never misses a live session: the index entry is written first, and a stale
// entry is harmless (see Sessions).
//
// UpdateSession is an optimistic compare-and-swap: it reads the session with its version (a
// random token each write changes), runs the updater, and writes only if the version is
// still the one it read; otherwise it runs the updater again on the newer session.
//
// # Time
//
// "Now" is the State's clock (WithClock; time.Now by default), passed to every script as an
// argument, never Redis's own TIME: every instance judges expiry by its own clock, and tests
// move a fake one. Each record carries when it is gone ("end", Unix milliseconds), and reads
// treat a record past it as absent, as storage's contract asks. Redis also expires every key
// on its own, ttlSlack after its end (a relative PEXPIRE, so that a difference between the
// clocks of latch and Redis does not matter), so memory is freed without a sweeper; the
// slack keeps Redis from dropping a key that an instance whose clock is a little behind
// still counts as live.
//
// # Keys
//
// Every key starts with the prefix (WithPrefix; "latch:" by default). The caller's part of a
// key (an id, a user id, an identifier, a rate-limit key) is never put in a key as it is: it
// is hashed (SHA-256, base64url), so ids holding '{', '}', '*', spaces, newlines or megabytes
// cannot escape the prefix, pick a hash slot, match another key's pattern, nor collide.
// h(x) below is that hash.
//
//	key                    type    content                                  Redis expiry
//	---------------------  ------  ---------------------------------------  -------------------------
//	<p>tx:<h(id)>          hash    v: transaction (JSON), end               end + slack
//	<p>sess:<h(id)>        hash    v: session (JSON), end, user, ver        end + slack
//	<p>usess:<h(user id)>  zset    session ids of the user, score: end      latest score + slack
//	<p>code:<h(id)>        hash    v: code (JSON), end, used                end + slack
//	<p>fail:<h(ident.)>    hash    "i:"+ip: "count:lapse" per IP, sweep     latest lapse + slack
//	<p>rate:<h(key)>       string  theoretical arrival time (Unix µs)       TAT + slack
//	<p>changes             —       pub/sub channel of change notices        —
//
// "end" is Unix milliseconds: for a session the earlier of IdleExpiresAt and ExpiresAt; for a
// code its ExpiresAt, moved UsedCodeMemory on when it is used ("used": the token of the call
// that used it), so that a replay is recognised that much longer.
// Values are compact JSON (short field names, times as Unix milliseconds, 0 for the zero
// time); metadata round-trips as storage.DecodeMetadata reads it.
//
// # Sessions
//
// Sessions are looked up by id, so a session's key cannot share a slot with its user's
// index. The index (usess) holds, for each session the user may have, a score at least the
// session's end: CreateSession and UpdateSession add the entry (raising its score, never
// lowering it) before they write the session. DeleteUserSessions deletes each indexed
// session whose record still names the user (a session moved to another user is left
// alone), and the index drops entries whose score is past (by more than the slack) on every
// write. So every live session of a user is in the user's index, and the index is bounded
// by the user's sessions that are alive.
//
// # Change notices
//
// Publish is a PUBLISH of the topic on <p>changes. Subscribe opens a pub/sub connection of
// its own, waits for Redis to confirm the subscription, and then reads notices from one
// goroutine. It checks the connection with a PING when it has been quiet for
// healthInterval; when the connection is lost (or a PING goes unanswered), it subscribes
// again, retrying until Redis is back, and then calls fn with every topic of
// storage.AllTopics, since notices published meanwhile were lost.
//
// # Redis Cluster
//
// A URL whose scheme is redis+cluster:// (rediss+cluster:// with TLS) names a Redis Cluster,
// and the State uses go-redis' cluster client: it learns from the nodes named in the URL
// which master serves which hash slot, sends each command to the master of its key's slot,
// and follows the cluster when slots move (MOVED, ASK). Since every command and script is
// on one key, none spans two slots: the tests run the conformance suites on a real cluster
// of three masters, where a command on keys of two slots is refused (CROSSSLOT). Reads go to
// masters only (the URL options that send them to replicas are refused): a replica may not
// yet hold what another instance has just written, such as a login transaction.
//
// Change notices are plain PUBLISH and SUBSCRIBE, which a cluster carries to every node: a
// subscription listens on one node (the master of the channel's slot) and hears notices
// published on any. Ping PINGs every master: with one down, the keys of its slots cannot be
// reached, and once the others take it for failed they refuse every command (CLUSTERDOWN);
// both are ErrUnavailable.
//
// A single server's URL that names one node of a cluster works only for the keys of that
// node's slots; the others are answered MOVED, which the error then explains.
//
// # Failures
//
// A Redis that cannot be reached (connection refused or dropped, timeouts, a server still
// loading or without a master) makes methods return an error wrapping ErrUnavailable, for
// the HTTP layer to answer 503. The client reconnects by itself: a later call succeeds once
// Redis is back, without restarting latch. Each attempt dials once, so a Redis that refuses
// connections costs a request a fraction of a second, not several; go-redis retries
// commands (max_retries, 3 by default, settable in the URL). A retry after a lost reply is
// safe for ConsumeCode (the code is marked with the token of the call that used it), and
// may count a login failure twice or take one more rate-limit event: both err on the side
// of refusing.
//
// Redis keeps this state in memory: a Redis restarted without persistence forgets logins in
// progress, sessions (users log in again) and counters, and knows no used codes (a code
// consumed before the restart is then unknown, not reused).
package redis
