package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsCreatedOnce: the API key pair, join-token key and TURN secret
// are generated on first use (0600, the key pair printed once) and read
// back unchanged after; configured values win; a damaged file is an error.
func TestSecretsCreatedOnce(t *testing.T) {
	cfg := Config{DataDir: t.TempDir()}
	var out bytes.Buffer
	c1, err := cfg.APICredentials(&out)
	if err != nil || len(c1) != 1 || !strings.Contains(out.String(), c1[0].SecretAccessKey) {
		t.Fatalf("first APICredentials = %v, %v; printed %q", c1, err, out.String())
	}
	out.Reset()
	c2, err := cfg.APICredentials(&out)
	if err != nil || c2[0] != c1[0] || out.Len() != 0 {
		t.Fatalf("second APICredentials = %v, %v (want %v, nothing printed; printed %q)", c2, err, c1, out.String())
	}
	for name, get := range map[string]func() ([]byte, error){tokenKeyFile: cfg.JoinTokenKey, turnSecretFile: cfg.TURNSecret} {
		k1, err := get()
		if err != nil || len(k1) != 32 {
			t.Fatalf("%s: %d bytes, %v", name, len(k1), err)
		}
		if k2, _ := get(); !bytes.Equal(k1, k2) {
			t.Errorf("%s changed between starts", name)
		}
		if st, err := os.Stat(filepath.Join(cfg.DataDir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", name, err, st.Mode())
		}
	}
	cfg.TURN.Secret = "configured"
	if s, _ := cfg.TURNSecret(); string(s) != "configured" {
		t.Errorf("configured TURN secret ignored: %q", s)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, credentialsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.APICredentials(&out); err == nil {
		t.Error("a damaged credentials file was accepted")
	}
}

// TestCredentialsBannerJSON: with log.format json the generated key pair
// is one JSON log record, like every other line.
func TestCredentialsBannerJSON(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Log: LogConfig{Format: "json"}}
	var out bytes.Buffer
	c, err := cfg.APICredentials(&out)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("banner is not one JSON record: %v\n%s", err, out.String())
	}
	if rec["AWS_ACCESS_KEY_ID"] != c[0].AccessKeyID || rec["AWS_SECRET_ACCESS_KEY"] != c[0].SecretAccessKey || rec["level"] != "WARN" {
		t.Fatalf("record %v", rec)
	}
}
