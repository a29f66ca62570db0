// Command confab is Confab's one server binary: a self-hosted meeting media
// plane whose control plane speaks the Amazon Chime SDK Meetings API.
//
//	confab serve [--config FILE] [--listen ADDR] [--public-url URL] [--data-dir DIR] ...
//	confab config [flags]     print the effective configuration (secrets masked)
//	confab bench [flags]      load a deployment with synthetic attendees and report
//	confab health [URL]       exit 0 if a server answers URL (default its /healthz on 127.0.0.1:8080)
//	confab version
//
// main only parses the command line, builds the configuration and wires the
// packages together (see serve.go); the work lives in the packages.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/confab-media/confab/bench/load"
	"github.com/confab-media/confab/cmd/confab/internal/config"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "serve":
		cfg, code, ok := loadConfig("serve", args[1:], stdout, stderr)
		if !ok {
			return code
		}
		if err := serve(cfg, stderr); err != nil {
			fmt.Fprintln(stderr, "confab:", err)
			return 1
		}
		return 0
	case "config":
		cfg, code, ok := loadConfig("config", args[1:], stdout, stderr)
		if !ok {
			return code
		}
		out, _ := yaml.Marshal(cfg.Redacted())
		_, _ = stdout.Write(out)
		return 0
	case "bench":
		return load.Main(args[1:], stdout, stderr)
	case "health":
		return health(args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 && args[1] != "" {
			fmt.Fprint(stdout, `usage: confab version

Prints the version, set at build time by make (git describe) and by the
Dockerfile's VERSION build argument; "dev" for a plain go build.

Example:
  confab version        # confab v0.9.0-12-gab3657e
`)
			return 0
		}
		fmt.Fprintln(stdout, "confab", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "confab: unknown command %q%s\n", args[0], closestCommand(args[0]))
		usage(stderr)
		return 2
	}
}

// loadConfig runs the configuration pipeline for a subcommand. When it
// returns ok=false the command is done and code is its exit status (0 after
// --help).
func loadConfig(cmd string, args []string, stdout, stderr io.Writer) (cfg config.Config, code int, ok bool) {
	cfg, err := config.Load(args, os.Getenv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, config.CommandUsage(cmd))
		return cfg, 0, false
	case err != nil:
		fmt.Fprintln(stderr, err)
		return cfg, 2, false
	}
	return cfg, 0, true
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: confab <command> [flags]

commands:
  serve     run the server (control plane API, health and metrics)
  config    print the effective configuration, secrets masked
  bench     load a running deployment with synthetic attendees and report (bench -h)
  health    exit 0 if a server answers /healthz (default http://127.0.0.1:8080/healthz;
            the Docker HEALTHCHECK)
  version   print the version

Run "confab serve --help" for every flag and environment variable.
`)
}

// closestCommand is a "did you mean" for a mistyped subcommand.
func closestCommand(s string) string {
	if c := config.Suggest(s, []string{"serve", "config", "bench", "health", "version", "help"}); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}
