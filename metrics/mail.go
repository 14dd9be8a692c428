package metrics

// Mail counts what the mail queue did with a message (mail.Recorder): kind is the message's
// kind (verify-email, reset-password, password-changed, blocked-account, or "other") and
// outcome one of sent, failed, retried, dropped, so the label sets stay small.
func (m *Metrics) Mail(kind, outcome string) {
	if m != nil {
		m.mail.WithLabelValues(kind, outcome).Inc()
	}
}
