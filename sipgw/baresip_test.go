package sipgw

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confab-media/confab/internal/testkit"
)

// Interop with baresip 1.0 (Debian package baresip): a real softphone
// dials in over UDP with PCMU and over TLS with SDES-SRTP and Opus. Its
// aufile module plays a WAV with a 1 kHz tone as the microphone (1.0 has no
// aufile player), and its sndfile module dumps what it decodes to a WAV,
// analysed with Goertzel.

const baresipInstall = "apt-get install -y --no-install-recommends baresip"

func needBaresip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip is not installed; install it with: %s", baresipInstall)
	}
	return path
}

// baresip runs one baresip instance.
type baresip struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	lines  chan string
	exited chan struct{}
}

// startBaresip configures and starts baresip to dial uri: codec is
// "PCMU/8000/1" or "opus/48000/2"; accountParams are appended to the
// account line (e.g. ";mediaenc=srtp-mand"); quit ends it after that long
// (it hangs up first).
func startBaresip(t *testing.T, accountURI, accountParams, codec, dialURI string, quit time.Duration) *baresip {
	t.Helper()
	bin := needBaresip(t)
	dir := t.TempDir()
	rate, channels := 8000, 1
	if strings.HasPrefix(codec, "opus") {
		rate, channels = 48000, 2
	}
	writeToneWAV(t, filepath.Join(dir, "in.wav"), rate, channels, phoneTone, 20*time.Second)
	port := testkit.FreeSIPPort(t)
	config := strings.Join([]string{
		"poll_method epoll",
		fmt.Sprintf("sip_listen 127.0.0.1:%d", port),
		"net_interface 127.0.0.1",
		"audio_source aufile," + filepath.Join(dir, "in.wav"),
		"snd_path " + dir,
		"audio_buffer 20-160",
		"jitter_buffer_delay 1-10",
		"rtp_timeout 0",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module opus.so",
		"module aufile.so",
		"module srtp.so",
		"module sndfile.so",
		"module_tmp account.so",
		"module_app menu.so",
		"opus_bitrate 28000",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	account := fmt.Sprintf("<%s>;regint=0;audio_codecs=%s%s\n", accountURI, codec, accountParams)
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", dir, "-e", "/dial "+dialURI, "-t", fmt.Sprint(int(quit/time.Second)))
	cmd.Dir = dir
	cmd.Stdin = nil
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	b := &baresip{t: t, dir: dir, cmd: cmd, lines: make(chan string, 256), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ln := sc.Text()
			b.mu.Lock()
			b.out.WriteString(ln + "\n")
			b.mu.Unlock()
			select {
			case b.lines <- ln:
			default:
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(b.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.exited
		if t.Failed() {
			t.Logf("baresip output:\n%s", b.output())
		}
	})
	return b
}

func (b *baresip) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// waitLine waits for an output line containing s.
func (b *baresip) waitLine(s string, d time.Duration) {
	b.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ln := <-b.lines:
			if strings.Contains(ln, s) {
				return
			}
		case <-deadline:
			b.t.Fatalf("baresip did not print %q within %v", s, d)
		}
	}
}

func (b *baresip) wait(d time.Duration) {
	b.t.Helper()
	select {
	case <-b.exited:
	case <-time.After(d):
		b.t.Fatalf("baresip did not exit within %v", d)
	}
}

// recorded reads what baresip heard (the sndfile module's dump of the
// decoded audio) as mono 16-bit PCM (first channel).
func (b *baresip) recorded() ([]int16, int) {
	b.t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
	if len(files) != 1 {
		b.t.Fatalf("baresip recordings: %v", files)
	}
	pcm, rate, err := readWAV(files[0])
	if err != nil {
		b.t.Fatalf("baresip recording: %v", err)
	}
	return pcm, rate
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeToneWAV writes a 16-bit PCM WAV of a sine.
func writeToneWAV(t *testing.T, path string, rate, channels int, freq float64, d time.Duration) {
	t.Helper()
	n := int(d * time.Duration(rate) / time.Second)
	data := make([]byte, 0, n*2*channels)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for range channels {
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
	}
	var h bytes.Buffer
	h.WriteString("RIFF")
	_ = binary.Write(&h, binary.LittleEndian, uint32(36+len(data)))
	h.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate),
		uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		_ = binary.Write(&h, binary.LittleEndian, v)
	}
	h.WriteString("data")
	_ = binary.Write(&h, binary.LittleEndian, uint32(len(data)))
	h.Write(data)
	if err := os.WriteFile(path, h.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readWAV returns the first channel of a 16-bit PCM WAV and its rate. A
// recording cut short (size fields not updated) is read to its end.
func readWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("not a WAV file (%d bytes)", len(b))
	}
	var rate, channels, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("unsupported WAV: %d bits, %d channels", bits, channels)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			frame := 2 * channels
			pcm := make([]int16, size/frame)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[i*frame:]))
			}
			return pcm, rate, nil
		}
		p += 8 + size + size&1
	}
	return nil, 0, fmt.Errorf("WAV has no data chunk")
}

