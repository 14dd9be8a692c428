package redis

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/latchauth/latch/storage"
)

// The JSON records keep, with short names: a record is written on every login step, so its
// size is traffic and memory. Times are Unix milliseconds (storage keeps no finer), 0 for
// the zero time. TestCodecKeepsEveryField checks that no field of the storage types is left
// out.

type txJSON struct {
	ID                  string `json:"id"`
	ClientID            string `json:"ci,omitempty"`
	RedirectURI         string `json:"ru,omitempty"`
	ResponseType        string `json:"rt,omitempty"`
	ResponseMode        string `json:"rm,omitempty"`
	Scope               string `json:"sc,omitempty"`
	Audience            string `json:"au,omitempty"`
	State               string `json:"st,omitempty"`
	Nonce               string `json:"no,omitempty"`
	CodeChallenge       string `json:"cc,omitempty"`
	CodeChallengeMethod string `json:"cm,omitempty"`
	Prompt              string `json:"pr,omitempty"`
	MaxAge              int    `json:"ma,omitempty"`
	LoginHint           string `json:"lh,omitempty"`
	ScreenHint          string `json:"sh,omitempty"`
	Connection          string `json:"cn,omitempty"`
	UILocales           string `json:"ul,omitempty"`
	CSRF                string `json:"cs,omitempty"`
	CreatedAt           int64  `json:"ca,omitempty"`
	ExpiresAt           int64  `json:"ea,omitempty"`
}

func encodeTransaction(t storage.LoginTransaction) ([]byte, error) {
	return json.Marshal(txJSON{
		ID: t.ID, ClientID: t.ClientID, RedirectURI: t.RedirectURI,
		ResponseType: t.ResponseType, ResponseMode: t.ResponseMode, Scope: t.Scope,
		Audience: t.Audience, State: t.State, Nonce: t.Nonce,
		CodeChallenge: t.CodeChallenge, CodeChallengeMethod: t.CodeChallengeMethod,
		Prompt: t.Prompt, MaxAge: t.MaxAge, LoginHint: t.LoginHint, ScreenHint: t.ScreenHint,
		Connection: t.Connection, UILocales: t.UILocales, CSRF: t.CSRF,
		CreatedAt: ms(t.CreatedAt), ExpiresAt: ms(t.ExpiresAt),
	})
}

func decodeTransaction(data []byte) (storage.LoginTransaction, error) {
	var w txJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return storage.LoginTransaction{}, fmt.Errorf("decode transaction: %w", err)
	}
	return storage.LoginTransaction{
		ID: w.ID, ClientID: w.ClientID, RedirectURI: w.RedirectURI,
		ResponseType: w.ResponseType, ResponseMode: w.ResponseMode, Scope: w.Scope,
		Audience: w.Audience, State: w.State, Nonce: w.Nonce,
		CodeChallenge: w.CodeChallenge, CodeChallengeMethod: w.CodeChallengeMethod,
		Prompt: w.Prompt, MaxAge: w.MaxAge, LoginHint: w.LoginHint, ScreenHint: w.ScreenHint,
		Connection: w.Connection, UILocales: w.UILocales, CSRF: w.CSRF,
		CreatedAt: fromMS(w.CreatedAt), ExpiresAt: fromMS(w.ExpiresAt),
	}, nil
}

type sessionJSON struct {
	ID            string   `json:"id"`
	UserID        string   `json:"u,omitempty"`
	AuthTime      int64    `json:"at,omitempty"`
	Clients       []string `json:"cl,omitempty"`
	CreatedAt     int64    `json:"ca,omitempty"`
	LastSeen      int64    `json:"ls,omitempty"`
	IdleExpiresAt int64    `json:"ie,omitempty"`
	ExpiresAt     int64    `json:"ea,omitempty"`
}

func encodeSession(x storage.Session) ([]byte, error) {
	return json.Marshal(sessionJSON{
		ID: x.ID, UserID: x.UserID, AuthTime: ms(x.AuthTime), Clients: x.Clients,
		CreatedAt: ms(x.CreatedAt), LastSeen: ms(x.LastSeen),
		IdleExpiresAt: ms(x.IdleExpiresAt), ExpiresAt: ms(x.ExpiresAt),
	})
}

