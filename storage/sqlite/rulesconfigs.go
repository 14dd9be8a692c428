package sqlite

import (
	"context"
	"fmt"
)

func (s *Store) SetRulesConfig(ctx context.Context, key string, sealedValue []byte) error {
	if sealedValue == nil {
		sealedValue = []byte{} // NOT NULL: an empty blob, not SQL NULL
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO rules_configs (key, sealed_value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET sealed_value = excluded.sealed_value`, key, sealedValue)
	return dbError(fmt.Sprintf("set rules config %q", key), err)
}

func (s *Store) ListRulesConfigKeys(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM rules_configs ORDER BY key`)
	if err != nil {
		return nil, dbError("list rules config keys", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, dbError("list rules config keys", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list rules config keys", err)
	}
	return keys, nil
}

func (s *Store) GetRulesConfigs(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, sealed_value FROM rules_configs`)
	if err != nil {
		return nil, dbError("get rules configs", err)
	}
	defer rows.Close()
	configs := map[string][]byte{}
	for rows.Next() {
		var (
			k string
			v []byte // database/sql copies into *[]byte: no aliasing of driver buffers
		)
		if err := rows.Scan(&k, &v); err != nil {
			return nil, dbError("get rules configs", err)
		}
		if v == nil {
			v = []byte{}
		}
		configs[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("get rules configs", err)
	}
	return configs, nil
}

func (s *Store) DeleteRulesConfig(ctx context.Context, key string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM rules_configs WHERE key = ?`, key)
	return mustAffect(fmt.Sprintf("delete rules config %q", key), res, err)
}
