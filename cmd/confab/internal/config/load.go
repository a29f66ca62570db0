package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FieldError is one configuration problem. Load and Validate return these,
// possibly several joined with errors.Join; use errors.As, or the
// Unwrap() []error method of the joined error, to inspect them.
type FieldError struct {
	// Source locates the value when known: "FILE:LINE:COL" for the YAML
	// file; empty for problems found by Validate or in the environment.
	Source string
	// Key names the setting: a dotted YAML key such as "quotas.api_burst" or
	// "credentials[1].access_key_id", or an environment variable name.
	Key string
	// Msg describes the problem.
	Msg string
}

func (e *FieldError) Error() string {
	if e.Source != "" {
		return "config: " + e.Source + ": " + e.Key + ": " + e.Msg
	}
	return "config: " + e.Key + ": " + e.Msg
}

// flagValues holds the command-line flags.
type flagValues struct {
	config, listen, publicURL, publicIP, dataDir, logLevel string
	pprof                                                  bool
}

func newFlagSet(v *flagValues) *flag.FlagSet {
	fs := flag.NewFlagSet("confab", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&v.config, "config", "", "read configuration from `FILE` (YAML; default $CONFAB_CONFIG)")
	fs.StringVar(&v.listen, "listen", "", "listen on `ADDR`, host:port (http.listen)")
	fs.StringVar(&v.publicURL, "public-url", "", "public base `URL` of this node (http.public_url)")
	fs.StringVar(&v.publicIP, "public-ip", "", "the `IP` clients reach this node at, or auto: fills the public URL, media, TURN and SIP addresses not set (public_ip)")
	fs.StringVar(&v.dataDir, "data-dir", "", "keep persistent state in `DIR` (data_dir)")
	fs.StringVar(&v.logLevel, "log-level", "", "log `LEVEL`: debug, info, warn or error (log.level)")
	fs.BoolVar(&v.pprof, "pprof", false, "enable /debug/pprof/ handlers (debug.pprof)")
	return fs
}

// CommandUsage is the help of `confab serve` or `confab config`: what the
// command does, an example, then Usage.
func CommandUsage(cmd string) string {
	switch cmd {
	case "serve":
		return `usage: confab serve [flags]

Runs Confab: the Chime SDK Meetings API, client signaling, the WebRTC media
plane, TURN, the SIP gateway, event delivery and the meeting app at /.

Example:
  confab serve --public-ip 203.0.113.7 --listen 0.0.0.0:8080 --data-dir /var/lib/confab

` + Usage()
	case "config":
		return `usage: confab config [flags]

Prints the effective configuration (defaults, file, environment, flags; the
derived addresses filled in; secrets masked), or says what is wrong with it,
naming the key.

Example:
  CONFAB_PUBLIC_IP=auto confab config --config confab.yaml

` + Usage()
	}
	return Usage()
}

// Usage returns help text describing the flags and environment variables
// Load understands.
func Usage() string {
	var b strings.Builder
	fs := newFlagSet(&flagValues{})
	fs.SetOutput(&b)
	b.WriteString("Flags (override environment, which overrides the file):\n")
	fs.PrintDefaults()
	b.WriteString(`
Environment: every key has a variable, CONFAB_ and the key's path upper-cased
with _ for . (turn.relay_port_min: CONFAB_TURN_RELAY_PORT_MIN; lists
comma-separated; not lists of objects such as credentials or hooks). Also:
  CONFAB_CONFIG             configuration file (when --config is absent)
  CONFAB_CONFIG_BODY        the whole configuration as YAML (instead of a file)
  CONFAB_PUBLIC_IP          public_ip (an IP, or auto)
  CONFAB_HTTP_LISTEN        http.listen
  CONFAB_PUBLIC_URL         http.public_url
  CONFAB_DATA_DIR           data_dir
  CONFAB_ACCOUNT_ID         account_id
  CONFAB_MEDIA_REGIONS      media_regions, comma-separated
  CONFAB_LOG_LEVEL          log.level
  CONFAB_LOG_FORMAT         log.format
  CONFAB_MEDIA_UDP_LISTEN   media.udp_listen
  CONFAB_REDIS_URL          cluster.redis_url (turns cluster mode on)
  CONFAB_NODE_ID            cluster.node_id
  CONFAB_DRAIN_TIMEOUT      cluster.drain_timeout (a Go duration)
  CONFAB_MEDIA_PUBLIC_IPS   media.public_ips, comma-separated
  CONFAB_TURN_ENABLED       turn.enabled (true or false)
  CONFAB_SIP_ENABLED        sip.enabled (true or false)
  CONFAB_SIP_LISTEN_UDP     sip.listen_udp (also _TCP, _TLS)
  CONFAB_TURN_LISTEN_UDP    turn.listen_udp
  CONFAB_TURN_PUBLIC_HOST   turn.public_host
  CONFAB_DEMO_ENABLED       demo.enabled (true or false)
  CONFAB_DEMO_PASSCODE      demo.passcode
  CONFAB_ACCESS_KEY_ID      with CONFAB_SECRET_ACCESS_KEY: an extra credential,
  CONFAB_SECRET_ACCESS_KEY  listed first
`)
	return b.String()
}

