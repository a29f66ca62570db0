package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// health GETs a /healthz URL (default the embedded listen address) and
// exits 0 on 200: a probe for container runtimes without curl.
func health(args []string, stdout, stderr io.Writer) int {
	url, local := defaultHealthURL(os.Getenv)
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stdout, `usage: confab health [URL]

Exits 0 if URL answers 200, else 1: the Docker HEALTHCHECK. Without URL it
asks this host's /healthz on the port of CONFAB_HTTP_LISTEN (default 8080),
over HTTPS when CONFAB_HTTP_CERT_FILE or CONFAB_HTTP_ACME_DOMAINS is set.

Example:
  CONFAB_HTTP_LISTEN=0.0.0.0:8081 confab health      # asks `+url+` here
  confab health https://confab.example.com/healthz`)
		return 0
	case len(args) == 1:
		url, local = args[0], false
	case len(args) > 1:
		fmt.Fprintln(stderr, "usage: confab health [URL]")
		return 2
	}
	c := &http.Client{Timeout: 3 * time.Second}
	if local {
		// This host's own listener, reached by address: its certificate
		// names the public host, not 127.0.0.1.
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // loopback liveness probe
	}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(stderr, "confab health:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "confab health:", resp.Status)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// defaultHealthURL is this host's /healthz as the environment configures
// the listener (what a container's HEALTHCHECK sees): the port of
// CONFAB_HTTP_LISTEN on 127.0.0.1, HTTPS when a certificate or ACME is
// configured. local reports that the URL is this host's own listener.
func defaultHealthURL(getenv func(string) string) (url string, local bool) {
	port := "8080"
	if _, p, err := net.SplitHostPort(getenv("CONFAB_HTTP_LISTEN")); err == nil && p != "" {
		port = p
	}
	scheme := "http"
	if getenv("CONFAB_HTTP_CERT_FILE") != "" || getenv("CONFAB_HTTP_ACME_DOMAINS") != "" {
		scheme = "https"
	}
	return scheme + "://127.0.0.1:" + port + "/healthz", true
}
