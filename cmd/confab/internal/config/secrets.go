package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// Secrets kept in the data directory, created on first start.
const (
	credentialsFile = "credentials.json" // generated API key pair, 0600
	tokenKeyFile    = "join-token.key"   // HMAC key of join tokens, 0600
	turnSecretFile  = "turn-secret.key"  // TURN REST shared secret, 0600
)

// credentialsJSON is the file form of a generated key pair.
type credentialsJSON struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// APICredentials returns the configured keys or, when there are none, the
// key pair generated on a previous start; on the very first start it
// generates one, stores it in the data directory, and prints it once to w.
func (cfg Config) APICredentials(w io.Writer) ([]Credential, error) {
	if len(cfg.Credentials) > 0 {
		return cfg.Credentials, nil
	}
	path := filepath.Join(cfg.DataDir, credentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		var f credentialsJSON
		if err := json.Unmarshal(b, &f); err != nil || f.AccessKeyID == "" || f.SecretAccessKey == "" {
			return nil, fmt.Errorf("%s is damaged; delete it to generate a new key pair", path)
		}
		return []Credential{{AccessKeyID: f.AccessKeyID, SecretAccessKey: f.SecretAccessKey}}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	c := Credential{AccessKeyID: "AKCF" + randomString(12, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), SecretAccessKey: randomBase64(30)}
	b, _ = json.MarshalIndent(credentialsJSON(c), "", "  ")
	if err := writeFileExclusive(path, b); err != nil {
		return nil, err
	}
	if cfg.Log.Format == "json" { // one log record, like every other line
		slog.New(slog.NewJSONHandler(w, nil)).Warn("confab generated API credentials (shown only this once)",
			"stored_in", path, "AWS_ACCESS_KEY_ID", c.AccessKeyID, "AWS_SECRET_ACCESS_KEY", c.SecretAccessKey)
		return []Credential{c}, nil
	}
	fmt.Fprintf(w, "\nConfab generated API credentials (stored in %s; shown only this once):\n"+
		"  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n\n", path, c.AccessKeyID, c.SecretAccessKey)
	return []Credential{c}, nil
}

// JoinTokenKey returns the join-token HMAC key, generated once into the
// data directory.
func (cfg Config) JoinTokenKey() ([]byte, error) {
	return loadOrCreateKey(filepath.Join(cfg.DataDir, tokenKeyFile))
}

// TURNSecret returns the configured TURN secret, or the one generated once
// into the data directory.
func (cfg Config) TURNSecret() ([]byte, error) {
	if cfg.TURN.Secret != "" {
		return []byte(cfg.TURN.Secret), nil
	}
	return loadOrCreateKey(filepath.Join(cfg.DataDir, turnSecretFile))
}

// loadOrCreateKey reads a 32-byte-or-longer secret from path, generating a
// random 32-byte one (mode 0600) if the file does not exist.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("%s is shorter than 32 bytes", path)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return key, writeFileExclusive(path, key)
}

// writeFileExclusive creates path with mode 0600, failing if it exists, and
// syncs it so a crash cannot leave a half-written secret.
func writeFileExclusive(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
