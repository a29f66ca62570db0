package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// health GETs a /healthz URL (default the embedded listen address) and
// exits 0 on 200: a probe for container runtimes without curl.
func health(args []string, stdout, stderr io.Writer) int {
	url := "http://127.0.0.1:8080/healthz"
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stdout, "usage: confab health [URL]   exit 0 if URL (default "+url+") answers 200")
		return 0
	case len(args) == 1:
		url = args[0]
	case len(args) > 1:
		fmt.Fprintln(stderr, "usage: confab health [URL]")
		return 2
	}
	c := &http.Client{Timeout: 3 * time.Second}
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
