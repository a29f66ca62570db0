package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// dockerfile is what TestDockerfile reads from the repository's Dockerfile.
type dockerfile struct {
	env     map[string]string
	expose  map[string]bool // "8080/tcp", "40000-40999/udp"
	user    string
	health  string
	entries []string // instructions, one logical line each
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{env: map[string]string{}, expose: map[string]bool{}}
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		d.entries = append(d.entries, cur.String())
		cur.Reset()
	}
	envPair := regexp.MustCompile(`([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)`)
	for _, e := range d.entries {
		op, rest, _ := strings.Cut(e, " ")
		switch strings.ToUpper(op) {
		case "ENV":
			for _, m := range envPair.FindAllStringSubmatch(rest, -1) {
				d.env[m[1]] = strings.Trim(m[2], `"`)
			}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				d.expose[p] = true
			}
		case "USER":
			d.user = rest
		case "HEALTHCHECK":
			d.health = rest
		}
	}
	return d
}

// TestDockerfile checks the image as far as this machine can without a
// Docker engine: a non-root user, a HEALTHCHECK with `confab health`, every
// port the image's settings open is EXPOSEd with its protocol, the build
// context leaves out state, keys and node_modules, and the image's
// environment is a configuration `confab config` accepts (with the public
// IP a user would set).
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	if d.user == "" || d.user == "root" || d.user == "0" {
		t.Errorf("USER %q: the image must not run as root", d.user)
	}
	if !strings.Contains(d.health, "confab") || !strings.Contains(d.health, "health") {
		t.Errorf("HEALTHCHECK %q does not run confab health", d.health)
	}
	port := func(env string) string {
		_, p, _ := strings.Cut(d.env[env], ":")
		return p
	}
	for env, proto := range map[string]string{
		"CONFAB_HTTP_LISTEN": "tcp", "CONFAB_MEDIA_UDP_LISTEN": "udp", "CONFAB_TURN_LISTEN_UDP": "udp",
		"CONFAB_SIP_LISTEN_UDP": "udp", "CONFAB_SIP_LISTEN_TCP": "tcp", "CONFAB_SIP_LISTEN_TLS": "tcp",
	} {
		if p := port(env); p == "" || !d.expose[p+"/"+proto] {
			t.Errorf("%s=%q: port not EXPOSEd as %s", env, d.env[env], proto)
		}
	}
	if p := port("CONFAB_TURN_LISTEN_UDP"); !d.expose[p+"/tcp"] {
		t.Errorf("TURN over TCP (port %s) not EXPOSEd", p)
	}
	for _, r := range [][2]string{{"CONFAB_TURN_RELAY_PORT_MIN", "CONFAB_TURN_RELAY_PORT_MAX"}, {"CONFAB_SIP_RTP_PORT_MIN", "CONFAB_SIP_RTP_PORT_MAX"}} {
		lo, hi := d.env[r[0]], d.env[r[1]]
		if _, err := strconv.Atoi(lo); err != nil || !d.expose[lo+"-"+hi+"/udp"] {
			t.Errorf("%s–%s (%s-%s) not EXPOSEd as a udp range", r[0], r[1], lo, hi)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"confab-data/", "node_modules/", ".git", "bin/"} {
		if !strings.Contains(string(ignore), p) {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}

	// As `docker run --network host` starts it: public_ip auto is this
	// host's default-route address, which also becomes the relay address.
	ip := defaultRouteIP(t)
	out := imageConfig(t, d, "CONFAB_PUBLIC_IP="+ip)
	for _, want := range []string{"public_url: http://" + ip + ":8080", "relay_ip: " + ip, "relay_port_min: 40000", "- " + ip} {
		if !strings.Contains(out, want) {
			t.Errorf("effective configuration lacks %q:\n%s", want, out)
		}
	}
	// Behind NAT (bridge network): the host's public IP is not the
	// container's, so the relay address must be given too — and the
	// refusal says so, naming the key.
	if out, err := imageConfigErr(d, "CONFAB_PUBLIC_IP=203.0.113.10"); err == nil || !strings.Contains(out, "turn.relay_ip") {
		t.Errorf("a public IP not on this host and no relay_ip: %v\n%s", err, out)
	}
	out = imageConfig(t, d, "CONFAB_PUBLIC_IP=203.0.113.10", "CONFAB_TURN_RELAY_IP="+ip)
	if !strings.Contains(out, "public_url: http://203.0.113.10:8080") {
		t.Errorf("behind NAT with relay_ip:\n%s", out)
	}
}

// imageConfig runs `confab config` with the image's environment plus
// extra, as the container would start, and returns the effective config.
func imageConfig(t *testing.T, d dockerfile, extra ...string) string {
	t.Helper()
	out, err := imageConfigErr(d, extra...)
	if err != nil {
		t.Fatalf("confab config with the image's environment %v: %v\n%s", extra, err, out)
	}
	return out
}

func imageConfigErr(d dockerfile, extra ...string) (string, error) {
	dir, err := os.MkdirTemp("", "confab-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(confabBin, "config")
	cmd.Env = []string{"HOME=" + dir}
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(append(cmd.Env, "CONFAB_DATA_DIR="+dir), extra...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// defaultRouteIP is the address this host uses towards the default route
// (a connected UDP socket sends nothing), or 127.0.0.1 without one.
func defaultRouteIP(t *testing.T) string {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		t.Logf("no default route (%v): 127.0.0.1 stands in for the host's address", err)
		return "127.0.0.1"
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return host
}

// TestComposeFiles: every Confab service of docker-compose.yml and
// docker-compose.cluster.yml starts from a configuration `confab config`
// accepts (the image's environment plus the service's, ${…} filled in as
// a user would), and the two cluster nodes take different ports.
func TestComposeFiles(t *testing.T) {
	d := readDockerfile(t)
	ip := defaultRouteIP(t)
	fill := regexp.MustCompile(`\$\{([A-Z_]+)(:-([^}]*)|:\?[^}]*)?\}`)
	vars := map[string]string{"CONFAB_PUBLIC_IP": ip, "CONFAB_ACCESS_KEY_ID": "AKIDCOMPOSE01", "CONFAB_SECRET_ACCESS_KEY": "compose-secret-0123456789abcdef"}
	ports := map[string]string{}
	for _, file := range []string{"docker-compose.yml", "docker-compose.cluster.yml"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), file))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Services map[string]struct {
				Image       string            `yaml:"image"`
				NetworkMode string            `yaml:"network_mode"`
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for name, svc := range doc.Services {
			if svc.Image != "confab:latest" {
				continue
			}
			var extra []string
			for k, v := range svc.Environment {
				v = fill.ReplaceAllStringFunc(v, func(m string) string {
					g := fill.FindStringSubmatch(m)
					if val, ok := vars[g[1]]; ok {
						return val
					}
					return g[3]
				})
				extra = append(extra, k+"="+v)
			}
			out := imageConfig(t, d, extra...)
			listen := regexp.MustCompile(`(?m)^\s+listen: (\S+)`).FindStringSubmatch(out)
			if len(listen) < 2 {
				t.Fatalf("%s %s: no http listen in\n%s", file, name, out)
			}
			if other, dup := ports[listen[1]]; dup && file == "docker-compose.cluster.yml" {
				t.Errorf("%s: %s and %s both listen on %s", file, name, other, listen[1])
			}
			if file == "docker-compose.cluster.yml" {
				ports[listen[1]] = name
			}
			if svc.NetworkMode != "host" {
				t.Errorf("%s %s: network_mode %q (media needs host networking)", file, name, svc.NetworkMode)
			}
		}
	}
	if len(ports) != 2 {
		t.Errorf("cluster nodes found: %v", ports)
	}
}
