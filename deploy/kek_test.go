package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/tokens"
)

// docs/deploy.md describes how to replace the key-encryption key, which latch cannot rotate
// by itself. These tests follow that procedure against the real binary: the SQL is taken
// from the document as written; the MongoDB steps are its mongosh commands done with the
// driver. Afterwards latch must start with the new key, keep accepting the tokens signed
// before, and have forgotten the rules-configs values it could no longer open.

// documentedSQL returns the statements the document runs with sqlite3.
func documentedSQL(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)sqlite3 /var/lib/latch/latch\.db "(BEGIN;.*?COMMIT;)"`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/deploy.md: no sqlite3 \"BEGIN; … COMMIT;\" command for replacing the key-encryption key")
	}
	return string(m[1])
}

// retireMongoKeys does what the document's mongosh commands do.
func retireMongoKeys(t *testing.T, uri string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	db := client.Database(databaseOf(t, uri))
	keys := db.Collection("signing_keys")
	cur, err := keys.Find(ctx, bson.D{{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{"current", "next"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("%d current and next keys, want 2", len(docs))
	}
	for _, k := range docs {
		res, err := keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: k["_id"]}, {Key: "version", Value: k["version"]}}, bson.D{
			{Key: "$set", Value: bson.D{
				{Key: "state", Value: "previous"},
				{Key: "current_slot", Value: "kid:" + k["_id"].(string)},
				{Key: "current_until", Value: time.Now()},
			}},
			{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
		})
		if err != nil || res.ModifiedCount != 1 {
			t.Fatalf("retire key %v: %+v, %v", k["_id"], res, err)
		}
	}
	if _, err := db.Collection("rules_configs").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
}

// databaseOf returns the database a MongoDB URI names.
func databaseOf(t *testing.T, uri string) string {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		t.Fatalf("no database in the MongoDB URI (%v)", err)
	}
	return strings.Trim(u.Path, "/")
}

func TestReplacingTheKeyEncryptionKey(t *testing.T) {
	bin := buildLatch(t)
	const clientID, clientSecret = "kek-test-client", "kek-test-bootstrap-secret-0123456789abcdef"

	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			oldKEK, newKEK := tokens.GenerateKEK(), tokens.GenerateKEK()
			env := map[string]string{
				"LATCH_ISSUER": "https://auth.example.com/", "LATCH_STORE": backend,
				"LATCH_BOOTSTRAP_CLIENT_ID": clientID, "LATCH_BOOTSTRAP_CLIENT_SECRET_FILE": "",
				"LATCH_SECRET_KEY_FILE": "", "LATCH_RULES_WORKERS": "1",
			}
			if backend == "mongo" {
				env["LATCH_MONGO_URI_FILE"] = ""
			}
			mongoURI := ""
			if backend == "mongo" {
				mongoURI = mongotest.URI(t)
			}
			files := func(kek string) map[string]string {
				return map[string]string{
					"LATCH_SECRET_KEY_FILE": kek, "LATCH_BOOTSTRAP_CLIENT_SECRET_FILE": clientSecret,
					"LATCH_MONGO_URI_FILE": mongoURI,
				}
			}
			first := runEnv(t, env, nil, files(oldKEK))
			r := startLatch(t, bin, first)
			oldToken := managementToken(t, r, first["LATCH_ISSUER"], clientID, clientSecret)
			oldKeys := jwksKIDs(t, r)
			put, err := http.NewRequest(http.MethodPut, "http://"+r.addr+"/api/v2/rules-configs/PLAN", strings.NewReader(`{"value":"gold"}`))
			if err != nil {
				t.Fatal(err)
			}
			put.Header.Set("Authorization", "Bearer "+oldToken)
			put.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(put)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT rules-configs: %v %v", resp, err)
			}
			resp.Body.Close()
			r.stop(t)

			// Started with the new key and nothing else done, latch refuses: the signing
			// key does not open.
			second := runEnv(t, first, nil, files(newKEK))
			second["LATCH_DATA_DIR"] = first["LATCH_DATA_DIR"]
			if out := startExpectingFailure(t, bin, second); !strings.Contains(out, "does not open") {
				t.Fatalf("with a new key-encryption key and the old signing keys, latch said:\n%s", out)
			}

			switch backend {
			case "sqlite":
				db, err := sql.Open("sqlite", filepath.Join(first["LATCH_DATA_DIR"], "latch.db"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(documentedSQL(t)); err != nil {
					t.Fatalf("the documented SQL: %v", err)
				}
				db.Close()
			case "mongo":
				retireMongoKeys(t, mongoURI)
			}

			r = startLatch(t, bin, second)
			newKeys := jwksKIDs(t, r)
			for _, kid := range oldKeys {
				if !strings.Contains(strings.Join(newKeys, " "), kid) {
					t.Errorf("old key %s is no longer published (JWKS %v)", kid, newKeys)
				}
			}
			if len(newKeys) != len(oldKeys)+2 {
				t.Errorf("JWKS holds %v; want the %d old keys and a new current and next", newKeys, len(oldKeys))
			}
			if code := managementGet(t, r, "/api/v2/rules-configs", oldToken); code != http.StatusOK {
				t.Errorf("a token signed before the change: %d", code)
			}
			newToken := managementToken(t, r, second["LATCH_ISSUER"], clientID, clientSecret)
			if configs := rulesConfigKeys(t, r, newToken); len(configs) != 0 {
				t.Errorf("rules-configs after the change: %v, want none", configs)
			}
			r.stop(t)
		})
	}
}

// startExpectingFailure runs latch, which must exit by itself; it returns its log.
func startExpectingFailure(t *testing.T, bin string, env map[string]string) string {
	t.Helper()
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = newCommand(bin, env, r)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	select {
	case <-r.exited:
	case <-time.After(60 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		t.Fatal("latch kept running")
	}
	if r.cmd.ProcessState.ExitCode() == 0 {
		t.Error("latch exited with 0")
	}
	return r.stderr.String()
}

func jwksKIDs(t *testing.T, r *running) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	getJSON(t, "http://"+r.addr+"/.well-known/jwks.json", &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

func rulesConfigKeys(t *testing.T, r *running, token string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.addr+"/api/v2/rules-configs", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var list []struct {
		Key string `json:"key"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET rules-configs: %d %s", resp.StatusCode, body)
	}
	var keys []string
	for _, c := range list {
		keys = append(keys, c.Key)
	}
	return keys
}
