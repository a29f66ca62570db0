package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// autoEnvName is the environment variable of a dotted key:
// http.public_url → CONFAB_HTTP_PUBLIC_URL.
func autoEnvName(key string) string {
	return "CONFAB_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

var yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// applyAutoEnv sets every scalar key, and every list of strings, from its
// automatic environment variable (autoEnvName), when that is non-empty.
// Values read as YAML scalars (numbers, true/false, durations such as
// 30s); strings are taken as they are; lists are comma-separated. Lists of
// objects (credentials, hooks, endpoints) have no variable: use the file
// or CONFAB_CONFIG_BODY.
func applyAutoEnv(cfg *Config, getenv func(string) string) []error {
	var errs []error
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			key, fv := prefix+name, v.Field(i)
			if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(yamlUnmarshalerType) {
				walk(fv, key+".")
				continue
			}
			env := autoEnvName(key)
			raw := getenv(env)
			if raw == "" {
				continue
			}
			if err := setFromEnv(fv, raw); err != nil {
				errs = append(errs, &FieldError{Key: env, Msg: fmt.Sprintf("%s (for %s)", err, key)})
			}
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	return errs
}

// setFromEnv parses raw into v (see applyAutoEnv). Kinds without an
// environment form are reported.
func setFromEnv(v reflect.Value, raw string) error {
	switch {
	case v.Kind() == reflect.String:
		v.SetString(raw)
		return nil
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for s := range strings.SplitSeq(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, s := range items {
			out.Index(i).SetString(s)
		}
		v.Set(out)
		return nil
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map ||
		(v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct):
		return fmt.Errorf("has no environment form: set it in the file or CONFAB_CONFIG_BODY")
	}
	// Numbers, booleans, durations, *bool: one YAML scalar.
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &n); err != nil || len(n.Content) != 1 || n.Content[0].Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a single value (got %q)", raw)
	}
	p := reflect.New(v.Type())
	if err := n.Content[0].Decode(p.Interface()); err != nil {
		return fmt.Errorf("cannot read %q: %v", raw, err)
	}
	v.Set(p.Elem())
	return nil
}
