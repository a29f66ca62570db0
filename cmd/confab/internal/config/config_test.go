package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// normalizedDefaults is Defaults() after derivation, i.e. what Load returns
// with no file, environment or flags.
func normalizedDefaults() Config {
	c := Defaults()
	c.Normalize()
	return c
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "confab.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fieldErrors flattens a (possibly joined) error into its FieldErrors.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

func errorKeys(err error) []string {
	var keys []string
	for _, fe := range fieldErrors(err) {
		keys = append(keys, fe.Key)
	}
	return keys
}

func TestDefaults(t *testing.T) {
	got, err := Load(nil, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := normalizedDefaults(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Load(nil, nil) = %+v, want %+v", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"http.listen", got.HTTP.Listen, "127.0.0.1:8080"},
		{"http.public_url", got.HTTP.PublicURL, "http://127.0.0.1:8080"},
		{"data_dir", got.DataDir, "./confab-data"},
		{"account_id", got.AccountID, "000000000000"},
		{"media_regions", got.MediaRegions, DocumentedRegions()},
		{"credentials", len(got.Credentials), 0},
		{"quotas", got.Quotas, Quotas{250, 250, 25, 10, 20}},
		{"meetings", got.Meetings, MeetingsConfig{Duration(24 * time.Hour), Duration(5 * time.Minute), Duration(10 * time.Second)}},
		{"log", got.Log, LogConfig{"info", "text"}},
		{"debug.pprof", got.Debug.Pprof, false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := Defaults().Validate(); err == nil {
		t.Errorf("un-normalized Defaults().Validate() = nil, want public_url error")
	} else if keys := errorKeys(err); !slices.Equal(keys, []string{"http.public_url"}) {
		t.Errorf("un-normalized Defaults().Validate() keys = %v", keys)
	}
}

func TestDocumentedRegions(t *testing.T) {
	r := DocumentedRegions()
	if len(r) != 20 {
		t.Fatalf("len = %d, want 20", len(r))
	}
	r[0] = "mutated"
	if DocumentedRegions()[0] != "af-south-1" {
		t.Fatal("DocumentedRegions shares its backing array")
	}
	c := normalizedDefaults()
	c.MediaRegions[0] = "mutated"
	if normalizedDefaults().MediaRegions[0] != "af-south-1" {
		t.Fatal("Normalize shares the region slice between configs")
	}
	if err := (Config{MediaRegions: DocumentedRegions()}).Validate(); slices.ContainsFunc(errorKeys(err), func(k string) bool {
		return strings.HasPrefix(k, "media_regions")
	}) {
		t.Fatalf("documented regions fail validation: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		listen, publicURL, want string
	}{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{":9000", "", "http://localhost:9000"},
		{"[::1]:8080", "", "http://[::1]:8080"},
		{"0.0.0.0:80", "", "http://0.0.0.0:80"},
		{"x:1", "https://media.example.com/", "https://media.example.com"},
		{"x:1", "https://media.example.com/base//", "https://media.example.com/base"},
	}
	for _, tt := range tests {
		c := Defaults()
		c.HTTP.Listen, c.HTTP.PublicURL = tt.listen, tt.publicURL
		c.Log.Level, c.Log.Format = "DEBUG", "JSON"
		c.Normalize()
		if c.HTTP.PublicURL != tt.want {
			t.Errorf("listen %q public %q: PublicURL = %q, want %q", tt.listen, tt.publicURL, c.HTTP.PublicURL, tt.want)
		}
		if c.Log.Level != "debug" || c.Log.Format != "json" {
			t.Errorf("log not lower-cased: %+v", c.Log)
		}
		again := c
		again.Normalize()
		if !reflect.DeepEqual(again, c) {
			t.Errorf("Normalize not idempotent: %+v vs %+v", again, c)
		}
	}
}

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(*Config) // applied to normalizedDefaults()
	}{
		{"empty file", "", func(*Config) {}},
		{"comments only", "# nothing\n", func(*Config) {}},
		{"empty mapping", "{}\n", func(*Config) {}},
		{"null section keeps defaults", "quotas:\nlog: ~\n", func(*Config) {}},
		{
			"overrides",
			`
http:
  listen: "0.0.0.0:9443"
  public_url: "https://media.example.com/confab/"
data_dir: /var/lib/confab
account_id: "123456789012"
media_regions: [us-east-1, eu-west-1]
credentials:
  - access_key_id: AKIAFILE
    secret_access_key: file-secret-0123456789
quotas:
  attendees_per_meeting: 100
  api_requests_per_second: 2.5
meetings:
  idle_timeout: 90s
log:
  level: debug
  format: json
debug:
  pprof: true
`,
			func(c *Config) {
				c.HTTP = HTTPConfig{Listen: "0.0.0.0:9443", PublicURL: "https://media.example.com/confab"}
				c.DataDir = "/var/lib/confab"
				c.AccountID = "123456789012"
				c.MediaRegions = []string{"us-east-1", "eu-west-1"}
				c.Credentials = []Credential{{"AKIAFILE", "file-secret-0123456789"}}
				c.Quotas.AttendeesPerMeeting = 100
				c.Quotas.APIRequestsPerSecond = 2.5
				c.Meetings.IdleTimeout = Duration(90 * time.Second)
				c.Log = LogConfig{"debug", "json"}
				c.Debug.Pprof = true
			},
		},
		{
			"partial section keeps sibling defaults",
			"quotas:\n  api_burst: 5\n",
			func(c *Config) { c.Quotas.APIBurst = 5 },
		},
		{
			"anchors and merge keys",
			`
base: &b
  secret_access_key: shared-secret-0123456789
credentials:
  - <<: *b
    access_key_id: one
  - <<: *b
    access_key_id: two
`,
			nil, // "base" is unknown: checked below as an error
		},
		{
			"anchor on a section",
			"http: &h\n  listen: \"127.0.0.1:9000\"\n",
			func(c *Config) {
				c.HTTP = HTTPConfig{Listen: "127.0.0.1:9000", PublicURL: "http://127.0.0.1:9000"}
			},
		},
		{
			"empty regions list means all",
			"media_regions: []\n",
			func(*Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.yaml)
			got, err := Load([]string{"--config", p}, nil)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), "base: unknown key") {
					t.Fatalf("err = %v, want unknown key base", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := normalizedDefaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadFileMerge(t *testing.T) {
	// Merge keys from a mapping defined inside a known key.
	p := writeFile(t, `
credentials:
  - &c
    access_key_id: one
    secret_access_key: shared-secret-0123456789
  - <<: *c
    access_key_id: two
`)
	got, err := Load([]string{"-config=" + p}, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []Credential{{"one", "shared-secret-0123456789"}, {"two", "shared-secret-0123456789"}}
	if !reflect.DeepEqual(got.Credentials, want) {
		t.Fatalf("credentials = %v, want %v", got.Credentials, want)
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; "FILE" stands for the path
	}{
		{"unknown top-level key", "lisen: x\n", []string{"FILE:1:1: lisen: unknown key"}},
		{"unknown nested key", "http:\n  lisen: x\n", []string{"FILE:2:3: http.lisen: unknown key"}},
		{"unknown key in list item", "credentials:\n  - access_key_id: abc\n    secret_access_key: 0123456789abcdef\n  - access_key: abc\n", []string{"credentials[1].access_key: unknown key"}},
		{"several unknown keys", "quotas:\n  api_brust: 1\nlog:\n  levl: info\n", []string{"quotas.api_brust: unknown key", "log.levl: unknown key"}},
		{"duplicate key", "data_dir: a\ndata_dir: b\n", []string{"FILE:2:1: data_dir: duplicate key (first set on line 1)"}},
		{"wrong scalar type", "quotas:\n  api_burst: lots\n", []string{"FILE:2:14: quotas.api_burst: cannot unmarshal !!str `lots` into int"}},
		{"wrong bool", "debug:\n  pprof: maybe\n", []string{"debug.pprof: cannot unmarshal"}},
		{"scalar for section", "http: 8080\n", []string{"http: expected a mapping, got a scalar"}},
		{"scalar for list", "credentials: abc\n", []string{"credentials: expected a list, got a scalar"}},
		{"mapping for string list", "media_regions: {a: b}\n", []string{"media_regions: cannot unmarshal !!map into []string"}},
		{"bad duration", "meetings:\n  idle_timeout: 5 minutes\n", []string{"meetings.idle_timeout: invalid duration \"5 minutes\""}},
		{"duration without unit", "meetings:\n  max_duration: 300\n", []string{"meetings.max_duration: invalid duration \"300\""}},
		{"duration as mapping", "meetings:\n  max_duration: {h: 1}\n", []string{"meetings.max_duration: expected a duration"}},
		{"top level not a mapping", "- a\n- b\n", []string{"(top level): expected a mapping, got a list"}},
		{"two documents", "data_dir: a\n---\ndata_dir: b\n", []string{"more than one YAML document"}},
		{"syntax error", "http:\n  listen: [\n", []string{"FILE: yaml:"}},
		{"invalid value after decode", "quotas:\n  api_burst: 0\n", []string{"config: quotas.api_burst: must be ≥ 1 (got 0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.yaml)
			_, err := Load([]string{"--config", p}, nil)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "FILE", p)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(nil, envMap(map[string]string{"CONFAB_CONFIG": filepath.Join(t.TempDir(), "nope.yaml")}))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

const layeredFile = `
http:
  listen: "127.0.0.1:1111"
  public_url: "https://file.example.com"
data_dir: /file
account_id: "111111111111"
media_regions: [us-east-1]
credentials:
  - access_key_id: FILEKEY
    secret_access_key: file-secret-0123456789
log:
  level: warn
  format: json
debug:
  pprof: true
`

func TestPrecedence(t *testing.T) {
	fullEnv := map[string]string{
		"CONFAB_HTTP_LISTEN":   "127.0.0.1:2222",
		"CONFAB_PUBLIC_URL":    "https://env.example.com/",
		"CONFAB_DATA_DIR":      "/env",
		"CONFAB_ACCOUNT_ID":    "222222222222",
		"CONFAB_MEDIA_REGIONS": " eu-west-1, ,ap-south-1 ",
		"CONFAB_LOG_LEVEL":     "ERROR",
		"CONFAB_LOG_FORMAT":    "text",
	}
	allFlags := []string{"--listen", "127.0.0.1:3333", "--public-url=https://flag.example.com", "--data-dir", "/flag", "--log-level", "debug", "--pprof=false"}

	type result struct {
		listen, publicURL, dataDir, account, level, format string
		regions                                            []string
		pprof                                              bool
	}
	tests := []struct {
		name  string
		file  bool
		env   map[string]string
		flags []string
		want  result
	}{
		{
			name: "file over defaults",
			file: true,
			want: result{"127.0.0.1:1111", "https://file.example.com", "/file", "111111111111", "warn", "json", []string{"us-east-1"}, true},
		},
		{
			name: "env over file",
			file: true,
			env:  fullEnv,
			want: result{"127.0.0.1:2222", "https://env.example.com", "/env", "222222222222", "error", "text", []string{"eu-west-1", "ap-south-1"}, true},
		},
		{
			name:  "flags over env",
			file:  true,
			env:   fullEnv,
			flags: allFlags,
			want:  result{"127.0.0.1:3333", "https://flag.example.com", "/flag", "222222222222", "debug", "text", []string{"eu-west-1", "ap-south-1"}, false},
		},
		{
			name:  "flags over file without env",
			file:  true,
			flags: []string{"-listen=127.0.0.1:4444"},
			want:  result{"127.0.0.1:4444", "https://file.example.com", "/file", "111111111111", "warn", "json", []string{"us-east-1"}, true},
		},
		{
			name: "partial env keeps the rest of the file",
			file: true,
			env:  map[string]string{"CONFAB_DATA_DIR": "/env"},
			want: result{"127.0.0.1:1111", "https://file.example.com", "/env", "111111111111", "warn", "json", []string{"us-east-1"}, true},
		},
		{
			name:  "env and flags without file; public_url derived from flag listen",
			env:   map[string]string{"CONFAB_HTTP_LISTEN": "127.0.0.1:2222"},
			flags: []string{"--listen", ":5555", "--pprof"},
			want:  result{":5555", "http://localhost:5555", "./confab-data", "000000000000", "info", "text", DocumentedRegions(), true},
		},
		{
			name:  "empty flag value clears public_url so it is derived",
			file:  true,
			flags: []string{"--public-url="},
			want:  result{"127.0.0.1:1111", "http://127.0.0.1:1111", "/file", "111111111111", "warn", "json", []string{"us-east-1"}, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file {
				env["CONFAB_CONFIG"] = writeFile(t, layeredFile)
			}
			c, err := Load(tt.flags, envMap(env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := result{c.HTTP.Listen, c.HTTP.PublicURL, c.DataDir, c.AccountID, c.Log.Level, c.Log.Format, c.MediaRegions, c.Debug.Pprof}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestConfigFlagOverridesEnv(t *testing.T) {
	envFile := writeFile(t, "data_dir: /from-env-file\n")
	flagFile := writeFile(t, "data_dir: /from-flag-file\n")
	c, err := Load([]string{"--config", flagFile}, envMap(map[string]string{"CONFAB_CONFIG": envFile}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from-flag-file" {
		t.Fatalf("data_dir = %q, want /from-flag-file", c.DataDir)
	}
}

func TestEnvCredentials(t *testing.T) {
	const (
		fileCreds = "credentials:\n  - access_key_id: FILEKEY\n    secret_access_key: file-secret-0123456789\n"
		envSecret = "env-secret-0123456789"
	)
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    []Credential
		wantErr string
	}{
		{
			name: "neither",
			file: fileCreds,
			want: []Credential{{"FILEKEY", "file-secret-0123456789"}},
		},
		{
			name: "both, prepended to file credentials",
			file: fileCreds,
			env:  map[string]string{"CONFAB_ACCESS_KEY_ID": "ENVKEY", "CONFAB_SECRET_ACCESS_KEY": envSecret},
			want: []Credential{{"ENVKEY", envSecret}, {"FILEKEY", "file-secret-0123456789"}},
		},
		{
			name: "both, no file",
			env:  map[string]string{"CONFAB_ACCESS_KEY_ID": "ENVKEY", "CONFAB_SECRET_ACCESS_KEY": envSecret},
			want: []Credential{{"ENVKEY", envSecret}},
		},
		{
			name:    "id only",
			env:     map[string]string{"CONFAB_ACCESS_KEY_ID": "ENVKEY"},
			wantErr: "config: CONFAB_ACCESS_KEY_ID: is set but CONFAB_SECRET_ACCESS_KEY is not",
		},
		{
			name:    "secret only",
			env:     map[string]string{"CONFAB_SECRET_ACCESS_KEY": envSecret},
			wantErr: "config: CONFAB_SECRET_ACCESS_KEY: is set but CONFAB_ACCESS_KEY_ID is not",
		},
		{
			name:    "same id as file",
			file:    fileCreds,
			env:     map[string]string{"CONFAB_ACCESS_KEY_ID": "FILEKEY", "CONFAB_SECRET_ACCESS_KEY": envSecret},
			wantErr: "credentials[1].access_key_id: duplicate of credentials[0]",
		},
		{
			name:    "env secret too short",
			env:     map[string]string{"CONFAB_ACCESS_KEY_ID": "ENVKEY", "CONFAB_SECRET_ACCESS_KEY": "short"},
			wantErr: "credentials[0].secret_access_key: must be at least 16 characters (got 5)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				env["CONFAB_CONFIG"] = writeFile(t, tt.file)
			}
			c, err := Load(nil, envMap(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), envSecret) || strings.Contains(err.Error(), "short") {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(c.Credentials, tt.want) {
				t.Fatalf("credentials = %v, want %v", c.Credentials, tt.want)
			}
		})
	}
}

func TestEnvRegionsEmptyList(t *testing.T) {
	_, err := Load(nil, envMap(map[string]string{"CONFAB_MEDIA_REGIONS": " , "}))
	if err == nil || !strings.Contains(err.Error(), "CONFAB_MEDIA_REGIONS: lists no region") {
		t.Fatalf("err = %v", err)
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		help    bool
	}{
		{name: "no args", args: nil},
		{name: "double dash alone", args: []string{"--"}},
		{name: "positional", args: []string{"serve"}, wantErr: `config: unexpected argument "serve"`},
		{name: "positional after flags", args: []string{"--pprof", "extra"}, wantErr: `unexpected argument "extra"`},
		{name: "positional after double dash", args: []string{"--", "--pprof"}, wantErr: `unexpected argument "--pprof"`},
		{name: "unknown flag", args: []string{"--port", "1"}, wantErr: "config: flag provided but not defined: -port"},
		{name: "missing value", args: []string{"--listen"}, wantErr: "flag needs an argument: -listen"},
		{name: "bad bool", args: []string{"--pprof=sometimes"}, wantErr: "invalid boolean value"},
		{name: "help", args: []string{"--help"}, wantErr: "help requested", help: true},
		{name: "invalid flag value is validated", args: []string{"--log-level", "loud"}, wantErr: `config: log.level: must be one of debug, info, warn, error (got "loud")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := errors.Is(err, flag.ErrHelp); got != tt.help {
				t.Fatalf("errors.Is(err, flag.ErrHelp) = %v, want %v", got, tt.help)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	u := Usage()
	for _, w := range []string{"-config FILE", "-listen ADDR", "-public-url URL", "-data-dir DIR", "-log-level LEVEL", "-pprof", "CONFAB_ACCESS_KEY_ID", "CONFAB_MEDIA_REGIONS"} {
		if !strings.Contains(u, w) {
			t.Errorf("Usage() lacks %q:\n%s", w, u)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{`5m`, 5 * time.Minute, ""},
		{`"90s"`, 90 * time.Second, ""},
		{`1h30m`, 90 * time.Minute, ""},
		{`250ms`, 250 * time.Millisecond, ""},
		{`24h`, 24 * time.Hour, ""},
		{`0`, 0, ""},
		{`-5s`, -5 * time.Second, ""},
		{`300`, 0, `invalid duration "300"`},
		{`5 minutes`, 0, `invalid duration "5 minutes"`},
		{`""`, 0, `invalid duration ""`},
		{`1d`, 0, `invalid duration "1d"`},
		{`[5m]`, 0, "expected a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				D Duration `yaml:"d"`
			}
			err := yaml.Unmarshal([]byte("d: "+tt.in), &v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.D.Std() != tt.want {
				t.Fatalf("got %v, want %v", v.D.Std(), tt.want)
			}
		})
	}

	t.Run("null keeps value", func(t *testing.T) {
		v := struct {
			D Duration `yaml:"d"`
		}{Duration(time.Minute)}
		if err := yaml.Unmarshal([]byte("d: ~"), &v); err != nil || v.D != Duration(time.Minute) {
			t.Fatalf("got %v, %v", v.D, err)
		}
	})

	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {10 * time.Second, "10s"}, {5 * time.Minute, "5m"}, {24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"}, {time.Hour + time.Second, "1h0m1s"}, {1500 * time.Millisecond, "1.5s"},
		{-time.Minute, "-1m"},
	} {
		d := Duration(tt.d)
		if got := d.String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
		out, err := yaml.Marshal(map[string]Duration{"d": d})
		if err != nil || string(out) != "d: "+tt.want+"\n" {
			t.Errorf("yaml.Marshal(%v) = %q, %v", tt.d, out, err)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(tt.want)); err != nil || back != d {
			t.Errorf("UnmarshalText(%q) = %v, %v", tt.want, back, err)
		}
		if txt, _ := d.MarshalText(); string(txt) != tt.want {
			t.Errorf("MarshalText = %q", txt)
		}
	}
}

func TestExampleYAML(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if ExampleYAML() != string(data) {
		t.Fatal("ExampleYAML() differs from example.yaml")
	}
	got, err := Load([]string{"--config", "example.yaml"}, nil)
	if err != nil {
		t.Fatalf("example.yaml does not load: %v", err)
	}
	if want := normalizedDefaults(); !reflect.DeepEqual(got, want) {
		t.Fatalf("example.yaml is not at the defaults:\ngot  %+v\nwant %+v", got, want)
	}

	// Every key of Config must appear in the example (uncommented), so that
	// new fields get documented there.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var collect func(n *yaml.Node, prefix string)
	collect = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.DocumentNode {
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := prefix + n.Content[i].Value
			present[k] = true
			collect(n.Content[i+1], k+".")
		}
	}
	collect(&doc, "")
	for _, k := range yamlKeys(reflect.TypeFor[Config](), "") {
		if !present[k] {
			t.Errorf("example.yaml lacks key %q", k)
		}
	}
}

// yamlKeys lists the dotted keys of a struct type, descending into nested
// structs (not into lists or custom-unmarshaled types).
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys = append(keys, prefix+name)
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(yamlUnmarshaler) {
			keys = append(keys, yamlKeys(f.Type, prefix+name+".")...)
		}
	}
	return keys
}

func TestMarshalRoundTrip(t *testing.T) {
	c := validConfig()
	c.Meetings.IdleTimeout = Duration(90 * time.Second)
	c.Quotas.APIRequestsPerSecond = 0.25
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load([]string{"--config", writeFile(t, string(out))}, nil)
	if err != nil {
		t.Fatalf("marshalled config does not load: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, c)
	}
}

func TestRedacted(t *testing.T) {
	c := validConfig()
	c.Credentials = append(c.Credentials, Credential{"EMPTY", ""})
	r := c.Redacted()
	if r.Credentials[0].AccessKeyID != "AKIAEXAMPLE" || r.Credentials[0].SecretAccessKey != "REDACTED" {
		t.Fatalf("Redacted credential = %#v", r.Credentials[0])
	}
	if r.Credentials[1].SecretAccessKey != "" {
		t.Fatalf("empty secret became %q", r.Credentials[1].SecretAccessKey)
	}
	if c.Credentials[0].SecretAccessKey != "0123456789abcdef" {
		t.Fatal("Redacted modified the original")
	}
	r.MediaRegions[0] = "changed"
	if c.MediaRegions[0] == "changed" {
		t.Fatal("Redacted shares MediaRegions")
	}
	out, err := yaml.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(out), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "0123456789abcdef") {
			t.Fatalf("secret leaked in %s", s)
		}
		if !strings.Contains(s, "AKIAEXAMPLE") {
			t.Fatalf("access key id missing from %s", s)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn,
		"error": slog.LevelError, "WARN": slog.LevelWarn, "": slog.LevelInfo, "bogus": slog.LevelInfo,
	} {
		if got := (Config{Log: LogConfig{Level: in}}).SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", in, got, want)
		}
	}
}