func decodeSession(data []byte) (storage.Session, error) {
	var w sessionJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return storage.Session{}, fmt.Errorf("decode session: %w", err)
	}
	return storage.Session{
		ID: w.ID, UserID: w.UserID, AuthTime: fromMS(w.AuthTime), Clients: w.Clients,
		CreatedAt: fromMS(w.CreatedAt), LastSeen: fromMS(w.LastSeen),
		IdleExpiresAt: fromMS(w.IdleExpiresAt), ExpiresAt: fromMS(w.ExpiresAt),
	}, nil
}

type codeJSON struct {
	ID                  string          `json:"id"`
	ClientID            string          `json:"ci,omitempty"`
	RedirectURI         string          `json:"ru,omitempty"`
	UserID              string          `json:"u,omitempty"`
	SessionID           string          `json:"si,omitempty"`
	Scope               string          `json:"sc,omitempty"`
	AccessScope         string          `json:"as,omitempty"`
	Audience            string          `json:"au,omitempty"`
	Nonce               string          `json:"no,omitempty"`
	AuthTime            int64           `json:"at,omitempty"`
	CodeChallenge       string          `json:"cc,omitempty"`
	CodeChallengeMethod string          `json:"cm,omitempty"`
	IDClaims            json.RawMessage `json:"ic,omitempty"`
	AccessClaims        json.RawMessage `json:"ac,omitempty"`
	FamilyID            string          `json:"fi,omitempty"`
	CreatedAt           int64           `json:"ca,omitempty"`
	ExpiresAt           int64           `json:"ea,omitempty"`
}

func encodeCode(c storage.AuthCode) ([]byte, error) {
	idClaims, err := encodeMetadata(c.IDClaims)
	if err != nil {
		return nil, err
	}
	accessClaims, err := encodeMetadata(c.AccessClaims)
	if err != nil {
		return nil, err
	}
	return json.Marshal(codeJSON{
		ID: c.ID, ClientID: c.ClientID, RedirectURI: c.RedirectURI, UserID: c.UserID,
		SessionID: c.SessionID, Scope: c.Scope, AccessScope: c.AccessScope,
		Audience: c.Audience, Nonce: c.Nonce, AuthTime: ms(c.AuthTime),
		CodeChallenge: c.CodeChallenge, CodeChallengeMethod: c.CodeChallengeMethod,
		IDClaims: idClaims, AccessClaims: accessClaims, FamilyID: c.FamilyID,
		CreatedAt: ms(c.CreatedAt), ExpiresAt: ms(c.ExpiresAt),
	})
}

func decodeCode(data []byte) (storage.AuthCode, error) {
	var w codeJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return storage.AuthCode{}, fmt.Errorf("decode code: %w", err)
	}
	idClaims, err := decodeMetadata(w.IDClaims)
	if err != nil {
		return storage.AuthCode{}, err
	}
	accessClaims, err := decodeMetadata(w.AccessClaims)
	if err != nil {
		return storage.AuthCode{}, err
	}
	return storage.AuthCode{
		ID: w.ID, ClientID: w.ClientID, RedirectURI: w.RedirectURI, UserID: w.UserID,
		SessionID: w.SessionID, Scope: w.Scope, AccessScope: w.AccessScope,
		Audience: w.Audience, Nonce: w.Nonce, AuthTime: fromMS(w.AuthTime),
		CodeChallenge: w.CodeChallenge, CodeChallengeMethod: w.CodeChallengeMethod,
		IDClaims: idClaims, AccessClaims: accessClaims, FamilyID: w.FamilyID,
		CreatedAt: fromMS(w.CreatedAt), ExpiresAt: fromMS(w.ExpiresAt),
	}, nil
}

// encodeMetadata leaves nil metadata out of the record, so that it comes back nil.
func encodeMetadata(m storage.Metadata) (json.RawMessage, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return b, nil
}

// decodeMetadata goes through storage.DecodeMetadata, so numbers come back as the
// json.Number text that was stored, as from every backend.
func decodeMetadata(data json.RawMessage) (storage.Metadata, error) {
	if len(data) == 0 {
		return nil, nil
	}
	m, err := storage.DecodeMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}

// normalSession returns a copy of x as the store keeps it.
func normalSession(x storage.Session) storage.Session {
	x.Clients = slices.Clone(x.Clients)
	x.AuthTime, x.CreatedAt = storage.Time(x.AuthTime), storage.Time(x.CreatedAt)
	x.LastSeen = storage.Time(x.LastSeen)
	x.IdleExpiresAt, x.ExpiresAt = storage.Time(x.IdleExpiresAt), storage.Time(x.ExpiresAt)
	return x
}
