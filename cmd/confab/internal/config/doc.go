// Package config loads, validates and describes the configuration of the
// confab server, keeps the secrets generated into its data directory on
// first start (the API key pair, the join-token key, the TURN secret;
// secrets.go), and translates it into each subsystem's own Config
// (subsystems.go: [Config.MeetingService], [Config.SIPGateway], …).
//
// # Pipeline and precedence
//
// [Load] builds a [Config] in fixed stages; each stage overrides only the
// values it actually mentions, so later stages win:
//
//  1. Built-in defaults ([Defaults]).
//  2. A YAML file, if one is named by the --config flag or, failing that, by
//     the CONFAB_CONFIG environment variable. Decoding is strict: an unknown
//     or duplicated key, a value of the wrong type or a second YAML document
//     is an error naming the file, line, column and dotted key (for example
//     "config: confab.yaml:7:3: quotas.api_brust: unknown key"). Keys absent
//     from the file keep their defaults; lists given in the file replace the
//     default list rather than extend it.
//  3. Environment variables (see below). An empty variable counts as unset.
//  4. Command-line flags, but only those actually present on the command line
//     (so "--pprof=false" overrides a file's "pprof: true", while omitting
//     --pprof leaves it alone).
//  5. Derived values ([Config.Normalize]): http.public_url defaults to
//     "http://" + http.listen, a trailing slash is removed from it, an empty
//     media_regions means every region listed by [DocumentedRegions], and
//     log level and format are lower-cased.
//  6. [Config.Validate], which reports every problem at once (joined with
//     [errors.Join]), each naming the offending key, e.g.
//     "config: quotas.api_burst: must be ≥ 1 (got 0)".
//
// # Environment variables
//
//	CONFAB_CONFIG             path of the YAML file (when --config is absent)
//	CONFAB_HTTP_LISTEN        http.listen
//	CONFAB_PUBLIC_URL         http.public_url
//	CONFAB_DATA_DIR           data_dir
//	CONFAB_ACCOUNT_ID         account_id
//	CONFAB_MEDIA_REGIONS      media_regions, comma-separated (replaces the list)
//	CONFAB_LOG_LEVEL          log.level
//	CONFAB_LOG_FORMAT         log.format
//	CONFAB_ACCESS_KEY_ID      together with CONFAB_SECRET_ACCESS_KEY, one
//	CONFAB_SECRET_ACCESS_KEY  credential placed first, before those of the file
//
// The two credential variables must be set together or not at all.
//
// # Flags
//
//	--config FILE   --listen ADDR   --public-url URL
//	--data-dir DIR  --log-level L   --pprof[=false]
//
// Load accepts only flags; any positional argument is an error. When the
// arguments ask for help (-h, --help) the returned error wraps
// [flag.ErrHelp] and [Usage] gives the text to print.
//
// The file example.yaml in this directory documents every key at its
// default value; [ExampleYAML] returns it, and a test keeps it in step with
// [Defaults].
//
// The package has no package-level mutable state: every function returns
// fresh values, and Load reads the environment only through the getenv
// function it is given.
package config
