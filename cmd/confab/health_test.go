package main

import "testing"

func TestDefaultHealthURL(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "http://127.0.0.1:8080/healthz"},
		{map[string]string{"CONFAB_HTTP_LISTEN": "0.0.0.0:8081"}, "http://127.0.0.1:8081/healthz"},
		{map[string]string{"CONFAB_HTTP_LISTEN": "[::]:9000", "CONFAB_HTTP_CERT_FILE": "/c.pem"}, "https://127.0.0.1:9000/healthz"},
		{map[string]string{"CONFAB_HTTP_LISTEN": ":443", "CONFAB_HTTP_ACME_DOMAINS": "a.example"}, "https://127.0.0.1:443/healthz"},
	} {
		got, local := defaultHealthURL(func(k string) string { return c.env[k] })
		if got != c.want || !local {
			t.Errorf("%v: %s (local %v), want %s", c.env, got, local, c.want)
		}
	}
}