// Load builds the effective configuration from defaults, the YAML file named
// by --config (or CONFAB_CONFIG), the environment read through getenv, and
// the flags in args, then normalizes and validates it; see the package
// documentation for the details. args are the arguments after the
// subcommand, flags only. A nil getenv means an empty environment; pass
// os.Getenv for the real one.
//
// On error the returned Config is the zero value. If args ask for help the
// error wraps flag.ErrHelp.
func Load(args []string, getenv func(string) string) (Config, error) {
	return load(args, getenv, systemNet{})
}

// load is Load on the given host network (public_ip: auto).
func load(args []string, getenv func(string) string, hn hostNet) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var fv flagValues
	fs := newFlagSet(&fv)
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("config: %w%s", err, flagSuggestion(fs, err))
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected argument %q (only flags are accepted)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := Defaults()

	path := getenv("CONFAB_CONFIG")
	if set["config"] {
		path = fv.config
	}
	body := getenv("CONFAB_CONFIG_BODY")
	switch {
	case path != "" && body != "":
		return Config{}, fmt.Errorf("config: both a config file (%s) and CONFAB_CONFIG_BODY are set; use one", path)
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: reading config file: %w", err)
		}
		if err := decodeFile(path, data, &cfg); err != nil {
			return Config{}, err
		}
	case body != "":
		if err := decodeFile("CONFAB_CONFIG_BODY", []byte(body), &cfg); err != nil {
			return Config{}, err
		}
	}

	if errs := applyAutoEnv(&cfg, getenv); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return Config{}, err
	}

	if set["listen"] {
		cfg.HTTP.Listen = fv.listen
	}
	if set["public-url"] {
		cfg.HTTP.PublicURL = fv.publicURL
	}
	if set["data-dir"] {
		cfg.DataDir = fv.dataDir
	}
	if set["log-level"] {
		cfg.Log.Level = fv.logLevel
	}
	if set["pprof"] {
		cfg.Debug.Pprof = fv.pprof
	}
	if set["public-ip"] {
		cfg.PublicIP = fv.publicIP
	}

	cfg.normalize(hn)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"CONFAB_HTTP_LISTEN", &cfg.HTTP.Listen},
		{"CONFAB_PUBLIC_URL", &cfg.HTTP.PublicURL},
		{"CONFAB_PUBLIC_IP", &cfg.PublicIP},
		{"CONFAB_DATA_DIR", &cfg.DataDir},
		{"CONFAB_ACCOUNT_ID", &cfg.AccountID},
		{"CONFAB_LOG_LEVEL", &cfg.Log.Level},
		{"CONFAB_LOG_FORMAT", &cfg.Log.Format},
		{"CONFAB_MEDIA_UDP_LISTEN", &cfg.Media.UDPListen},
		{"CONFAB_TURN_LISTEN_UDP", &cfg.TURN.ListenUDP},
		{"CONFAB_TURN_PUBLIC_HOST", &cfg.TURN.PublicHost},
		{"CONFAB_SIP_LISTEN_UDP", &cfg.SIP.ListenUDP},
		{"CONFAB_SIP_LISTEN_TCP", &cfg.SIP.ListenTCP},
		{"CONFAB_SIP_LISTEN_TLS", &cfg.SIP.ListenTLS},
		{"CONFAB_REDIS_URL", &cfg.Cluster.RedisURL},
		{"CONFAB_NODE_ID", &cfg.Cluster.NodeID},
		{"CONFAB_DEMO_PASSCODE", &cfg.Demo.Passcode},
	} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}

	var errs []error
	if v := getenv("CONFAB_TURN_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &FieldError{Key: "CONFAB_TURN_ENABLED", Msg: fmt.Sprintf("must be true or false (got %q)", v)})
		}
		cfg.TURN.Enabled = b
	}
	if v := getenv("CONFAB_DEMO_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &FieldError{Key: "CONFAB_DEMO_ENABLED", Msg: fmt.Sprintf("must be true or false (got %q)", v)})
		}
		cfg.Demo.Enabled = &b
	}
	if v := getenv("CONFAB_SIP_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &FieldError{Key: "CONFAB_SIP_ENABLED", Msg: fmt.Sprintf("must be true or false (got %q)", v)})
		}
		cfg.SIP.Enabled = b
	}
	if v := getenv("CONFAB_DRAIN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, &FieldError{Key: "CONFAB_DRAIN_TIMEOUT", Msg: fmt.Sprintf("must be a non-negative duration such as 30s (got %q)", v)})
		}
		cfg.Cluster.DrainTimeout = Duration(d)
	}
	if v := getenv("CONFAB_MEDIA_PUBLIC_IPS"); v != "" {
		cfg.Media.PublicIPs = strings.Split(v, ",")
	}
	if v := getenv("CONFAB_MEDIA_REGIONS"); v != "" {
		var regions []string
		for r := range strings.SplitSeq(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				regions = append(regions, r)
			}
		}
		if len(regions) == 0 {
			errs = append(errs, &FieldError{Key: "CONFAB_MEDIA_REGIONS", Msg: "lists no region"})
		}
		cfg.MediaRegions = regions
	}

	id, secret := getenv("CONFAB_ACCESS_KEY_ID"), getenv("CONFAB_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		cfg.Credentials = append([]Credential{{AccessKeyID: id, SecretAccessKey: secret}}, cfg.Credentials...)
	case id != "":
		errs = append(errs, &FieldError{Key: "CONFAB_ACCESS_KEY_ID", Msg: "is set but CONFAB_SECRET_ACCESS_KEY is not; set both or neither"})
	case secret != "":
		errs = append(errs, &FieldError{Key: "CONFAB_SECRET_ACCESS_KEY", Msg: "is set but CONFAB_ACCESS_KEY_ID is not; set both or neither"})
	}
	return errors.Join(errs...)
}

