// Package janustest starts a Janus server for tests: Debian's janus, in a
// network namespace of its own (see StartForTest).
package janustest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Janus gathers no ICE candidates on loopback, and tests may use no
// address but loopback and those of network namespaces they create. So
// StartForTest runs janus in a namespace of its own, joined to this one
// by a veth pair with a /30 of 10.213.0.0/16: janus on .2, its peers on .1.

var namespaces atomic.Int32 // numbers the namespaces of this process

// Instance is a janus started for a test.
type Instance struct {
	// URL is its HTTP API root; PeerIP the address its peers use.
	URL, PeerIP string
	// PID is janus's process id (ip netns exec execs it).
	PID int
}

// StartForTest starts janus (Debian's package, installed by make
// test-deps) with the AudioBridge and VideoRoom plugins and the HTTP
// transport only, in a network namespace of its own, as root. It fails
// the test if janus or the namespace cannot be had; the cleanup stops
// janus and deletes the namespace.
func StartForTest(t testing.TB) Instance {
	t.Helper()
	bin, err := exec.LookPath("janus")
	if err != nil {
		t.Fatalf("janus is not installed (make test-deps installs Debian's janus): %v", err)
	}
	n := namespaces.Add(1)
	ns := fmt.Sprintf("confab-janus-%d-%d", os.Getpid(), n)
	subnet := fmt.Sprintf("10.213.%d.%d", os.Getpid()%250, (n%60)*4)
	base := strings.TrimSuffix(subnet, fmt.Sprintf(".%d", (n%60)*4))
	host, peer := fmt.Sprintf("%s.%d", base, (n%60)*4+1), fmt.Sprintf("%s.%d", base, (n%60)*4+2)
	vethHost, vethNS := fmt.Sprintf("cjh%d_%d", os.Getpid()%10000, n), fmt.Sprintf("cjn%d_%d", os.Getpid()%10000, n)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s (the Janus tests need root to create a network namespace)", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run("link", "add", vethHost, "type", "veth", "peer", "name", vethNS)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", vethHost).Run() })
	run("link", "set", vethNS, "netns", ns)
	run("addr", "add", host+"/30", "dev", vethHost)
	run("link", "set", vethHost, "up")
	run("-n", ns, "addr", "add", peer+"/30", "dev", vethNS)
	run("-n", ns, "link", "set", vethNS, "up")
	run("-n", ns, "link", "set", "lo", "up")

	dir := t.TempDir()
	lib := "/usr/lib/x86_64-linux-gnu/janus"
	for _, l := range []string{"plugins/libjanus_audiobridge.so", "plugins/libjanus_videoroom.so", "transports/libjanus_http.so"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(l)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(lib, l), filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	const port = 8088
	files := map[string]string{
		"janus.jcfg": fmt.Sprintf("general: {\n configs_folder = %q\n plugins_folder = %q\n transports_folder = %q\n debug_level = 3\n}\n"+
			"media: {\n rtp_port_range = \"40000-49999\"\n}\nnat: {\n ice_lite = true\n ice_enforce_list = %q\n ignore_mdns = true\n}\n",
			dir, filepath.Join(dir, "plugins"), filepath.Join(dir, "transports"), vethNS),
		"janus.transport.http.jcfg": fmt.Sprintf("general: {\n base_path = \"/janus\"\n http = true\n port = %d\n ip = %q\n https = false\n}\n"+
			"admin: {\n admin_http = false\n}\n", port, peer),
		"janus.plugin.audiobridge.jcfg": "general: {\n}\n",
		"janus.plugin.videoroom.jcfg":   "general: {\n}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-F", dir, "-C", filepath.Join(dir, "janus.jcfg"))
	logf, err := os.Create(filepath.Join(dir, "janus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
	})
	url := fmt.Sprintf("http://%s/janus", net.JoinHostPort(peer, fmt.Sprint(port)))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := http.Get(url + "/info"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return Instance{URL: url, PeerIP: host, PID: cmd.Process.Pid}
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "janus.log"))
			t.Fatalf("janus did not answer on %s:\n%s", url, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
