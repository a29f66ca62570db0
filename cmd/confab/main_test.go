package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCommandLine: every subcommand's --help describes it with an example;
// mistyped commands and flags get a "did you mean".
func TestCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--help"}, 0, "Example:\n  confab serve"},
		{[]string{"config", "--help"}, 0, "Example:\n  CONFAB_PUBLIC_IP=auto confab config"},
		{[]string{"bench", "-h"}, 0, "Example:\n  confab bench"},
		{[]string{"health", "--help"}, 0, "usage: confab health"},
		{[]string{"version", "--help"}, 0, "usage: confab version"},
		{[]string{"version"}, 0, "confab dev"},
		{[]string{"sevre"}, 2, `did you mean "serve"?`},
		{[]string{"serve", "--pubilc-ip", "auto"}, 2, "did you mean --public-ip?"},
	} {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(out.String()+errOut.String(), c.want) {
			t.Errorf("confab %v: exit %d, output\n%s%s\nwant exit %d and %q", c.args, code, out.String(), errOut.String(), c.code, c.want)
		}
	}
}