// TestBaresipUDPPCMU: baresip dials over UDP offering PCMU only; the call
// connects, the phone hears the browser's tone and not its own, the
// browser hears the phone (G.711 → 8 kHz decode, ×6 FIR, Opus encode),
// and baresip's BYE ends the call.
func TestBaresipUDPPCMU(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-bs-udp", "att-bs-udp")
	gw := newTestGateway(t, Config{}, auth, conf, nil)
	udp, _, _ := gw.Addrs()

	dial := fmt.Sprintf("sip:%s@%s;X-chime-join-token=tok-bs-udp", dialIn, udp)
	mark := conf.browser.mark()
	bs := startBaresip(t, "sip:"+caller+"@127.0.0.1", "", "PCMU/8000/1", dial, 5*time.Second)
	leg := conf.nextJoin(t)
	bs.waitLine("Call established", 5*time.Second)
	// baresip hangs up (BYE) when -t expires.
	leg.waitLeft(t, 10*time.Second)
	bs.wait(5 * time.Second)
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })

	pcm, rate := bs.recorded()
	if rate != 8000 {
		t.Errorf("baresip recorded at %d Hz, want 8000 (PCMU)", rate)
	}
	// Skip the first second (jitter buffers filling, talker selection).
	checkHears(t, "baresip", pcm[min(rate, len(pcm)):], rate, browserTone, phoneTone)
	heard := conf.browser.since(mark)
	checkHears(t, "browser", heard[min(48000, len(heard)):], 48000, phoneTone, browserTone)
	if lv := leg.levels.Load() / max(leg.pushes.Load(), 1); lv < 5 || lv > 40 {
		t.Errorf("mean level pushed %d -dBov, want the tone's ~15", lv)
	}
	closeAndCheck(t, nil, gw)
}

// TestBaresipTLSSRTPOpus: baresip dials over TLS with mandatory SDES-SRTP
// and Opus; the call connects, audio flows both ways untranscoded (the
// phone is just another Opus leg), and when the attendee is removed the
// gateway's BYE reaches baresip over baresip's own TLS connection.
func TestBaresipTLSSRTPOpus(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-bs-tls", "att-bs-tls")
	gw := newTestGateway(t, Config{RequireSRTP: true}, auth, conf, nil)
	_, _, tlsAddr := gw.Addrs()

	dial := fmt.Sprintf("sip:%s@%s;transport=tls;X-chime-join-token=tok-bs-tls", dialIn, tlsAddr)
	mark := conf.browser.mark()
	bs := startBaresip(t, "sip:"+caller+"@127.0.0.1;transport=tls", ";mediaenc=srtp-mand", "opus/48000/2", dial, 30*time.Second)
	leg := conf.nextJoin(t)
	bs.waitLine("Call established", 5*time.Second)
	waitFor(t, 6*time.Second, "3.5 s of the phone at the browser", func() bool {
		return conf.browser.mark()-mark >= 48000*7/2 && leg.pushes.Load() >= 150
	})
	leg.remove() // DeleteAttendee: the gateway hangs up
	bs.waitLine("terminated", 5*time.Second)
	leg.waitLeft(t, 5*time.Second)
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	_ = bs.cmd.Process.Signal(os.Interrupt)
	bs.wait(5 * time.Second)

	out := bs.output()
	for _, want := range []string{"SRTP is Enabled", "Set audio decoder: opus 48000Hz", "Call established"} {
		if !strings.Contains(out, want) {
			t.Errorf("baresip output lacks %q", want)
		}
	}
	for _, ln := range strings.Split(out, "\n") {
		if strings.Contains(ln, "SRTP is Enabled") || strings.Contains(ln, "terminated") {
			t.Log("baresip: " + strings.TrimSpace(ln))
		}
	}
	pcm, rate := bs.recorded()
	if rate != 48000 {
		t.Errorf("baresip recorded at %d Hz, want 48000 (Opus)", rate)
	}
	checkHears(t, "baresip", pcm[min(rate, len(pcm)):], rate, browserTone, phoneTone)
	heard := conf.browser.since(mark)
	checkHears(t, "browser", heard[min(48000, len(heard)):], 48000, phoneTone, browserTone)
	closeAndCheck(t, nil, gw)
}