// decodeFile decodes one YAML document onto cfg. A first pass walks the
// document against the Config type to report unknown keys, duplicated keys
// and type errors with their position and dotted key; the value itself is
// then decoded by a yaml.v3 Decoder with KnownFields(true).
func decodeFile(path string, data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: nothing to override
		}
		return fmt.Errorf("config: %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("config: %s: %w", path, err)
		}
		return fmt.Errorf("config: %s:%d: more than one YAML document; expected exactly one", path, extra.Line)
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if isNull(root) {
		return nil // a file holding only comments
	}
	w := walker{path: path}
	w.value(root, reflect.TypeFor[Config](), "")
	if len(w.errs) > 0 {
		return errors.Join(w.errs...)
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// walker checks a YAML node tree against a Go type, recording a FieldError
// for every unknown or duplicated key and every value that does not decode.
type walker struct {
	path string
	errs []error
}

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func (w *walker) errorf(n *yaml.Node, key, format string, args ...any) {
	if key == "" {
		key = "(top level)"
	}
	w.errs = append(w.errs, &FieldError{
		Source: fmt.Sprintf("%s:%d:%d", w.path, n.Line, n.Column),
		Key:    key,
		Msg:    fmt.Sprintf(format, args...),
	})
}

func (w *walker) value(n *yaml.Node, t reflect.Type, key string) {
	n = resolveAlias(n)
	if isNull(n) {
		return // yaml.v3 leaves scalars and structs untouched and clears lists
	}
	custom := reflect.PointerTo(t).Implements(yamlUnmarshaler)
	switch {
	case !custom && t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.errorf(n, key, "expected a mapping, got a %s", nodeKind(n))
			return
		}
		w.mapping(n, t, key, map[string]int{})
	case !custom && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			w.errorf(n, key, "expected a list, got a %s", nodeKind(n))
			return
		}
		for i, item := range n.Content {
			w.value(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i))
		}
	default:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.errorf(n, key, "%s", yamlErrorText(err))
		}
	}
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, prefix string, seen map[string]int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			w.merge(v, t, prefix)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, prefix, "keys must be plain strings, got a %s", nodeKind(k))
			continue
		}
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		f, ok := fieldByTag(t, k.Value)
		if !ok {
			w.errorf(k, key, "unknown key%s", didYouMean(k.Value, yamlFieldNames(t)))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			w.errorf(k, key, "duplicate key (first set on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		w.value(v, f.Type, key)
	}
}

// merge checks the value of a "<<" merge key: a mapping or a list of them.
func (w *walker) merge(n *yaml.Node, t reflect.Type, prefix string) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		w.mapping(n, t, prefix, map[string]int{})
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item = resolveAlias(item); item.Kind == yaml.MappingNode {
				w.mapping(item, t, prefix, map[string]int{})
			} else {
				w.errorf(item, prefix, "merge (<<) value must be a mapping")
			}
		}
	default:
		w.errorf(n, prefix, "merge (<<) value must be a mapping")
	}
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			if g, ok := fieldByTag(f.Type, name); ok {
				return g, true
			}
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	default:
		return "document"
	}
}

// yamlErrorText turns a yaml.v3 decoding error into a message without the
// "yaml: unmarshal errors: line N:" decoration, since the caller reports the
// position itself.
func yamlErrorText(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if strings.HasPrefix(m, "line ") {
				if _, rest, ok := strings.Cut(m, ": "); ok {
					m = rest
				}
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// flagSuggestion names the defined flag closest to an undefined one.
func flagSuggestion(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	const prefix = "flag provided but not defined: -"
	if !strings.HasPrefix(msg, prefix) {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if c := Suggest(strings.TrimLeft(strings.TrimPrefix(msg, prefix), "-"), names); c != "" {
		return " (did you mean --" + c + "?)"
	}
	return ""
}
